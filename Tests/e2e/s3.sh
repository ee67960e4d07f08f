#!/usr/bin/env bash
# End-to-end tests of Berth on S3: Ceph's RADOS Gateway (Debian's radosgw on a private
# one-node cluster, a real S3 that verifies every signature), skopeo and curl as clients, and Debian's docker-registry (CNCF
# Distribution 2.8) with its own S3 driver on the same bucket, both ways.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../support/radosgw.sh"

for tool in skopeo curl python3 radosgw docker-registry; do
    command -v "$tool" >/dev/null || { fail "$tool is not installed"; finish; exit 1; }
done
start_test_radosgw || { fail "radosgw did not start"; finish; exit 1; }
trap 'stop_test_radosgw; cleanup' EXIT

S3="$WORK/s3"; mkdir -p "$S3"
python3 - "$BERTH_TEST_S3" "$BERTH_TEST_S3_ACCESS_KEY" "$BERTH_TEST_S3_SECRET_KEY" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                  aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
s3.create_bucket(Bucket="registry")
PY
PORT=$(free_port)
s3_config() { # file port [extra storage lines]
    cat > "$1" <<YAML
version: 0.1
log:
  level: warn
storage:
  s3:
    region: us-east-1
    regionendpoint: $BERTH_TEST_S3
    forcepathstyle: true
    secure: false
    bucket: registry
    rootdirectory: /registry-v2
    accesskey: $BERTH_TEST_S3_ACCESS_KEY
    secretkey: $BERTH_TEST_S3_SECRET_KEY
    chunksize: 5242880
  delete:
    enabled: true
${3:-}
http:
  addr: 127.0.0.1:$2
YAML
}
s3_config "$S3/config.yml" "$PORT"
start_berth "$S3" "$PORT" "$S3/config.yml"
R="127.0.0.1:$PORT"

echo "== pushes and pulls through Berth's S3 driver"
python3 "$MAKE_IMAGE" --layers 3 --size 4000000 --seed 11 "$WORK/img" v1 >/dev/null
python3 "$MAKE_IMAGE" --layers 1 --size 13000000 --seed 12 "$WORK/big" v1 >/dev/null
check "skopeo pushes an image" $SK copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$R/team/app:v1"
check "skopeo pushes a 13 MB layer (multipart upload)" $SK copy --dest-tls-verify=false "oci:$WORK/big:v1" "docker://$R/team/big:v1"
check "skopeo pulls the image back" $SK copy --src-tls-verify=false "docker://$R/team/app:v1" "oci:$WORK/pulled:v1"
expected=$($SK inspect --tls-verify=false "docker://$R/team/big:v1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Digest"])')
check "skopeo pulls the big image back" $SK copy --src-tls-verify=false "docker://$R/team/big:v1" "oci:$WORK/pulled-big:v1"
expect_eq "the catalog lists both" "$(curl -s "http://$R/v2/_catalog")" '{"repositories":["team/app","team/big"]}'
expect_eq "tags list" "$(curl -s "http://$R/v2/team/app/tags/list")" '{"name":"team/app","tags":["v1"]}'

echo "== chunked upload over several PATCHes, blob GET redirected to S3"
head -c 7340033 /dev/urandom > "$WORK/blob"
DIGEST=$(sha "$WORK/blob")
LOC=$(curl -s -D - -o /dev/null -X POST "http://$R/v2/team/chunked/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
[[ "$LOC" == /* ]] && LOC="http://$R$LOC"
head -c 3000000 "$WORK/blob" > "$WORK/part1"; tail -c +3000001 "$WORK/blob" | head -c 4000000 > "$WORK/part2"; tail -c +7000001 "$WORK/blob" > "$WORK/part3"
LOC2=$(curl -s -D - -o /dev/null -X PATCH -H "Content-Type: application/octet-stream" -H "Content-Range: 0-2999999" --data-binary @"$WORK/part1" "$LOC" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
[[ "$LOC2" == /* ]] && LOC2="http://$R$LOC2"
expect_eq "a second PATCH at a wrong offset is 416" "$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Content-Range: 10-19" --data-binary 0123456789 "$LOC2")" "416"
LOC3=$(curl -s -D - -o /dev/null -X PATCH -H "Content-Type: application/octet-stream" -H "Content-Range: 3000000-6999999" --data-binary @"$WORK/part2" "$LOC2" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
[[ "$LOC3" == /* ]] && LOC3="http://$R$LOC3"
expect_eq "the upload's offset is 7000000" "$(curl -s -D - -o /dev/null "$LOC3" | tr -d '\r' | awk -F': ' 'tolower($1)=="range"{print $2}')" "0-6999999"
SEP='?'; [[ "$LOC3" == *\?* ]] && SEP='&'
expect_eq "the final PUT with the last chunk commits the blob" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Content-Type: application/octet-stream" --data-binary @"$WORK/part3" "$LOC3${SEP}digest=$DIGEST")" "201"
expect_eq "blob GET is a 307 to the bucket" "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$R/v2/team/chunked/blobs/$DIGEST" | sed -E 's#^(307) http://127\.0\.0\.1:[0-9]+/registry/registry-v2/docker/registry/v2/blobs/sha256/.*X-Amz-Signature=.*#\1 presigned#')" "307 presigned"
expect_eq "the presigned URL serves the blob" "$(curl -sL "http://$R/v2/team/chunked/blobs/$DIGEST" | sha256sum | cut -d' ' -f1)" "${DIGEST#sha256:}"
expect_eq "a ranged GET through the redirect" "$(curl -sL -H 'Range: bytes=100-199' "http://$R/v2/team/chunked/blobs/$DIGEST" | sha256sum | cut -d' ' -f1)" "$(head -c 200 "$WORK/blob" | tail -c 100 | sha256sum | cut -d' ' -f1)"
expect_eq "HEAD is answered by Berth" "$(curl -s -I -o /dev/null -w '%{http_code}' "http://$R/v2/team/chunked/blobs/$DIGEST")" "200"
expect_eq "no multipart upload is left in the bucket" "$(python3 - "$BERTH_TEST_S3" "$BERTH_TEST_S3_ACCESS_KEY" "$BERTH_TEST_S3_SECRET_KEY" <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
print(len(s3.list_multipart_uploads(Bucket="registry").get("Uploads", [])))
PY
)" "0"

echo "== Distribution 2.8's S3 driver on the same bucket"
DPORT=$(free_port)
cat > "$WORK/distribution.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  s3:
    region: us-east-1
    regionendpoint: $BERTH_TEST_S3
    secure: false
    bucket: registry
    rootdirectory: /registry-v2
    accesskey: $BERTH_TEST_S3_ACCESS_KEY
    secretkey: $BERTH_TEST_S3_SECRET_KEY
  redirect:
    disable: true
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$DPORT
YAML
serve_distribution "$WORK/distribution.yml" "$WORK/distribution.log" "$DPORT"
DR="127.0.0.1:$DPORT"
expect_eq "Distribution serves the image Berth stored in the bucket" "$($SK inspect --tls-verify=false "docker://$DR/team/big:v1" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Digest"])')" "$expected"
check "Distribution serves every layer Berth stored" $SK copy --src-tls-verify=false "docker://$DR/team/app:v1" "oci:$WORK/from-dist:v1"
expect_eq "Distribution serves the chunked blob" "$(curl -s "http://$DR/v2/team/chunked/blobs/$DIGEST" | sha256sum | cut -d' ' -f1)" "${DIGEST#sha256:}"
python3 "$MAKE_IMAGE" --layers 2 --size 6000000 --seed 13 "$WORK/dimg" v1 >/dev/null
check "skopeo pushes through Distribution into the bucket" $SK copy --dest-tls-verify=false "oci:$WORK/dimg:v1" "docker://$DR/pushed/by-distribution:v1"
check "Berth serves what Distribution stored" $SK copy --src-tls-verify=false "docker://$R/pushed/by-distribution:v1" "oci:$WORK/from-berth:v1"

echo "== storage.redirect.disable: blobs proxied through Berth"
PORT2=$(free_port)
mkdir -p "$S3/proxied"
s3_config "$S3/proxied/config.yml" "$PORT2" "  redirect:
    disable: true"
start_berth "$S3/proxied" "$PORT2" "$S3/proxied/config.yml"
expect_eq "blob GET is a 200 from Berth" "$(curl -s -o "$WORK/proxied" -w '%{http_code}' "http://127.0.0.1:$PORT2/v2/team/chunked/blobs/$DIGEST")" "200"
expect_eq "with the blob's bytes" "$(sha "$WORK/proxied")" "$DIGEST"

echo "== S3 throttling: every 4th request answered 503 SlowDown"
FPORT=$(free_port)
python3 "$(dirname "$0")/flaky-s3-proxy.py" "$FPORT" "$BERTH_TEST_S3" 4 "$WORK/injected" & PIDS+=($!)
wait_ready "http://127.0.0.1:$FPORT/" >/dev/null
PORT3=$(free_port); mkdir -p "$S3/flaky"
s3_config "$S3/flaky/config.yml" "$PORT3"
sed -i "s#regionendpoint: .*#regionendpoint: http://127.0.0.1:$FPORT#" "$S3/flaky/config.yml"
start_berth "$S3/flaky" "$PORT3" "$S3/flaky/config.yml"
python3 "$MAKE_IMAGE" --layers 2 --size 7000000 --seed 14 "$WORK/flaky" v1 >/dev/null
check "a push with a 7 MB layer succeeds through the throttling" $SK copy --dest-tls-verify=false "oci:$WORK/flaky:v1" "docker://127.0.0.1:$PORT3/team/flaky:v1"
check "and pulls back" $SK copy --src-tls-verify=false "docker://127.0.0.1:$PORT3/team/flaky:v1" "oci:$WORK/flaky-pull:v1"
check "503s were injected and retried" bash -c "[ \"\$(cat $WORK/injected)\" -ge 5 ]"
kill "$BERTH_PID" 2>/dev/null

echo "== berth gc on the bucket while Berth serves it"
# The chunked blob is referenced by no manifest: the one thing gc may remove.
GC=$("$BERTH" gc --config "$S3/config.yml" --grace 0s --settle 1s --json 2>&1)
expect_eq "gc deletes exactly the unreferenced blob" "$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["deletedBlobs"] == [sys.argv[2]], r["blobsScanned"] - r["blobsMarked"])' "$GC" "$DIGEST")" "True 1"
expect_eq "its link answers 404 afterwards" "$(curl -s -o /dev/null -w '%{http_code}' "http://$R/v2/team/chunked/blobs/$DIGEST")" "404"
check "every image still pulls after gc" $SK copy --src-tls-verify=false "docker://$R/team/big:v1" "oci:$WORK/after-gc:v1"
check "and through Distribution too" $SK copy --src-tls-verify=false "docker://$DR/pushed/by-distribution:v1" "oci:$WORK/after-gc-dist:v1"

echo "== temporary credentials: an instance role, a container's role, a web identity"
# The three endpoints are a mock (Tests/e2e/mock-aws-credentials.py: none of them can run
# here); the credentials they hand out are radosgw's own STS session credentials, whose
# session tokens radosgw verifies. They say they expire 302 s ahead, so Berth, renewing 5
# minutes ahead, fetches new ones after 2 s.
MPORT=$(free_port)
echo "container-secret-$RANDOM" > "$WORK/container-token"
echo "web-identity-$RANDOM" > "$WORK/web-identity-token"
python3 "$(dirname "$0")/mock-aws-credentials.py" "$MPORT" "$BERTH_TEST_S3" "$BERTH_TEST_S3_ACCESS_KEY" "$BERTH_TEST_S3_SECRET_KEY" \
    302 "$WORK/credential-fetches" "$(cat "$WORK/container-token")" "$(cat "$WORK/web-identity-token")" \
    arn:aws:iam::123456789012:role/berth & PIDS+=($!)
wait_until 20 curl -s -o /dev/null -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: 60" "http://127.0.0.1:$MPORT/latest/api/token"
python3 "$MAKE_IMAGE" --layers 2 --size 6000000 --seed 15 "$WORK/role-img" v1 >/dev/null
fetches() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$WORK/credential-fetches" "$1" 2>/dev/null || echo 0; }
for source in imds container web-identity; do
    CPORT=$(free_port); mkdir -p "$S3/$source"
    s3_config "$S3/$source/config.yml" "$CPORT"
    sed -i '/accesskey:/d; /secretkey:/d' "$S3/$source/config.yml"
    mkdir -p "$WORK/home-$source"
    case $source in
        imds) HOME=$WORK/home-$source AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:$MPORT \
                  start_berth "$S3/$source" "$CPORT" "$S3/$source/config.yml" ;;
        container) HOME=$WORK/home-$source AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:$MPORT/container-credentials \
                  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=$WORK/container-token \
                  start_berth "$S3/$source" "$CPORT" "$S3/$source/config.yml" ;;
        web-identity) HOME=$WORK/home-$source AWS_WEB_IDENTITY_TOKEN_FILE=$WORK/web-identity-token \
                  AWS_ROLE_ARN=arn:aws:iam::123456789012:role/berth AWS_ENDPOINT_URL_STS=http://127.0.0.1:$MPORT/sts/ \
                  start_berth "$S3/$source" "$CPORT" "$S3/$source/config.yml" ;;
    esac
    check "$source: a push with credentials from the $source endpoint" $SK copy --dest-tls-verify=false "oci:$WORK/role-img:v1" "docker://127.0.0.1:$CPORT/roles/$source:v1"
    first=$(fetches "$source")
    sleep 2.5
    check "$source: a pull after the credentials' renewal time" $SK copy --src-tls-verify=false "docker://127.0.0.1:$CPORT/roles/$source:v1" "oci:$WORK/role-pull-$source:v1"
    expect_eq "$source: fetched, then fetched again before they expired" "$([ "$first" -ge 1 ] && [ "$(fetches "$source")" -gt "$first" ] && echo renewed)" "renewed"
    LAYER=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$CPORT/v2/roles/$source/manifests/v1" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"])')
    expect_eq "$source: a blob GET's presigned redirect carries the session token, and radosgw serves it" \
        "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$CPORT/v2/roles/$source/blobs/$LAYER") $(curl -sL "http://127.0.0.1:$CPORT/v2/roles/$source/blobs/$LAYER" | sha256sum | cut -d' ' -f1)" \
        "307 ${LAYER#sha256:}"
    kill "$BERTH_PID" 2>/dev/null
done
CPORT=$(free_port); mkdir -p "$S3/no-role"
s3_config "$S3/no-role/config.yml" "$CPORT"
sed -i '/accesskey:/d; /secretkey:/d' "$S3/no-role/config.yml"
OUT=$(HOME=$WORK/home-imds AWS_EC2_METADATA_DISABLED=true timeout 20 "$BERTH" serve --config "$S3/no-role/config.yml" 2>&1)
expect_eq "without keys or a role, serve refuses to start and says where it looked" \
    "$(grep -c 'no credentials: set accesskey and secretkey, AWS_ACCESS_KEY_ID' <<< "$OUT")" "1"

echo "== the object store goes away"
stop_test_radosgw
# (A tag read within the last second may still be answered from the link cache.)
sleep 1.5
OUT=$(curl -s -m 60 -w ' %{http_code}' "http://$R/v2/team/big/tags/list")
expect_eq "a tags list answers 503 UNAVAILABLE, not a hang or a 500" "$(sed -E 's/.*"code":"([A-Z_]+)".* ([0-9]+)$/\1 \2/' <<< "$OUT")" "UNAVAILABLE 503"
check "Berth is still running" kill -0 "$(pgrep -f "serve --config $S3/config.yml" | head -1)"

finish
