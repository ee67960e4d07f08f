#!/usr/bin/env bash
# End-to-end tests: a real `berth serve` on free loopback ports, driven by real clients
# (skopeo, curl) and checked against Debian's docker-registry (CNCF Distribution 2.8)
# sharing the same data directory.
set -uo pipefail

source "$(dirname "$0")/lib.sh"

echo "== images"
python3 "$MAKE_IMAGE" "$WORK/img" v1 --layers 3 --size 200000 --seed 1 >/dev/null
python3 "$MAKE_IMAGE" "$WORK/img" multi --index --seed 2 >/dev/null
python3 "$MAKE_IMAGE" "$WORK/img" v2 --seed 3 >/dev/null

echo "== berth serve with no configuration: token auth and an admin account"
mkdir -p "$WORK/zero"
ZPORT=$(free_port)
REGISTRY_HTTP_ADDR=127.0.0.1:$ZPORT BERTH_OUT="$WORK/zero/out.log" BERTH_ERR="$WORK/zero/err.log" serve_berth "$WORK/zero" "http://127.0.0.1:$ZPORT/v2/" || exit 1
ZPID=$BERTH_PID
Z="127.0.0.1:$ZPORT"
ADMIN_PW=$(grep -A2 'with the password' "$WORK/zero/out.log" | tail -1 | tr -d ' ')
check "the admin password is printed once on first run" test ${#ADMIN_PW} -eq 24
check "the first-run banner names the registry's and the web UI's real addresses and says it is plain HTTP" bash -c "grep -q 'Web UI:       http://127.0.0.1:$ZPORT/ui/' $WORK/zero/out.log && grep -q 'docker login -u admin 127.0.0.1:$ZPORT' $WORK/zero/out.log && grep -q 'Plain HTTP' $WORK/zero/out.log"
check "the password is not in the log" bash -c "! grep -q '$ADMIN_PW' $WORK/zero/err.log"
check "only a bcrypt hash is kept, in the accounts database readable by the owner only" bash -c "grep -aqF '\$2y\$10\$' $WORK/zero/data/berth/accounts/accounts.sqlite* && [ \$(stat -c %a $WORK/zero/data/berth/accounts/accounts.sqlite) = 600 ] && [ \$(stat -c %a $WORK/zero/data/berth/token/key.pem) = 600 ] && ! grep -raq '$ADMIN_PW' $WORK/zero/data"
expect_eq "anonymous access is off" "$(curl -s -o /dev/null -w '%{http_code}' http://$Z/v2/)" "401"
check "anonymous push is refused" bash -c "! $SK copy --dest-tls-verify=false --dest-no-creds oci:$WORK/img:v1 docker://$Z/team/app:v1 2>/dev/null"
check "skopeo login as admin" $SK login --tls-verify=false --authfile "$WORK/zero/auth.json" -u admin -p "$ADMIN_PW" "$Z"
check "admin pushes" $SK copy --dest-tls-verify=false --authfile "$WORK/zero/auth.json" "oci:$WORK/img:v1" "docker://$Z/team/app:v1"
mkdir -p "$WORK/busy"
check "a port in use stops berth serve at once, naming the address and its source, before anything is created" bash -c "cd '$WORK/busy' && ! out=\$(REGISTRY_HTTP_ADDR=127.0.0.1:$ZPORT timeout 60 '$BERTH' serve 2>&1) && grep -q 'cannot listen on 127.0.0.1:$ZPORT (set by REGISTRY_HTTP_ADDR)' <<<\"\$out\" && ! grep -q 'with the password' <<<\"\$out\" && [ ! -e '$WORK/busy/data' ]"
kill "$ZPID"; wait "$ZPID" 2>/dev/null
REGISTRY_HTTP_ADDR=127.0.0.1:$ZPORT BERTH_OUT="$WORK/zero/out2.log" BERTH_ERR="$WORK/zero/err.log" serve_berth "$WORK/zero" "http://127.0.0.1:$ZPORT/v2/" || exit 1
ZPID=$BERTH_PID
check "after a restart no new password is printed" bash -c "! grep -q 'with the password' $WORK/zero/out2.log"
check "the same key and account work after a restart" $SK copy --src-tls-verify=false --authfile "$WORK/zero/auth.json" "docker://$Z/team/app:v1" "oci:$WORK/zero/pulled:v1"
check "berth keys export prints the signing certificate" bash -c "'$BERTH' keys export --data $WORK/zero/data | openssl x509 -noout -subject | grep -q 'Berth token signing'"
if command -v docker-registry >/dev/null; then
    "$BERTH" keys export --data "$WORK/zero/data" > "$WORK/zero/bundle.pem"
    ZDPORT=$(free_port)
    cat > "$WORK/zero/distribution.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/zero/distribution-data
http:
  addr: 127.0.0.1:$ZDPORT
auth:
  token:
    realm: http://$Z/auth/token
    service: Berth registry
    issuer: Berth
    rootcertbundle: $WORK/zero/bundle.pem
YAML
    serve_distribution "$WORK/zero/distribution.yml" "$WORK/zero/distribution.log" "$ZDPORT"
    check "Distribution 2.8 trusts a zero-configuration Berth's exported certificate" $SK copy --dest-tls-verify=false --dest-creds "admin:$ADMIN_PW" "oci:$WORK/img:v2" "docker://127.0.0.1:$ZDPORT/team/app:v2"
fi
kill "$ZPID"; wait "$ZPID" 2>/dev/null

echo "== berth serve with auth: none"
mkdir -p "$WORK/default"
PORT=$(free_port)
start_berth "$WORK/default" "$PORT"
R="127.0.0.1:$PORT"
check "ping answers 200 {} with the API version header" bash -c "
    curl -si http://$R/v2/ | tr -d '\r' | grep -q '^Docker-Distribution-API-Version: registry/2.0' &&
    [ \"\$(curl -s http://$R/v2/)\" = '{}' ]"
check "skopeo pushes a single-arch OCI image" $SK copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$R/team/app:v1"
check "data lives under ./data in Distribution's layout" test -f "$WORK/default/data/docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/link"
check "skopeo pushes a multi-arch OCI index" $SK copy --all --dest-tls-verify=false "oci:$WORK/img:multi" "docker://$R/team/app:multi"
check "skopeo pushes a Docker v2 schema 2 image" $SK copy --format v2s2 --dest-tls-verify=false "oci:$WORK/img:v2" "docker://$R/team/docker:v2"
check "skopeo copies between repositories (cross-repository mount)" $SK copy --src-tls-verify=false --dest-tls-verify=false "docker://$R/team/app:v1" "docker://$R/other/app:copied"
expected=$(python3 -c "import json;print([m['digest'] for m in json.load(open('$WORK/img/index.json'))['manifests'] if m['annotations']['org.opencontainers.image.ref.name']=='v1'][0])")
expect_eq "skopeo inspect reports the pushed digest" "$($SK inspect --tls-verify=false "docker://$R/team/app:v1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Digest"])')" "$expected"
check "skopeo pulls the index with every platform" $SK copy --all --src-tls-verify=false "docker://$R/team/app:multi" "oci:$WORK/pulled:multi"
check "pulled blobs are byte-identical" bash -c "for f in $WORK/pulled/blobs/sha256/*; do cmp -s \$f $WORK/img/blobs/sha256/\$(basename \$f) || exit 1; done"
expect_eq "the Docker image keeps its media type" "$(curl -s -o /dev/null -w '%{content_type}' -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://$R/v2/team/docker/manifests/v2)" "application/vnd.docker.distribution.manifest.v2+json"
expect_eq "tags list" "$(curl -s http://$R/v2/team/app/tags/list)" '{"name":"team/app","tags":["multi","v1"]}'
expect_eq "catalog" "$(curl -s http://$R/v2/_catalog)" '{"repositories":["other/app","team/app","team/docker"]}'

echo "== artifacts and referrers"
subject=$(curl -sI -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://$R/v2/team/app/manifests/v1 | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
printf '{}' > "$WORK/empty.json"
curl -s -o /dev/null -X POST "http://$R/v2/team/app/blobs/uploads/?digest=$(sha "$WORK/empty.json")" --data-binary @"$WORK/empty.json"
printf '{"spdxVersion":"SPDX-2.3"}' > "$WORK/sbom.json"
curl -s -o /dev/null -X POST "http://$R/v2/team/app/blobs/uploads/?digest=$(sha "$WORK/sbom.json")" --data-binary @"$WORK/sbom.json"
cat > "$WORK/artifact.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$(sha "$WORK/empty.json")","size":2},"layers":[{"mediaType":"application/spdx+json","digest":"$(sha "$WORK/sbom.json")","size":$(stat -c %s "$WORK/sbom.json")}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$subject","size":1},"annotations":{"org.example":"sbom"}}
JSON
headers=$(curl -s -D - -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$WORK/artifact.json" "http://$R/v2/team/app/manifests/$(sha "$WORK/artifact.json")" | tr -d '\r')
check "artifact push answers 201 with OCI-Subject" bash -c "echo '$headers' | grep -q '^HTTP/1.1 201' && echo '$headers' | grep -qi '^OCI-Subject: $subject'"
referrers=$(curl -s "http://$R/v2/team/app/referrers/$subject?artifactType=application/spdx%2Bjson")
check "referrers lists the artifact with its type and annotations" bash -c "echo '$referrers' | python3 -c '
import json,sys; d=json.load(sys.stdin); m=d[\"manifests\"]
assert d[\"mediaType\"]==\"application/vnd.oci.image.index.v1+json\" and len(m)==1, d
assert m[0][\"artifactType\"]==\"application/spdx+json\" and m[0][\"annotations\"]=={\"org.example\":\"sbom\"}, m'"

echo "== wire details"
head -c 3000000 /dev/urandom > "$WORK/3mb.bin"
loc=$(curl -s -D - -o /dev/null -X POST http://$R/v2/wire/test/blobs/uploads/ | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
t=$(curl -s -o /dev/null -w '%{time_total}' -X PUT -H 'Expect: 100-continue' -T "$WORK/3mb.bin" "$loc&digest=$(sha "$WORK/3mb.bin")")
check "Expect: 100-continue is answered at once (took ${t}s)" python3 -c "assert $t < 0.8"
expect_eq "HEAD reports the blob length" "$(curl -sI http://$R/v2/wire/test/blobs/$(sha "$WORK/3mb.bin") | tr -d '\r' | awk -F': ' 'tolower($1)=="content-length"{print $2}')" "3000000"
expect_eq "suffix range returns the last bytes" "$(curl -s -H 'Range: bytes=-100' http://$R/v2/wire/test/blobs/$(sha "$WORK/3mb.bin") | sha256sum | cut -c1-64)" "$(tail -c 100 "$WORK/3mb.bin" | sha256sum | cut -c1-64)"
expect_eq "unsatisfiable range is 416" "$(curl -s -o /dev/null -w '%{http_code}' -H 'Range: bytes=3000000-' http://$R/v2/wire/test/blobs/$(sha "$WORK/3mb.bin"))" "416"
expect_eq "wrong method is 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST http://$R/v2/wire/test/tags/list)" "405"
expect_eq "path traversal in a name is NAME_INVALID" "$(curl -s --path-as-is http://$R/v2/../../etc/tags/list | python3 -c 'import json,sys;print(json.load(sys.stdin)["errors"][0]["code"])')" "NAME_INVALID"
big=$(python3 -c "print(\"a\"*100000)")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" http://$R/v2/)
check "oversized headers are refused, not served (got $code)" bash -c "[ '$code' != 200 ] && curl -s -o /dev/null http://$R/v2/"

echo "== a client that disconnects mid-upload leaves no blob"
head -c 20000000 /dev/urandom > "$WORK/20mb.bin"
D20=$(sha "$WORK/20mb.bin")
curl -s -o /dev/null --limit-rate 2M -m 2 -X POST "http://$R/v2/wire/abort/blobs/uploads/?digest=$D20" --data-binary @"$WORK/20mb.bin"
sleep 0.5
check "no blob data for the interrupted upload" test ! -e "$WORK/default/data/docker/registry/v2/blobs/sha256/${D20:7:2}/${D20:7}"
expect_eq "the blob is unknown" "$(curl -s -o /dev/null -w '%{http_code}' -I http://$R/v2/wire/abort/blobs/$D20)" "404"
check "registry still serves after the disconnect" curl -sf -o /dev/null http://$R/v2/
eventually 20 "the disconnect is logged as the client's (499), not as a malformed body" bash -c "grep 'wire/abort' '$WORK/default/berth.log' | grep -q 'status=499' && ! grep -q 'malformed request body' '$WORK/default/berth.log'"

echo "== uploads resume across a restart"
head -c 1000000 /dev/urandom > "$WORK/1mb.bin"
head -c 400000 "$WORK/1mb.bin" > "$WORK/part1"; tail -c 600000 "$WORK/1mb.bin" > "$WORK/part2"
loc=$(curl -s -D - -o /dev/null -X POST http://$R/v2/resume/me/blobs/uploads/ | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
loc=$(curl -s -D - -o /dev/null -X PATCH -H 'Content-Range: 0-399999' --data-binary @"$WORK/part1" "$loc" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
kill "$BERTH_PID"; wait "$BERTH_PID" 2>/dev/null
start_berth "$WORK/default" "$PORT"
expect_eq "upload status after restart" "$(curl -s -D - -o /dev/null "$loc" | tr -d '\r' | awk -F': ' 'tolower($1)=="range"{print $2}')" "0-399999"
curl -s -o /dev/null -X PATCH -H 'Content-Range: 400000-999999' --data-binary @"$WORK/part2" "$loc"
expect_eq "completing the resumed upload" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$loc&digest=$(sha "$WORK/1mb.bin")")" "201"
expect_eq "images survive the restart" "$($SK inspect --tls-verify=false "docker://$R/team/app:v1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Digest"])')" "$expected"

echo "== concurrent pushes"
PUSHERS=()
for i in 1 2 3 4 5 6; do $SK copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$R/parallel/app:t$i" >"$WORK/par$i.log" 2>&1 & PUSHERS+=($!); done
wait_ok=0; for job in "${PUSHERS[@]}"; do wait "$job" || wait_ok=1; done
expect_eq "six concurrent pushes of one image" "$wait_ok:$(curl -s http://$R/v2/parallel/app/tags/list)" '0:{"name":"parallel/app","tags":["t1","t2","t3","t4","t5","t6"]}'

echo "== a crash mid-push leaves a consistent store"
python3 "$MAKE_IMAGE" "$WORK/crash" big --layers 4 --size 3000000 --seed 9 >/dev/null
PUSHERS=()
for i in 1 2 3 4; do $SK copy --dest-tls-verify=false "oci:$WORK/crash:big" "docker://$R/crash/app$i:big" >/dev/null 2>&1 & PUSHERS+=($!); done
# And one upload that is surely still arriving when the kill comes, whatever the pushes' speed.
head -c 8000000 /dev/urandom > "$WORK/8mb"
slow=$(curl -s -D - -o /dev/null -X POST "http://$R/v2/crash/slow/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
curl -s -o /dev/null --limit-rate 1M -X PATCH -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/8mb" "$slow" & PUSHERS+=($!)
check "an upload is in flight when berth is killed" wait_until 20 upload_in_flight "$WORK/default/data" crash/slow
kill -9 "$BERTH_PID"; wait "$BERTH_PID" 2>/dev/null
for job in "${PUSHERS[@]}"; do wait "$job" 2>/dev/null; done
check "layout is consistent after kill -9 during pushes" python3 "$(dirname "$0")/check-layout.py" "$WORK/default/data"
start_berth "$WORK/default" "$PORT"
check "pushes succeed after the crash" $SK copy --dest-tls-verify=false "oci:$WORK/crash:big" "docker://$R/crash/app1:big"

echo "== delete"
check "skopeo delete removes the manifest" $SK delete --tls-verify=false "docker://$R/other/app:copied"
expect_eq "the deleted tag is gone" "$(curl -s -o /dev/null -w '%{http_code}' http://$R/v2/other/app/manifests/copied)" "404"

echo "== the docker CLI"
if command -v dockerd >/dev/null && [ "$(id -u)" -eq 0 ]; then
    D="$WORK/dockerd"; mkdir -p "$D"
    dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false --data-root "$D/root" --exec-root "$D/exec" \
        -H "unix://$D/docker.sock" --pidfile "$D/docker.pid" >"$D/dockerd.log" 2>&1 &
    PIDS+=($!)
    export DOCKER_HOST="unix://$D/docker.sock"
    for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
    if docker version >/dev/null 2>&1; then
        check "an image is loaded into docker" $SK copy "oci:$WORK/img:v2" "docker-daemon:$R/dockercli/app:v2" --dest-daemon-host "$DOCKER_HOST"
        check "docker push" docker push "$R/dockercli/app:v2"
        docker rmi "$R/dockercli/app:v2" >/dev/null 2>&1
        check "docker pull" docker pull "$R/dockercli/app:v2"
        DOCKER_CLI_OK=1
        check "docker pull by digest" docker pull "$R/dockercli/app@$(curl -sI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' http://$R/v2/dockercli/app/manifests/v2 | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')"
    else
        fail "dockerd did not start" "$(tail -5 "$D/dockerd.log")"
    fi
    unset DOCKER_HOST
else
    echo "  skip docker CLI (needs dockerd from Debian's docker.io, run as root)"
fi

echo "== Distribution 2.8 on the same directory"
if command -v docker-registry >/dev/null; then
    DPORT=$(free_port)
    cat > "$WORK/distribution.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/default/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$DPORT
YAML
    serve_distribution "$WORK/distribution.yml" "$WORK/distribution.log" "$DPORT"
    DR="127.0.0.1:$DPORT"
    expect_eq "Distribution serves an image Berth stored" "$($SK inspect --tls-verify=false "docker://$DR/team/app:v1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Digest"])')" "$expected"
    check "Distribution serves Berth's multi-arch index" $SK copy --all --src-tls-verify=false "docker://$DR/team/app:multi" "oci:$WORK/from-dist:multi"
    check "Distribution serves Berth's Docker image" $SK copy --src-tls-verify=false "docker://$DR/team/docker:v2" "oci:$WORK/from-dist:v2"
    check "skopeo pushes through Distribution" $SK copy --dest-tls-verify=false "oci:$WORK/img:v2" "docker://$DR/pushed/by-distribution:v2"
    check "Berth serves what Distribution stored" $SK copy --src-tls-verify=false "docker://$R/pushed/by-distribution:v2" "oci:$WORK/from-berth:v2"
    check "Berth's catalog shows the repository Distribution created" bash -c "curl -s http://$R/v2/_catalog | grep -q pushed/by-distribution"
else
    fail "docker-registry (Debian package) is not installed"
fi

echo "== token auth: Berth as registry and token server"
A="$WORK/auth"; mkdir -p "$A"
openssl ecparam -name prime256v1 -genkey -noout -out "$A/token.key" 2>/dev/null
openssl req -new -x509 -key "$A/token.key" -out "$A/token.crt" -days 2 -subj "/CN=Berth e2e token signer" 2>/dev/null
ALICE_HASH=$(echo -n "alice-secret" | "$BERTH" hash-password --cost 5)
BOB_HASH=$(echo -n "bob-secret" | "$BERTH" hash-password --cost 5)
# A cesanta/docker_auth auth_config.yml, unchanged.
cat > "$A/auth_config.yml" <<YAML
server:
  addr: ":5001"
token:
  issuer: "Berth e2e"
  expiration: 900
  certificate: "$A/token.crt"
  key: "$A/token.key"
users:
  "alice":
    password: "$ALICE_HASH"
  "bob":
    password: "$BOB_HASH"
  "": {}
acl:
  - match: {account: "alice"}
    actions: ["*"]
  - match: {account: "/.+/", name: "\${account}/*"}
    actions: ["*"]
  - match: {account: "/.+/"}
    actions: ["pull"]
  - match: {account: "", name: "public/*"}
    actions: ["pull"]
YAML
APORT=$(free_port)
cat > "$A/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $A/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$APORT
auth:
  token:
    service: "Berth registry"
    authconfig: $A/auth_config.yml
YAML
serve_berth "$A" "http://127.0.0.1:$APORT/v2/" --config "$A/config.yml" || exit 1
AUTH_PID=$BERTH_PID
AR="127.0.0.1:$APORT"
expect_eq "unauthenticated ping is challenged" "$(curl -s -D - -o /dev/null http://$AR/v2/ | tr -d '\r' | awk -F': ' 'tolower($1)=="www-authenticate"{print $2}')" "Bearer realm=\"http://$AR/auth/token\",service=\"Berth registry\""
check "skopeo login with a wrong password fails" bash -c "! $SK login --tls-verify=false --authfile $A/auth.json -u alice -p wrong $AR"
check "skopeo login" $SK login --tls-verify=false --authfile "$A/auth.json" -u alice -p alice-secret "$AR"
check "alice pushes anywhere" $SK copy --dest-tls-verify=false --authfile "$A/auth.json" "oci:$WORK/img:v1" "docker://$AR/public/app:v1"
check "bob pushes into his namespace" $SK copy --dest-tls-verify=false --dest-creds bob:bob-secret "oci:$WORK/img:v2" "docker://$AR/bob/app:v2"
out=$($SK copy --dest-tls-verify=false --dest-creds bob:bob-secret "oci:$WORK/img:v2" "docker://$AR/alice/app:v2" 2>&1)
check "bob cannot push into alice's namespace" bash -c "echo '$out' | grep -qi 'requested access to the resource is denied\|unauthorized\|authentication required'"
check "bob pulls alice's image" $SK copy --src-tls-verify=false --src-creds bob:bob-secret "docker://$AR/public/app:v1" "oci:$WORK/auth-pull:v1"
check "anonymous pull where the ACL allows it" $SK copy --src-tls-verify=false --src-no-creds "docker://$AR/public/app:v1" "oci:$WORK/anon-pull:v1"
check "anonymous push is refused" bash -c "! $SK copy --dest-tls-verify=false --dest-no-creds oci:$WORK/img:v2 docker://$AR/public/anon:v2 2>/dev/null"
check "anonymous pull of a private image is refused" bash -c "! $SK inspect --tls-verify=false --no-creds docker://$AR/bob/app:v2 2>/dev/null"
if [ -n "${DOCKER_CLI_OK:-}" ]; then
    export DOCKER_HOST="unix://$WORK/dockerd/docker.sock"
    export DOCKER_CONFIG="$A/docker-config"
    check "docker login" bash -c "echo alice-secret | docker login -u alice --password-stdin $AR"
    docker tag "$R/dockercli/app:v2" "$AR/alice/dockercli:v2" >/dev/null 2>&1
    check "docker push with token auth" docker push "$AR/alice/dockercli:v2"
    check "docker login stored an identity (refresh) token, not the password" bash -c "grep -q identitytoken $A/docker-config/config.json && ! grep -q $(echo -n alice:alice-secret | base64) $A/docker-config/config.json"
    kill "$AUTH_PID"; wait "$AUTH_PID" 2>/dev/null
    serve_berth "$A" "http://127.0.0.1:$APORT/v2/" --config "$A/config.yml" || exit 1
    AUTH_PID=$BERTH_PID
    docker tag "$R/dockercli/app:v2" "$AR/alice/after-restart:v2" >/dev/null 2>&1
    check "the identity token still works after a restart" docker push "$AR/alice/after-restart:v2"
    check "berth ls uses the credentials docker login saved" bash -c "'$BERTH' ls $AR/alice/after-restart | grep -qE '^v2 +sha256:'"
    check "berth tokens list shows alice's token" bash -c "'$BERTH' tokens list --data $A/data | grep -q ' alice '"
    check "berth tokens revoke" bash -c "'$BERTH' tokens revoke --data $A/data --account alice | grep -q 'revoked 1'"
    docker tag "$R/dockercli/app:v2" "$AR/alice/after-revoke:v2" >/dev/null 2>&1
    check "a revoked identity token no longer works" bash -c "! docker push $AR/alice/after-revoke:v2 >/dev/null 2>&1"
    unset DOCKER_HOST DOCKER_CONFIG
fi

if command -v docker-registry >/dev/null; then
    DPORT2=$(free_port)
    cat > "$A/distribution.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $A/distribution-data
http:
  addr: 127.0.0.1:$DPORT2
auth:
  token:
    realm: http://$AR/auth/token
    service: "Berth registry"
    issuer: "Berth e2e"
    rootcertbundle: $A/token.crt
YAML
    serve_distribution "$A/distribution.yml" "$A/distribution.log" "$DPORT2"
    DR2="127.0.0.1:$DPORT2"
    check "Distribution 2.8 accepts Berth's tokens for a push" $SK copy --dest-tls-verify=false --dest-creds bob:bob-secret "oci:$WORK/img:v2" "docker://$DR2/bob/app:v2"
    check "Distribution 2.8 accepts Berth's tokens for a pull" $SK copy --src-tls-verify=false --src-creds bob:bob-secret "docker://$DR2/bob/app:v2" "oci:$WORK/dist-token-pull:v2"
    check "Distribution 2.8 refuses what Berth's ACL refuses" bash -c "! $SK copy --dest-tls-verify=false --dest-creds bob:bob-secret oci:$WORK/img:v2 docker://$DR2/alice/app:v2 2>/dev/null"

    # berth auth-server alone, in front of Distribution: the seed posts' two-service setup.
    SPORT=$(free_port)
    sed "s/addr: \":5001\"/addr: \"127.0.0.1:$SPORT\"/" "$A/auth_config.yml" > "$A/standalone.yml"
    "$BERTH" auth-server --config "$A/standalone.yml" --data "$A/standalone-data" >"$A/auth-server.log" 2>&1 &
    PIDS+=($!)
    DPORT3=$(free_port)
    sed -e "s#realm: .*#realm: http://127.0.0.1:$SPORT/auth#" -e "s#addr: 127.0.0.1:$DPORT2#addr: 127.0.0.1:$DPORT3#" \
        -e "s#distribution-data#distribution-data3#" "$A/distribution.yml" > "$A/distribution3.yml"
    serve_distribution "$A/distribution3.yml" "$A/distribution3.log" "$DPORT3"
    wait_ready "http://127.0.0.1:$SPORT/auth" >/dev/null
    check "berth auth-server issues tokens Distribution 2.8 accepts" $SK copy --dest-tls-verify=false --dest-creds alice:alice-secret "oci:$WORK/img:v2" "docker://127.0.0.1:$DPORT3/any/where:v2"
    expect_eq "berth auth-server answers bad credentials with Basic realm" "$(curl -s -D - -o /dev/null -u alice:nope "http://127.0.0.1:$SPORT/auth?service=x" | tr -d '\r' | awk -F': ' 'tolower($1)=="www-authenticate"{print $2}')" 'Basic realm="Berth e2e"'
fi

echo "== htpasswd: everyone authenticated pulls, only ci pushes (seed 003, without Apache)"
H="$WORK/htpasswd"; mkdir -p "$H"
printf 'ci:%s\nbob:%s\n' "$(echo -n ci-secret | "$BERTH" hash-password --cost 5)" "$(echo -n bob-secret | "$BERTH" hash-password --cost 5)" > "$H/htpasswd"
HPORT=$(free_port)
cat > "$H/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $H/data
http:
  addr: 127.0.0.1:$HPORT
auth:
  htpasswd:
    realm: Docker Registry
    path: $H/htpasswd
    readers: ["*"]
    writers: [ci]
YAML
serve_berth "$H" "http://127.0.0.1:$HPORT/v2/" --config "$H/config.yml" || exit 1
HR="127.0.0.1:$HPORT"
expect_eq "Basic challenge" "$(curl -s -D - -o /dev/null http://$HR/v2/ | tr -d '\r' | awk -F': ' 'tolower($1)=="www-authenticate"{print $2}')" 'Basic realm="Docker Registry"'
check "ci pushes" $SK copy --dest-tls-verify=false --dest-creds ci:ci-secret "oci:$WORK/img:v1" "docker://$HR/team/app:v1"
check "bob pulls" $SK copy --src-tls-verify=false --src-creds bob:bob-secret "docker://$HR/team/app:v1" "oci:$H/pulled:v1"
check "bob cannot push" bash -c "! $SK copy --dest-tls-verify=false --dest-creds bob:bob-secret oci:$WORK/img:v2 docker://$HR/team/app:v2 2>/dev/null"
check "a wrong password cannot pull" bash -c "! $SK inspect --tls-verify=false --creds bob:nope docker://$HR/team/app:v1 2>/dev/null"

echo "== configuration"
MPORT=$(free_port)
cat > "$WORK/config.yml" <<YAML
version: 0.1
log:
  level: info
  formatter: json
storage:
  filesystem:
    rootdirectory: $WORK/configured
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: true
      age: 2s
      interval: 1s
http:
  addr: 127.0.0.1:1
  debug:
    addr: 127.0.0.1:$MPORT
    prometheus:
      enabled: true
  prefix: /reg
  secret: topsecretvalue
  headers:
    X-Content-Type-Options: [nosniff]
YAML
out=$("$BERTH" check-config "$WORK/config.yml" 2>&1)
check "check-config warns about each unknown key" bash -c "echo '$out' | grep -q 'storage.cache.blobdescriptor'"
check "check-config masks secrets" bash -c "! echo '$out' | grep -q topsecretvalue"
check "check-config --strict exits non-zero on a key Berth does not read" bash -c "! '$BERTH' check-config --strict $WORK/config.yml >/dev/null 2>&1"
check "serve --strict refuses to start on it, naming the key" bash -c "REGISTRY_HTTP_ADDR=127.0.0.1:$(free_port) timeout 20 '$BERTH' serve --strict --config $WORK/config.yml 2>&1 >/dev/null | grep -q 'strict.*storage.cache.blobdescriptor'"
printf 'version: 0.1\nstorage:\n  filesystem:\n    rootdir: /tmp/x\n' > "$WORK/typo.yml"
check "check-config suggests the key a typo meant" bash -c "'$BERTH' check-config $WORK/typo.yml 2>&1 >/dev/null | grep -q 'storage.filesystem.rootdir (did you mean storage.filesystem.rootdirectory?)'"
printf 'version: 0.1\nstorage: {inmemory: {}}\nauth:\n  htpasswd: {realm: r, path: /etc/htpasswd}\n' > "$WORK/htpasswd-check.yml"
check "check-config reports the htpasswd auth that will run (not none)" bash -c "'$BERTH' check-config $WORK/htpasswd-check.yml 2>/dev/null | grep -A2 '^auth:' | grep -q 'htpasswd:'"
check "check-config rejects an invalid file" bash -c "printf 'version: 0.1\nstorage:\n  filesystem: {}\n  inmemory: {}\n' > $WORK/bad.yml; ! '$BERTH' check-config $WORK/bad.yml"
CPORT=$(free_port)
mkdir -p "$WORK/cfg"
REGISTRY_HTTP_ADDR=127.0.0.1:$CPORT serve_berth "$WORK/cfg" "http://127.0.0.1:$CPORT/reg/v2/" --config "$WORK/config.yml" || exit 1
check "REGISTRY_HTTP_ADDR overrides http.addr and http.prefix is honoured" curl -sf -o /dev/null "http://127.0.0.1:$CPORT/reg/v2/"
check "http.headers are added" bash -c "curl -sI http://127.0.0.1:$CPORT/reg/v2/ | grep -qi '^X-Content-Type-Options: nosniff'"
check "metrics on the debug address" bash -c "curl -sf http://127.0.0.1:$MPORT/metrics | grep -q 'berth_http_requests_total{route=\"base\"'"
check "logs are JSON lines" bash -c "head -1 $WORK/cfg/berth.log | python3 -c 'import json,sys; json.loads(sys.stdin.readline())'"
curl -s -o /dev/null -X POST "http://127.0.0.1:$CPORT/reg/v2/purge/me/blobs/uploads/"
eventually 15 "abandoned uploads are purged" bash -c "[ -z \"\$(ls -A $WORK/configured/docker/registry/v2/repositories/purge/me/_uploads 2>/dev/null)\" ]"

echo "== TLS"
openssl req -x509 -nodes -newkey rsa:2048 -keyout "$WORK/tls.key" -out "$WORK/tls.crt" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1
TPORT=$(free_port)
mkdir -p "$WORK/tls"
cat > "$WORK/tls.yml" <<YAML
version: 0.1
storage:
  inmemory: {}
http:
  addr: 127.0.0.1:$TPORT
  tls:
    certificate: $WORK/tls.crt
    key: $WORK/tls.key
YAML
serve_berth "$WORK/tls" "https://127.0.0.1:$TPORT/v2/" "$WORK/tls.yml" || exit 1
check "HTTPS with a verified certificate" curl -sf --cacert "$WORK/tls.crt" -o /dev/null "https://localhost:$TPORT/v2/"
mkdir -p "$WORK/certs"; cp "$WORK/tls.crt" "$WORK/certs/ca.crt"
check "skopeo pushes over verified TLS" $SK copy --dest-cert-dir "$WORK/certs" "oci:$WORK/img:v2" "docker://localhost:$TPORT/secure/app:v2"

echo "== behind nginx terminating TLS (seed 002), with token auth"
if command -v nginx >/dev/null; then
    N="$WORK/nginx"; mkdir -p "$N/logs"
    NPORT=$(free_port)
    cat > "$N/nginx.conf" <<CONF
worker_processes 1;
pid $N/nginx.pid;
error_log $N/logs/error.log;
events {}
http {
    access_log off;
    client_body_temp_path $N/body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    uwsgi_temp_path $N/uwsgi;
    scgi_temp_path $N/scgi;
    client_max_body_size 0;
    server {
        listen 127.0.0.1:$NPORT ssl;
        ssl_certificate $WORK/tls.crt;
        ssl_certificate_key $WORK/tls.key;
        location / {
            proxy_pass http://127.0.0.1:$APORT;
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_read_timeout 900;
        }
    }
}
CONF
    nginx -c "$N/nginx.conf" -p "$N" -g 'daemon off;' >"$N/logs/stdout.log" 2>&1 &
    PIDS+=($!)
    wait_ready "https://localhost:$NPORT/v2/"
    expect_eq "the realm names the proxy's https address" "$(curl -s --cacert $WORK/tls.crt -D - -o /dev/null https://localhost:$NPORT/v2/ | tr -d '\r' | awk -F': ' 'tolower($1)=="www-authenticate"{print $2}')" "Bearer realm=\"https://localhost:$NPORT/auth/token\",service=\"Berth registry\""
    check "skopeo pushes through nginx with token auth" $SK copy --dest-cert-dir "$WORK/certs" --dest-creds alice:alice-secret "oci:$WORK/img:v1" "docker://localhost:$NPORT/proxied/app:v1"
    check "berth ls on a TLS port with a certificate it does not trust says so" bash -c "! HOME=$N '$BERTH' ls localhost:$NPORT -u alice -p alice-secret 2>$N/ls.err && grep -q 'speaks TLS with a certificate this machine does not trust' $N/ls.err"
    check "and with --ca-cert it lists" bash -c "HOME=$N '$BERTH' ls localhost:$NPORT -u alice -p alice-secret --ca-cert $WORK/tls.crt"
    check "skopeo pulls through nginx" $SK copy --src-cert-dir "$WORK/certs" --src-creds bob:bob-secret "docker://localhost:$NPORT/proxied/app:v1" "oci:$N/pulled:v1"
    expect_eq "upload Locations point at the proxy" "$(curl -s --cacert $WORK/tls.crt -D - -o /dev/null -X POST -H "Authorization: Bearer $(curl -s --cacert $WORK/tls.crt -u alice:alice-secret "https://localhost:$NPORT/auth/token?service=Berth+registry&scope=repository:proxied/app:push,pull" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')" https://localhost:$NPORT/v2/proxied/app/blobs/uploads/ | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}' | cut -d/ -f1-3)" "https://localhost:$NPORT"
else
    echo "  skip nginx (not installed)"
fi

echo "== hostile HTTP on raw sockets: HTTP/1.0, early errors with unread bodies, bad chunked encoding, racing PATCHes"
H="$WORK/raw"; mkdir -p "$H"
HPORT=$(free_port)
REGISTRY_HTTP_LIMITS_HEADERTIMEOUT=3s REGISTRY_HTTP_LIMITS_CONNECTIONSPERADDRESS=50 start_berth "$H" "$HPORT"
run_checks raw-http.py python3 "$(dirname "$0")/raw-http.py" "$HPORT" 3 50
kill "$BERTH_PID"; wait "$BERTH_PID" 2>/dev/null

finish
