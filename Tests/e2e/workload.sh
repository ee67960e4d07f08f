#!/usr/bin/env bash
# Keyless CI end to end: a test OpenID issuer (Tests/e2e/oidc-test-issuer.py: discovery and
# key set on loopback, keys made at start) stands for GitHub Actions, GitLab CI or a
# Kubernetes service account; its tokens are skopeo's and docker's password, the ACL
# decides from their claims (each repository pushes to its own namespace), and every token
# that must be refused is.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

for tool in skopeo curl python3; do
    command -v "$tool" >/dev/null || { fail "$tool is required"; finish; exit 1; }
done
python3 -c 'import cryptography' 2>/dev/null || { fail "python3 cryptography is required"; finish; exit 1; }

echo "== a test issuer and a Berth trusting it (workload_auth)"
W="$WORK/workload"; mkdir -p "$W"
coproc ISSUER { exec python3 "$(dirname "$0")/oidc-test-issuer.py" berth-workload-test; }
PIDS+=("$ISSUER_PID")
read -r IPORT <&"${ISSUER[0]}"
IU="http://127.0.0.1:$IPORT"
mint() { curl -sf "$IU/mint?$1"; }
# Every token carries the owner the issuer's `require` asks for, unless a test says otherwise.
claims() { python3 -c 'import json,sys,urllib.parse; c = json.loads(sys.argv[1]); c.setdefault("repository_owner", "team"); print("claims=" + urllib.parse.quote(json.dumps(c)))' "$1"; }
cat > "$W/auth_config.yml" <<YAML
token:
  issuer: "workload test"
  expiration: 900
workload_auth:
  - issuer: $IU
    audience: berth-workload-test
    require: {repository_owner: team}
    labels: {repository: repository, namespace: kubernetes.io.namespace}
    max_age: 10m
acl:
  - match: {name: "\${labels:repository}/*"}
    actions: ["pull", "push"]
    comment: each CI repository pushes to its own namespace
  - match: {name: "shared/*"}
    actions: ["pull"]
YAML
PORT=$(free_port)
cat > "$W/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $W/data
http:
  addr: 127.0.0.1:$PORT
auth:
  token:
    service: "Berth registry"
    authconfig: $W/auth_config.yml
YAML
serve_berth "$W" "http://127.0.0.1:$PORT/v2/" --config "$W/config.yml" || exit 1
R="127.0.0.1:$PORT"
python3 "$MAKE_IMAGE" "$WORK/img" v1 --layers 2 --size 20000 --seed 41 >/dev/null

echo "== a CI job pushes with its token, into its own namespace only"
TOKEN=$(mint "$(claims '{"sub": "repo:team-app:ref:refs/heads/main", "repository": "team-app"}')")
check "skopeo pushes team-app/api:v1 with the job's token as the password" \
    $SK copy --dest-tls-verify=false --dest-creds "ci:$TOKEN" "oci:$WORK/img:v1" "docker://$R/team-app/api:v1"
check "and pulls it back" $SK copy --src-tls-verify=false --src-creds "ci:$TOKEN" "docker://$R/team-app/api:v1" "oci:$WORK/pulled:v1"
if command -v dockerd >/dev/null && [ "$(id -u)" -eq 0 ]; then
    DD="$WORK/dockerd"; mkdir -p "$DD"
    dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false --data-root "$DD/root" --exec-root "$DD/exec" \
        -H "unix://$DD/docker.sock" --pidfile "$DD/docker.pid" >"$DD/dockerd.log" 2>&1 &
    PIDS+=($!)
    export DOCKER_HOST="unix://$DD/docker.sock" DOCKER_CONFIG="$W/docker-config"
    for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
    if docker version >/dev/null 2>&1; then
        check "docker login with the job's token as the password (as a CI step does)" bash -c "echo '$TOKEN' | docker login -u ci --password-stdin $R"
        check "an image is loaded into docker" $SK copy "oci:$WORK/img:v1" "docker-daemon:$R/team-app/docker:v1" --dest-daemon-host "$DOCKER_HOST"
        check "docker push into the job's namespace" docker push "$R/team-app/docker:v1"
        docker tag "$R/team-app/docker:v1" "$R/other/docker:v1" >/dev/null
        check "docker push outside it is refused" bash -c "! docker push $R/other/docker:v1"
        check "docker pull" bash -c "docker rmi $R/team-app/docker:v1 >/dev/null && docker pull $R/team-app/docker:v1"
    else
        fail "dockerd did not start" "$(tail -5 "$DD/dockerd.log")"
    fi
    unset DOCKER_HOST DOCKER_CONFIG
elif [ "${CI:-}" = "true" ]; then
    fail "dockerd (as root) is required"
fi
out=$($SK copy --dest-tls-verify=false --dest-creds "ci:$TOKEN" "oci:$WORK/img:v1" "docker://$R/other/api:v1" 2>&1)
check "a push outside its namespace is refused" bash -c "grep -qi 'denied\|unauthorized\|authentication required' <<< '$out'"
grant() { # token scope: the actions a token request with the token as password gets
    curl -s -u "ci:$1" "http://$R/auth/token?service=Berth+registry&scope=$2" | python3 -c '
import base64, json, sys
body = json.load(sys.stdin)
if "token" not in body: print("refused " + body.get("errors", [{}])[0].get("code", "?")); sys.exit()
payload = body["token"].split(".")[1]
access = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))).get("access") or []
print(",".join(sorted(access[0]["actions"] if access else [])) or "nothing")'
}
expect_eq "the token endpoint grants the job pull,push on its repository's namespace" "$(grant "$TOKEN" repository:team-app/api:pull,push)" "pull,push"
expect_eq "pull only in shared/*" "$(grant "$TOKEN" repository:shared/base:pull,push)" "pull"
expect_eq "nothing elsewhere" "$(grant "$TOKEN" repository:other/api:pull,push)" "nothing"
expect_eq "the same token as a Bearer at the token endpoint" "$(curl -s -H "Authorization: Bearer $TOKEN" "http://$R/auth/token?service=Berth+registry&scope=repository:team-app/api:pull" | python3 -c '
import base64, json, sys
payload = json.load(sys.stdin)["token"].split(".")[1]
print(",".join(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["access"][0]["actions"]))')" "pull"
expect_eq "docker's offline_token request gets no refresh token for a workload token" \
    "$(curl -s -u "ci:$TOKEN" "http://$R/auth/token?service=Berth+registry&scope=repository:team-app/api:pull&offline_token=true&client_id=docker" | python3 -c 'import json,sys; b=json.load(sys.stdin); print("token" in b, "refresh_token" in b)')" "True False"
expect_eq "a Bearer that is not a token is 401" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nonsense' "http://$R/auth/token?service=Berth+registry&scope=repository:team-app/api:pull")" "401"
K8S=$(mint "$(claims '{"sub": "system:serviceaccount:build:ci", "repository": "build", "kubernetes.io": {"namespace": "build"}}')")
expect_eq "a Kubernetes-style token: labels from nested claims" "$(grant "$K8S" repository:build/tool:push)" "push"

# The audit log names the subject and the issuer (written within seconds).
for _ in $(seq 1 100); do "$BERTH" audit --config "$W/config.yml" --action login --json 2>/dev/null | grep -q "workload token of $IU" && break; sleep 0.2; done
check "the audit log records the job's login: its subject and the issuer" bash -c \
    "'$BERTH' audit --config '$W/config.yml' --action login --json | python3 -c 'import json,sys; e=[x for x in json.load(sys.stdin) if x[\"success\"]]; sys.exit(0 if any(x[\"actor\"] == \"repo:team-app:ref:refs/heads/main\" and x.get(\"detail\") == \"workload token of $IU\" for x in e) else 1)'"

echo "== tokens that must be refused"
NOW=$(date +%s)
expect_eq "expired" "$(grant "$(mint "$(claims "{\"sub\": \"x\", \"repository\": \"team-app\", \"exp\": $((NOW - 600))}")")" repository:team-app/api:pull)" "refused UNAUTHORIZED"
expect_eq "another owner than the issuer's require" "$(grant "$(mint "$(claims '{"sub": "repo:x", "repository": "team-app", "repository_owner": "evil"}')")" repository:team-app/api:pull)" "refused UNAUTHORIZED"
expect_eq "another audience" "$(grant "$(mint "$(claims '{"sub": "x", "repository": "team-app", "aud": "someone-else"}')")" repository:team-app/api:pull)" "refused UNAUTHORIZED"
expect_eq "issued longer ago than max_age" "$(grant "$(mint "$(claims "{\"sub\": \"x\", \"repository\": \"team-app\", \"iat\": $((NOW - 3600))}")")" repository:team-app/api:pull)" "refused UNAUTHORIZED"
TAMPERED=$(python3 -c '
import base64, json, sys
h, p, s = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
claims["repository"] = "other"
print(h + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + s)' "$TOKEN")
expect_eq "a token whose claims were changed" "$(grant "$TAMPERED" repository:other/api:pull)" "refused UNAUTHORIZED"
NONE=$(python3 -c '
import base64, json, sys
h, p, s = sys.argv[1].split(".")
print(base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode()).rstrip(b"=").decode() + "." + p + ".")' "$TOKEN")
expect_eq "alg none" "$(grant "$NONE" repository:team-app/api:pull)" "refused UNAUTHORIZED"
check "a push with an expired token fails" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'ci:$(mint "$(claims "{\"sub\": \"x\", \"repository\": \"team-app\", \"exp\": $((NOW - 600))}")")' oci:$WORK/img:v1 docker://$R/team-app/late:v1 2>/dev/null"

echo "== the issuer rotates its key; Berth fetches the new one"
curl -sf "$IU/rotate" >/dev/null
ROTATED=$(mint "$(claims '{"sub": "repo:team-app:ref:refs/heads/main", "repository": "team-app"}')")
# A new key id is fetched at most once a minute after the last fetch: wait for the condition.
for _ in $(seq 1 90); do [ "$(grant "$ROTATED" repository:team-app/api:pull)" = "pull" ] && break; sleep 1; done
expect_eq "a token signed with the new key works" "$(grant "$ROTATED" repository:team-app/api:pull)" "pull"

echo "== the same issuer in Berth's own config.yml (auth.token.workload_auth, built-in accounts)"
PORT3=$(free_port)
cat > "$W/config3.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $W/data3
http:
  addr: 127.0.0.1:$PORT3
auth:
  token:
    workload_auth:
      - issuer: $IU
        audience: berth-workload-test
        labels: {repository: repository}
YAML
check "berth check-config shows the issuer" bash -c "'$BERTH' check-config '$W/config3.yml' | grep -q 'issuer: $IU'"
sed 's/audience:/audiance:/' "$W/config3.yml" > "$W/typo.yml"
check "and refuses a mistyped key in it" bash -c "! '$BERTH' check-config '$W/typo.yml' >/dev/null 2>&1"
check "naming it" bash -c "'$BERTH' check-config '$W/typo.yml' 2>&1 | grep -q 'workload_auth\[0\].audiance'"
BERTH_OUT="$W/berth3.log" serve_berth "$W" "http://127.0.0.1:$PORT3/v2/" --config "$W/config3.yml" || exit 1
check "a rule for the jobs, added with the CLI while it runs" "$BERTH" acl add --config "$W/config3.yml" --name '${labels:repository}/*' --actions pull,push
check "the built-in token server takes the job's token too" \
    $SK copy --dest-tls-verify=false --dest-creds "ci:$ROTATED" "oci:$WORK/img:v1" "docker://127.0.0.1:$PORT3/team-app/api:v1"
check "and the ACL still decides: nothing outside what rules grant" bash -c "! $SK copy --dest-tls-verify=false --dest-creds 'ci:$ROTATED' oci:$WORK/img:v1 docker://127.0.0.1:$PORT3/other/api:v1 2>/dev/null"

echo "== the issuer down: 503, not a refused login"
kill "$ISSUER_PID" 2>/dev/null; wait "$ISSUER_PID" 2>/dev/null
# A fresh Berth has no keys cached.
PORT2=$(free_port)
sed "s/127.0.0.1:$PORT/127.0.0.1:$PORT2/; s#$W/data#$W/data2#" "$W/config.yml" > "$W/config2.yml"
serve_berth "$W" "http://127.0.0.1:$PORT2/v2/" --config "$W/config2.yml" || exit 1
expect_eq "a token request while the issuer cannot be reached" \
    "$(curl -s -o /dev/null -w '%{http_code}' -u "ci:$TOKEN" "http://127.0.0.1:$PORT2/auth/token?service=Berth+registry&scope=repository:team-app/api:pull")" "503"
check "no token in Berth's log" bash -c "! grep -q '${TOKEN%%.*}\.' '$W/berth.log'"

finish
