#!/usr/bin/env bash
# Builds Berth's release artifacts into dist/:
#   berth-VERSION-linux-ARCH.tar.gz   the binary (Swift's runtime linked in statically; only
#                                     Debian's libc, libldap and libcrypto are dynamic), the
#                                     example config, the systemd unit and the README
#   berth_VERSION_ARCH.deb            the same as a Debian package: /usr/bin/berth, a system
#                                     user `berth`, data under /var/lib/berth, the config at
#                                     /etc/berth/config.yml, the unit berth.service
# Usage: scripts/package.sh [--binary PATH] [--stage DIR]
#   --binary PATH  package this binary instead of building one (it must be a release build)
#   --stage DIR    only lay the files out under DIR (as the Dockerfile's builder does)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
binary="" stage_only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) binary=$2; shift 2 ;;
        --stage) stage_only=$2; shift 2 ;;
        *) echo "usage: $0 [--binary PATH] [--stage DIR]" >&2; exit 2 ;;
    esac
done

version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' "$repo/Sources/berth/Version.swift")
[ -n "$version" ] || { echo "package.sh: no version in Sources/berth/Version.swift" >&2; exit 1; }
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
uname_arch=$(uname -m)

if [ -z "$binary" ]; then
    swift build -c release --static-swift-stdlib --product berth --package-path "$repo"
    binary="$repo/.build/release/berth"
fi
[ -x "$binary" ] || { echo "package.sh: $binary is not an executable" >&2; exit 1; }
if ldd "$binary" | grep -q libswiftCore; then
    echo "package.sh: $binary links Swift's runtime dynamically; build it with --static-swift-stdlib" >&2
    exit 1
fi

# The files of an installation, rooted at $1.
lay_out() {
    local root=$1
    install -D -m 0755 "$binary" "$root/usr/bin/berth"
    strip --strip-unneeded "$root/usr/bin/berth" 2>/dev/null || true
    install -D -m 0640 "$repo/packaging/config.yml" "$root/etc/berth/config.yml"
    install -D -m 0644 "$repo/packaging/berth.service" "$root/lib/systemd/system/berth.service"
    install -D -m 0644 "$repo/README.md" "$root/usr/share/doc/berth/README.md"
    install -d -m 0750 "$root/var/lib/berth"
}

if [ -n "$stage_only" ]; then
    lay_out "$stage_only"
    exit 0
fi

dist="$repo/dist"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$dist"

# Tarball: bin/, share/berth/ (config, unit), README.
name="berth-$version-linux-$uname_arch"
mkdir -p "$work/$name/bin" "$work/$name/share/berth"
install -m 0755 "$binary" "$work/$name/bin/berth"
strip --strip-unneeded "$work/$name/bin/berth" 2>/dev/null || true
install -m 0644 "$repo/packaging/config.yml" "$repo/packaging/berth.service" "$work/$name/share/berth/"
install -m 0644 "$repo/README.md" "$work/$name/"
tar -C "$work" --owner=0 --group=0 -czf "$dist/$name.tar.gz" "$name"
install -D -m 0755 "$work/$name/bin/berth" "$dist/bin/berth"   # for the Dockerfile's PREBUILT

# Debian package. Its dependencies are the packages providing the libraries the binary
# links (readelf's NEEDED; theirs follow from those packages), at least at the versions it
# was built against.
deb="$work/deb"
lay_out "$deb"
depends=$(readelf -d "$deb/usr/bin/berth" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r soname; do
    path=$(ldconfig -p | awk -v so="$soname" '$1 == so && /x86-64|x86_64|64bit/ {print $NF; exit}')
    [ -n "$path" ] || path=$(ldconfig -p | awk -v so="$soname" '$1 == so {print $NF; exit}')
    [ -n "$path" ] || continue
    dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null
done | cut -d: -f1 | sort -u | while read -r pkg; do
    echo "$pkg (>= $(dpkg-query -W -f='${Version}' "$pkg" | sed 's/-[^-]*$//; s/^\([0-9]*:\)\{0,1\}\([0-9]*\.[0-9]*\).*/\1\2/'))"
done | paste -sd, - | sed 's/,/, /g')
[ -n "$depends" ] || { echo "package.sh: could not find the packages of the binary's libraries" >&2; exit 1; }
mkdir -p "$deb/DEBIAN"
cat >"$deb/DEBIAN/control" <<EOF
Package: berth
Version: $version
Architecture: $arch
Maintainer: Berth maintainers <berth@localhost>
Depends: $depends, adduser
Section: net
Priority: optional
Installed-Size: $(du -sk "$deb" | cut -f1)
Description: private container image registry with its own token service
 Berth serves the OCI Distribution API on Distribution-compatible storage, with
 accounts, access rules, robots and an audit log managed live, a web UI, a
 pull-through cache and webhooks, in one binary.
EOF
echo /etc/berth/config.yml >"$deb/DEBIAN/conffiles"
install -m 0755 "$repo/packaging/debian/postinst" "$repo/packaging/debian/prerm" "$repo/packaging/debian/postrm" "$deb/DEBIAN/"
dpkg-deb --root-owner-group --build "$deb" "$dist/berth_${version}_$arch.deb" >/dev/null

echo "$dist/$name.tar.gz"
echo "$dist/berth_${version}_$arch.deb"
echo "$dist/bin/berth"
