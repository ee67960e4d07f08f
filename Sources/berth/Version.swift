/// Berth's release version; `scripts/package.sh` names its tarball and Debian package after it.
enum BerthVersion {
    static let current = "0.9.0"
}
