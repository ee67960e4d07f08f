#!/usr/bin/env bash
# End-to-end tests of the operator's tools against a running `berth serve`: garbage
# collection during pushes, the browsing CLI (also against Distribution 2.8), webhooks
# with a failing receiver, backup and restore.
set -uo pipefail

source "$(dirname "$0")/lib.sh"

echo "== images"
for seed in 1 2 3 4 5 6 7 8; do python3 "$MAKE_IMAGE" "$WORK/img" "s$seed" --layers 2 --size 300000 --seed "$((seed + 40))" >/dev/null; done
python3 "$MAKE_IMAGE" "$WORK/img" multi --index --seed 50 >/dev/null

OPS="$WORK/ops"; mkdir -p "$OPS"
PORT=$(free_port)
R="127.0.0.1:$PORT"
cat > "$OPS/config.yml" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $OPS/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
YAML
start_berth "$OPS" "$PORT" "$OPS/config.yml"
BLOBS="$OPS/data/docker/registry/v2/blobs/sha256"
blob_path() { echo "$BLOBS/${1:7:2}/${1:7}/data"; }
image_blobs() { # oci-layout tag: the digests of its config and layers
    python3 - "$1" "$2" <<'PY'
import json, sys
layout, tag = sys.argv[1], sys.argv[2]
index = json.load(open(f"{layout}/index.json"))
digest = next(m["digest"] for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
manifest = json.load(open(f"{layout}/blobs/sha256/{digest[7:]}"))
print("\n".join([manifest["config"]["digest"]] + [l["digest"] for l in manifest["layers"]]))
PY
}

echo "== berth gc while pushes run"
check "setup: push images" bash -c "$SK copy --dest-tls-verify=false oci:$WORK/img:s1 docker://$R/keep/app:s1 && $SK copy --all --dest-tls-verify=false oci:$WORK/img:multi docker://$R/keep/app:multi && $SK copy --dest-tls-verify=false oci:$WORK/img:s2 docker://$R/gone/app:s2"
check "setup: delete one image" $SK delete --tls-verify=false "docker://$R/gone/app:s2"
printf 'an orphan blob' > "$OPS/orphan"
curl -s -o /dev/null -X POST "http://$R/v2/keep/app/blobs/uploads/?digest=$(sha "$OPS/orphan")" --data-binary @"$OPS/orphan"
# Everything stored so far becomes two hours old; what the pushes below write is new.
find "$OPS/data" -exec touch -h -d '2 hours ago' {} +
PUSHERS=()
for seed in 3 4 5 6 7 8; do
    $SK copy --dest-tls-verify=false "oci:$WORK/img:s$seed" "docker://$R/busy/app$seed:s$seed" >"$OPS/push$seed.log" 2>&1 & PUSHERS+=($!)
done
sleep 0.3
"$BERTH" gc --config "$OPS/config.yml" --delete-untagged --grace 30m --settle 2s >"$OPS/gc.log" 2>&1; gc_status=$?
push_status=0; for job in "${PUSHERS[@]}"; do wait "$job" || push_status=1; done
expect_eq "gc and six concurrent pushes all succeed" "$gc_status:$push_status" "0:0"
check "gc reports what it deleted" grep -q "deleted blob $(sha "$OPS/orphan")" "$OPS/gc.log"
check "the orphan blob is gone" test ! -e "$(blob_path "$(sha "$OPS/orphan")")"
export -f image_blobs
check "the deleted image's blobs are gone" bash -c "for d in \$(image_blobs $WORK/img s2); do [ ! -e $BLOBS/\${d:7:2}/\${d:7}/data ] || exit 1; done"
for seed in 3 4 5 6 7 8; do
    check "image pushed during gc pulls back intact (s$seed)" bash -c "$SK copy --src-tls-verify=false docker://$R/busy/app$seed:s$seed oci:$OPS/pulled:s$seed && for f in \$(image_blobs $WORK/img s$seed); do cmp -s $OPS/pulled/blobs/sha256/\${f:7} $WORK/img/blobs/sha256/\${f:7} || exit 1; done"
done
check "tagged images survive gc" bash -c "$SK copy --src-tls-verify=false docker://$R/keep/app:s1 oci:$OPS/pulled:s1 && $SK copy --all --src-tls-verify=false docker://$R/keep/app:multi oci:$OPS/pulled:multi"
check "layout is consistent after gc" python3 "$(dirname "$0")/check-layout.py" "$OPS/data"
if command -v docker-registry >/dev/null; then
    out=$(docker-registry garbage-collect --dry-run "$OPS/config.yml" 2>&1 | tail -1)
    check "Distribution's collector finds nothing left to collect ($out)" bash -c "echo '$out' | grep -q ' 0 blobs and 0 manifests eligible for deletion'"
fi
expect_eq "a dry run after it has nothing to do" "$("$BERTH" gc --config "$OPS/config.yml" --grace 0s --dry-run --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["deletedBlobs"]), d["dryRun"])')" "0 True"
ABANDONED=$(curl -s -D - -o /dev/null -X POST "http://$R/v2/abandoned/app/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' --data-binary @"$OPS/orphan" "$ABANDONED"
expect_eq "gc reports an abandoned upload (and does not remove it without --purge-uploads)" \
    "$("$BERTH" gc --config "$OPS/config.yml" --grace 0s --uploads-older-than 0s --dry-run --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print([u["upload"].split("/")[0:2] for u in d["abandonedUploads"]], d["abandonedUploadsRemoved"])') $(curl -s -o /dev/null -w '%{http_code}' "$ABANDONED")" \
    "[['abandoned', 'app']] False 204"
check "gc --purge-uploads removes it" bash -c "'$BERTH' gc --config '$OPS/config.yml' --grace 0s --uploads-older-than 0s --purge-uploads | grep -q 'deleted 1 abandoned upload older than 0s' && [ \$(curl -s -o /dev/null -w '%{http_code}' '$ABANDONED') = 404 ]"

echo "== berth ls / inspect / rm against berth serve"
printf '{}' > "$OPS/empty.json"; printf '{"spdxVersion":"SPDX-2.3"}' > "$OPS/sbom.json"
for f in empty.json sbom.json; do curl -s -o /dev/null -X POST "http://$R/v2/keep/app/blobs/uploads/?digest=$(sha "$OPS/$f")" --data-binary @"$OPS/$f"; done
S1=$(curl -sI -H 'Accept: application/vnd.oci.image.manifest.v1+json' http://$R/v2/keep/app/manifests/s1 | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
cat > "$OPS/sbom-manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/spdx+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"$(sha "$OPS/empty.json")","size":2},"layers":[{"mediaType":"application/spdx+json","digest":"$(sha "$OPS/sbom.json")","size":$(stat -c %s "$OPS/sbom.json")}],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"$S1","size":1}}
JSON
curl -s -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$OPS/sbom-manifest.json" "http://$R/v2/keep/app/manifests/$(sha "$OPS/sbom-manifest.json")"
expect_eq "berth ls lists repositories" "$("$BERTH" ls "$R" | tr '\n' ' ')" "busy/app3 busy/app4 busy/app5 busy/app6 busy/app7 busy/app8 gone/app keep/app "
expect_eq "berth ls REPO --json gives tags, digests, platforms and sizes" "$("$BERTH" ls "$R/keep/app" --json | python3 -c '
import json,sys
for t in json.load(sys.stdin): print(t["tag"], t["digest"][:7], ",".join(t["platforms"]), t["size"] > 600000 if t["tag"]=="s1" else t["size"] > 0)' | tr '\n' ' ')" "multi sha256: linux/amd64,linux/arm64 True s1 sha256: linux/amd64 True "
check "berth ls REPO prints a table" bash -c "'$BERTH' ls $R/keep/app | grep -E '^s1 +sha256:[0-9a-f]{12} +oci image +linux/amd64 +[0-9.]+ KiB'"
# A tag left by an old Distribution: a Docker schema 1 manifest, which the tools do not read.
printf '{"schemaVersion":1,"name":"keep/app","tag":"legacy","architecture":"amd64","fsLayers":[],"history":[]}' > "$OPS/schema1.json"
S1HEX=$(sha256sum "$OPS/schema1.json" | cut -c1-64); V2="$OPS/data/docker/registry/v2"
mkdir -p "$V2/blobs/sha256/${S1HEX:0:2}/$S1HEX" "$V2/repositories/keep/app/_manifests/revisions/sha256/$S1HEX" "$V2/repositories/keep/app/_manifests/tags/legacy/current"
cp "$OPS/schema1.json" "$V2/blobs/sha256/${S1HEX:0:2}/$S1HEX/data"
printf 'sha256:%s' "$S1HEX" | tee "$V2/repositories/keep/app/_manifests/revisions/sha256/$S1HEX/link" > "$V2/repositories/keep/app/_manifests/tags/legacy/current/link"
check "berth ls reports an unreadable tag in its row and lists the others" bash -c "'$BERTH' ls $R/keep/app > $OPS/ls.txt && grep -qE '^legacy +- +unreadable: ' $OPS/ls.txt && grep -qE '^s1 +sha256:' $OPS/ls.txt"
expect_eq "berth inspect --json: digest and referrers" "$("$BERTH" inspect "$R/keep/app:s1" --json | python3 -c '
import json,sys; d=json.load(sys.stdin); print(d["digest"], d["config"]["os"], [r["artifactType"] for r in d["referrers"]])')" "$S1 linux ['application/spdx+json']"
check "berth inspect shows layers and referrers" bash -c "'$BERTH' inspect $R/keep/app:s1 | grep -A1 '^Referrers:' | grep -q 'application/spdx+json' && '$BERTH' inspect $R/keep/app:s1 | grep -c '^  sha256:' | grep -q 3"
check "berth rm without a terminal or --yes refuses" bash -c "! '$BERTH' rm $R/busy/app3:s3 </dev/null 2>$OPS/rm.err && grep -q 'pass --yes' $OPS/rm.err"
check "berth rm --yes deletes a tag" bash -c "'$BERTH' rm --yes $R/busy/app3:s3 && [ \$(curl -s -o /dev/null -w '%{http_code}' http://$R/v2/busy/app3/manifests/s3) = 404 ]"
check "berth rm REPO@DIGEST deletes a manifest" bash -c "'$BERTH' rm --yes $R/keep/app@$(sha "$OPS/sbom-manifest.json") && [ \$(curl -s -o /dev/null -w '%{http_code}' http://$R/v2/keep/app/manifests/$(sha "$OPS/sbom-manifest.json")) = 404 ]"
check "an unknown tag is a clear error" bash -c "! '$BERTH' inspect $R/keep/app:nope 2>$OPS/err.txt && grep -q MANIFEST_UNKNOWN $OPS/err.txt"
check "rm of an unknown tag says which image it did not find" bash -c "! '$BERTH' rm --yes $R/keep/nope:v1 2>$OPS/err.txt && grep -q 'no such image keep/nope:v1' $OPS/err.txt"
NOPORT=$(free_port)
check "a port nothing listens on is said so" bash -c "! '$BERTH' ls 127.0.0.1:$NOPORT 2>$OPS/err.txt && grep -q 'nothing listens on 127.0.0.1:$NOPORT' $OPS/err.txt"

echo "== berth ls / inspect / rm with token auth and saved credentials"
T="$WORK/token"; mkdir -p "$T"
TPORT=$(free_port); TR="127.0.0.1:$TPORT"
REGISTRY_HTTP_ADDR=$TR BERTH_OUT="$T/out.log" BERTH_ERR="$T/err.log" serve_berth "$T" "http://$TR/v2/" || exit 1
TPID=$BERTH_PID
TPW=$(grep -A2 'with the password' "$T/out.log" | tail -1 | tr -d ' ')
$SK copy --dest-tls-verify=false --dest-creds "admin:$TPW" "oci:$WORK/img:s1" "docker://$TR/secure/app:s1" >/dev/null 2>&1
check "anonymous ls is refused with a clear message" bash -c "! HOME=$T '$BERTH' ls $TR 2>$T/anon.err && grep -qi 'authentication' $T/anon.err"
expect_eq "ls with --username/--password" "$(HOME=$T "$BERTH" ls "$TR/secure/app" -u admin -p "$TPW" --json | python3 -c 'import json,sys; print([t["tag"] for t in json.load(sys.stdin)])')" "['s1']"
expect_eq "ls with BERTH_USERNAME/BERTH_PASSWORD" "$(HOME=$T BERTH_USERNAME=admin BERTH_PASSWORD=$TPW "$BERTH" ls "$TR")" "secure/app"
$SK login --tls-verify=false --authfile "$T/auth.json" -u admin -p "$TPW" "$TR" >/dev/null 2>&1
expect_eq "ls with credentials saved by skopeo login (--authfile)" "$(HOME=$T "$BERTH" ls "$TR" --authfile "$T/auth.json")" "secure/app"
REFRESH=$(curl -s -X POST -d "grant_type=password&username=admin&password=$TPW&service=Berth+registry&client_id=e2e&access_type=offline" "http://$TR/auth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["refresh_token"])')
mkdir -p "$T/.docker"; printf '{"auths":{"%s":{"auth":"","identitytoken":"%s"}}}' "$TR" "$REFRESH" > "$T/.docker/config.json"
expect_eq "inspect with docker's identity token from ~/.docker/config.json" "$(HOME=$T "$BERTH" inspect "$TR/secure/app:s1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["mediaType"])')" "application/vnd.oci.image.manifest.v1+json"
check "rm with docker's identity token" bash -c "HOME=$T '$BERTH' rm --yes $TR/secure/app:s1"
$SK copy --dest-tls-verify=false --dest-creds "admin:$TPW" "oci:$WORK/img:s1" "docker://$TR/secure/app/cache:s1" >/dev/null 2>&1
check "rm --repository deletes the (now empty) repository through Berth's API" bash -c "HOME=$T '$BERTH' rm --yes --repository $TR/secure/app | grep -q 'deleted repository secure/app'"
expect_eq "it leaves the catalog; the repository nested under it stays" "$(HOME=$T "$BERTH" ls "$TR" | tr '\n' ' ')" "secure/app/cache "
check "rm --repository of a repository that does not exist is a clear error" bash -c "! HOME=$T '$BERTH' rm --yes --repository $TR/secure/nothing 2>$T/rmrepo.err && grep -q NAME_UNKNOWN $T/rmrepo.err"
check "a wrong password is refused" bash -c "! HOME=$T '$BERTH' ls $TR -u admin -p wrong 2>$T/wrong.err && grep -qi 'refused' $T/wrong.err"
expect_eq "a proxy's X-Request-Id is echoed" "$(curl -s -D - -o /dev/null -H 'X-Request-Id: e2e-req-42' -u admin:not-the-password "http://$TR/auth/token?service=Berth+registry" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-request-id"{print $2}')" "e2e-req-42"
check "every log line of that request carries its id, none the password" bash -c "[ \$(grep -c 'e2e-req-42' $T/err.log) -ge 2 ] && grep 'e2e-req-42' $T/err.log | grep -q 'token refused' && ! grep -q 'not-the-password' $T/err.log"

echo "== berth ls / inspect / rm against Distribution 2.8 (htpasswd Basic auth)"
if command -v docker-registry >/dev/null; then
    DD="$WORK/dist"; mkdir -p "$DD"
    echo "ci:$(echo -n ci-secret | "$BERTH" hash-password --cost 5)" > "$DD/htpasswd"
    DPORT=$(free_port); DR="127.0.0.1:$DPORT"
    cat > "$DD/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $DD/data
  delete:
    enabled: true
http:
  addr: $DR
auth:
  htpasswd:
    realm: e2e
    path: $DD/htpasswd
YAML
    serve_distribution "$DD/config.yml" "$DD/log" "${DR##*:}"
    $SK copy --dest-tls-verify=false --dest-creds ci:ci-secret "oci:$WORK/img:s1" "docker://$DR/dist/app:s1" >/dev/null 2>&1
    $SK copy --dest-tls-verify=false --dest-creds ci:ci-secret "oci:$WORK/img:s1" "docker://$DR/dist/app:also" >/dev/null 2>&1
    $SK copy --all --dest-tls-verify=false --dest-creds ci:ci-secret "oci:$WORK/img:multi" "docker://$DR/dist/app:multi" >/dev/null 2>&1
    expect_eq "ls against Distribution" "$("$BERTH" ls "$DR" -u ci -p ci-secret)" "dist/app"
    check "ls REPO against Distribution shows platforms" bash -c "'$BERTH' ls $DR/dist/app -u ci -p ci-secret | grep -E '^multi +sha256:[0-9a-f]{12} +oci index +linux/amd64,linux/arm64'"
    check "inspect against Distribution says it has no referrers API" bash -c "'$BERTH' inspect $DR/dist/app:s1 -u ci -p ci-secret | grep -q 'no referrers API'"
    # What cosign, notation and oras write on registries without the referrers API: an
    # index tagged <alg>-<hex> of the subject, listing the artifacts.
    DS1=$(curl -s -u ci:ci-secret -I -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$DR/v2/dist/app/manifests/s1" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest"{print $2}')
    for f in empty.json sbom.json; do  # Distribution 2.8 has no single-request upload: POST, then PUT
        loc=$(curl -s -D - -o /dev/null -u ci:ci-secret -X POST "http://$DR/v2/dist/app/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
        case "$loc" in http*) ;; *) loc="http://$DR$loc" ;; esac
        curl -s -o /dev/null -u ci:ci-secret -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$OPS/$f" "$loc&digest=$(sha "$OPS/$f")"
    done
    sed "s/$S1/$DS1/" "$OPS/sbom-manifest.json" > "$OPS/dist-sbom.json"
    curl -s -o /dev/null -u ci:ci-secret -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' --data-binary @"$OPS/dist-sbom.json" "http://$DR/v2/dist/app/manifests/$(sha "$OPS/dist-sbom.json")"
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"artifactType":"application/spdx+json"}]}' \
        "$(sha "$OPS/dist-sbom.json")" "$(stat -c %s "$OPS/dist-sbom.json")" > "$OPS/referrers-tag.json"
    curl -s -o /dev/null -u ci:ci-secret -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary @"$OPS/referrers-tag.json" "http://$DR/v2/dist/app/manifests/sha256-${DS1:7}"
    check "inspect against Distribution finds referrers through the tag schema" bash -c "'$BERTH' inspect $DR/dist/app:s1 -u ci -p ci-secret | grep -A1 'Referrers: (from the referrers tag)' | grep -q 'application/spdx+json'"
    check "rm of a tag on Distribution deletes its manifest and names the other tags" bash -c "'$BERTH' rm --yes $DR/dist/app:s1 -u ci -p ci-secret | grep -q 'also removing tags also' && [ \"\$('$BERTH' ls $DR/dist/app -u ci -p ci-secret --json | python3 -c 'import json,sys; print([t[\"tag\"] for t in json.load(sys.stdin) if not t[\"tag\"].startswith(\"sha256-\")])')\" = \"['multi']\" ]"
    check "rm --repository on Distribution (no repository API) deletes every manifest its tags point at" \
        bash -c "'$BERTH' rm --yes --repository $DR/dist/app -u ci -p ci-secret | grep -q 'keeps the empty repository' && [ \"\$('$BERTH' ls $DR/dist/app -u ci -p ci-secret --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')\" = 0 ]"
else
    fail "docker-registry (Debian package) is not installed"
fi

echo "== webhooks: Distribution's events, a receiver that fails for a while, a restart in between"
W="$WORK/hooks"; mkdir -p "$W"
echo "ci:$(echo -n ci-secret | "$BERTH" hash-password --cost 5)" > "$W/htpasswd"
WPORT=$(free_port); HPORT=$(free_port)
cat > "$W/config.yml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $W/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$WPORT
  debug:
    prometheus:
      enabled: true
auth:
  htpasswd:
    realm: hooks
    path: $W/htpasswd
notifications:
  events:
    includereferences: true
  endpoints:
    - name: audit
      url: http://127.0.0.1:$HPORT/events
      headers:
        Authorization: [Bearer hook-secret]
      timeout: 2s
      threshold: 3
      backoff: 500ms
    - name: pushes-only
      disabled: true
      url: http://127.0.0.1:1/never
YAML
python3 "$(dirname "$0")/webhook-receiver.py" "$HPORT" 4 "$W/events.jsonl" & RECEIVER=$!; PIDS+=($RECEIVER)
start_berth "$W" "$WPORT" "$W/config.yml"
WR="127.0.0.1:$WPORT"
check "push while the receiver fails" $SK copy --dest-tls-verify=false --dest-creds ci:ci-secret "oci:$WORK/img:s1" "docker://$WR/hooked/app:s1"
check "pull" $SK copy --src-tls-verify=false --src-creds ci:ci-secret "docker://$WR/hooked/app:s1" "oci:$W/pulled:s1"
check "delete" $SK delete --tls-verify=false --creds ci:ci-secret "docker://$WR/hooked/app:s1"
wait_events() { # count
    for _ in $(seq 1 100); do [ "$(wc -l < "$W/events.jsonl" 2>/dev/null || echo 0)" -ge "$1" ] && return 0; sleep 0.1; done; return 1
}
check "every event arrives after the receiver recovers" wait_events 8
check "metrics count failed and delivered batches per endpoint" bash -c "curl -s http://$WR/metrics | grep -E '^berth_notification_outcomes_total\{endpoint=\"audit\",result=\"failed\"\} [1-9]' && curl -s http://$WR/metrics | grep -qE '^berth_notification_outcomes_total\{endpoint=\"audit\",result=\"delivered\"\} [1-9]'"
summary=$(python3 - "$W/events.jsonl" <<'PY'
import json, sys
events = [json.loads(l) for l in open(sys.argv[1])]
def kinds(action, media): return sum(1 for e in events if e["action"] == action and e["target"].get("mediaType") == media)
manifest = "application/vnd.oci.image.manifest.v1+json"
layer = "application/vnd.docker.container.image.rootfs.diff+x-gtar"
push = next(e for e in events if e["action"] == "push" and e["target"]["mediaType"] == manifest)
assert push["target"]["tag"] == "s1" and push["target"]["repository"] == "hooked/app", push
assert push["target"]["length"] == push["target"]["size"] and push["target"]["url"].startswith("http://")
assert len(push["target"]["references"]) == 3, push["target"]
assert push["actor"]["name"] == "ci" and push["request"]["method"] == "PUT" and push["request"]["useragent"]
assert push["source"]["instanceID"] and push["id"] and push["timestamp"]
assert all(e["_received"]["contentType"] == "application/vnd.docker.distribution.events.v1+json" for e in events)
assert all(e["_received"]["authorization"] == "Bearer hook-secret" for e in events)
delete = [e for e in events if e["action"] == "delete"]
assert len(delete) == 1 and set(delete[0]["target"]) == {"digest", "repository"}, delete
assert len({e["id"] for e in events}) == len(events), "duplicates"
print(kinds("push", layer), kinds("push", manifest), kinds("pull", manifest), kinds("pull", layer), len(delete))
PY
)
expect_eq "events: layer pushes, manifest push, pulls (skopeo delete GETs the manifest too), delete" "$summary" "3 1 2 3 1"
check "copy between repositories" bash -c "$SK copy --dest-tls-verify=false --dest-creds ci:ci-secret oci:$WORK/img:s3 docker://$WR/hooked/app:s3 && $SK copy --src-tls-verify=false --dest-tls-verify=false --src-creds ci:ci-secret --dest-creds ci:ci-secret docker://$WR/hooked/app:s3 docker://$WR/hooked/copy:s3"
copy_blobs() { python3 -c "
import json
events = [json.loads(l) for l in open('$W/events.jsonl')]
copy = [e for e in events if e['target']['repository'] == 'hooked/copy' and e['action'] in ('mount', 'push')
        and e['target'].get('mediaType') == 'application/vnd.docker.container.image.rootfs.diff+x-gtar']
mounts = [e for e in copy if e['action'] == 'mount']
assert all(e['target']['fromRepository'] == 'hooked/app' for e in mounts), mounts
print(len({e['target']['digest'] for e in copy}), len(mounts) > 0)"; }
for _ in $(seq 1 100); do [ "$(copy_blobs 2>/dev/null)" = "3 True" ] && break; sleep 0.1; done
expect_eq "the copy's blobs arrive as mount events from the source repository (or pushes)" "$(copy_blobs)" "3 True"
kill "$RECEIVER"; wait "$RECEIVER" 2>/dev/null
: > "$W/events.jsonl"
check "push while the receiver is down" $SK copy --dest-tls-verify=false --dest-creds ci:ci-secret "oci:$WORK/img:s2" "docker://$WR/hooked/app:s2"
wait_until 10 bash -c "ls $W/data/berth/notifications/*/ | grep -q json"
kill -TERM "$BERTH_PID"; wait "$BERTH_PID" 2>/dev/null
check "undelivered events are kept on disk across the restart" bash -c "ls $W/data/berth/notifications/*/ | grep -q json"
python3 "$(dirname "$0")/webhook-receiver.py" "$HPORT" 0 "$W/events.jsonl" & PIDS+=($!)
start_berth "$W" "$WPORT" "$W/config.yml"
check "after the restart they are delivered" wait_events 4
expect_eq "nothing is left queued" "$(ls "$W"/data/berth/notifications/*/ 2>/dev/null | grep -c json)" "0"

echo "== berth backup while pushes run, berth restore into an empty store"
PUSHERS=()
for seed in 5 6 7 8; do
    $SK copy --dest-tls-verify=false "oci:$WORK/img:s$seed" "docker://$R/during-backup/app:s$seed" >/dev/null 2>&1 & PUSHERS+=($!)
done
check "berth backup while pushes run" "$BERTH" backup "$OPS/backup" --config "$OPS/config.yml"
for job in "${PUSHERS[@]}"; do wait "$job"; done
check "the backup is a consistent Distribution layout" python3 "$(dirname "$0")/check-layout.py" "$OPS/backup"
expect_eq "a second backup copies only new blobs, and names the repository it leaves out as empty" "$("$BERTH" backup "$OPS/backup" --config "$OPS/config.yml" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["blobsPresent"] > 0, d["skipped"], d["emptyRepositories"])')" "True [] ['gone/app']"
check "a finished backup holds no copy-in-progress directory" test ! -e "$OPS/backup/berth/copy-in-progress"
cat > "$OPS/restored.yml" <<YAML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $OPS/restored
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$(free_port)
YAML
check "berth restore into an empty store" "$BERTH" restore "$OPS/backup" --config "$OPS/restored.yml"
check "a restore into a store with repositories is refused" bash -c "! '$BERTH' restore $OPS/backup --config $OPS/restored.yml 2>$OPS/merge.err && grep -q 'already holds repositories' $OPS/merge.err"
expect_eq "restore --merge adds to it (nothing new to copy)" "$("$BERTH" restore "$OPS/backup" --config "$OPS/restored.yml" --merge --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["blobsCopied"], d["blobsPresent"] > 0)')" "0 True"
RPORT=$(grep addr "$OPS/restored.yml" | cut -d: -f3)
mkdir -p "$OPS/restored-run"
start_berth "$OPS/restored-run" "$RPORT" "$OPS/restored.yml"
RR="127.0.0.1:$RPORT"
check "the restored registry serves a multi-arch image byte for byte" bash -c "$SK copy --all --src-tls-verify=false docker://$RR/keep/app:multi oci:$OPS/restored-pull:multi && for f in $OPS/restored-pull/blobs/sha256/*; do cmp -s \$f $WORK/img/blobs/sha256/\$(basename \$f) || exit 1; done"
# gone/app holds nothing since gc (its only image was deleted): nothing of it to restore.
expect_eq "the restored catalog matches the source's" "$(curl -s http://$RR/v2/_catalog?n=100 | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["repositories"]))')" "$(curl -s http://$R/v2/_catalog?n=100 | python3 -c 'import json,sys; print(sorted(r for r in json.load(sys.stdin)["repositories"] if r != "gone/app"))')"
cp -r "$OPS/backup" "$OPS/corrupt"
victim=$(find "$OPS/corrupt/docker/registry/v2/blobs" -name data -size +10k | head -1)
printf 'X' | dd of="$victim" bs=1 seek=100 conv=notrunc 2>/dev/null
sed "s#$OPS/restored\$#$OPS/restored-corrupt#" "$OPS/restored.yml" > "$OPS/restored-corrupt.yml"
check "restore refuses a blob that does not match its digest" bash -c "! '$BERTH' restore $OPS/corrupt --config $OPS/restored-corrupt.yml 2>$OPS/corrupt.err && grep -q 'does not match its digest' $OPS/corrupt.err && [ ! -e $OPS/restored-corrupt/docker/registry/v2/blobs/sha256/\$(basename \$(dirname $victim) | cut -c1-2)/\$(basename \$(dirname $victim))/data ]"
if command -v docker-registry >/dev/null; then
    BPORT=$(free_port)
    sed -e "s#rootdirectory: .*#rootdirectory: $OPS/backup#" -e "s#addr: .*#addr: 127.0.0.1:$BPORT#" "$OPS/config.yml" > "$OPS/backup-dist.yml"
    serve_distribution "$OPS/backup-dist.yml" "$OPS/backup-dist.log" "$BPORT"
    check "Distribution 2.8 serves the backup directory as is" $SK copy --src-tls-verify=false "docker://127.0.0.1:$BPORT/keep/app:s1" "oci:$OPS/from-backup:s1"
fi
$SK copy --dest-tls-verify=false --dest-creds "admin:$TPW" "oci:$WORK/img:s2" "docker://$TR/secure/app:s2" >/dev/null 2>&1
check "berth backup of a zero-configuration Berth (./data)" bash -c "cd $T && '$BERTH' backup $T/backup"
mkdir -p "$T/restored"
check "berth restore into a new zero-configuration home" bash -c "cd $T/restored && '$BERTH' restore $T/backup"
T2PORT=$(free_port)
REGISTRY_HTTP_ADDR=127.0.0.1:$T2PORT BERTH_OUT="$T/restored/out.log" serve_berth "$T/restored" "http://127.0.0.1:$T2PORT/v2/" || exit 1
check "the restored Berth keeps its admin account (no new password printed)" bash -c "! grep -q 'with the password' $T/restored/out.log"
check "the admin's password works on the restored Berth" $SK copy --src-tls-verify=false --src-creds "admin:$TPW" "docker://127.0.0.1:$T2PORT/secure/app:s2" "oci:$T/restored-pull:s2"
check "account files stay readable by the owner only" test "$(stat -c %a "$T/backup/berth/accounts/accounts.sqlite")" = 600

echo "== progress on a terminal, quiet when piped"
check "backup draws a progress line on a terminal" bash -c "cd $T && script -qec '$BERTH backup $T/backup-tty' /dev/null | grep -q 'copying blobs'"
check "and prints only its report when piped" bash -c "cd $T && '$BERTH' backup $T/backup-piped 2>$T/piped.err >/dev/null && [ ! -s $T/piped.err ]"

echo "== key rotation on a running zero-configuration Berth"
kill "$TPID"; wait "$TPID" 2>/dev/null
check "berth keys generate --force replaces the stored key" bash -c "cd $T && '$BERTH' keys generate --force"
REGISTRY_HTTP_ADDR=$TR BERTH_OUT="$T/out.log" BERTH_ERR="$T/err.log" serve_berth "$T" "http://$TR/v2/" || exit 1
check "after a restart tokens are signed with the new key" bash -c "
    token=\$(curl -s -u admin:$TPW 'http://$TR/auth/token?service=Berth+registry&scope=repository:secure/app:pull' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')
    cd $T && '$BERTH' keys export | openssl x509 -noout -pubkey > $T/new.pub
    python3 -c '
import base64, json, sys
header = json.loads(base64.urlsafe_b64decode(sys.argv[1].split(\".\")[0] + \"==\"))
print(header[\"x5c\"][0])' \$token | base64 -d | openssl x509 -inform der -noout -pubkey | cmp -s - $T/new.pub"
check "and clients keep working" $SK copy --src-tls-verify=false --src-creds "admin:$TPW" "docker://$TR/secure/app:s2" "oci:$T/after-rotation:s2"

echo "== graceful shutdown: an upload in flight finishes, and stays resumable across the restart"
G="$WORK/graceful"; mkdir -p "$G"; GPORT=$(free_port); GR="127.0.0.1:$GPORT"
start_berth "$G" "$GPORT"
head -c 30000000 /dev/urandom > "$G/30mb"
loc=$(curl -s -D - -o /dev/null -X POST "http://$GR/v2/slow/app/blobs/uploads/" | tr -d '\r' | awk -F': ' 'tolower($1)=="location"{print $2}')
curl -s -o /dev/null -w '%{http_code}' --limit-rate 8M -X PATCH -H 'Content-Type: application/octet-stream' --data-binary @"$G/30mb" "$loc" > "$G/patch.code" &
CURL=$!
check "the PATCH is in flight when SIGTERM comes" wait_until 20 upload_in_flight "$G/data" slow/
kill -TERM "$BERTH_PID"
check "the server is still serving the upload after SIGTERM" kill -0 "$BERTH_PID"
wait "$CURL"
expect_eq "the in-flight PATCH completes" "$(cat "$G/patch.code")" "202"
check "berth exits once the request is done" wait_until 60 bash -c "! kill -0 $BERTH_PID 2>/dev/null"
check "the shutdown was said in its log" grep -q 'shutting down: no new connections; finishing the requests in flight' "$G/berth.log"
start_berth "$G" "$GPORT"
expect_eq "after the restart the upload is still there" "$(curl -s -D - -o /dev/null "$loc" | tr -d '\r' | awk -F': ' 'tolower($1)=="range"{print $2}')" "0-29999999"
expect_eq "and completes" "$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$loc&digest=$(sha "$G/30mb")")" "201"

echo "== readiness follows the storage"
expect_eq "ready while the storage answers" "$(curl -s -o /dev/null -w '%{http_code}' http://$GR/readyz)" "200"
mv "$G/data/docker/registry/v2/repositories" "$G/repositories.moved" && touch "$G/data/docker/registry/v2/repositories"
expect_eq "not ready when it fails, still live" "$(curl -s -o /dev/null -w '%{http_code}' http://$GR/readyz) $(curl -s -o /dev/null -w '%{http_code}' http://$GR/livez)" "503 200"
rm "$G/data/docker/registry/v2/repositories" && mv "$G/repositories.moved" "$G/data/docker/registry/v2/repositories"
expect_eq "ready again once it recovers" "$(curl -s -o /dev/null -w '%{http_code}' http://$GR/readyz)" "200"

echo "== a full or read-only store: /readyz says why, pushes get 507/503 in the spec's JSON"
FS="$WORK/smallfs"; mkdir -p "$FS"
if mount -t tmpfs -o size=24m tmpfs "$FS" 2>/dev/null; then
    MOUNTS+=("$FS")
    FPORT=$(free_port)
    BERTH_OUT="$WORK/smallfs.log" start_berth "$FS" "$FPORT"   # the log outside: an open file keeps a remount from going read-only
    head -c 30000000 /dev/urandom > "$WORK/30mb-random"
    code=$(curl -s -o "$WORK/full.json" -w '%{http_code}' -X POST --data-binary @"$WORK/30mb-random" "http://127.0.0.1:$FPORT/v2/full/app/blobs/uploads/?digest=$(sha "$WORK/30mb-random")")
    expect_eq "a push larger than the free space: 507 with UNAVAILABLE saying the storage is full" "$code $(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["errors"][0]; print(e["code"], "full" in e["message"])' "$WORK/full.json")" "507 UNAVAILABLE True"
    expect_eq "nothing of it is left behind" "$(find "$FS/data/docker/registry/v2/blobs" -type f 2>/dev/null | wc -l)" "0"
    head -c 30000000 /dev/zero > "$FS/filler" 2>/dev/null
    code=$(curl -s -o "$WORK/ready.json" -w '%{http_code}' "http://127.0.0.1:$FPORT/readyz")
    expect_eq "a full store: /readyz 503 saying it is full" "$code $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("detail", "")[:15])' "$WORK/ready.json")" "503 storage is full"
    rm -f "$FS/filler"
    expect_eq "ready again once space is freed" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FPORT/readyz")" "200"
    check "the file system can be remounted read-only" mount -o remount,ro "$FS"
    code=$(curl -s -o "$WORK/ready.json" -w '%{http_code}' "http://127.0.0.1:$FPORT/readyz")
    expect_eq "a read-only store: /readyz 503 saying it is read-only" "$code $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("detail", "")[:20])' "$WORK/ready.json")" "503 storage is read-only"
    code=$(curl -s -o "$WORK/ro.json" -w '%{http_code}' -X POST "http://127.0.0.1:$FPORT/v2/full/app/blobs/uploads/")
    expect_eq "a push to it: 503 UNAVAILABLE saying it is read-only" "$code $(python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["errors"][0]; print(e["code"], "read-only" in e["message"])' "$WORK/ro.json")" "503 UNAVAILABLE True"
    expect_eq "pulls still answer" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FPORT/v2/_catalog")" "200"
    kill "$BERTH_PID"; wait "$BERTH_PID" 2>/dev/null
    umount "$FS"
elif [ "${CI:-}" = "true" ]; then
    fail "mounting a small tmpfs (needs root) for the full/read-only store checks"
else
    echo "  skip: cannot mount a tmpfs (not root)"
fi

echo "== berth keys generate"
check "key and certificate files for auth_config.yml" bash -c "'$BERTH' keys generate --key $WORK/k.pem --certificate $WORK/c.pem && [ \$(stat -c %a $WORK/k.pem) = 600 ] && openssl x509 -in $WORK/c.pem -noout -subject | grep -q 'Berth token signing'"
check "existing files are not overwritten without --force" bash -c "! '$BERTH' keys generate --key $WORK/k.pem --certificate $WORK/c.pem 2>/dev/null"
check "a key for berth serve's data directory" "$BERTH" keys generate --data "$G/data"
before=$("$BERTH" keys export --data "$G/data" | sha256sum)
check "rotating the stored key needs --force" bash -c "! '$BERTH' keys generate --data $G/data 2>/dev/null && '$BERTH' keys generate --data $G/data --force"
check "the exported certificate changed" bash -c "[ \"\$('$BERTH' keys export --data $G/data | sha256sum)\" != '$before' ]"

echo "== crash consistency: 50 pushes while berth serve is killed with SIGKILL at random moments"
CRASH="$WORK/crash"; mkdir -p "$CRASH"
run_checks crash-consistency.py python3 "$(dirname "$0")/crash-consistency.py" "$BERTH" "$CRASH/data" 50

finish
