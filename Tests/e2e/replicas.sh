#!/usr/bin/env bash
# Three `berth serve` replicas on one S3 bucket (Ceph's radosgw on a private one-node
# cluster, a real S3 that verifies every signature) and one PostgreSQL accounts database,
# behind Debian's nginx balancing round-robin with no stickiness: every request of a push
# may land on another replica. Clients: skopeo, curl and the docker CLI (a private dockerd, as root).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../support/radosgw.sh"
source "$(dirname "$0")/../support/postgres.sh"

for tool in skopeo curl python3 radosgw nginx; do
    command -v "$tool" >/dev/null || { fail "$tool is not installed"; finish; exit 1; }
done
[ -n "$(pg_bin)" ] || { fail "PostgreSQL server binaries are not installed"; finish; exit 1; }
start_test_radosgw || { fail "radosgw did not start"; finish; exit 1; }
start_test_postgres || { fail "PostgreSQL did not start"; finish; exit 1; }
trap 'stop_test_radosgw; stop_test_postgres; cleanup' EXIT
createdb berth_replicas

P="$WORK/replicas"; mkdir -p "$P"
python3 - "$BERTH_TEST_S3" "$BERTH_TEST_S3_ACCESS_KEY" "$BERTH_TEST_S3_SECRET_KEY" <<'PY'
import sys, boto3
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2],
             aws_secret_access_key=sys.argv[3]).create_bucket(Bucket="shared")
PY
cat > "$P/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  s3:
    region: us-east-1
    regionendpoint: $BERTH_TEST_S3
    forcepathstyle: true
    secure: false
    bucket: shared
    accesskey: $BERTH_TEST_S3_ACCESS_KEY
    secretkey: $BERTH_TEST_S3_SECRET_KEY
    chunksize: 5242880
  delete: {enabled: true}
auth:
  token:
    accounts: $BERTH_TEST_POSTGRES/berth_replicas?sslmode=disable
YAML

echo "== three replicas started at the same instant"
PORTS=($(free_port) $(free_port) $(free_port))
RPIDS=()
for i in 0 1 2; do
    mkdir -p "$P/r$i"
    # All three at once, as replicas start: none waits for another.
    REGISTRY_HTTP_ADDR=127.0.0.1:${PORTS[$i]} BERTH_OUT="$P/r$i.log" serve_berth "$P/r$i" - --config "$P/config.yml"
    RPIDS+=("$BERTH_PID")
done
for i in 0 1 2; do wait_ready "http://127.0.0.1:${PORTS[$i]}/v2/" || { cat "$P/r$i.log"; exit 1; }; done
check "exactly one replica created the admin" test "$(cat "$P"/r*.log | grep -c 'with the password')" = 1
echo dev-password-1 | "$BERTH" user add dev --password-stdin --cost 4 --config "$P/config.yml" >/dev/null
"$BERTH" acl add --config "$P/config.yml" --account dev --name 'team/*' --actions pull,push,delete >/dev/null
"$BERTH" acl add --config "$P/config.yml" --account dev --type registry --name catalog --actions '*' >/dev/null
token() { # replica-port scope
    curl -s -u dev:dev-password-1 "http://127.0.0.1:$1/auth/token?service=Berth+registry&scope=$2" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])'
}
eventually 5 "every replica knows the new user" bash -c "for p in ${PORTS[*]}; do [ \"\$(curl -s -o /dev/null -w '%{http_code}' -u dev:dev-password-1 \"http://127.0.0.1:\$p/auth/token?service=Berth+registry\")\" = 200 ] || exit 1; done"
T0=$(token "${PORTS[0]}" "repository:team/app:pull")
for i in 1 2; do
    expect_eq "a token issued by replica 1 is accepted by replica $((i + 1))" \
        "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $T0" "http://127.0.0.1:${PORTS[$i]}/v2/team/app/tags/list")" "404"
done

echo "== behind nginx, round-robin"
N="$P/nginx"; mkdir -p "$N/logs"
NPORT=$(free_port)
cat > "$N/nginx.conf" <<CONF
worker_processes 1;
pid $N/nginx.pid;
error_log $N/logs/error.log;
events {}
http {
    log_format upstream '\$request_method \$uri \$status \$upstream_addr';
    access_log $N/logs/access.log upstream;
    client_body_temp_path $N/body;
    proxy_temp_path $N/proxy;
    fastcgi_temp_path $N/fastcgi;
    uwsgi_temp_path $N/uwsgi;
    scgi_temp_path $N/scgi;
    client_max_body_size 0;
    upstream berth {
        server 127.0.0.1:${PORTS[0]} max_fails=0;
        server 127.0.0.1:${PORTS[1]} max_fails=0;
        server 127.0.0.1:${PORTS[2]} max_fails=0;
    }
    server {
        listen 127.0.0.1:$NPORT;
        location / {
            proxy_pass http://berth;
            proxy_http_version 1.1;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_set_header Host \$http_host;
            proxy_read_timeout 900;
        }
    }
}
CONF
nginx -c "$N/nginx.conf" -p "$N" -g 'daemon off;' >"$N/logs/stdout.log" 2>&1 &
NGINX_PID=$!; PIDS+=($NGINX_PID)
wait_ready "http://127.0.0.1:$NPORT/v2/"
LB="127.0.0.1:$NPORT"
CREDS=(--dest-creds dev:dev-password-1)
python3 "$MAKE_IMAGE" --layers 3 --size 3000000 --seed 21 "$WORK/img" v1 >/dev/null
python3 "$MAKE_IMAGE" --layers 1 --size 12000000 --seed 22 "$WORK/big" v1 >/dev/null
check "skopeo pushes through the balancer" $SK copy --dest-tls-verify=false "${CREDS[@]}" "oci:$WORK/img:v1" "docker://$LB/team/app:v1"
check "and a 12 MB layer (multipart, finished by another replica)" $SK copy --dest-tls-verify=false "${CREDS[@]}" "oci:$WORK/big:v1" "docker://$LB/team/big:v1"
check "the push's requests landed on all three replicas" test "$(grep -E '^(PATCH|PUT|POST) ' "$N/logs/access.log" | awk '{print $4}' | sort -u | wc -l)" = 3
expected=$($SK inspect --tls-verify=false --creds dev:dev-password-1 "docker://$LB/team/big:v1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Digest"])')
for i in 0 1 2; do
    check "replica $((i + 1)) serves the image pushed through the balancer" \
        $SK copy --src-tls-verify=false --src-creds dev:dev-password-1 "docker://127.0.0.1:${PORTS[$i]}/team/big:v1" "oci:$WORK/pull-$i:v1"
done

echo "== the docker CLI through the balancer"
if command -v dockerd >/dev/null && [ "$(id -u)" -eq 0 ]; then
    D="$WORK/dockerd"; mkdir -p "$D"
    dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false --data-root "$D/root" --exec-root "$D/exec" \
        -H "unix://$D/docker.sock" --pidfile "$D/docker.pid" >"$D/dockerd.log" 2>&1 &
    PIDS+=($!)
    export DOCKER_HOST="unix://$D/docker.sock" DOCKER_CONFIG="$D/config"
    for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
    if docker version >/dev/null 2>&1; then
        check "docker login through the balancer" bash -c "echo dev-password-1 | docker login -u dev --password-stdin $LB"
        check "an image is loaded into docker" $SK copy "oci:$WORK/big:v1" "docker-daemon:$LB/team/docker:v1" --dest-daemon-host "$DOCKER_HOST"
        check "docker push through the balancer" docker push "$LB/team/docker:v1"
        docker rmi "$LB/team/docker:v1" >/dev/null 2>&1
        check "docker pull through the balancer" docker pull "$LB/team/docker:v1"
    else
        fail "dockerd did not start" "$(tail -5 "$D/dockerd.log")"
    fi
    unset DOCKER_HOST DOCKER_CONFIG
elif [ "${CI:-}" = true ]; then
    fail "the docker CLI test needs dockerd (Debian's docker.io) and root"
else
    echo "  skip docker CLI (needs dockerd from Debian's docker.io, run as root)"
fi

echo "== a chunked upload whose every request goes to another replica"
head -c 11534337 /dev/urandom > "$WORK/blob"
DIGEST=$(sha "$WORK/blob")
TP=$(token "${PORTS[0]}" "repository:team/chunked:pull,push")
H=(-H "Authorization: Bearer $TP")
loc() { tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}' | sed "s#^/#http://$LB/#"; }
L=$(curl -s -D - -o /dev/null "${H[@]}" -X POST "http://$LB/v2/team/chunked/blobs/uploads/" | loc)
offset=0
for size in 6000000 3000000 2534337; do
    head -c $((offset + size)) "$WORK/blob" | tail -c "$size" > "$WORK/part"
    L=$(curl -s -D - -o /dev/null "${H[@]}" -X PATCH -H "Content-Type: application/octet-stream" \
        -H "Content-Range: $offset-$((offset + size - 1))" --data-binary @"$WORK/part" "$L" | loc)
    offset=$((offset + size))
done
SEP='?'; [[ "$L" == *\?* ]] && SEP='&'
expect_eq "the PUT that commits it (on yet another replica) is 201" "$(curl -s -o /dev/null -w '%{http_code}' "${H[@]}" -X PUT "$L${SEP}digest=$DIGEST")" "201"
check "those requests hit three replicas" test "$(grep ' /v2/team/chunked/blobs/uploads' "$N/logs/access.log" | awk '{print $4}' | sort -u | wc -l)" = 3
for i in 0 1 2; do
    expect_eq "replica $((i + 1)) serves the blob (through the bucket's redirect)" \
        "$(curl -sL "${H[@]}" "http://127.0.0.1:${PORTS[$i]}/v2/team/chunked/blobs/$DIGEST" | sha256sum | cut -d' ' -f1)" "${DIGEST#sha256:}"
done

echo "== every replica agrees"
TB=$(token "${PORTS[0]}" "repository:team/big:pull,push")
HB=(-H "Authorization: Bearer $TB")
subject=$(curl -sI "${HB[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$LB/v2/team/big/manifests/v1" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
printf '{}' > "$WORK/empty.json"; printf '{"spdxVersion":"SPDX-2.3"}' > "$WORK/sbom.json"
for f in empty sbom; do curl -s -o /dev/null "${HB[@]}" -X POST "http://$LB/v2/team/big/blobs/uploads/?digest=$(sha "$WORK/$f.json")" --data-binary @"$WORK/$f.json"; done
cat > "$WORK/artifact.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$(sha "$WORK/empty.json")","size":2},"layers":[{"mediaType":"application/spdx+json","digest":"$(sha "$WORK/sbom.json")","size":$(stat -c %s "$WORK/sbom.json")}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$subject","size":1}}
JSON
expect_eq "an SBOM referring to team/big:v1 is pushed through the balancer" "$(curl -s -o /dev/null -w '%{http_code}' "${HB[@]}" -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$WORK/artifact.json" "http://$LB/v2/team/big/manifests/$(sha "$WORK/artifact.json")")" "201"
for i in 0 1 2; do
    eventually 3 "replica $((i + 1)) lists it as a referrer within 3 s" bash -c "curl -s -H 'Authorization: Bearer $TB' http://127.0.0.1:${PORTS[$i]}/v2/team/big/referrers/$subject | grep -q '$(sha "$WORK/artifact.json")'"
done

for i in 0 1 2; do
    TC=$(curl -s -u dev:dev-password-1 "http://127.0.0.1:${PORTS[$i]}/auth/token?service=Berth+registry&scope=registry:catalog:*" | python3 -c 'import json,sys;print(json.load(sys.stdin)["token"])')
    eventually 3 "replica $((i + 1))'s catalog lists both repositories within 3 s" bash -c "curl -s -H 'Authorization: Bearer $TC' http://127.0.0.1:${PORTS[$i]}/v2/_catalog | grep -q '\"team/app\",\"team/big\"'"
done
check "deleting the tag through replica 1" $SK delete --tls-verify=false --creds dev:dev-password-1 "docker://127.0.0.1:${PORTS[0]}/team/app:v1"
for i in 1 2; do
    eventually 3 "replica $((i + 1)) no longer serves the deleted image within 3 s" bash -c "! $SK inspect --tls-verify=false --creds dev:dev-password-1 docker://127.0.0.1:${PORTS[$i]}/team/app:v1 >/dev/null 2>&1"
done

echo "== a repository policy changed through one replica applies on the others"
ADMIN_PW=$(cat "$P"/r*.log | grep -A2 'with the password' | tail -1 | tr -d ' ')
check "berth policy immutable add through replica 1's admin API" \
    env BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" policy immutable add --registry "http://127.0.0.1:${PORTS[0]}" --name 'team/*' --tag 'v*'
for i in 1 2; do
    eventually 3 "replica $((i + 1)) refuses to move team/big:v1 within 3 s, saying why" bash -c "$SK copy --dest-tls-verify=false --dest-creds dev:dev-password-1 oci:$WORK/img:v1 docker://127.0.0.1:${PORTS[$i]}/team/big:v1 2>&1 | grep -q 'team/big:v1 is immutable'"
done
check "removed again (berth policy rm, on the database)" "$BERTH" policy rm --config "$P/config.yml" immutable 1
eventually 3 "replica 3 lets it move again" $SK copy --dest-tls-verify=false --dest-creds dev:dev-password-1 "oci:$WORK/big:v1" "docker://127.0.0.1:${PORTS[2]}/team/big:v1"

echo "== quotas and signature-required pulls across replicas, on S3"
python3 "$MAKE_IMAGE" --layers 1 --size 5000 --seed 24 "$WORK/quota" v1 >/dev/null
check "berth policy quota set team 1KB through replica 1's admin API" \
    env BERTH_USERNAME=admin BERTH_PASSWORD="$ADMIN_PW" "$BERTH" policy quota set --registry "http://127.0.0.1:${PORTS[0]}" team 1KB
for i in 1 2; do
    # An upload's start is refused once the replica has the quota (nothing is stored meanwhile).
    eventually 3 "replica $((i + 1)) refuses an upload into team/ within 3 s (POST: 403)" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H \"Authorization: Bearer \$(curl -s -u dev:dev-password-1 'http://127.0.0.1:${PORTS[$i]}/auth/token?service=Berth+registry&scope=repository:team/quota:pull,push' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')\" http://127.0.0.1:${PORTS[$i]}/v2/team/quota/blobs/uploads/)\" = 403 ]"
    check "and skopeo's push there, saying quota, used and limit" bash -c "! $SK copy --dest-tls-verify=false --dest-creds dev:dev-password-1 oci:$WORK/quota:v1 docker://127.0.0.1:${PORTS[$i]}/team/quota:v1 > $WORK/quota-$i.out 2>&1 && grep -q 'quota exceeded: namespace team uses' $WORK/quota-$i.out"
done
check "the quota removed (on the database)" "$BERTH" policy quota set --config "$P/config.yml" team none
eventually 3 "replica 3 takes the push again" $SK copy --dest-tls-verify=false --dest-creds dev:dev-password-1 "oci:$WORK/quota:v1" "docker://127.0.0.1:${PORTS[2]}/team/quota:v1"
check "cosign-sign.py signs team/big:v1 through replica 1" python3 "$(dirname "$0")/cosign-sign.py" sign "127.0.0.1:${PORTS[0]}" team/big v1 dev dev-password-1 "$WORK/cosign"
check "berth policy signed add --name 'team/*' (on the database)" "$BERTH" policy signed add --config "$P/config.yml" --name 'team/*' --key "$WORK/cosign.pub"
for i in 1 2; do
    eventually 3 "replica $((i + 1)) refuses the unsigned team/quota:v1" bash -c "$SK inspect --tls-verify=false --creds dev:dev-password-1 docker://127.0.0.1:${PORTS[$i]}/team/quota:v1 2>&1 | grep -q 'image is not signed by a trusted key'"
    check "and serves the signed team/big:v1" $SK inspect --tls-verify=false --creds dev:dev-password-1 "docker://127.0.0.1:${PORTS[$i]}/team/big:v1"
done
check "berth policy rm signed 1" "$BERTH" policy rm --config "$P/config.yml" signed 1
eventually 3 "replica 2 serves team/quota:v1 again" $SK inspect --tls-verify=false --creds dev:dev-password-1 "docker://127.0.0.1:${PORTS[1]}/team/quota:v1"

echo "== retention on S3, run through one replica, seen by the others"
for t in keep-1 drop-1 drop-2; do
    $SK copy -q --dest-tls-verify=false --dest-creds dev:dev-password-1 "oci:$WORK/quota:v1" "docker://127.0.0.1:${PORTS[0]}/team/ret:$t" >/dev/null 2>&1
done
check "berth policy retention add --name team/ret --keep-days 0 --keep-tag 'keep-*' (on the database)" \
    "$BERTH" policy retention add --config "$P/config.yml" --name team/ret --keep-days 0 --keep-tag 'keep-*'
eventually 3 "a dry run through replica 3 lists exactly drop-1 and drop-2" bash -c "[ \"\$(BERTH_USERNAME=admin BERTH_PASSWORD='$ADMIN_PW' '$BERTH' policy retention run --dry-run --json --registry http://127.0.0.1:${PORTS[2]} | python3 -c 'import json,sys; print(sorted(r[\"tag\"] for r in json.load(sys.stdin)[\"removals\"] if r[\"repository\"] == \"team/ret\"))')\" = \"['drop-1', 'drop-2']\" ]"
check "the run through replica 2 removes them" bash -c "BERTH_USERNAME=admin BERTH_PASSWORD='$ADMIN_PW' '$BERTH' policy retention run --registry http://127.0.0.1:${PORTS[1]} | grep -q 'removed 2 tags'"
eventually 3 "replica 1 lists only keep-1" bash -c "$SK list-tags --tls-verify=false --creds dev:dev-password-1 docker://127.0.0.1:${PORTS[0]}/team/ret | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"Tags\"] == [\"keep-1\"]'"
check "berth policy rm retention 1" "$BERTH" policy rm --config "$P/config.yml" retention 1

echo "== a replica killed mid-push"
python3 "$MAKE_IMAGE" --layers 4 --size 8000000 --seed 23 "$WORK/killed" v1 >/dev/null
$SK copy --retry-times 5 --dest-tls-verify=false "${CREDS[@]}" "oci:$WORK/killed:v1" "docker://$LB/team/killed:v1" >"$P/killed-push.log" 2>&1 &
PUSH=$!
sleep 1.5
kill -9 "${RPIDS[1]}" 2>/dev/null
wait "$PUSH"; rc=$?
[ $rc -ne 0 ] && $SK copy --retry-times 5 --dest-tls-verify=false "${CREDS[@]}" "oci:$WORK/killed:v1" "docker://$LB/team/killed:v1" >>"$P/killed-push.log" 2>&1
check "the push completes through the surviving replicas (retried as a client does)" \
    $SK copy --src-tls-verify=false --src-creds dev:dev-password-1 "docker://127.0.0.1:${PORTS[0]}/team/killed:v1" "oci:$WORK/killed-pull:v1"
check "what replica 2 committed before it died is intact" \
    $SK copy --src-tls-verify=false --src-creds dev:dev-password-1 "docker://127.0.0.1:${PORTS[2]}/team/big:v1" "oci:$WORK/big-after-kill:v1"
REGISTRY_HTTP_ADDR=127.0.0.1:${PORTS[1]} BERTH_OUT="$P/r1.log" serve_berth "$P/r1" "http://127.0.0.1:${PORTS[1]}/v2/" --config "$P/config.yml" || exit 1

echo "== berth gc while the replicas serve pushes"
for n in 1 2 3 4; do python3 "$MAKE_IMAGE" --layers 2 --size 2000000 --seed $((30 + n)) "$WORK/gc$n" v1 >/dev/null; done
( for n in 1 2 3 4; do $SK copy --retry-times 3 --dest-tls-verify=false "${CREDS[@]}" "oci:$WORK/gc$n:v1" "docker://$LB/team/gc$n:v1" || exit 1; done ) >"$P/gc-pushes.log" 2>&1 &
PUSHES=$!
"$BERTH" gc --config "$P/config.yml" --grace 0s --settle 2s --json >"$P/gc.json" 2>"$P/gc.log"; gcrc=$?
wait "$PUSHES"; pushrc=$?
expect_eq "gc ran" "$gcrc" "0"
expect_eq "the pushes during gc succeeded" "$pushrc" "0"
for n in 1 2 3 4; do
    check "team/gc$n pulls after gc" $SK copy --src-tls-verify=false --src-creds dev:dev-password-1 "docker://$LB/team/gc$n:v1" "oci:$WORK/gc-pull-$n:v1"
done
check "team/big still pulls after gc" $SK copy --src-tls-verify=false --src-creds dev:dev-password-1 "docker://$LB/team/big:v1" "oci:$WORK/big-after-gc:v1"

finish
