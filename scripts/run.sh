#!/usr/bin/env bash
# The README's run command: installs the C libraries Berth builds against (OpenLDAP's
# libldap, OpenSSL's libcrypto) when they are missing, builds a release binary and runs it in the current
# directory (so a zero-configuration Berth keeps its data in ./data). Arguments go to
# `berth` (default: serve).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
missing=()
[ -f /usr/include/ldap.h ] || missing+=(libldap-dev)
[ -f /usr/include/openssl/sha.h ] || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
swift build -c release --package-path "$repo"
[ $# -gt 0 ] || set -- serve
exec "$repo/.build/release/berth" "$@"
