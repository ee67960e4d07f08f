#!/usr/bin/env bash
# Blobs from a CDN (Distribution's storage middlewares, configured as there): `redirect` with
# nginx serving the storage directory as the CDN (skopeo pulls through the 307s and checks
# every digest), and `cloudfront`, whose signed URLs (canned policy, RSA-SHA1) are verified
# with openssl against the key pair's public key.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

for tool in skopeo curl python3 nginx openssl; do
    command -v "$tool" >/dev/null || { fail "$tool is required"; finish; exit 1; }
done

echo "== middleware.storage redirect: nginx as the CDN in front of the storage"
C="$WORK/cdn"; mkdir -p "$C/data" "$C/nginx/logs"
PORT=$(free_port); NPORT=$(free_port)
# Berth writes its files for its own user only: nginx's worker reads them as that user (as
# a CDN origin reading a bucket with its own credentials would).
cat > "$C/nginx/nginx.conf" <<CONF
$([ "$(id -u)" -eq 0 ] && echo "user root;")
worker_processes 1;
pid $C/nginx/nginx.pid;
error_log $C/nginx/logs/error.log;
events {}
http {
    log_format cdn '\$request_method \$uri \$status \$body_bytes_sent';
    access_log $C/nginx/logs/access.log cdn;
    client_body_temp_path $C/nginx/body;
    proxy_temp_path $C/nginx/proxy;
    fastcgi_temp_path $C/nginx/fastcgi;
    uwsgi_temp_path $C/nginx/uwsgi;
    scgi_temp_path $C/nginx/scgi;
    server {
        listen 127.0.0.1:$NPORT;
        root $C/data;
        location / { default_type application/octet-stream; }
    }
}
CONF
nginx -c "$C/nginx/nginx.conf" -p "$C/nginx" -g 'daemon off;' >"$C/nginx/logs/stdout.log" 2>&1 &
PIDS+=($!)
cat > "$C/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $C/data
http:
  addr: 127.0.0.1:$PORT
middleware:
  storage:
    - name: redirect
      options:
        baseurl: http://127.0.0.1:$NPORT/
YAML
start_berth "$C" "$PORT" "$C/config.yml"
R="127.0.0.1:$PORT"
python3 "$MAKE_IMAGE" "$WORK/img" v1 --layers 2 --size 400000 --seed 91 >/dev/null
check "skopeo pushes (uploads are never redirected)" $SK copy --dest-tls-verify=false "oci:$WORK/img:v1" "docker://$R/cdn/app:v1"
LAYER=$(python3 -c 'import json,sys; idx=json.load(open(sys.argv[1]+"/index.json")); m=json.load(open(sys.argv[1]+"/blobs/sha256/"+idx["manifests"][0]["digest"].split(":")[1])); print(m["layers"][0]["digest"])' "$WORK/img")
HEX=${LAYER#sha256:}
expect_eq "a blob GET is a 307 to baseurl + the blob's storage path" \
    "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$R/v2/cdn/app/blobs/$LAYER")" \
    "307 http://127.0.0.1:$NPORT/docker/registry/v2/blobs/sha256/${HEX:0:2}/$HEX/data"
check "skopeo pulls the image through the CDN, every digest checked" $SK copy --src-tls-verify=false "docker://$R/cdn/app:v1" "oci:$WORK/pulled:v1"
check "the CDN (nginx) served the layers" bash -c "grep -c 'GET /docker/registry/v2/blobs/sha256/.*/data 200' '$C/nginx/logs/access.log' | grep -qv '^0$'"
check "manifests still come from Berth" bash -c "! grep -q '_manifests' '$C/nginx/logs/access.log'"

echo "== middleware.storage cloudfront: signed URLs"
openssl genrsa -out "$C/cf.pem" 2048 2>/dev/null
openssl rsa -in "$C/cf.pem" -pubout -out "$C/cf.pub" 2>/dev/null
PORT2=$(free_port)
sed -e "s/127.0.0.1:$PORT\$/127.0.0.1:$PORT2/" "$C/config.yml" | python3 -c '
import sys
text = sys.stdin.read()
head = text.split("middleware:")[0]
print(head + """middleware:
  storage:
    - name: cloudfront
      options:
        baseurl: https://d111111abcdef8.cloudfront.net/
        privatekey: %s
        keypairid: K2JCJMDEHXQW5F
        duration: 10m
        ipfilteredby: none
""" % sys.argv[1])' "$C/cf.pem" > "$C/cloudfront.yml"
check "berth check-config accepts Distribution's cloudfront section" "$BERTH" check-config "$C/cloudfront.yml"
sed 's/ipfilteredby: none/ipfilteredby: aws/' "$C/cloudfront.yml" > "$C/aws.yml"
check "and says why ipfilteredby: aws is not" bash -c "'$BERTH' check-config '$C/aws.yml' 2>&1 | grep -q 'ipfilteredby: aws is not supported'"
mkdir -p "$C/cf"
start_berth "$C/cf" "$PORT2" "$C/cloudfront.yml"
BEFORE=$(date +%s)
LOCATION=$(curl -s -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$PORT2/v2/cdn/app/blobs/$LAYER")
check "a blob GET is a 307 to a CloudFront signed URL whose signature verifies with the key pair's public key (openssl)" python3 - "$LOCATION" "$C" "$BEFORE" "$HEX" <<'PY'
import base64, subprocess, sys, urllib.parse
url, work, before, hexdigest = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
resource, query = url.split("?", 1)
q = urllib.parse.parse_qs(query)
assert resource == f"https://d111111abcdef8.cloudfront.net/docker/registry/v2/blobs/sha256/{hexdigest[:2]}/{hexdigest}/data", resource
assert q["Key-Pair-Id"] == ["K2JCJMDEHXQW5F"], q
expires = int(q["Expires"][0])
assert before + 590 <= expires <= before + 700, (before, expires)
policy = '{"Statement":[{"Resource":"%s","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}' % (resource, expires)
signature = base64.b64decode(q["Signature"][0].replace("-", "+").replace("_", "=").replace("~", "/"))
open(f"{work}/policy", "w").write(policy)
open(f"{work}/signature", "wb").write(signature)
subprocess.run(["openssl", "dgst", "-sha1", "-verify", f"{work}/cf.pub", "-signature", f"{work}/signature", f"{work}/policy"], check=True, capture_output=True)
PY
openssl genrsa -out "$C/other.pem" 2048 2>/dev/null; openssl rsa -in "$C/other.pem" -pubout -out "$C/other.pub" 2>/dev/null
check "and does not verify with another key" bash -c "! openssl dgst -sha1 -verify '$C/other.pub' -signature '$C/signature' '$C/policy' >/dev/null 2>&1"
finish
