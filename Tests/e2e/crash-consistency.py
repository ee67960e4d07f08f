#!/usr/bin/env python3
"""Crash consistency: pushes generated images (chunked uploads, configs, manifests by tag)
into `berth serve` while another thread kills it with SIGKILL at random moments and starts
it again. Afterwards everything that was acknowledged (201) must be intact: every blob
reads back with its digest, every tag pushed serves the manifest acknowledged for it, no
partial blob is visible, the layout passes check-layout.py, and every upload cut short is
resumable (its offset is its data) or gone.
Usage: crash-consistency.py BERTH DATA_DIRECTORY [PUSHES]"""
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

BERTH, DATA = sys.argv[1], sys.argv[2]
PUSHES = int(sys.argv[3]) if len(sys.argv) > 3 else 50
HERE = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261129)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


PORT = free_port()
server = {"proc": None}
lock = threading.Lock()


def start():
    env = dict(os.environ, REGISTRY_HTTP_ADDR=f"127.0.0.1:{PORT}", REGISTRY_AUTH_NONE="true",
               REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=DATA, REGISTRY_LOG_LEVEL="error")
    log = open(os.path.join(os.path.dirname(DATA), "berth-crash.log"), "a")
    server["proc"] = subprocess.Popen([BERTH, "serve"], env=env, stdout=log, stderr=log)
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            c.request("GET", "/v2/")
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("berth serve did not start")


def request(method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    return r.status, r.getheader("Location"), r.getheader("Range"), data


acked_blobs = {}      # digest -> repository
acked_tags = {}       # (repository, tag) -> manifest digest
cut_uploads = []      # (repository, location)


def push_blob(repository, content):
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    status, location, _, _ = request("POST", f"/v2/{repository}/blobs/uploads/")
    assert status == 202, status
    try:
        offset, chunk = 0, 256 * 1024
        while offset < len(content):
            part = content[offset:offset + chunk]
            status, location, _, _ = request("PATCH", location, part, {
                "Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(part) - 1}"})
            assert status == 202, status
            offset += len(part)
        sep = "&" if "?" in location else "?"
        status, _, _, _ = request("PUT", f"{location}{sep}digest={digest}")
        assert status == 201, status
    except (OSError, http.client.HTTPException, AssertionError):
        cut_uploads.append((repository, location, content, digest))
        raise
    acked_blobs[digest] = repository
    return digest


def push_image(index):
    repository = f"crash/app{index % 5}"
    layers = [os.urandom(rng.randint(10_000, 1_500_000)) for _ in range(2)]
    layer_digests = [push_blob(repository, layer) for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": layer_digests},
                         "created": f"2026-11-29T00:00:{index % 60:02d}Z"}).encode()
    config_digest = push_blob(repository, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": len(l)}
                   for d, l in zip(layer_digests, layers)]}).encode()
    tag = f"v{index}"
    status, _, _, _ = request("PUT", f"/v2/{repository}/manifests/{tag}", manifest,
                              {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 201, status
    acked_tags[(repository, tag)] = "sha256:" + hashlib.sha256(manifest).hexdigest()


done = threading.Event()
kills = 0


def killer():
    global kills
    while not done.is_set():
        time.sleep(rng.uniform(0.1, 0.8))
        if done.is_set():
            break
        with lock:
            server["proc"].send_signal(signal.SIGKILL)
            server["proc"].wait()
            kills += 1
            start()


start()
threading.Thread(target=killer, daemon=True).start()
pushed, attempts = 0, 0
while pushed < PUSHES and attempts < PUSHES * 20:
    attempts += 1
    try:
        push_image(pushed)
        pushed += 1
    except (OSError, http.client.HTTPException, AssertionError):
        time.sleep(0.2)
done.set()
with lock:
    server["proc"].send_signal(signal.SIGKILL)
    server["proc"].wait()
    start()

problems = []
for digest, repository in acked_blobs.items():
    status, _, _, data = request("GET", f"/v2/{repository}/blobs/{digest}")
    if status != 200 or "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        problems.append(f"acknowledged blob {digest} in {repository}: {status}")
for (repository, tag), digest in acked_tags.items():
    status, _, _, data = request("GET", f"/v2/{repository}/manifests/{tag}",
                                 headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    if status != 200 or "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        problems.append(f"acknowledged manifest {repository}:{tag}: {status}")
resumed = 0
for repository, location, content, digest in cut_uploads:
    status, _, received, _ = request("GET", location)
    if status == 404:
        continue
    if status != 204 or not received:
        problems.append(f"interrupted upload {location}: status {status}")
        continue
    # Resume where the registry says the upload is, and finish it.
    end = int(received.split("-")[1])
    offset = 0 if end == 0 and len(content) > 1 else end + 1
    rest = content[offset:]
    status, next_location = 202, location
    if rest:
        status, next_location, _, _ = request("PATCH", location, rest, {
            "Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(rest) - 1}"})
    sep = "&" if "?" in (next_location or location) else "?"
    final, _, _, _ = request("PUT", f"{next_location or location}{sep}digest={digest}") if status == 202 else (status, 0, 0, 0)
    _, _, _, data = request("GET", f"/v2/{repository}/blobs/{digest}")
    if final != 201 or "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        problems.append(f"interrupted upload {location} at {received} could not be resumed: PATCH {status}, PUT {final}")
    else:
        resumed += 1
layout = subprocess.run([sys.executable, os.path.join(HERE, "check-layout.py"), DATA], capture_output=True, text=True)
if layout.returncode != 0:
    problems.append("layout: " + layout.stdout.strip()[:2000])
temporaries = [os.path.join(d, f) for d, _, files in os.walk(os.path.join(DATA, "docker/registry/v2/blobs")) for f in files if f != "data"]
if temporaries:
    problems.append(f"files other than data under blobs/: {temporaries[:5]}")
server["proc"].terminate()
server["proc"].wait()

print(f"  {'ok  ' if pushed == PUSHES else 'FAIL'} {pushed} of {PUSHES} images pushed through {kills} SIGKILLs ({attempts} attempts)")
print(f"  {'ok  ' if not problems else 'FAIL'} {len(acked_blobs)} acknowledged blobs and {len(acked_tags)} tags intact, "
      f"{len(cut_uploads)} interrupted uploads gone or resumed ({resumed} resumed and completed), layout consistent, no partial blob visible")
for problem in problems[:20]:
    print("       " + problem)
sys.exit(0 if pushed == PUSHES and not problems else 1)
