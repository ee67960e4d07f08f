#!/usr/bin/env bash
# Federated sign-in end to end: a real OpenID Connect provider (PyPI's django-oidc-provider,
# made by Tests/e2e/oidc-provider.py: discovery, JWKS, code flow with PKCE, userinfo, a
# groups claim) and a Berth whose config.yml names it (auth.token.oidc_auth, docker_auth's
# keys). Headless Chromium signs in through the provider's own login form to the web UI
# and to /oidc_auth (Tests/e2e/signin.py); the docker password that page shows pushes with
# skopeo where the person's group may, and nowhere else. Berth is reached as localhost and
# the provider as 127.0.0.1: two sites, as in production, so the cookies' SameSite rules apply.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

require() { # tool: a missing tool fails under CI, is reported elsewhere
    command -v "$1" >/dev/null && return 0
    if [ "${CI:-}" = "true" ]; then fail "$1 is required"; else echo "  skip: $1 is not installed"; fi
    return 1
}
for module in django oidc_provider selenium; do
    python3 -c "import $module" 2>/dev/null || { fail "python3 $module is required (pip install django django-oidc-provider selenium)"; finish; exit 1; }
done
require chromium && require chromedriver && require skopeo || { finish; exit 1; }

echo "== a real OpenID provider and a Berth that trusts it (auth.token.oidc_auth)"
check "the test provider answers as a provider should (its self-test: discovery, PKCE, refresh, userinfo)" \
    python3 "$(dirname "$0")/oidc-provider-selftest.py"
S="$WORK/signin"; mkdir -p "$S"
PORT=$(free_port)
coproc PROVIDER { exec python3 "$(dirname "$0")/oidc-provider.py" --port 0 --state "$S/provider" --client-id berth-test \
    --client-secret berth-test-secret-1 --redirect-uri "http://localhost:$PORT/oidc_auth" 2>"$S/provider.log"; }
PIDS+=("$PROVIDER_PID")
read -r READY ISSUER <&"${PROVIDER[0]}"
[ "$READY" = "ready" ] || { fail "the provider did not start" "$(tail -20 "$S/provider.log")"; finish; exit 1; }
# GitHub cannot run here: a named mock of its OAuth web flow and REST API (Tests/e2e/github-oauth-mock.py).
check "the GitHub mock answers as GitHub's documents say (its self-test)" python3 "$(dirname "$0")/github-oauth-mock-selftest.py"
coproc GITHUB { exec python3 "$(dirname "$0")/github-oauth-mock.py" --port 0 --client-id berth-gh --client-secret berth-gh-secret-1 \
    --redirect-uri "http://localhost:$PORT/github_auth" 2>"$S/github.log"; }
PIDS+=("$GITHUB_PID")
read -r GREADY GH <&"${GITHUB[0]}"
[ "$GREADY" = "ready" ] || { fail "the GitHub mock did not start" "$(tail -20 "$S/github.log")"; finish; exit 1; }
cat > "$S/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $S/data
http:
  addr: 127.0.0.1:$PORT
auth:
  token:
    service: Berth registry
    oidc_auth:
      issuer: $ISSUER
      redirect_url: http://localhost:$PORT/oidc_auth
      client_id: berth-test
      client_secret: berth-test-secret-1
      labels_claims: [groups]
      name: Test provider
      revalidate_after: 2s
    github_auth:
      organization: acme
      client_id: berth-gh
      client_secret: berth-gh-secret-1
      github_web_uri: $GH
      github_api_uri: $GH/api/v3
      name: GitHub
      revalidate_after: 2s
YAML
check "berth check-config shows oidc_auth, never the client secret" bash -c "'$BERTH' check-config '$S/config.yml' > '$S/effective.yml' && grep -q 'issuer: $ISSUER' '$S/effective.yml' && ! grep -q berth-test-secret '$S/effective.yml'"
sed 's/client_id: berth-test/client_id: ""/' "$S/config.yml" > "$S/bad.yml"
check "an empty client_id is refused by check-config with the key named" bash -c "! '$BERTH' check-config '$S/bad.yml' >/dev/null 2>&1 && '$BERTH' check-config '$S/bad.yml' 2>&1 | grep -q 'oidc_auth.client_id is empty'"
serve_berth "$S" "http://127.0.0.1:$PORT/v2/" --config "$S/config.yml" || { finish; exit 1; }
R="localhost:$PORT"
ADMIN_PW=$(grep -A2 'with the password' "$S/berth.log" | tail -1 | tr -d ' ')
check "berth acl add: each provider group pushes to its own namespace" \
    "$BERTH" acl add --config "$S/config.yml" --name '${labels:groups}/*' --actions pull,push --comment "provider groups"
check "berth acl add: each GitHub team pushes to its own namespace" \
    "$BERTH" acl add --config "$S/config.yml" --name '${labels:teams}/*' --actions pull,push --comment "GitHub teams"
python3 "$MAKE_IMAGE" "$WORK/img" v1 --layers 2 --size 20000 --seed 51 >/dev/null

run_checks signin.py python3 "$(dirname "$0")/signin.py" "http://$R" "$ISSUER" "$S/passwords"

echo "== the docker password of /oidc_auth with skopeo"
ALICE_PW=$(sed -n 1p "$S/passwords" 2>/dev/null)
check "alice's docker password pushes to team-a/ (her provider group)" \
    $SK copy --dest-tls-verify=false --dest-creds "alice@example.test:$ALICE_PW" "oci:$WORK/img:v1" "docker://$R/team-a/app:v1"
check "and not to team-b/" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'alice@example.test:$ALICE_PW' oci:$WORK/img:v1 docker://$R/team-b/app:v1 2>/dev/null"
check "nor with a wrong password" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'alice@example.test:berth_pat_wrong' oci:$WORK/img:v1 docker://$R/team-a/app:v2 2>/dev/null"
expect_eq "a flow that did not start here is refused (no cookie, made-up state)" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://$R/oidc_auth?code=made-up&state=made-up")" "400"
check "the audit log has alice's sign-in through the provider and her account's creation" bash -c "
    '$BERTH' audit --config '$S/config.yml' --limit 1000 --json | python3 -c '
import json, sys
entries = json.load(sys.stdin)
assert any(e[\"action\"] == \"login\" and e[\"target\"] == \"alice@example.test\" and (e.get(\"detail\") or \"\").startswith(\"oidc http://127.0.0.1\") for e in entries), entries[:5]
assert any(e[\"action\"] == \"user.add\" and e[\"target\"] == \"alice@example.test\" for e in entries)'"
check "her account has the provider's groups as a label and no password" bash -c "
    '$BERTH' user ls --config '$S/config.yml' --json | python3 -c '
import json, sys
users = {u[\"name\"]: u for u in json.load(sys.stdin)}
alice = users[\"alice@example.test\"]
assert alice[\"labels\"] == {\"groups\": [\"team-a\"]}, alice'"
check "no client secret, code or docker password in Berth's log" bash -c "! grep -q -e berth-test-secret -e berth_pat_ '$S/berth.log'"

echo "== GitHub's docker password with skopeo"
OCTO_PW=$(sed -n 2p "$S/passwords" 2>/dev/null)
check "octo's docker password pushes to platform/ (his acme team)" \
    $SK copy --dest-tls-verify=false --dest-creds "octo:$OCTO_PW" "oci:$WORK/img:v1" "docker://$R/platform/app:v1"
check "and not to other-team/ (a team of another organization)" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'octo:$OCTO_PW' oci:$WORK/img:v1 docker://$R/other-team/app:v1 2>/dev/null"
check "GitHub was asked with PKCE and state; the client secret never went to its API" bash -c "curl -sf '$GH/test-control/requests' | python3 -c '
import json, sys
requests = json.load(sys.stdin)
authorize = [r for r in requests if r[\"path\"].startswith(\"/login/oauth/authorize\")]
assert authorize and all({\"state\", \"code_challenge\", \"code_challenge_method\"} <= set(r[\"query_names\"]) for r in authorize), authorize[:1]
assert not any(r[\"client_secret_seen\"] for r in requests if r[\"area\"] == \"api\")
assert any(r[\"path\"].startswith(\"/api/v3/orgs/acme/members/\") for r in requests)'"

echo "== revalidation: the provider asked again with each person's refresh token"
PROVIDER_BASE=${ISSUER%/openid}
DB="$S/data/berth/accounts/accounts.sqlite"
checked_twice() { # account: revalidated at least twice since sign-in (the refresh token rotates each time)
    python3 -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute("select checked_at - signed_in_at, refused_at from berth_federated where account=?", (sys.argv[2],)).fetchone(); sys.exit(0 if r and r[0] >= 4000 and r[1] is None else 1)' "$DB" "$1"
}
eventually 30 "alice is revalidated with her rotating refresh token, again and again" checked_twice alice@example.test
check "the provider's refresh token is not stored readable" bash -c "! python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select refresh_token from berth_federated\").fetchall())' '$DB' | grep -q -i -e 'refresh' -e '^\[(None'"
check "the provider disables bob (its test control)" curl -sf -X POST "$PROVIDER_BASE/test-control/deactivate?user=bob"
eventually 30 "bob's account is disabled once the provider refuses him" bash -c "'$BERTH' user ls --config '$S/config.yml' --json | python3 -c 'import json,sys; u={x[\"name\"]:x for x in json.load(sys.stdin)}; assert u[\"bob@example.test\"][\"disabled\"]'"
check "the audit log says revalidation disabled him" bash -c "'$BERTH' audit --config '$S/config.yml' --json | python3 -c 'import json,sys; assert any(e[\"action\"]==\"user.disable\" and e[\"target\"]==\"bob@example.test\" and e[\"actor\"].startswith(\"revalidation: oidc\") for e in json.load(sys.stdin))'"
check "GitHub revokes octo's token (its test control)" curl -sf -X POST "$GH/test-control/revoke?user=octo"
eventually 30 "octo's account is disabled at the next revalidation" bash -c "'$BERTH' user ls --config '$S/config.yml' --json | python3 -c 'import json,sys; u={x[\"name\"]:x for x in json.load(sys.stdin)}; assert u[\"octo\"][\"disabled\"]'"
check "and his docker password is refused" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'octo:$OCTO_PW' oci:$WORK/img:v1 docker://$R/platform/app:v2 2>/dev/null"
check "alice stays enabled, her docker password still pushes" \
    $SK copy --dest-tls-verify=false --dest-creds "alice@example.test:$ALICE_PW" "oci:$WORK/img:v1" "docker://$R/team-a/app:after-revalidation"

echo "== the provider down"
# A flow started while it answered (its cookie and state), finished once it is gone.
LOCATION=$(curl -s -o /dev/null -c "$S/jar" -w '%{redirect_url}' "http://$R/ui/login/oidc")
STATE=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.parse_qs(urllib.parse.urlparse(sys.argv[1]).query)["state"][0])' "$LOCATION")
check "the authorization request carries state, nonce and an S256 PKCE challenge" python3 -c '
import sys, urllib.parse
q = urllib.parse.parse_qs(urllib.parse.urlparse(sys.argv[1]).query)
assert q["response_type"] == ["code"] and q["code_challenge_method"] == ["S256"] and len(q["code_challenge"][0]) == 43, q
assert len(q["state"][0]) >= 40 and len(q["nonce"][0]) >= 40 and q["redirect_uri"] == [sys.argv[2]], q' "$LOCATION" "http://$R/oidc_auth"
kill "$PROVIDER_PID" 2>/dev/null; wait "$PROVIDER_PID" 2>/dev/null
expect_eq "finishing a sign-in while the provider is down is 503, not a refusal" \
    "$(curl -s -o /dev/null -b "$S/jar" -w '%{http_code}' "http://$R/oidc_auth?code=some-code&state=$STATE")" "503"
expect_eq "the same state with another browser's (no) cookie is refused" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://$R/oidc_auth?code=some-code&state=$STATE")" "400"
finish
