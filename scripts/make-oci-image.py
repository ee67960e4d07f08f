#!/usr/bin/env python3
"""Writes a small OCI image layout for tests: `make-oci-image.py DIR TAG [--layers N] [--size BYTES] [--seed S]
[--index]` (with --index, a two-platform image index). Layers are generated gzip tarballs,
so no binary fixtures live in the repository."""
import argparse, gzip, hashlib, io, json, os, random, tarfile

def write_blob(root, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(root, "blobs", "sha256")
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)

def make_layer(rng, size, name):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        payload = bytes(rng.getrandbits(8) for _ in range(size)) if size < 65536 else rng.randbytes(size)
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    tar_bytes = raw.getvalue()
    gz = gzip.compress(tar_bytes, mtime=0)
    return gz, "sha256:" + hashlib.sha256(tar_bytes).hexdigest()

def make_image(root, rng, layers, size, arch, labels=None, annotations=None):
    layer_descs, diff_ids = [], []
    for i in range(layers):
        gz, diff = make_layer(rng, size, f"file-{arch}-{i}.bin")
        d, n = write_blob(root, gz)
        layer_descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
        diff_ids.append(diff)
    config = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids},
              "config": {"Cmd": ["/bin/true"]}}
    if labels:
        config["config"]["Labels"] = labels
    cd, cn = write_blob(root, json.dumps(config, sort_keys=True).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn},
                "layers": layer_descs}
    if annotations:
        manifest["annotations"] = annotations
    md, mn = write_blob(root, json.dumps(manifest, sort_keys=True).encode())
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mn,
            "platform": {"architecture": arch, "os": "linux"}}

def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir"); p.add_argument("tag")
    p.add_argument("--layers", type=int, default=2); p.add_argument("--size", type=int, default=4096)
    p.add_argument("--seed", type=int, default=1); p.add_argument("--index", action="store_true")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE into the image config's Labels")
    p.add_argument("--annotation", action="append", default=[], help="KEY=VALUE into the manifest's annotations")
    a = p.parse_args()
    labels = dict(item.split("=", 1) for item in a.label)
    annotations = dict(item.split("=", 1) for item in a.annotation)
    rng = random.Random(a.seed)
    os.makedirs(a.dir, exist_ok=True)
    with open(os.path.join(a.dir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    if a.index:
        children = [make_image(a.dir, rng, a.layers, a.size, arch) for arch in ("amd64", "arm64")]
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}
        d, n = write_blob(a.dir, json.dumps(index, sort_keys=True).encode())
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": n}
    else:
        top = make_image(a.dir, rng, a.layers, a.size, "amd64", labels, annotations)
        top.pop("platform")
    top["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    path = os.path.join(a.dir, "index.json")
    existing = {"schemaVersion": 2, "manifests": []}
    if os.path.exists(path):
        existing = json.load(open(path))
    existing["manifests"] = [m for m in existing["manifests"]
                             if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != a.tag] + [top]
    with open(path, "w") as f:
        json.dump(existing, f)
    print(top["digest"])

main()
