#!/usr/bin/env bash
# End-to-end tests of Berth as a pull-through cache. No internet here, so the upstreams are
# local: Debian's docker-registry (CNCF Distribution 2.8) with htpasswd Basic auth, and a
# second `berth serve` with token auth. Clients: skopeo, curl and (as root) the docker CLI.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

for tool in skopeo curl python3 docker-registry; do
    command -v "$tool" >/dev/null || { fail "$tool is not installed"; finish; exit 1; }
done

echo "== upstreams: Distribution 2.8 with htpasswd, Berth with token auth"
U="$WORK/upstream-dist"; mkdir -p "$U"
echo "puller:$(echo -n puller-secret | "$BERTH" hash-password --cost 5)" > "$U/htpasswd"
UPORT=$(free_port)
cat > "$U/config.yml" <<YAML
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $U/data
  delete:
    enabled: true
auth:
  htpasswd:
    realm: upstream
    path: $U/htpasswd
http:
  addr: 127.0.0.1:$UPORT
YAML
start_distribution() { serve_distribution "$U/config.yml" "$U/distribution.log" "$UPORT" || exit 1; }
start_distribution
UR="127.0.0.1:$UPORT"

T="$WORK/upstream-berth"; mkdir -p "$T"
cat > "$T/auth_config.yml" <<YAML
token:
  issuer: "upstream Berth"
  expiration: 900
users:
  "ci":
    password: "$(echo -n ci-secret | "$BERTH" hash-password --cost 5)"
acl:
  - match: {account: "ci"}
    actions: ["*"]
YAML
TPORT=$(free_port)
cat > "$T/config.yml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $T/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$TPORT
auth:
  token:
    service: "upstream Berth"
    authconfig: $T/auth_config.yml
YAML
start_berth "$T" "$TPORT" "$T/config.yml"
TR="127.0.0.1:$TPORT"

python3 "$MAKE_IMAGE" --layers 2 --size 3000000 --seed 41 "$WORK/img" v1 >/dev/null
python3 "$MAKE_IMAGE" --layers 2 --size 3000000 --seed 42 "$WORK/img" v2 >/dev/null
python3 "$MAKE_IMAGE" --layers 1 --size 2000000 --seed 43 "$WORK/other" v1 >/dev/null
check "push an image to Distribution" $SK copy --dest-tls-verify=false --dest-creds puller:puller-secret "oci:$WORK/img:v1" "docker://$UR/library/app:v1"
check "push another to Distribution" $SK copy --dest-tls-verify=false --dest-creds puller:puller-secret "oci:$WORK/other:v1" "docker://$UR/library/other:v1"
check "push an image to the upstream Berth" $SK copy --dest-tls-verify=false --dest-creds ci:ci-secret "oci:$WORK/img:v1" "docker://$TR/team/app:v1"
digest_of() { $SK inspect --tls-verify=false "$@" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Digest"])'; }
V1=$(digest_of --creds puller:puller-secret "docker://$UR/library/app:v1")

# A third upstream over HTTPS, its certificate from a CA only the mirror's config names.
X="$WORK/upstream-tls"; mkdir -p "$X/certs"
openssl req -x509 -nodes -newkey rsa:2048 -keyout "$X/tls.key" -out "$X/tls.crt" -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1
cp "$X/tls.crt" "$X/certs/ca.crt"
XPORT=$(free_port)
cat > "$X/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  inmemory: {}
http:
  addr: 127.0.0.1:$XPORT
  tls:
    certificate: $X/tls.crt
    key: $X/tls.key
YAML
serve_berth "$X" "https://127.0.0.1:$XPORT/v2/" "$X/config.yml" || exit 1
check "push an image to the HTTPS upstream" $SK copy --dest-cert-dir "$X/certs" "oci:$WORK/other:v1" "docker://localhost:$XPORT/tools/other:v1"

echo "== one Berth mirroring both, beside its own repositories"
M="$WORK/mirror"; mkdir -p "$M/spool"
MPORT=$(free_port)
cat > "$M/config.yml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $M/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$MPORT
proxy:
  spooldirectory: $M/spool
  upstreams:
    - prefix: dist.local
      remoteurl: http://$UR
      username: puller
      password: puller-secret
      tagttl: 10s
      repositories: ["library/*"]
      namespaces: [dist.local, docker.io]
    - prefix: berth.local
      remoteurl: http://127.0.0.1:$(free_port)
      fallbackurls: [{url: "http://$TR", username: ci, password: ci-secret}]
      username: ci
      password: ci-secret
    - prefix: tls.local
      remoteurl: https://localhost:$XPORT
      tls:
        ca: $X/tls.crt
    - prefix: untrusted.local
      remoteurl: https://localhost:$XPORT
YAML
start_berth "$M" "$MPORT" "$M/config.yml"
R="127.0.0.1:$MPORT"

check "skopeo pulls through the mirror from Distribution (Basic auth upstream)" \
    $SK copy --src-tls-verify=false "docker://$R/dist.local/library/app:v1" "oci:$WORK/pulled:a1"
expect_eq "the mirrored image has the upstream's digest" "$(digest_of "docker://$R/dist.local/library/app:v1")" "$V1"
check "skopeo pulls through the mirror from the upstream Berth (token auth upstream, reached through its fallback URL)" \
    $SK copy --src-tls-verify=false "docker://$R/berth.local/team/app:v1" "oci:$WORK/pulled:b1"
expect_eq "the pulled layers are the pushed ones" "$(ls "$WORK/pulled/blobs/sha256" | sort | md5sum)" "$(ls "$WORK/img/blobs/sha256" | sort | grep -F -f <(ls "$WORK/pulled/blobs/sha256") | md5sum)"
check "the cached image is in the mirror's storage, in Distribution's layout" \
    test -f "$M/data/docker/registry/v2/repositories/dist.local/library/app/_manifests/tags/v1/current/link"
check "skopeo pulls through the mirror from an HTTPS upstream whose CA the config names" \
    $SK copy --src-tls-verify=false "docker://$R/tls.local/tools/other:v1" "oci:$WORK/pulled:tls"
expect_eq "an upstream whose certificate is not trusted is not used (503)" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://$R/v2/untrusted.local/tools/other/manifests/v1")" "503"
expect_eq "the catalog shows the cached repositories" "$(curl -s "http://$R/v2/_catalog")" '{"repositories":["berth.local/team/app","dist.local/library/app","tls.local/tools/other"]}'
expect_eq "tags come from the upstream" "$(curl -s "http://$R/v2/dist.local/library/app/tags/list")" '{"name":"dist.local/library/app","tags":["v1"]}'
expect_eq "a repository outside the allowed patterns is not mirrored" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://$R/v2/dist.local/private/thing/manifests/v1")" "404"
expect_eq "an image the upstream lacks is MANIFEST_UNKNOWN" \
    "$(curl -s "http://$R/v2/dist.local/library/app/manifests/nope" | python3 -c 'import json,sys;print(json.load(sys.stdin)["errors"][0]["code"])')" "MANIFEST_UNKNOWN"
check "pushes to the mirror's own repositories work" $SK copy --dest-tls-verify=false "oci:$WORK/img:v2" "docker://$R/ours/app:v2"
out=$($SK copy --dest-tls-verify=false "oci:$WORK/img:v2" "docker://$R/dist.local/library/app:v2" 2>&1)
if [ $? -ne 0 ] && grep -q -i "mirror\|unsupported" <<< "$out"; then pass "a push into a mirrored prefix is refused"; else fail "a push into a mirrored prefix is refused" "$out"; fi
expect_eq "containerd's ?ns= request is answered from the right upstream" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/library/other/manifests/v1?ns=dist.local")" "200"
check "berth ls --long marks mirrored repositories" bash -c "'$BERTH' ls -l $R | grep -Eq '^dist.local/library/app +yes$'"
check "berth ls --long marks Berth's own repositories" bash -c "'$BERTH' ls -l $R | grep -Eq '^ours/app +-$'"
check "the web UI shows which repositories are mirrors" bash -c "curl -s http://$R/ui/ | grep -q 'mirror of http://$UR'"
check "the web UI's repository page says it is a mirror" bash -c "curl -s http://$R/ui/repo/dist.local/library/app | grep -q 'A mirror of http://$UR'"

echo "== referrers of a mirrored image are the upstream's (Distribution 2.8: its tag schema)"
# Distribution 2.8 has no referrers API, so signing tools write a signature and an index of
# it tagged sha256-<hex of the signed manifest>; the mirror answers the referrers API from it.
EMPTY=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
up=$(curl -s -D - -o /dev/null -u puller:puller-secret -X POST "http://$UR/v2/library/app/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
curl -s -o /dev/null -u puller:puller-secret -X PUT -H 'Content-Type: application/octet-stream' --data-binary '{}' "$up&digest=$EMPTY"
V1SIZE=$(curl -s -I -u puller:puller-secret -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$UR/v2/library/app/manifests/$V1" | tr -d '\r' | awk -F': ' 'tolower($1)=="content-length"{print $2}')
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example.signature","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2},"layers":[{"mediaType":"application/vnd.oci.empty.v1+json","digest":"%s","size":2}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s}}' \
    "$EMPTY" "$EMPTY" "$V1" "$V1SIZE" > "$WORK/signature.json"
SIG="sha256:$(sha256sum "$WORK/signature.json" | cut -d' ' -f1)"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"artifactType":"application/vnd.example.signature"}]}' \
    "$SIG" "$(stat -c %s "$WORK/signature.json")" > "$WORK/referrers-tag.json"
expect_eq "the upstream takes the signature and its referrers tag" \
    "$(curl -s -o /dev/null -w '%{http_code}' -u puller:puller-secret -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$WORK/signature.json" "http://$UR/v2/library/app/manifests/$SIG") $(curl -s -o /dev/null -w '%{http_code}' -u puller:puller-secret -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$WORK/referrers-tag.json" "http://$UR/v2/library/app/manifests/sha256-${V1#sha256:}")" "201 201"
referrer_digests() { curl -s "http://$R/v2/dist.local/library/app/referrers/$V1${1:-}" | python3 -c 'import json,sys; print(" ".join(m["digest"] for m in json.load(sys.stdin)["manifests"]))'; }
expect_eq "the mirror lists the upstream's referrer" "$(referrer_digests)" "$SIG"
expect_eq "filtered by artifactType" "$(referrer_digests '?artifactType=application/vnd.example.signature'):$(referrer_digests '?artifactType=application/vnd.example.sbom')" "$SIG:"
expect_eq "and says it filtered" "$(curl -s -D - -o /dev/null "http://$R/v2/dist.local/library/app/referrers/$V1?artifactType=application/vnd.example.sbom" | tr -d '\r' | awk -F': ' 'tolower($1)=="oci-filters-applied"{print $2}')" "artifactType"
expect_eq "the signature pulls through the mirror" \
    "$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/dist.local/library/app/manifests/$SIG" | sha256sum | cut -d' ' -f1)" "${SIG#sha256:}"

ui_tags() { curl -s "http://$R/ui/repo/dist.local/library/app?artifacts=1" | python3 -c 'import re,sys; print(" ".join(sorted(re.findall(r"<tr>\s*<td[^>]*>([^<]+)</td>", sys.stdin.read()))))'; }
v2_tags() { curl -s "http://$R/v2/dist.local/library/app/tags/list" | python3 -c 'import json,sys; print(" ".join(sorted(json.load(sys.stdin)["tags"])))'; }
expect_eq "the web UI lists a mirrored repository's tags as /v2/ does (the upstream's, one not pulled yet included; signature tags shown)" \
    "$(ui_tags)" "$(v2_tags)"
check "with more than the one pulled" bash -c "[ \$(wc -w <<< '$(v2_tags)') -ge 2 ]"

echo "== pulls through the mirror obey Berth's access policy"
P="$WORK/policed"; mkdir -p "$P"
cat > "$P/auth_config.yml" <<YAML
token:
  issuer: "mirror"
  expiration: 900
users:
  "alice":
    password: "$(echo -n alice-secret | "$BERTH" hash-password --cost 5)"
  "bob":
    password: "$(echo -n bob-secret | "$BERTH" hash-password --cost 5)"
acl:
  - match: {account: "alice", name: "dist.local/*/*"}
    actions: ["pull"]
  - match: {account: "bob", name: "bob/*"}
    actions: ["*"]
YAML
PPORT=$(free_port)
cat > "$P/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $P/data
http:
  addr: 127.0.0.1:$PPORT
auth:
  token:
    service: "mirror"
    authconfig: $P/auth_config.yml
proxy:
  upstreams:
    - prefix: dist.local
      remoteurl: http://$UR
      username: puller
      password: puller-secret
YAML
start_berth "$P" "$PPORT" "$P/config.yml"
check "a user the policy lets pull the mirror pulls through it" \
    $SK copy --src-tls-verify=false --src-creds alice:alice-secret "docker://127.0.0.1:$PPORT/dist.local/library/other:v1" "oci:$WORK/pulled:alice"
check "a user it does not is refused" bash -c "! $SK copy --src-tls-verify=false --src-creds bob:bob-secret docker://127.0.0.1:$PPORT/dist.local/library/other:v1 oci:$WORK/pulled:bob"
check "anonymous is refused" bash -c "! $SK copy --src-tls-verify=false docker://127.0.0.1:$PPORT/dist.local/library/other:v1 oci:$WORK/pulled:anon"

echo "== a tag moved upstream is seen after the TTL, not before"
curl -s -o /dev/null "http://$R/v2/dist.local/library/app/manifests/v1"   # checked now: the TTL starts here
check "the tag moves upstream" $SK copy --dest-tls-verify=false --dest-creds puller:puller-secret "oci:$WORK/img:v2" "docker://$UR/library/app:v1"
V2=$(digest_of --creds puller:puller-secret "docker://$UR/library/app:v1")
expect_eq "within the TTL the mirror still serves the cached digest" "$(curl -s -I "http://$R/v2/dist.local/library/app/manifests/v1" -H 'Accept: application/vnd.oci.image.manifest.v1+json' | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')" "$V1"
moved_seen() { [ "$(curl -s -I "http://$R/v2/dist.local/library/app/manifests/v1" -H 'Accept: application/vnd.oci.image.manifest.v1+json' | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')" == "$V2" ]; }
eventually 20 "after the TTL the mirror serves the new digest" moved_seen
check "skopeo pulls the moved tag" $SK copy --src-tls-verify=false "docker://$R/dist.local/library/app:v1" "oci:$WORK/pulled:moved"

echo "== the upstream goes away"
kill "$DIST_PID"; wait "$DIST_PID" 2>/dev/null
sleep 10.5   # the tag's TTL runs out, so the next pull must ask the (stopped) upstream
check "a cached image still pulls (tag revalidation fails, the cache answers)" \
    $SK copy --src-tls-verify=false "docker://$R/dist.local/library/app:v1" "oci:$WORK/pulled:down"
expect_eq "the cached signature is still listed as a referrer" "$(referrer_digests)" "$SIG"
start=$SECONDS
code=$(curl -s -m 30 -o "$WORK/down.json" -w '%{http_code}' "http://$R/v2/dist.local/library/never/manifests/v1")
expect_eq "an uncached image answers 503 UNAVAILABLE at once" "$code $(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["errors"][0]["code"])' "$WORK/down.json") $(( SECONDS - start < 10 ))" "503 UNAVAILABLE 1"
start_distribution

echo "== 16 concurrent pulls of one uncached 200 MB image: one upstream fetch per blob"
python3 "$MAKE_IMAGE" --layers 2 --size 100000000 --seed 44 "$WORK/big" v1 >/dev/null
check "push the big image upstream" $SK copy --dest-tls-verify=false --dest-creds puller:puller-secret "oci:$WORK/big:v1" "docker://$UR/library/big:v1"
: > "$U/distribution.log"
BIGM=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/dist.local/library/big/manifests/v1")
mapfile -t BLOBS < <(python3 -c 'import json,sys;m=json.loads(sys.argv[1]);print(m["config"]["digest"]);[print(l["digest"]) for l in m["layers"]]' "$BIGM")
PULLERS=()
for i in $(seq 1 16); do
    ( for b in "${BLOBS[@]}"; do
        got=$(curl -s "http://$R/v2/dist.local/library/big/blobs/$b" | sha256sum | cut -d' ' -f1)
        [ "sha256:$got" == "$b" ] || echo "puller $i: $b came back as $got"
      done ) > "$WORK/puller-$i.out" 2>&1 &
    PULLERS+=($!)
done
wait "${PULLERS[@]}"
expect_eq "all 16 pullers got every blob intact" "$(cat "$WORK"/puller-*.out)" ""
for b in "${BLOBS[@]}"; do
    # One fetch that all 16 follow; when the mirror's disk fell behind the readers, the
    # part it missed was asked for once more, as a range (206).
    n=$(grep -c "\"GET /v2/library/big/blobs/$b HTTP/1.1\" 200 " "$U/distribution.log")
    expect_eq "blob ${b:7:12} was fetched from the upstream once" "$n" "1"
    ranged=$(grep -c "\"GET /v2/library/big/blobs/$b HTTP/1.1\" 206 " "$U/distribution.log")
    check "and its rest at most once more, from where the disk stopped ($ranged)" test "$ranged" -le 1
    heads=$(grep -c "\"HEAD /v2/library/big/blobs/$b HTTP" "$U/distribution.log")
    check "and its size asked for a few times at most, not by each of the 16 ($heads)" test "$heads" -le 8
done

echo "== a corrupt upstream blob is refused and not stored"
python3 "$MAKE_IMAGE" --layers 1 --size 3000000 --seed 45 "$WORK/bad" v1 >/dev/null
check "push an image upstream" $SK copy --dest-tls-verify=false --dest-creds puller:puller-secret "oci:$WORK/bad:v1" "docker://$UR/library/bad:v1"
BADM=$(curl -s -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/dist.local/library/bad/manifests/v1")
LAYER=$(python3 -c 'import json,sys;print(json.loads(sys.argv[1])["layers"][0]["digest"])' "$BADM")
DATA="$U/data/docker/registry/v2/blobs/sha256/${LAYER:7:2}/${LAYER:7}/data"
python3 - "$DATA" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1000); f.write(b"corrupted by the test")
PY
curl -s -o "$WORK/bad.blob" "http://$R/v2/dist.local/library/bad/blobs/$LAYER"; rc=$?
expect_eq "the client does not receive the whole corrupt blob" "$([ $rc -ne 0 ] || [ "sha256:$(sha256sum "$WORK/bad.blob" | cut -d' ' -f1)" != "$LAYER" ] && echo refused)" "refused"
check "nothing is stored for it" test ! -e "$M/data/docker/registry/v2/blobs/sha256/${LAYER:7:2}/${LAYER:7}/data"
check "the spool directory is empty" test -z "$(ls -A "$M/spool")"

echo "== cached content is ordinary content: gc and backup"
check "berth gc runs on the mirror's storage while it serves" "$BERTH" gc --config "$M/config.yml" --delete-untagged --grace 0s --settle 1s
check "a cached image still pulls after gc" $SK copy --src-tls-verify=false "docker://$R/dist.local/library/big:v1" "oci:$WORK/pulled:aftergc"
check "berth backup copies the cache" "$BERTH" backup "$WORK/mirror-backup" --config "$M/config.yml"
check "the backup is a consistent Distribution layout" python3 "$(dirname "$0")/check-layout.py" "$WORK/mirror-backup"
check "the backup holds the fully cached image" \
    test -f "$WORK/mirror-backup/docker/registry/v2/repositories/dist.local/library/big/_manifests/tags/v1/current/link"

echo "== Distribution's proxy section: the whole registry is a mirror"
D="$WORK/single"; mkdir -p "$D"
# A docker credential helper, as Distribution's proxy.exec runs one.
cat > "$D/docker-credential-e2e" <<SH
#!/bin/sh
[ "\$1" = get ] || exit 1
cat >> "$D/helper-asked"; echo >> "$D/helper-asked"
echo '{"ServerURL":"http://$UR","Username":"puller","Secret":"puller-secret"}'
SH
chmod +x "$D/docker-credential-e2e"
DPORT=$(free_port)
cat > "$D/config.yml" <<YAML
version: 0.1
storage:
  filesystem:
    rootdirectory: $D/data
http:
  addr: 127.0.0.1:$DPORT
proxy:
  remoteurl: http://$UR
  exec:
    command: $D/docker-credential-e2e
    lifetime: 1h
  ttl: 5s
  retention:
    interval: 1s
YAML
start_berth "$D" "$DPORT" "$D/config.yml"
check "skopeo pulls through a Distribution-style mirror" $SK copy --src-tls-verify=false "docker://127.0.0.1:$DPORT/library/other:v1" "oci:$WORK/pulled:single"
expect_eq "its upstream credentials came from the credential helper, asked once" "$(cat "$D/helper-asked")" "http://$UR"
TAGLINK="$D/data/docker/registry/v2/repositories/library/other/_manifests/tags/v1/current/link"
check "the pulled image is cached" test -f "$TAGLINK"
for _ in 1 2 3 4; do sleep 1.5; curl -s -o /dev/null "http://127.0.0.1:$DPORT/v2/library/other/manifests/v1"; done
check "an image pulled within the ttl stays cached" test -f "$TAGLINK"
eventually 15 "an image nobody pulled for the ttl is evicted" test ! -e "$TAGLINK"
check "an evicted image pulls again (fetched anew)" $SK copy --src-tls-verify=false "docker://127.0.0.1:$DPORT/library/other:v1" "oci:$WORK/pulled:again"
out=$($SK copy --dest-tls-verify=false "oci:$WORK/img:v2" "docker://127.0.0.1:$DPORT/mine/app:v2" 2>&1)
if [ $? -ne 0 ]; then pass "it accepts no pushes, as Distribution's proxy"; else fail "it accepts no pushes, as Distribution's proxy" "$out"; fi

if command -v containerd >/dev/null && command -v ctr >/dev/null && [ "$(id -u)" -eq 0 ]; then
    echo "== containerd with Berth as its docker.io mirror (hosts.toml; requests carry ?ns=docker.io)"
    C="$WORK/containerd"; mkdir -p "$C/hosts/docker.io"
    cat > "$C/config.toml" <<TOML
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/containerd.sock"
[ttrpc]
  address = "$C/containerd.sock.ttrpc"
TOML
    cat > "$C/hosts/docker.io/hosts.toml" <<TOML
server = "https://registry-1.docker.io"
[host."http://$R"]
  capabilities = ["pull", "resolve"]
TOML
    containerd --config "$C/config.toml" >"$C/containerd.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 1 100); do ctr --address "$C/containerd.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
    check "push an image only containerd will ask for" $SK copy --dest-tls-verify=false --dest-creds puller:puller-secret "oci:$WORK/img:v2" "docker://$UR/library/via-containerd:v1"
    check "ctr pulls docker.io/library/via-containerd:v1 (no internet: only the mirror can answer)" \
        ctr --address "$C/containerd.sock" images pull --hosts-dir "$C/hosts" docker.io/library/via-containerd:v1
    check "Berth cached it as dist.local/library/via-containerd, the upstream that answers ns=docker.io" \
        test -f "$M/data/docker/registry/v2/repositories/dist.local/library/via-containerd/_manifests/tags/v1/current/link"
elif [ "${CI:-}" = "true" ]; then
    fail "the containerd checks need containerd and ctr (Debian's containerd, a dependency of docker.io), run as root"
fi

if command -v dockerd >/dev/null && [ "$(id -u)" -eq 0 ]; then
    echo "== the docker CLI pulls through the mirror"
    DD="$WORK/dockerd"; mkdir -p "$DD"
    dockerd --storage-driver=vfs --bridge=none --iptables=false --ip6tables=false --data-root "$DD/root" --exec-root "$DD/exec" \
        -H "unix://$DD/docker.sock" --pidfile "$DD/docker.pid" >"$DD/dockerd.log" 2>&1 &
    PIDS+=($!)
    export DOCKER_HOST="unix://$DD/docker.sock"
    for _ in $(seq 1 100); do docker version >/dev/null 2>&1 && break; sleep 0.2; done
    check "docker pull from the Distribution upstream" docker pull -q "$R/dist.local/library/other:v1"
    check "docker pull from the Berth upstream" docker pull -q "$R/berth.local/team/app:v1"
    unset DOCKER_HOST
elif [ "${CI:-}" = "true" ]; then
    fail "the docker CLI checks need dockerd from Debian's docker.io, run as root"
else
    echo "  skip docker CLI (needs dockerd from Debian's docker.io, run as root)"
fi

finish
