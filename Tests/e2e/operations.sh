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

finish
