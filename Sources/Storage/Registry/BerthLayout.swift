import Foundation
import OCI

/// Berth's own state beside Distribution's layout, all under `berth/` in the storage root:
/// the one place that names it. Distribution ignores the directory; backups copy the parts
/// listed as `kept`.
public enum BerthLayout {
    public static let root = StoragePath(unchecked: ["berth"])

    /// The secret that signs upload state, created once (shared by replicas).
    public static let httpSecret = path("http-secret")
    /// The token signing key and its certificate, when Berth is the token server.
    public static let signingKey = path("token", "key.pem")
    public static let signingCertificate = path("token", "certificate.pem")
    /// The zero-configuration admin's password hash, from before the accounts database.
    public static let legacyAdminPassword = path("accounts", "admin.bcrypt")
    /// The SQLite accounts database (relative to a filesystem storage root).
    public static let accountsDatabase = "berth/accounts/accounts.sqlite"
    /// The accounts database and its journal, which backups copy with SQLite's own copy.
    public static let accountsDatabaseFiles: Set<String> = ["accounts.sqlite", "accounts.sqlite-wal", "accounts.sqlite-shm"]
    /// Refresh tokens as files, from before the accounts database (moved into it at start).
    public static let legacyRefreshTokens = path("refresh-tokens")
    /// Web UI sessions under htpasswd auth (no accounts database): one file per session id's
    /// hash, deleted when it signs out, so replicas sharing the storage honour it.
    public static let webSessions = path("web-sessions")
    /// Catalog markers on object stores: `catalog/<name>/_repository`.
    public static let catalogMarkers = path("catalog")
    public static let catalogComplete = path("catalog-complete")
    /// The S3 driver's upload leases (`locks/<sha256 of the upload key>`).
    public static let uploadLocks = path("locks")
    /// Where a restore stages what it copies before the layout sees it.
    public static let copyInProgress = path("copy-in-progress")

    /// Webhook batches waiting for one endpoint (its name hex-encoded into one component).
    public static func notifications(endpoint: String) throws -> StoragePath {
        let key = endpoint.utf8.map { String(format: "%02x", $0) }.joined()
        return try StoragePath(["berth", "notifications", String(key.prefix(200))])
    }

    /// When retention first found a manifest without tags (its `untagged_after` counts from then).
    public static func retentionUntagged(_ name: RepositoryName, _ d: Digest) -> StoragePath {
        StoragePath(unchecked: ["berth", "retention"] + name.value.split(separator: "/").map(String.init) + ["_untagged", d.algorithm.rawValue, d.hex])
    }

    /// The sha256 markers of a repository (retention looks at them in one listing).
    public static func retentionUntaggedDirectory(_ name: RepositoryName) -> StoragePath {
        StoragePath(unchecked: ["berth", "retention"] + name.value.split(separator: "/").map(String.init) + ["_untagged", "sha256"])
    }

    /// When each tag of a repository was last pulled (one file per tag), for retention.
    public static func tagPulls(_ name: RepositoryName) -> StoragePath {
        StoragePath(unchecked: ["berth", "pulls"] + name.value.split(separator: "/").map(String.init) + ["_tags"])
    }

    /// When a mirrored manifest was last pulled.
    public static func mirrorPulled(_ name: RepositoryName, _ d: Digest) -> StoragePath {
        StoragePath(unchecked: ["berth", "mirror"] + name.value.split(separator: "/").map(String.init) + ["_pulled", d.algorithm.rawValue, d.hex])
    }

    /// What a backup keeps: accounts, signing key, upload secret, refresh tokens (not queued
    /// notifications, which belong to the running instance; not catalog markers or pull
    /// records, which are rebuilt).
    public static let keptDirectories = [path("accounts"), path("token"), legacyRefreshTokens]
    public static let keptFiles = [httpSecret]

    private static func path(_ components: String...) -> StoragePath {
        StoragePath(unchecked: ["berth"] + components)
    }
}
