#!/usr/bin/env python3
"""Signs an image in a registry as `cosign sign --key` does, for clients to verify: the
simple-signing payload naming the image's repository and manifest digest, an ECDSA P-256
signature of it (OpenSSL), stored as an OCI manifest whose one layer is the payload
(application/vnd.dev.cosign.simplesigning.v1+json) carrying the signature in the
annotation dev.cosignproject.cosign/signature, tagged sha256-<hex of the image>.sig.
cosign is not packaged in Debian and Debian's skopeo has sigstore *signing* disabled (its
verification works), so this stands in for the signer only.

`sign REGISTRY REPOSITORY TAG USER PASSWORD PREFIX`: makes PREFIX.pem (private) and
PREFIX.pub when they do not exist, signs, prints the signature's tag.
`verify REGISTRY REPOSITORY TAG USER PASSWORD PUBLIC-KEY`: as `cosign verify --key` checks:
the signature manifest and its payload read back through the registry API, the payload's
digest and the image digest it names compared, the signature verified with OpenSSL; exits 1
when any of it fails. (Debian's skopeo has sigstore verification disabled too.)"""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

mode, registry, repository, tag, user, password, prefix = sys.argv[1:8]
auth = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
base = f"http://{registry}/v2/{repository}"

# COSIGN_KEY_TYPE=ed25519 makes and signs with an ed25519 key instead of ECDSA P-256.
ed25519 = os.environ.get("COSIGN_KEY_TYPE") == "ed25519"
if mode == "sign" and not os.path.exists(prefix + ".pem"):
    algorithm = ["-algorithm", "ED25519"] if ed25519 else ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "genpkey", *algorithm, "-out", prefix + ".pem"], check=True)
    subprocess.run(["openssl", "pkey", "-in", prefix + ".pem", "-pubout", "-out", prefix + ".pub"], check=True)


def call(method, url, body=None, headers=None):
    """With Basic credentials, or the Bearer token a token-auth registry's challenge leads to."""
    try:
        return urllib.request.urlopen(urllib.request.Request(url, data=body, method=method, headers={**auth, **(headers or {})}))
    except urllib.error.HTTPError as error:
        challenge = error.headers.get("WWW-Authenticate", "")
        if error.code != 401 or not challenge.startswith("Bearer ") or auth.get("Authorization", "").startswith("Bearer "):
            raise
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = urllib.parse.urlencode({"service": fields.get("service", ""), "scope": f"repository:{repository}:pull,push"})
        token_request = urllib.request.Request(fields["realm"] + "?" + query, headers=auth)
        auth["Authorization"] = "Bearer " + json.load(urllib.request.urlopen(token_request))["token"]
        return urllib.request.urlopen(urllib.request.Request(url, data=body, method=method, headers={**auth, **(headers or {})}))


accept = ", ".join(["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json"])
digest = call("HEAD", f"{base}/manifests/{tag}", headers={"Accept": accept}).headers["Docker-Content-Digest"]
signature_tag = "sha256-" + digest.split(":")[1] + ".sig"

if mode == "verify":
    stored = json.load(call("GET", f"{base}/manifests/{signature_tag}", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}))
    layer = next(l for l in stored["layers"] if l["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json")
    payload = call("GET", f"{base}/blobs/{layer['digest']}").read()
    if "sha256:" + hashlib.sha256(payload).hexdigest() != layer["digest"]:
        sys.exit("the payload does not match its digest")
    if json.loads(payload)["critical"]["image"]["docker-manifest-digest"] != digest:
        sys.exit("the signature names another image")
    with open(prefix + ".sig-under-test", "wb") as f:
        f.write(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
    checked = subprocess.run(["openssl", "dgst", "-sha256", "-verify", prefix, "-signature", prefix + ".sig-under-test"],
                             input=payload, capture_output=True)
    os.unlink(prefix + ".sig-under-test")
    sys.exit(0 if checked.returncode == 0 else "the signature does not verify with " + prefix)

payload = json.dumps({"critical": {"identity": {"docker-reference": f"{registry}/{repository}"},
                                   "image": {"docker-manifest-digest": digest},
                                   "type": "cosign container image signature"},
                      "optional": None}, separators=(",", ":")).encode()
if ed25519:
    with open(prefix + ".payload", "wb") as f:
        f.write(payload)
    signature = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", prefix + ".pem", "-in", prefix + ".payload"],
                               check=True, capture_output=True).stdout
    os.unlink(prefix + ".payload")
else:
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", prefix + ".pem"], input=payload, check=True, capture_output=True).stdout


def push_blob(data):
    blob_digest = "sha256:" + hashlib.sha256(data).hexdigest()
    call("POST", f"{base}/blobs/uploads/?digest={blob_digest}", data, {"Content-Type": "application/octet-stream"})
    return {"digest": blob_digest, "size": len(data)}


config = b'{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'
manifest = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **push_blob(config)},
    "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json", **push_blob(payload),
                "annotations": {"dev.cosignproject.cosign/signature": base64.b64encode(signature).decode()}}],
}).encode()
call("PUT", f"{base}/manifests/{signature_tag}", manifest, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
print(signature_tag)
