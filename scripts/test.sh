#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh Debian machine, builds, runs
# the unit and API suites, then the end-to-end tests against real clients.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in radosgw:radosgw ceph-mon:ceph-mon ceph-osd:ceph-osd skopeo:skopeo docker-registry:docker-registry dockerd:docker.io ctr:containerd nginx:nginx openssl:openssl curl:curl python3:python3 pg_ctlcluster:postgresql readelf:binutils adduser:adduser; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
# The LDAP backend builds against OpenLDAP's client library; its tests run Debian's slapd.
for tool in slapd:slapd ldapadd:ldap-utils; do
    command -v "${tool%%:*}" >/dev/null || [ -x "/usr/sbin/${tool%%:*}" ] || missing+=("${tool##*:}")
done
[ -f /usr/include/ldap.h ] || missing+=(libldap-dev)
# Upload hash states are saved with OpenSSL's SHA-256 (libcrypto).
[ -f /usr/include/openssl/sha.h ] || missing+=(libssl-dev)
# The web UI is tested in Debian's headless Chromium.
for tool in chromium:chromium chromedriver:chromium-driver; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Selenium drives Chromium (its own chromedriver, so nothing is downloaded at run time).
if ! python3 -c 'import selenium' 2>/dev/null; then
    python3 -m pip install -q selenium 2>/dev/null || python3 -m pip install -q --break-system-packages selenium \
        || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-selenium >/dev/null; }
fi
# The S3 end-to-end tests create buckets and inspect them with boto3.
if ! python3 -c 'import boto3' 2>/dev/null; then
    python3 -m pip install -q boto3 2>/dev/null || python3 -m pip install -q --break-system-packages boto3 \
        || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-boto3 >/dev/null; }
fi
# The workload-token tests' issuer signs with the cryptography package.
if ! python3 -c 'import cryptography' 2>/dev/null; then
    python3 -m pip install -q cryptography 2>/dev/null || python3 -m pip install -q --break-system-packages cryptography \
        || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-cryptography >/dev/null; }
fi
# The sign-in tests' OpenID provider is PyPI's django-oidc-provider (Tests/e2e/oidc-provider.py).
if ! python3 -c 'import django, oidc_provider' 2>/dev/null; then
    python3 -m pip install -q django django-oidc-provider 2>/dev/null \
        || python3 -m pip install -q --break-system-packages django django-oidc-provider
fi

swift build --build-tests

# The account tests run on SQLite and on a private PostgreSQL server, the LDAP backend's
# against a private slapd, the storage suites also on S3 (Ceph's radosgw on a private
# one-node cluster: a real S3 that verifies every request's signature), all started here.
source Tests/support/postgres.sh
source Tests/support/slapd.sh
source Tests/support/radosgw.sh
trap 'stop_test_postgres; stop_test_slapd; stop_test_radosgw' EXIT
start_test_postgres
start_test_slapd
start_test_radosgw
swift test --skip-build --parallel
# Every input the fuzzers were seeded with or found a crash in, through every parser.
.build/debug/berth-fuzz Tests/fuzz-corpus
stop_test_postgres
stop_test_slapd
stop_test_radosgw
unset BERTH_TEST_POSTGRES PGHOST PGPORT PGUSER

timeout 2400 Tests/e2e/e2e.sh
timeout 1200 Tests/e2e/operations.sh
timeout 600 Tests/e2e/workload.sh
timeout 900 Tests/e2e/accounts.sh
timeout 600 Tests/e2e/webui.sh
timeout 600 Tests/e2e/signin.sh
timeout 300 Tests/e2e/cdn.sh
timeout 900 Tests/e2e/s3.sh
timeout 900 Tests/e2e/replicas.sh
timeout 900 Tests/e2e/mirror.sh
# The release: built, packaged, installed as a Debian package, and as a container image.
timeout 1800 Tests/e2e/release.sh
