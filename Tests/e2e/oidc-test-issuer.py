#!/usr/bin/env python3
"""A small OpenID token issuer for the workload-token tests, as a CI system is one: an EC
P-256 key made at start, its discovery document (/.well-known/openid-configuration) and key
set (/jwks) served on loopback, and /mint?claims=JSON[&kid=…&alg=…] minting a signed token
with those claims over defaults (iss, aud from the command line, iat/nbf now, exp in 5
minutes) for the test to use as a CI job's token. /rotate starts signing with a new key
(published beside the old one). Prints its port, then serves until killed.
Arguments: audience."""
import base64
import http.server
import json
import sys
import time
import urllib.parse
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

AUDIENCE = sys.argv[1]
keys = {}  # kid -> private key
current = None


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_key():
    global current
    current = uuid.uuid4().hex[:16]
    keys[current] = ec.generate_private_key(ec.SECP256R1())


def jwk(kid, key):
    numbers = key.public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}


def mint(claims, kid, alg):
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + 300, **claims}
    header = b64(json.dumps({"alg": alg, "kid": kid, "typ": "JWT"}).encode())
    payload = b64(json.dumps(body).encode())
    signing_input = f"{header}.{payload}".encode()
    r, s = decode_dss_signature(keys.get(kid, keys[current]).sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{header}.{payload}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/.well-known/openid-configuration":
            self.answer({"issuer": ISSUER, "jwks_uri": ISSUER + "/jwks", "id_token_signing_alg_values_supported": ["ES256"]})
        elif url.path == "/jwks":
            self.answer({"keys": [jwk(kid, key) for kid, key in keys.items()]})
        elif url.path == "/mint":
            self.answer(mint(json.loads(query.get("claims", "{}")), query.get("kid", current), query.get("alg", "ES256")), "text/plain")
        elif url.path == "/rotate":
            new_key()
            self.answer(current, "text/plain")
        else:
            self.send_error(404)


new_key()
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ISSUER = f"http://127.0.0.1:{server.server_address[1]}"
print(server.server_address[1], flush=True)
server.serve_forever()
