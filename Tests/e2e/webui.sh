#!/usr/bin/env bash
# The web UI end to end: a zero-configuration `berth serve`, images pushed with skopeo
# (one with markup in its labels and annotations), a user whose rule lets it pull team/*,
# then headless Chromium driven by Selenium (Tests/e2e/webui.py).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

require() { # tool: a missing tool fails under CI, is reported elsewhere
    command -v "$1" >/dev/null && return 0
    if [ "${CI:-}" = "true" ]; then fail "$1 is required"; else echo "  skip: $1 is not installed"; fi
    return 1
}

echo "== the web UI in headless Chromium"
if require chromium && require chromedriver && python3 -c 'import selenium' 2>/dev/null || { [ "${CI:-}" = "true" ] && fail "python3 selenium is required"; false; }; then
    U="$WORK/ui"; mkdir -p "$U"
    PORT=$(free_port)
    REGISTRY_HTTP_ADDR=127.0.0.1:$PORT BERTH_OUT="$U/out.log" BERTH_ERR="$U/err.log" serve_berth "$U" "http://127.0.0.1:$PORT/v2/" || exit 1
    ADMIN_PW=$(grep -A2 'with the password' "$U/out.log" | tail -1 | tr -d ' ')
    R="127.0.0.1:$PORT"
    python3 "$MAKE_IMAGE" "$WORK/img" v1 --layers 2 --size 20000 --seed 31 >/dev/null
    python3 "$MAKE_IMAGE" "$WORK/img" hostile --layers 2 --size 20000 --seed 32 \
        --label 'bold=<b>bold</b>' --label 'attr="><img src=x onerror=alert(1)>' \
        --annotation 'script=<script>alert(2)</script>' >/dev/null
    python3 "$MAKE_IMAGE" "$WORK/img" multi --index --layers 1 --size 5000 --seed 33 >/dev/null
    for ref in "v1 team/app:v1" "hostile team/app:hostile" "multi team/multi:v1" "v1 ops/tool:v1"; do
        set -- $ref
        check "skopeo pushes $2" $SK copy --all --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:$1" "docker://$R/$2"
    done
    # A cosign signature (the tag sha256-<hex of the image>.sig). Debian ships no cosign, and
    # its skopeo has sigstore signing and verification disabled ("Debian-local change"), so a
    # helper signs as cosign does and checks as `cosign verify --key` does: the signature and
    # its payload read back through the registry API, the digest it names compared, its
    # signature verified with OpenSSL against the public key.
    check "skopeo pushes signed/app:v1" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v1" "docker://$R/signed/app:v1"
    check "the image is signed as cosign signs (Tests/e2e/cosign-sign.py)" python3 "$(dirname "$0")/cosign-sign.py" sign "$R" signed/app v1 admin "$ADMIN_PW" "$U/cosign"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout -out "$U/other.pub"
    check "the signature, read back through the registry API, verifies with the signer's public key" \
        python3 "$(dirname "$0")/cosign-sign.py" verify "$R" signed/app v1 admin "$ADMIN_PW" "$U/cosign.pub"
    check "and not with another key" bash -c "! python3 '$(dirname "$0")/cosign-sign.py' verify '$R' signed/app v1 admin '$ADMIN_PW' '$U/other.pub'"
    check "berth user add dev" bash -c "echo dev-password-1 | '$BERTH' user add dev --password-stdin --cost 4 --data '$U/data'"
    check "berth acl add: dev may delete in team/app" "$BERTH" acl add --data "$U/data" --account dev --name 'team/app' --actions pull,delete
    check "berth acl add: dev pulls team/*" "$BERTH" acl add --data "$U/data" --account dev --name 'team/*' --actions pull
    # The server reads the database's change counter every second: wait for the rule there.
    for _ in $(seq 1 50); do
        curl -s -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "http://$R/berth/api/v1/access-test" \
            -d '{"account":"dev","repository":"team/app","actions":["delete"]}' | grep -q '"granted":\["delete"\]' && break
        sleep 0.1
    done
    run_checks webui.py python3 "$(dirname "$0")/webui.py" "http://$R" "$ADMIN_PW" dev-password-1 "$BERTH" "$U/data"
    check "no password, robot secret or session in Berth's log" bash -c "! grep -q -e '$ADMIN_PW' -e dev-password-1 -e ops-password-1 -e berth_session= -e 'berth_[A-Za-z0-9]\{40\}' '$U/err.log'"
fi

finish
