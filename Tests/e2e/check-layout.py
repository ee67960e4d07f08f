#!/usr/bin/env python3
"""Checks a Distribution-layout data directory for consistency: every blob's content
matches its digest, every link names an existing blob, every tag points at a manifest
revision of its repository, and every manifest's config, layers and children are present.
Exits non-zero and lists each problem. Usage: check-layout.py ROOTDIRECTORY"""
import hashlib, json, os, sys

root = os.path.join(sys.argv[1], "docker/registry/v2")
problems = []
blobs = set()
for alg in os.listdir(os.path.join(root, "blobs")) if os.path.isdir(os.path.join(root, "blobs")) else []:
    for prefix in os.listdir(os.path.join(root, "blobs", alg)):
        for hexd in os.listdir(os.path.join(root, "blobs", alg, prefix)):
            entry = os.path.join(root, "blobs", alg, prefix, hexd)
            data = os.path.join(entry, "data")
            if not os.path.exists(data):
                problems.append(f"blob directory without data: {entry}")
                continue
            h = hashlib.new(alg)
            with open(data, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            if h.hexdigest() != hexd:
                problems.append(f"blob content does not match its digest: {alg}:{hexd}")
            blobs.add(f"{alg}:{hexd}")

def link(path):
    with open(path) as f:
        return f.read().strip()

repos = 0
for dirpath, dirnames, filenames in os.walk(os.path.join(root, "repositories")):
    if "_manifests" not in dirnames and "_layers" not in dirnames:
        dirnames[:] = [d for d in dirnames if not d.startswith("_")]
        continue
    repos += 1
    name = os.path.relpath(dirpath, os.path.join(root, "repositories"))
    revisions = set()
    rev_root = os.path.join(dirpath, "_manifests", "revisions")
    for alg in os.listdir(rev_root) if os.path.isdir(rev_root) else []:
        for hexd in os.listdir(os.path.join(rev_root, alg)):
            d = f"{alg}:{hexd}"
            l = os.path.join(rev_root, alg, hexd, "link")
            if not os.path.exists(l):
                continue
            if link(l) != d:
                problems.append(f"{name}: revision link holds {link(l)} under {d}")
            if d not in blobs:
                problems.append(f"{name}: revision {d} has no blob")
                continue
            revisions.add(d)
    layers = set()
    layer_root = os.path.join(dirpath, "_layers")
    for alg in os.listdir(layer_root) if os.path.isdir(layer_root) else []:
        for hexd in os.listdir(os.path.join(layer_root, alg)):
            if os.path.exists(os.path.join(layer_root, alg, hexd, "link")):
                layers.add(f"{alg}:{hexd}")
                if f"{alg}:{hexd}" not in blobs:
                    problems.append(f"{name}: layer link {alg}:{hexd} has no blob")
    for d in revisions:
        alg, hexd = d.split(":")
        m = json.load(open(os.path.join(root, "blobs", alg, hexd[:2], hexd, "data")))
        for ref in ([m["config"]] if "config" in m else []) + m.get("layers", []):
            if ref["digest"] not in layers and not ref.get("urls"):
                problems.append(f"{name}: manifest {d} references {ref['digest']} not linked in the repository")
        for child in m.get("manifests", []):
            if child["digest"] not in revisions:
                problems.append(f"{name}: index {d} references missing child {child['digest']}")
    tag_root = os.path.join(dirpath, "_manifests", "tags")
    for tag in os.listdir(tag_root) if os.path.isdir(tag_root) else []:
        current = os.path.join(tag_root, tag, "current", "link")
        if not os.path.exists(current):
            continue
        if link(current) not in revisions:
            problems.append(f"{name}:{tag} points at {link(current)}, which is not a revision")

for p in problems:
    print(p)
print(f"checked {len(blobs)} blobs in {repos} repositories: {len(problems)} problems")
sys.exit(1 if problems else 0)
