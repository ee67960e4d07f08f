#!/usr/bin/env bash
# End-to-end tests of accounts and rights managed while Berth runs: `berth user|acl|robot|
# audit` against a zero-configuration `berth serve` (SQLite), driven by skopeo, the docker
# CLI and curl; two `berth serve` replicas sharing a PostgreSQL database (started here on a
# free loopback port); the database going away and coming back; people and groups from
# an OpenLDAP directory (Debian's slapd, started here) over StartTLS.
set -uo pipefail

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../support/postgres.sh"
source "$(dirname "$0")/../support/slapd.sh"
trap 'cleanup; stop_test_postgres; stop_test_slapd' EXIT

require() { # tool: a missing tool fails under CI, is reported elsewhere
    command -v "$1" >/dev/null && return 0
    if [ "${CI:-}" = "true" ]; then fail "$1 is required"; else echo "  skip: $1 is not installed"; fi
    return 1
}

# A change made by the CLI reaches a running server at its next poll of the database,
# every second: checks of it use `eventually` (lib.sh).

# Whether the running zero-configuration server's policy grants ACCOUNT every one of
# ACTIONS on REPOSITORY, asked through its admin API: server_grants ACCOUNT REPOSITORY ACTIONS
server_grants() {
    curl -s -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "http://$R/berth/api/v1/access-test" \
        -d "{\"account\":\"$1\",\"repository\":\"$2\",\"actions\":$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1].split(",")))' "$3")}" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if set(sys.argv[1].split(",")) <= set(d["granted"]) else 1)' "$3"
}

# The actions a token grants: token_actions USER:PASSWORD SERVER SCOPE
token_actions() {
    curl -s -u "$1" "http://$2/auth/token?service=Berth+registry&scope=$3" | python3 -c '
import base64, json, sys
token = json.load(sys.stdin)["token"].split(".")[1]
claims = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
print(",".join(claims["access"][0]["actions"]) if claims["access"] else "")'
}

python3 "$MAKE_IMAGE" "$WORK/img" v1 --layers 2 --size 50000 --seed 21 >/dev/null
python3 "$MAKE_IMAGE" "$WORK/img" v2 --seed 22 >/dev/null
COSIGN_SIGN="$(dirname "$0")/cosign-sign.py"

echo "== accounts added, changed and removed while a zero-configuration Berth runs"
A="$WORK/zero"; mkdir -p "$A"
PORT=$(free_port)
# Retention runs only when the tests say (its daily schedule off).
REGISTRY_HTTP_ADDR=127.0.0.1:$PORT REGISTRY_STORAGE_MAINTENANCE_RETENTION_INTERVAL=0 REGISTRY_HTTP_DEBUG_PROMETHEUS_ENABLED=true BERTH_OUT="$A/out.log" BERTH_ERR="$A/err.log" \
    serve_berth "$A" "http://127.0.0.1:$PORT/v2/" || exit 1
R="127.0.0.1:$PORT"
ADMIN_PW=$(grep -A2 'with the password' "$A/out.log" | tail -1 | tr -d ' ')
D=(--data "$A/data")

check "berth user add while Berth serves" bash -c "echo ci-password-1 | '$BERTH' user add ci --password-stdin --cost 4 --label team=build --data '$A/data'"
EMPTY_DIR=$(mktemp -d "$WORK/elsewhere.XXXX")
check "berth user add where there is no ./data refuses, names the path and creates nothing" bash -c "cd '$EMPTY_DIR' && ! out=\$(echo pw-123456789 | '$BERTH' user add lost --password-stdin --cost 4 2>&1) && grep -q 'no accounts database at /.*/data/berth/accounts/accounts.sqlite' <<<\"\$out\" && [ ! -e '$EMPTY_DIR/data' ]"
check "a duplicate user is refused" bash -c "! echo ci-password-1 | '$BERTH' user add ci --password-stdin --cost 4 --data '$A/data' 2>&1 | grep -q added"
check "berth acl add: ci may push to ci/*" "$BERTH" acl add "${D[@]}" --account ci --name 'ci/*' --actions pull,push --comment "ci pushes"
check "an invalid regex is refused with the reason" bash -c "'$BERTH' acl add --data '$A/data' --name '/(x/' --actions pull 2>&1 | grep -q 'invalid regular expression'"
check "ci pushes to ci/* with no restart, at once: the CLI returns once the server applied the rule" $SK copy --dest-tls-verify=false --dest-creds ci:ci-password-1 "oci:$WORK/img:v1" "docker://$R/ci/app:v1"
check "ci cannot push outside ci/*" bash -c "! $SK copy --dest-tls-verify=false --dest-creds ci:ci-password-1 oci:$WORK/img:v1 docker://$R/team/app:v1 2>/dev/null"
expect_eq "berth acl test names the rule that granted" "$("$BERTH" acl test "${D[@]}" ci ci/app pull,push,delete)" "granted: pull,push
decided by: database rule #2 (ci pushes)"
expect_eq "berth acl test --json" "$("$BERTH" acl test "${D[@]}" ci team/app pull --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["granted"], d.get("decision"))')" "[] None"
check "berth acl test says when an account does not exist" bash -c "'$BERTH' acl test ${D[*]} ghost ci/app pull | grep -q 'account: ghost does not exist, so nothing is granted'"
expect_eq "the admin is rule #1 and may do everything" "$("$BERTH" acl test "${D[@]}" admin any/thing pull,push,delete | head -1)" "granted: delete,pull,push"
check "berth user ls --json shows labels, never the hash" bash -c "'$BERTH' user ls --data '$A/data' --json | python3 -c 'import json,sys; u={x[\"name\"]:x for x in json.load(sys.stdin)}; assert u[\"ci\"][\"labels\"]=={\"team\":[\"build\"]}' && ! '$BERTH' user ls --data '$A/data' --json | grep -q '2y'"

if require dockerd && [ "$(id -u)" -eq 0 ]; then
    DD="$WORK/dockerd"; mkdir -p "$DD"
    dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false --data-root "$DD/root" --exec-root "$DD/exec" \
        -H "unix://$DD/docker.sock" --pidfile "$DD/docker.pid" >"$DD/dockerd.log" 2>&1 &
    PIDS+=($!)
    export DOCKER_HOST="unix://$DD/docker.sock" DOCKER_CONFIG="$A/docker-config"
    for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
    if docker version >/dev/null 2>&1; then
        check "docker login as ci" bash -c "echo ci-password-1 | docker login -u ci --password-stdin $R"
        check "docker saved an identity token, not the password" grep -q identitytoken "$A/docker-config/config.json"
        check "an image is loaded into docker" $SK copy "oci:$WORK/img:v2" "docker-daemon:$R/ci/docker:v2" --dest-daemon-host "$DOCKER_HOST"
        check "docker push as ci" docker push "$R/ci/docker:v2"
        check "berth user disable ci" "$BERTH" user disable "${D[@]}" ci
        docker tag "$R/ci/docker:v2" "$R/ci/docker:after-disable" >/dev/null
        eventually 3 "docker's saved identity token stops working once ci is disabled" bash -c "! docker push $R/ci/docker:after-disable"
        check "and so does the password" bash -c "! $SK copy --dest-tls-verify=false --dest-creds ci:ci-password-1 oci:$WORK/img:v1 docker://$R/ci/app:disabled 2>/dev/null"
        check "berth user enable ci" "$BERTH" user enable "${D[@]}" ci
        check "the identity token issued before the disable stays revoked once ci is enabled" bash -c "! docker push $R/ci/docker:after-disable"
        check "docker login again as ci" bash -c "echo ci-password-1 | docker login -u ci --password-stdin $R"
        eventually 3 "and the push works" docker push "$R/ci/docker:after-disable"
        PAT=$("$BERTH" token create "${D[@]}" --user ci --name docker-laptop 2>/dev/null)
        check "docker login with a personal access token" bash -c "echo '$PAT' | docker login -u ci --password-stdin $R"
        check "docker keeps the token itself (an access token gets no identity token that would outlive its revocation)" \
            python3 -c "import json,base64,sys; a=json.load(open('$A/docker-config/config.json'))['auths']['$R']; assert 'identitytoken' not in a and base64.b64decode(a['auth']).decode().endswith('$PAT')"
        docker tag "$R/ci/docker:v2" "$R/ci/docker:pat" >/dev/null
        check "docker push with the access token" docker push "$R/ci/docker:pat"
        check "berth token revoke" "$BERTH" token revoke "${D[@]}" --user ci docker-laptop
        docker tag "$R/ci/docker:v2" "$R/ci/docker:pat-revoked" >/dev/null
        check "docker push with the revoked token is refused at once" bash -c "! docker push $R/ci/docker:pat-revoked"
        check "docker login with the password again" bash -c "echo ci-password-1 | docker login -u ci --password-stdin $R"
        check "berth policy immutable add: ci/* v* tags never move" "$BERTH" policy immutable add "${D[@]}" --name 'ci/*' --tag 'v*'
        check "another image is loaded into docker" $SK copy "oci:$WORK/img:v1" "docker-daemon:$R/ci/docker:other" --dest-daemon-host "$DOCKER_HOST"
        docker tag "$R/ci/docker:other" "$R/ci/docker:v2" >/dev/null
        out=$(docker push "$R/ci/docker:v2" 2>&1)
        check "docker push moving the immutable v2 to another image is refused, saying why" bash -c "grep -q 'denied: ci/docker:v2 is immutable' <<< '$out'"
        docker tag "$R/ci/docker:other" "$R/ci/docker:v3" >/dev/null
        check "a new tag is fine" docker push "$R/ci/docker:v3"
        check "berth policy rm immutable 1" "$BERTH" policy rm "${D[@]}" immutable 1
        docker tag "$R/ci/docker:other" "$R/ci/docker:v2" >/dev/null
        check "without the policy, v2 moves" docker push "$R/ci/docker:v2"
        python3 "$MAKE_IMAGE" "$WORK/docker-quota" v1 --layers 1 --size 20000 --seed 97 >/dev/null
        check "a new image is loaded into docker" $SK copy "oci:$WORK/docker-quota:v1" "docker-daemon:$R/ci/docker:quota" --dest-daemon-host "$DOCKER_HOST"
        check "berth policy quota set ci 1KB (ci/* already stores more)" "$BERTH" policy quota set "${D[@]}" ci 1KB
        out=$(docker push "$R/ci/docker:quota" 2>&1)
        check "docker push of new layers into ci/ is refused, saying quota" bash -c "grep -q 'denied: quota exceeded: namespace ci uses' <<< '$out'"
        check "berth policy quota set ci none" "$BERTH" policy quota set "${D[@]}" ci none
        check "then it pushes" docker push "$R/ci/docker:quota"
        check "cosign-sign.py signs ci/docker:quota as cosign does" python3 "$COSIGN_SIGN" sign "$R" ci/docker quota ci ci-password-1 "$WORK/docker-cosign"
        check "berth policy signed add --name 'ci/docker' --key cosign.pub" "$BERTH" policy signed add "${D[@]}" --name 'ci/docker' --key "$WORK/docker-cosign.pub"
        check "docker pull of the signed image works" docker pull "$R/ci/docker:quota"
        docker pull "$R/ci/docker:v3" > "$WORK/docker-pull.out" 2>&1
        check "docker pull of an unsigned one is refused, saying why" grep -q 'denied: image is not signed by a trusted key (signed #1: ci/docker)' "$WORK/docker-pull.out"
        check "berth policy rm signed 1" "$BERTH" policy rm "${D[@]}" signed 1
        check "then it pulls" docker pull "$R/ci/docker:v3"
        check "berth user rm ci, then a new ci" bash -c "'$BERTH' user rm ci --data '$A/data' && echo ci-password-1 | '$BERTH' user add ci --password-stdin --cost 4 --data '$A/data'"
        docker tag "$R/ci/docker:v2" "$R/ci/docker:recreated" >/dev/null
        eventually 3 "the removed account's identity token does not work for the new account of the same name" bash -c "! docker push $R/ci/docker:recreated"
    else
        fail "dockerd did not start" "$(tail -5 "$DD/dockerd.log")"
    fi
    unset DOCKER_HOST DOCKER_CONFIG
fi

check "berth user expire ci (a day in the past)" "$BERTH" user expire "${D[@]}" ci 2020-01-01
eventually 3 "an expired account is refused" bash -c "! $SK copy --dest-tls-verify=false --dest-creds ci:ci-password-1 oci:$WORK/img:v1 docker://$R/ci/app:expired 2>/dev/null"
check "berth user expire ci never" "$BERTH" user expire "${D[@]}" ci never
eventually 3 "it works again without expiry" $SK copy --dest-tls-verify=false --dest-creds ci:ci-password-1 "oci:$WORK/img:v1" "docker://$R/ci/app:unexpired"

echo "== personal access tokens"
LIMITED=$("$BERTH" token create "${D[@]}" --user ci --name 'pull only' --scope 'ci/app:pull' --expires 2099-01-01 2>"$WORK/pat.err")
check "berth token create prints the token once, the login command on stderr" bash -c "[[ '$LIMITED' == berth_pat_* ]] && [ ${#LIMITED} -eq 50 ] && grep -q \"docker login -u 'ci' --password-stdin\" '$WORK/pat.err'"
check "the token is not stored" bash -c "! grep -aq '$LIMITED' $A/data/berth/accounts/accounts.sqlite*"
check "a token limited to pull on ci/app pulls it" $SK copy --src-tls-verify=false --src-creds "ci:$LIMITED" "docker://$R/ci/app:v1" "oci:$WORK/pat-pull:v1"
check "but cannot push there, although ci may" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'ci:$LIMITED' oci:$WORK/img:v1 docker://$R/ci/app:pat 2>/dev/null"
expect_eq "nor is anything granted outside its scope" "$(token_actions "ci:$LIMITED" "$R" "repository:ci/other:pull")" ""
expect_eq "ci's password still pushes there" "$(token_actions "ci:ci-password-1" "$R" "repository:ci/app:pull,push")" "pull,push"
check "another account's name with the token is refused" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -u 'admin:$LIMITED' 'http://$R/auth/token?service=Berth+registry')\" = 401 ]"
eventually 5 "berth token ls shows its scope, expiry and last use, never the token" bash -c "
    '$BERTH' token ls --data '$A/data' --user ci --json | python3 -c '
import json, sys
text = sys.stdin.read()
assert \"$LIMITED\" not in text and \"berth_pat\" not in text
t = [x for x in json.loads(text) if x[\"name\"] == \"pull only\"][0]
assert t[\"scopes\"] == [\"ci/app:pull\"] and t[\"expires\"].startswith(\"2099-01-02\") and t[\"lastUsed\"], t'"
check "a token with a bad scope is refused with the reason" bash -c "'$BERTH' token create --data '$A/data' --user ci --name bad --scope 'ci/*:fly' 2>&1 | grep -q 'scope actions are pull, push, delete or \*'"
check "a robot gets no access token" bash -c "'$BERTH' token create --data '$A/data' --user 'robot\$builder' --name x 2>&1 | grep -q 'robots have their own secret'"
check "berth token needs to know whose token" bash -c "'$BERTH' token create --data '$A/data' --name x 2>&1 | grep -q 'say whose token with --user'"
ADMIN_SCOPED=$(BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" token create --registry "http://$R" --name scoped --scope 'ci/*:pull' 2>/dev/null)
ADMIN_FULL=$(BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" token create --registry "http://$R" --name automation 2>/dev/null)
expect_eq "through --registry the token is the caller's own" "$(BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" token ls --registry "http://$R" --json | python3 -c 'import json,sys; print(sorted((t["account"], t["name"]) for t in json.load(sys.stdin)))')" "[('admin', 'automation'), ('admin', 'scoped')]"
expect_eq "an administrator's scoped token does not open the admin API" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_SCOPED" "http://$R/berth/api/v1/users")" "403"
expect_eq "an administrator's unscoped token does" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_FULL" "http://$R/berth/api/v1/users")" "200"
check "berth token revoke --registry" bash -c "BERTH_USERNAME=admin BERTH_PASSWORD='$ADMIN_PW' '$BERTH' token revoke --registry http://$R automation | grep -q 'revoked token automation'"
expect_eq "the revoked token is refused on the very next request" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_FULL" "http://$R/berth/api/v1/users")" "401"
eventually 20 "the audit log records token logins with the token's name, and creations and revocations" bash -c "
    '$BERTH' audit --data '$A/data' --limit 100000 --json | python3 -c '
import json, sys
entries = json.load(sys.stdin)
assert any(e[\"action\"] == \"login\" and e[\"target\"] == \"ci\" and e[\"success\"] and e.get(\"detail\") == \"access token pull only\" for e in entries)
assert any(e[\"action\"] == \"token.create\" and e[\"actor\"] == \"admin\" for e in entries)
assert any(e[\"action\"] == \"token.revoke\" and e[\"target\"] == \"admin\" for e in entries)
assert not any(\"berth_pat_\" in json.dumps(e) for e in entries)'"

echo "== repository policies: immutable tags"
check "skopeo pushes prod/app:v1.0" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v1" "docker://$R/prod/app:v1.0"
check "berth policy immutable add --name 'prod/*' --tag 'v*' (while Berth runs)" "$BERTH" policy immutable add "${D[@]}" --name 'prod/*' --tag 'v*' --comment "releases never move"
check "a bad pattern is refused with the reason" bash -c "'$BERTH' policy immutable add --data '$A/data' --name 'prod/*' --tag '[v' 2>&1 | grep -q 'invalid glob pattern'"
out=$($SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v2" "docker://$R/prod/app:v1.0" 2>&1)
check "moving prod/app:v1.0 to another image is refused, even for the admin, naming the policy" bash -c "grep -q 'denied: prod/app:v1.0 is immutable (immutable #1: prod/\* v\*)' <<< '$out'"
check "pushing the same image again is fine" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v1" "docker://$R/prod/app:v1.0"
check "a tag the policy does not cover moves" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v2" "docker://$R/prod/app:latest"
check "skopeo delete of the tag is refused" bash -c "! $SK delete --tls-verify=false --creds 'admin:$ADMIN_PW' docker://$R/prod/app:v1.0 2>/dev/null"
check "berth rm --repository (Berth's repository delete) is refused, saying why" bash -c "! out=\$(echo '$ADMIN_PW' | '$BERTH' rm --repository $R/prod/app --yes --insecure -u admin --password-stdin 2>&1) && grep -q 'is immutable' <<< \"\$out\""
expect_eq "berth policy ls --json" "$("$BERTH" policy ls "${D[@]}" --json | python3 -c 'import json,sys; print([(p["kind"], p["spec"], p.get("comment")) for p in json.load(sys.stdin)])')" "[('immutable', {'name': 'prod/*', 'tag': 'v*'}, 'releases never move')]"
expect_eq "GET /berth/api/v1/policies" "$(curl -s -u "admin:$ADMIN_PW" "http://$R/berth/api/v1/policies" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" "1"
expect_eq "POST /policies refuses an unknown setting (400)" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "http://$R/berth/api/v1/policies" -d '{"kind":"immutable","spec":{"name":"x/*","tag":"v*","colour":"red"}}')" "400"
check "berth policy rm immutable 1" "$BERTH" policy rm "${D[@]}" immutable 1
check "once removed, the tag moves" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v2" "docker://$R/prod/app:v1.0"
check "the audit log has the policy's addition and removal" bash -c "'$BERTH' audit --data '$A/data' --json | python3 -c 'import json,sys; a={e[\"action\"] for e in json.load(sys.stdin)}; assert {\"policy.add\", \"policy.rm\"} <= a, a'"

echo "== repository policies: retention"
# release-1 first (the oldest), then five builds; build-1 is the same image as release-1.
for n in 1 2 3 4 5; do python3 "$MAKE_IMAGE" "$WORK/ret$n" v1 --layers 1 --size 3000 --seed $((70 + n)) >/dev/null; done
$SK copy -q --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/ret1:v1" "docker://$R/nightly/app:release-1" >/dev/null 2>&1
for n in 1 2 3 4 5; do
    $SK copy -q --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/ret$n:v1" "docker://$R/nightly/app:build-$n" >/dev/null 2>&1
done
expect_eq "six tags pushed to nightly/app" "$(token_actions "admin:$ADMIN_PW" "$R" "repository:nightly/app:pull" >/dev/null; $SK list-tags --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$R/nightly/app" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Tags"]))')" "6"
check "berth policy retention add --name 'nightly/*' --keep-last 2 --keep-tag 'release-*' --untagged-after 1s" \
    "$BERTH" policy retention add "${D[@]}" --name 'nightly/*' --keep-last 2 --keep-tag 'release-*' --untagged-after 1s
check "a retention policy without anything to keep by is refused" bash -c "'$BERTH' policy retention add --data '$A/data' --name 'x/*' 2>&1 | grep -q 'need keep_last, keep_days, keep_pulled_days or untagged_after'"
expect_eq "berth policy retention run --dry-run --registry lists exactly the tags that would go, with size and reason" \
    "$(BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" policy retention run --dry-run --json --registry "http://$R" | python3 -c 'import json,sys; p=json.load(sys.stdin); print(sorted(r["tag"] for r in p["removals"]), all(r["size"] > 3000 and "newest 2" in r["reason"] for r in p["removals"]))')" \
    "['build-1', 'build-2', 'build-3'] True"
expect_eq "and changed nothing" "$($SK list-tags --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$R/nightly/app" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["Tags"]))')" "6"
check "berth policy retention run --registry removes them" bash -c "BERTH_USERNAME=admin BERTH_PASSWORD='$ADMIN_PW' '$BERTH' policy retention run --registry http://$R | grep -q 'removed 3 tags and 0 manifests'"
expect_eq "the newest two and release-1 are left" "$($SK list-tags --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$R/nightly/app" | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["Tags"]))')" "['build-4', 'build-5', 'release-1']"
check "release-1's image (also build-1's) still pulls" $SK inspect --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$R/nightly/app:release-1"
# Untagged since this run: deleted by a run at least untagged_after (1 s) later.
RET2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"])' "$WORK/ret2")
RET3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"])' "$WORK/ret3")
check "untagged just now, build-2's manifest is still there (untagged_after not yet passed for it)" $SK inspect --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$R/nightly/app@$RET2"
eventually 10 "runs at least untagged_after later delete build-2's and build-3's untagged manifests" bash -c "BERTH_USERNAME=admin BERTH_PASSWORD='$ADMIN_PW' '$BERTH' policy retention run --registry http://$R >/dev/null && ! $SK inspect --tls-verify=false --creds 'admin:$ADMIN_PW' docker://$R/nightly/app@$RET2 2>/dev/null && ! $SK inspect --tls-verify=false --creds 'admin:$ADMIN_PW' docker://$R/nightly/app@$RET3 2>/dev/null"
check "release-1's (build-1's) stays" $SK inspect --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$R/nightly/app:release-1"
check "the audit log records each removal by retention, and the run" bash -c "curl -s -u 'admin:$ADMIN_PW' 'http://$R/berth/api/v1/audit?limit=500' | python3 -c 'import json,sys; e=json.load(sys.stdin); assert len([x for x in e if x[\"actor\"]==\"retention\" and x[\"action\"]==\"manifest.delete\" and x[\"target\"].startswith(\"nightly/app:build-\")])==3; assert any(x[\"action\"]==\"retention.run\" for x in e)'"
check "berth policy rm retention 1" "$BERTH" policy rm "${D[@]}" retention 1
check "berth policy retention add --name 'pulled/*' --keep-pulled-days 7" "$BERTH" policy retention add "${D[@]}" --name 'pulled/*' --keep-pulled-days 7
for t in a b; do $SK copy -q --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/ret1:v1" "docker://$R/pulled/app:$t" >/dev/null 2>&1; done
check "skopeo inspect pulls pulled/app:a (a manifest GET by tag)" $SK inspect --tls-verify=false --creds "admin:$ADMIN_PW" "docker://$R/pulled/app:a"
eventually 10 "the pull of the tag is recorded in the storage, and only that tag's" bash -c "[ -n \"\$(find '$A/data' -path '*/berth/pulls/pulled/app/_tags/a')\" ] && [ -z \"\$(find '$A/data' -path '*/berth/pulls/pulled/app/_tags/b')\" ]"
expect_eq "a dry run keeps both (b counts from the policy's start)" "$(BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" policy retention run --dry-run --json --registry "http://$R" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["removals"]))')" "0"
check "berth policy rm retention 1 (the pulled one)" "$BERTH" policy rm "${D[@]}" retention 1

echo "== repository policies: namespace quotas"
for n in 1 2 3; do python3 "$MAKE_IMAGE" "$WORK/quota$n" v1 --layers 1 --size 200000 --seed $((90 + n)) >/dev/null; done
admin_push() { $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/$1:v1" "docker://$R/$2"; }
check "berth policy quota set team 300KB (while Berth runs)" "$BERTH" policy quota set "${D[@]}" team 300KB --comment "the team's share"
check "a mistyped size is refused with the reason" bash -c "'$BERTH' policy quota set --data '$A/data' team 10GX 2>&1 | grep -q '10GX is not a size'"
check "a repository path is not a namespace" bash -c "'$BERTH' policy quota set --data '$A/data' team/app 1G 2>&1 | grep -q 'is not a namespace'"
check "the first image (about 200 kB) fits" admin_push quota1 team/app:v1
check "the same image in another repository of the namespace adds nothing (a blob counts once)" admin_push quota1 team/api:v1
out=$(admin_push quota2 team/app:v2 2>&1)
check "a second image would pass 300 kB: refused even for the admin, saying quota, used and limit" \
    bash -c "grep -q 'denied: quota exceeded: namespace team uses 19[0-9].[0-9] KiB of its 293.0 KiB (quota #1)' <<< '$out'"
check "another namespace is not limited" admin_push quota2 other/app:v2
expect_eq "berth policy ls shows what the namespace uses" "$("$BERTH" policy ls "${D[@]}" | grep '^quota' | grep -o '19[0-9].[0-9] KiB of 293.0 KiB ([0-9]*%)' | sed 's/[0-9.]* KiB of/N KiB of/')" "N KiB of 293.0 KiB (67%)"
expect_eq "and --registry (the server's own figures, GET /policies/quotas)" \
    "$(BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" policy ls --registry "http://$R" --json | python3 -c 'import json,sys; print([(p["kind"], p["usage"]["namespace"], p["usage"]["limit"], p["usage"]["used"] > 190000) for p in json.load(sys.stdin) if "usage" in p])')" \
    "[('quota', 'team', 300000, True)]"
check "/metrics has the namespace's quota and usage" bash -c "curl -s http://$R/metrics | grep -q '^berth_namespace_quota_bytes{namespace=\"team\"} 300000' && curl -s http://$R/metrics | grep -q '^berth_namespace_used_bytes{namespace=\"team\"} [1-9]'"
check "berth policy quota set team 1MB replaces the quota" "$BERTH" policy quota set "${D[@]}" team 1MB
expect_eq "one quota, the new one" "$("$BERTH" policy ls "${D[@]}" --json | python3 -c 'import json,sys; print([p["spec"]["size"] for p in json.load(sys.stdin) if p["kind"] == "quota"])')" "['1000000']"
check "and the second image fits now" admin_push quota2 team/app:v2
check "berth policy quota set team 300KB again" "$BERTH" policy quota set "${D[@]}" team 300KB
out=$(admin_push quota3 team/new:v1 2>&1)
check "an upload into a namespace at its quota is refused before any byte is sent" bash -c "grep -q 'nothing more may be pushed there' <<< '$out'"
expect_eq "POST /v2/team/new/blobs/uploads/ answers 403 DENIED" "$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $(curl -s -u "admin:$ADMIN_PW" "http://$R/auth/token?service=Berth+registry&scope=repository:team/new:pull,push" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')" -X POST "http://$R/v2/team/new/blobs/uploads/" | python3 -c 'import json,sys; body, status = sys.stdin.read().rsplit(" ", 1); print(json.loads(body)["errors"][0]["code"], status)')" "DENIED 403"
for repo in team/app team/api; do echo "$ADMIN_PW" | "$BERTH" rm --repository "$R/$repo" --yes --insecure -u admin --password-stdin >/dev/null 2>&1; done
check "deleting the namespace's repositories gives the space back" admin_push quota3 team/app:v3
check "berth policy quota set team none removes it" bash -c "'$BERTH' policy quota set --data '$A/data' team none | grep -q 'removed the quota of namespace team'"
check "a namespace without a quota says so" bash -c "'$BERTH' policy quota set --data '$A/data' team none 2>&1 | grep -q 'namespace team has no quota'"

echo "== repository policies: signature-required pulls"
python3 "$MAKE_IMAGE" "$WORK/sig" v1 --layers 1 --size 3000 --seed 81 >/dev/null
python3 "$MAKE_IMAGE" "$WORK/sig" v2 --layers 1 --size 3000 --seed 82 >/dev/null
python3 "$MAKE_IMAGE" "$WORK/sig" v3 --layers 1 --size 3000 --seed 83 --index >/dev/null
for v in v1 v2 v3; do $SK copy -q --all --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/sig:$v" "docker://$R/signed/app:$v" >/dev/null 2>&1; done
check "cosign-sign.py signs signed/app:v1 with an ECDSA P-256 key" python3 "$COSIGN_SIGN" sign "$R" signed/app v1 admin "$ADMIN_PW" "$WORK/cosign"
check "and v3 (an index) with an ed25519 key" env COSIGN_KEY_TYPE=ed25519 python3 "$COSIGN_SIGN" sign "$R" signed/app v3 admin "$ADMIN_PW" "$WORK/cosign-ed"
check "a key file that is not a public key is refused with the reason" bash -c "'$BERTH' policy signed add --data '$A/data' --name 'signed/*' --key '$WORK/cosign.pem' 2>&1 | grep -q 'neither ECDSA P-256 nor ed25519\|no -----BEGIN PUBLIC KEY'"
check "berth policy signed add --name 'signed/*' --key cosign.pub --key ed25519.pub" "$BERTH" policy signed add "${D[@]}" --name 'signed/*' --key "$WORK/cosign.pub" --key "$WORK/cosign-ed.pub"
check "skopeo pulls the signed v1" $SK copy --src-tls-verify=false --src-creds "admin:$ADMIN_PW" "docker://$R/signed/app:v1" "oci:$WORK/sig-pulled:v1"
check "and the signed index v3 with all its platforms (its signature covers them)" $SK copy --all --src-tls-verify=false --src-creds "admin:$ADMIN_PW" "docker://$R/signed/app:v3" "oci:$WORK/sig-pulled:v3"
out=$($SK copy --src-tls-verify=false --src-creds "admin:$ADMIN_PW" "docker://$R/signed/app:v2" "oci:$WORK/sig-pulled:v2" 2>&1)
check "the unsigned v2 is refused, even for the admin: 403 DENIED image is not signed by a trusted key" bash -c "grep -q 'denied: image is not signed by a trusted key (signed #1' <<< '$out'"
check "the signatures themselves pull (cosign verify reads them)" python3 "$COSIGN_SIGN" verify "$R" signed/app v1 admin "$ADMIN_PW" "$WORK/cosign.pub"
check "a signature by another key does not count" bash -c "python3 '$COSIGN_SIGN' sign '$R' signed/app v2 admin '$ADMIN_PW' '$WORK/other-key' >/dev/null && ! $SK inspect --tls-verify=false --creds 'admin:$ADMIN_PW' docker://$R/signed/app:v2 2>/dev/null"
check "pushes are not blocked" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/sig:v2" "docker://$R/signed/app:v2-again"
expect_eq "berth policy ls shows the keys as a count and fingerprint, not the PEM" "$("$BERTH" policy ls "${D[@]}" | grep '^signed' | grep -c 'key=2 PEM keys (sha256 [0-9a-f]*) name=signed/\*')" "1"
check "once v2 is signed by a trusted key, it pulls" bash -c "rm -f '$WORK/cosign-v2' && cp '$WORK/cosign.pem' '$WORK/cosign-v2.pem' && python3 '$COSIGN_SIGN' sign '$R' signed/app v2 admin '$ADMIN_PW' '$WORK/cosign-v2' >/dev/null && $SK inspect --tls-verify=false --creds 'admin:$ADMIN_PW' docker://$R/signed/app:v2 >/dev/null"
check "berth policy rm signed 1" "$BERTH" policy rm "${D[@]}" signed 1

echo "== robots"
SECRET=$("$BERTH" robot add builder --name 'ci/robot-*' --actions pull,push "${D[@]}" 2>/dev/null)
check "berth robot add prints a secret once" bash -c "[[ '$SECRET' == berth_* ]] && [ ${#SECRET} -eq 46 ]"
check "the secret is not stored" bash -c "! grep -aq '$SECRET' $A/data/berth/accounts/accounts.sqlite*"
eventually 3 "the robot pushes where it may" $SK copy --dest-tls-verify=false --dest-creds "robot\$builder:$SECRET" "oci:$WORK/img:v1" "docker://$R/ci/robot-app:v1"
check "and nowhere else, whatever other rules say" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'robot\$builder:$SECRET' oci:$WORK/img:v1 docker://$R/ci/app:robot 2>/dev/null"
NEW_SECRET=$("$BERTH" robot rotate builder "${D[@]}")
eventually 3 "a rotated robot's old secret is refused" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'robot\$builder:$SECRET' oci:$WORK/img:v1 docker://$R/ci/robot-app:old 2>/dev/null"
check "the new secret works" $SK copy --dest-tls-verify=false --dest-creds "robot\$builder:$NEW_SECRET" "oci:$WORK/img:v1" "docker://$R/ci/robot-app:new"
eventually 3 "berth robot ls shows when it was last used" bash -c "'$BERTH' robot ls --data '$A/data' --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[0][\"lastUsed\"]'"

echo "== anonymous pulls by rule, audit log"
check "anonymous access is off by default" bash -c "! $SK inspect --tls-verify=false --no-creds docker://$R/ci/app:v1 2>/dev/null"
check "berth acl add --account '' (anonymous) for public/*" "$BERTH" acl add "${D[@]}" --account '' --name 'public/*' --actions pull --position 1
check "admin pushes public/app" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v2" "docker://$R/public/app:v2"
eventually 3 "anonymous pull of public/* works" $SK copy --src-tls-verify=false --src-no-creds "docker://$R/public/app:v2" "oci:$WORK/anon:v2"
check "anonymous pull elsewhere stays refused" bash -c "! $SK inspect --tls-verify=false --no-creds docker://$R/ci/app:v1 2>/dev/null"
check "an account's own rules decide for it: ci (rules for ci/* only) cannot pull public/app, as in docker_auth" bash -c "! $SK inspect --tls-verify=false --creds ci:ci-password-1 docker://$R/public/app:v2 2>/dev/null"
check "berth acl public 'shared/*' (everyone may pull, signed in or not)" "$BERTH" acl public "${D[@]}" 'shared/*'
expect_eq "it added the anonymous rule and the signed-in rule, last" "$("$BERTH" acl ls "${D[@]}" --json | python3 -c 'import json,sys; r=json.load(sys.stdin)[-2:]; print([(x["match"]["account"], x["match"]["name"], x["actions"]) for x in r])')" "[('', 'shared/*', ['pull']), ('/.+/', 'shared/*', ['pull'])]"
check "admin pushes shared/app" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v2" "docker://$R/shared/app:v2"
check "anonymous pull of shared/app" $SK inspect --tls-verify=false --no-creds "docker://$R/shared/app:v2"
check "signed-in pull of shared/app (ci)" $SK inspect --tls-verify=false --creds ci:ci-password-1 "docker://$R/shared/app:v2"
check "but not push" bash -c "! $SK copy --dest-tls-verify=false --dest-creds ci:ci-password-1 oci:$WORK/img:v1 docker://$R/shared/app:ci 2>/dev/null"
check "the admin still pushes there (its own rule comes first)" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v1" "docker://$R/shared/app:v1"
curl -s -u ci:wrong-password "http://$R/auth/token?service=Berth+registry" >/dev/null
eventually 20 "the audit log has logins (refused ones too), every change and the pushes (account, address, tag)" bash -c "
    '$BERTH' audit --data '$A/data' --limit 100000 --json | python3 -c '
import json, sys
entries = json.load(sys.stdin)
actions = {e[\"action\"] for e in entries}
assert {\"user.add\", \"acl.add\", \"user.disable\", \"robot.rotate\", \"login\"} <= actions, actions
assert any(e[\"action\"] == \"login\" and not e[\"success\"] and e[\"target\"] == \"ci\" for e in entries)
assert not any(\"ci-password-1\" in json.dumps(e) for e in entries)
pushes = [e for e in entries if e[\"action\"] == \"manifest.push\"]
assert any(e[\"actor\"] == \"ci\" and e[\"target\"].startswith(\"ci/app:\") and e[\"address\"] == \"127.0.0.1\" for e in pushes), pushes[:3]'"
check "berth audit --action user lists only account changes" bash -c "'$BERTH' audit --data '$A/data' --action user | tail -n +2 | awk '{print \$3}' | grep -qv '^user\.' && exit 1 || exit 0"

echo "== the admin API: changes apply to the very next request"
API="http://$R/berth/api/v1"
token_status() { curl -s -o /dev/null -w '%{http_code}' -u "$1" "http://$R/auth/token?service=Berth+registry"; }
expect_eq "the OpenAPI document is served without credentials" "$(curl -s "$API/openapi.yaml" | head -1)" "openapi: 3.0.3"
expect_eq "the admin API needs credentials" "$(curl -s -o /dev/null -w '%{http_code}' "$API/users")" "401"
expect_eq "and admin rights" "$(curl -s -o /dev/null -w '%{http_code}' -u ci:ci-password-1 "$API/users")" "403"
expect_eq "POST /users" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "$API/users" -d '{"name":"ops","password":"ops-password-1","labels":{"team":["ops"]}}')" "201"
expect_eq "the new account logs in on the very next request" "$(token_status ops:ops-password-1)" "200"
expect_eq "POST /users (a second one)" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "$API/users" -d '{"name":"ops2","password":"ops-password-2"}')" "201"
expect_eq "a duplicate is 409 in the registry's error format" "$(curl -s -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "$API/users" -d '{"name":"ops","password":"ops-password-1"}')" '{"errors":[{"code":"CONFLICT","message":"user ops exists"}]}'
expect_eq "a form POST (what a cross-site page can send) is refused" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_PW" -X POST "$API/users" -d '{"name":"csrf","password":"csrf-password-1"}')" "415"
expect_eq "bad JSON is 400 with the reason" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "$API/rules" -d '{"match":{}}')" "400"
expect_eq "POST /rules with a label pattern" "$(curl -s -o /dev/null -w '%{http_code}' -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "$API/rules" -d '{"match":{"name":"${labels:team}/*"},"actions":["pull","push"],"comment":"team namespaces"}')" "201"
expect_eq "the rule decides the very next token request" "$(curl -s -u ops:ops-password-1 "http://$R/auth/token?service=Berth+registry&scope=repository:ops/app:push" | python3 -c 'import base64,json,sys; t=json.load(sys.stdin)["token"].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(t+"=="))["access"][0]["actions"])')" "['push']"
expect_eq "POST /access-test names the rule" "$(curl -s -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X POST "$API/access-test" -d '{"account":"ops","repository":"ops/app","actions":["pull","delete"]}' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["granted"], d["decision"]["comment"])')" "['pull'] team namespaces"
expect_eq "PATCH disabled: refused on the very next request" "$(curl -s -o /dev/null -u "admin:$ADMIN_PW" -H 'Content-Type: application/json' -X PATCH "$API/users/ops" -d '{"disabled":true}'; token_status ops:ops-password-1)" "401"
check "robots created through the API show their secret once" bash -c "curl -s -u 'admin:$ADMIN_PW' -H 'Content-Type: application/json' -X POST '$API/robots' -d '{\"name\":\"api-bot\",\"repositories\":[\"ops/*\"],\"actions\":[\"pull\"]}' | grep -q '\"secret\":\"berth_' && ! curl -s -u 'admin:$ADMIN_PW' '$API/robots' | grep -q secret"
RT=$(curl -s -u ops2:ops-password-2 "http://$R/auth/token?service=Berth+registry&offline_token=true&client_id=e2e" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("refresh_token",""))')
expect_eq "GET /users/NAME/tokens lists a refresh token by its hash, never the token" "$(curl -s -u "admin:$ADMIN_PW" "$API/users/ops2/tokens" | python3 -c "import json,sys,hashlib; t=json.load(sys.stdin); print(len(t), t[0]['id']==hashlib.sha256(b'$RT').hexdigest(), t[0]['client'], '$RT' in json.dumps(t))")" "1 True e2e False"
expect_eq "DELETE /users/NAME/tokens revokes them" "$(curl -s -u "admin:$ADMIN_PW" -X DELETE "$API/users/ops2/tokens")" '{"revoked":1}'
expect_eq "the revoked refresh token is refused on the very next request" "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$RT" --data-urlencode client_id=e2e --data-urlencode 'service=Berth registry' "http://$R/auth/token")" 401
check "the audit log names the admin and the address of each API change" bash -c "curl -s -u 'admin:$ADMIN_PW' '$API/audit?action=user' | python3 -c 'import json,sys; e=[x for x in json.load(sys.stdin) if x[\"target\"]==\"ops\"]; assert e and all(x[\"actor\"]==\"admin\" and x[\"address\"]==\"127.0.0.1\" for x in e), e'"

echo "== berth user|acl|robot|audit --registry: the same commands through the admin API"
remote() { BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" "$@" --registry "http://$R"; }
check "berth user add --registry" bash -c "echo remote-password-1 | BERTH_USERNAME=admin BERTH_PASSWORD='$ADMIN_PW' '$BERTH' user add remote --password-stdin --cost 4 --label team=remote --registry http://$R"
expect_eq "the new account logs in at once" "$(token_status remote:remote-password-1)" "200"
check "berth acl add --registry" remote acl add --account remote --name 'remote/*' --actions pull,push --comment "remote namespace" --position 1
expect_eq "berth acl test --registry asks the server" "$(remote acl test remote remote/app pull,push,delete | tail -1 | sed 's/rule #[0-9]*/rule #N/')" "decided by: database rule #N (remote namespace)"
check "berth user ls --registry --json" bash -c "BERTH_USERNAME=admin BERTH_PASSWORD='$ADMIN_PW' '$BERTH' user ls --json --registry http://$R | python3 -c 'import json,sys; assert any(u[\"name\"]==\"remote\" for u in json.load(sys.stdin))'"
check "berth user disable --registry" remote user disable remote
expect_eq "refused at once" "$(token_status remote:remote-password-1)" "401"
check "a non-admin is refused by the API" bash -c "! BERTH_USERNAME=ci BERTH_PASSWORD=ci-password-1 '$BERTH' user ls --registry http://$R 2>&1 | grep -q remote"
check "the audit names the admin for changes made with --registry" bash -c "remote() { BERTH_USERNAME=admin BERTH_PASSWORD='$ADMIN_PW' '$BERTH' \"\$@\" --registry http://$R; }; remote audit --account remote --json | python3 -c 'import json,sys; e=json.load(sys.stdin); assert {x[\"action\"] for x in e} >= {\"user.add\", \"user.disable\"} and all(x[\"actor\"] in (\"admin\", \"remote\") for x in e), e'"

echo "== seed 002's docker_auth MongoDB setup, imported from mongoexport files"
WALDI_HASH=$("$BERTH" hash-password --cost 4 waldi-password)
cat > "$WORK/users.json" <<JSON
{"_id":{"\$oid":"65a1b2c3d4e5f60718293a4b"},"username":"waldi","password":"$WALDI_HASH","labels":{"full-access":["test","socke*"],"read-only-access":["prod/*"]}}
JSON
cat > "$WORK/acl.json" <<'JSON'
{"_id":{"$oid":"65a1b2c3d4e5f60718293a4d"},"seq":{"$numberInt":"20"},"match":{"name":"${labels:read-only-access}"},"actions":["pull"],"comment":"pull access"}
{"_id":{"$oid":"65a1b2c3d4e5f60718293a4c"},"seq":10,"match":{"name":"${labels:full-access}"},"actions":["*"],"comment":"full access"}
JSON
check "berth import --mongo-users --mongo-acl" "$BERTH" import "${D[@]}" --mongo-users "$WORK/users.json" --mongo-acl "$WORK/acl.json"
expect_eq "a label value socke* is a pattern, as in docker_auth: waldi may push sockeshop" "$("$BERTH" acl test "${D[@]}" waldi sockeshop pull,push | head -1)" "granted: pull,push"
expect_eq "rules follow seq, not file order" "$("$BERTH" acl test "${D[@]}" waldi prod/app pull,push | tail -1)" "decided by: database rule #$(("$("$BERTH" acl ls "${D[@]}" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')")) (pull access)"
# Wait until the server's own policy has the imported rules (its access-test, no login)
# rather than retry a push: every refused attempt would count in the failed-login limiter.
eventually 5 "the running server has the imported accounts and rules" server_grants waldi sockeshop pull,push
check "waldi pushes sockeshop through Berth" $SK copy --dest-tls-verify=false --dest-creds waldi:waldi-password "oci:$WORK/img:v1" "docker://$R/sockeshop:v1"
check "waldi cannot push prod/*" bash -c "! $SK copy --dest-tls-verify=false --dest-creds waldi:waldi-password oci:$WORK/img:v1 docker://$R/prod/app:v1 2>/dev/null"
cat > "$WORK/auth_config.yml" <<YAML
users:
  "": {}
  builder: {password: "$WALDI_HASH", labels: {team: [build]}}
acl:
  - match: {account: builder, name: "builds/*"}
    actions: [push, pull]
    comment: from auth_config.yml
YAML
check "berth import auth_config.yml" "$BERTH" import "${D[@]}" "$WORK/auth_config.yml"
expect_eq "its rule is appended and decides for builder" "$("$BERTH" acl test "${D[@]}" builder builds/x push | head -1)" "granted: push"
check "importing again keeps existing users" bash -c "'$BERTH' import --data '$A/data' '$WORK/auth_config.yml' | grep -q 'kept existing users'"

echo "== a data directory from before the accounts database"
L="$WORK/legacy"; mkdir -p "$L/data/berth/accounts"
"$BERTH" hash-password --cost 4 old-admin-password > "$L/data/berth/accounts/admin.bcrypt"
# A refresh token as earlier versions kept it: a file named by the token's SHA-256.
LEGACY_TOKEN=brt_legacy-identity-token-of-docker-login-0123456789
mkdir -p "$L/data/berth/refresh-tokens"
printf '{"account":"admin","issuedAt":"%s","clientID":"docker"}' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    > "$L/data/berth/refresh-tokens/$(printf %s "$LEGACY_TOKEN" | sha256sum | cut -d' ' -f1)"
LPORT=$(free_port)
REGISTRY_HTTP_ADDR=127.0.0.1:$LPORT BERTH_OUT="$L/out.log" serve_berth "$L" "http://127.0.0.1:$LPORT/v2/" || exit 1
check "no new admin password is printed" bash -c "! grep -q 'with the password' $L/out.log"
check "the old admin password still works" $SK copy --dest-tls-verify=false --dest-creds admin:old-admin-password "oci:$WORK/img:v1" "docker://127.0.0.1:$LPORT/team/app:v1"
expect_eq "a refresh token kept as a file by an earlier version still works" "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    --data-urlencode grant_type=refresh_token --data-urlencode "refresh_token=$LEGACY_TOKEN" --data-urlencode client_id=docker \
    --data-urlencode 'service=Berth registry' --data-urlencode 'scope=repository:team/app:pull' "http://127.0.0.1:$LPORT/auth/token")" 200
check "it moved into the accounts database (no file left)" bash -c "[ -z \"\$(ls -A '$L/data/berth/refresh-tokens' 2>/dev/null)\" ] && '$BERTH' tokens list --data '$L/data' | grep -q ' admin '"
check "berth tokens revoke --token" bash -c "'$BERTH' tokens revoke --data '$L/data' --token '$LEGACY_TOKEN' | grep -q 'revoked 1'"
expect_eq "and then it is refused" "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-urlencode grant_type=refresh_token \
    --data-urlencode "refresh_token=$LEGACY_TOKEN" --data-urlencode client_id=docker --data-urlencode 'service=Berth registry' "http://127.0.0.1:$LPORT/auth/token")" 401

echo "== two replicas sharing PostgreSQL"
if [ -n "$(pg_bin)" ] || require initdb; then
    if start_test_postgres; then
        createdb berth_e2e
        P="$WORK/replicas"; mkdir -p "$P/data"
        cat > "$P/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $P/data}
auth:
  token:
    accounts: $BERTH_TEST_POSTGRES/berth_e2e?sslmode=disable
YAML
        P1=$(free_port); P2=$(free_port)
        REGISTRY_HTTP_ADDR=127.0.0.1:$P1 BERTH_OUT="$P/one.log" serve_berth "$P" "http://127.0.0.1:$P1/v2/" --config "$P/config.yml"
        P1PID=$BERTH_PID
        REGISTRY_HTTP_ADDR=127.0.0.1:$P2 BERTH_OUT="$P/two.log" serve_berth "$P" - --config "$P/config.yml"
        wait_ready "http://127.0.0.1:$P2/v2/"
        PPW=$(grep -A2 'with the password' "$P/one.log" "$P/two.log" | grep -v 'with the password' | tr -d ' ' | sed 's/.*log-//' | grep -E '^.{24}$' | head -1)
        check "exactly one replica created the admin" test "$(cat "$P/one.log" "$P/two.log" | grep -c 'with the password')" = 1
        PG=(--config "$P/config.yml")
        check "berth user add on the shared database" bash -c "echo dev-password-1 | '$BERTH' user add dev --password-stdin --cost 4 --config '$P/config.yml'"
        eventually 3 "replica two knows the new user" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -u dev:dev-password-1 'http://127.0.0.1:$P2/auth/token?service=Berth+registry')\" = 200 ]"
        expect_eq "dev may not push yet" "$(token_actions dev:dev-password-1 127.0.0.1:$P2 repository:pg/app:pull,push)" ""
        # One process polls replica two's token endpoint from the moment the rule is written.
        took=$(python3 - "$BERTH" "$P/config.yml" "127.0.0.1:$P2" <<'PY'
import base64, json, subprocess, sys, time, urllib.request
berth, config, server = sys.argv[1:4]
subprocess.run([berth, "acl", "add", "--config", config, "--account", "dev", "--name", "pg/*", "--actions", "pull,push"],
               check=True, capture_output=True)
added = time.time()
request = urllib.request.Request(f"http://{server}/auth/token?service=Berth+registry&scope=repository:pg/app:pull,push",
                                 headers={"Authorization": "Basic " + base64.b64encode(b"dev:dev-password-1").decode()})
while time.time() - added < 10:
    token = json.load(urllib.request.urlopen(request))["token"].split(".")[1]
    access = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))["access"]
    if access and access[0]["actions"] == ["pull", "push"]:
        break
    time.sleep(0.05)
print(round(time.time() - added, 2))
PY
)
        check "a rule added on the database is enforced by the other replica within 2 s (took ${took}s)" python3 -c "assert $took < 2"
        check "a push through replica two with the new rule" $SK copy --dest-tls-verify=false --dest-creds dev:dev-password-1 "oci:$WORK/img:v1" "docker://127.0.0.1:$P2/pg/app:v1"
        check "pulled through replica one" $SK copy --src-tls-verify=false --src-creds dev:dev-password-1 "docker://127.0.0.1:$P1/pg/app:v1" "oci:$WORK/pg-pull:v1"

        echo "== the database goes away and comes back"
        pause_test_postgres
        eventually 12 "with the database down, token requests answer 503 (not 401)" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -u dev:dev-password-1 'http://127.0.0.1:$P1/auth/token?service=Berth+registry')\" = 503 ]"
        check "the error says why, in the registry's JSON format" bash -c "curl -s -u dev:dev-password-1 'http://127.0.0.1:$P1/auth/token?service=Berth+registry' | grep -q '\"code\":\"UNAVAILABLE\"'"
        for _ in $(seq 1 40); do curl -s -o /dev/null -u dev:dev-password-1 "http://127.0.0.1:$P1/auth/token?service=Berth+registry"; done
        resume_test_postgres
        eventually 60 "when it returns, logins work again: the outage locked nobody out" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -u dev:dev-password-1 'http://127.0.0.1:$P1/auth/token?service=Berth+registry')\" = 200 ]"
        freeze_test_postgres
        eventually 20 "a database that stops answering (frozen, connections open) is a 503 after the deadline, not a hang" bash -c "[ \"\$(curl -s -m 10 -o /dev/null -w '%{http_code}' -u dev:dev-password-1 'http://127.0.0.1:$P1/auth/token?service=Berth+registry')\" = 503 ]"
        thaw_test_postgres
        eventually 60 "thawed, it answers again" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -u dev:dev-password-1 'http://127.0.0.1:$P1/auth/token?service=Berth+registry')\" = 200 ]"
        pause_test_postgres
        kill -TERM "$P1PID"
        check "with the database gone, a replica still shuts down within 10 s" bash -c "for i in \$(seq 1 100); do kill -0 $P1PID 2>/dev/null || exit 0; sleep 0.1; done; exit 1"
    else
        fail "PostgreSQL did not start"
    fi
fi


echo "== people and groups from LDAP (slapd, StartTLS), groups as labels in ACL rules"
if require slapd || [ -x /usr/sbin/slapd ]; then
    if start_test_slapd; then
        L="$WORK/ldap"; mkdir -p "$L"
        LPORT=$(free_port)
        cat > "$L/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $L/data
http:
  addr: 127.0.0.1:$LPORT
auth:
  token:
    service: Berth registry
    server:
      token: {issuer: Berth LDAP e2e, expiration: 900}
      ldap_auth:
        addr: ${BERTH_TEST_LDAP#ldap://}
        tls: starttls
        ca_certificate: $BERTH_TEST_LDAP_CA
        bind_dn: cn=reader,dc=berth,dc=test
        bind_password_file: $BERTH_TEST_LDAP_BIND_PASSWORD_FILE
        base: dc=berth,dc=test
        filter: (&(objectClass=inetOrgPerson)(uid=\${account}))
        timeout: 2s
        labels:
          groups: {attribute: memberOf, parse_cn: true, lower_case: true}
      acl:
        - match: {labels: {groups: admins}}
          actions: ["*"]
          comment: directory admins
        - match: {name: "\${labels:groups}/*"}
          actions: [pull, push]
          comment: each group pushes to its own namespace
YAML
        if serve_berth "$L" "http://127.0.0.1:$LPORT/v2/" --config "$L/config.yml"; then
            LR="127.0.0.1:$LPORT"
            check "alice (group admins) pushes anywhere" $SK copy --dest-tls-verify=false --dest-creds alice:alice-password "oci:$WORK/img:v1" "docker://$LR/anything/app:v1"
            check "bob (group developers) pushes to developers/*" $SK copy --dest-tls-verify=false --dest-creds bob:bob-password "oci:$WORK/img:v1" "docker://$LR/developers/app:v1"
            check "bob cannot push to admins/*" bash -c "! $SK copy --dest-tls-verify=false --dest-creds bob:bob-password oci:$WORK/img:v1 docker://$LR/admins/app:v1 2>/dev/null"
            expect_eq "carol (no group) gets no rights on developers/app" "$(token_actions carol:carol-password "$LR" repository:developers/app:pull,push)" ""
            expect_eq "a wrong LDAP password is a 401" "$(curl -s -o /dev/null -w '%{http_code}' -u 'bob:alice-password' "http://$LR/auth/token?service=Berth+registry")" 401
            expect_eq "a filter injection in the account name finds nobody" "$(curl -s -o /dev/null -w '%{http_code}' -u '*:alice-password' "http://$LR/auth/token?service=Berth+registry")" 401
            expect_eq "two entries for one name: an error, not a login" "$(curl -s -o /dev/null -w '%{http_code}' -u 'twin:twin-password' "http://$LR/auth/token?service=Berth+registry")" 503
            SLAPD_PID=$(cat "$TEST_SLAPD_DIR/slapd.pid")
            kill -STOP "$SLAPD_PID"
            expect_eq "a directory that stops answering is a 503 after the timeout, not a hang" "$(curl -s -m 20 -o /dev/null -w '%{http_code}' -u 'bob:bob-password' "http://$LR/auth/token?service=Berth+registry")" 503
            CURLS=()
            for _ in $(seq 1 25); do curl -s -m 30 -o /dev/null -u bob:bob-password "http://$LR/auth/token?service=Berth+registry" & CURLS+=($!); done
            wait "${CURLS[@]}"
            kill -CONT "$SLAPD_PID"
            expect_eq "when it answers again, bob is not locked out" "$(curl -s -o /dev/null -w '%{http_code}' -u 'bob:bob-password' "http://$LR/auth/token?service=Berth+registry")" 200
            check "no LDAP password in Berth's log" bash -c "! grep -q 'bob-password\|reader-secret' '$L/berth.log'"
        else
            fail "berth serve with ldap_auth did not start" "$(cat "$L/berth.log")"
        fi
    else
        fail "slapd did not start"
    fi
fi

finish
