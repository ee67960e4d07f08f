#!/usr/bin/env python3
"""Self-test of oidc-provider.py (the test OpenID provider): starts it on a free port with a
temporary state directory, walks through what Berth and a browser will do, and stops it.
Discovery and JWKS; the authorization code flow with PKCE S256, state and nonce through the
login form; token exchange with client_secret_basic and client_secret_post; id_token
signature and claims; userinfo; refresh; refusals (wrong/missing code_verifier, reused code,
wrong secret, reused refresh token); the test-control deactivate/activate endpoints;
concurrent requests; SIGTERM. Prints one line per check; exits non-zero if any failed.
Needs: requests, PyJWT (with cryptography), django, django-oidc-provider."""
import base64
import hashlib
import html.parser
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import jwt
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT_ID = "berth-e2e"
CLIENT_SECRET = "berth-e2e-secret"
REDIRECT_URI = "http://127.0.0.1:9/oidc/callback"  # nothing listens; we read Location
OTHER_REDIRECT_URI = "http://localhost:9/other/callback"

failures = []


def check(name, condition, detail=""):
    if condition:
        print(f"ok - {name}")
    else:
        print(f"FAIL - {name}{': ' + str(detail) if detail != '' else ''}")
        failures.append(name)
    return condition


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_pair():
    verifier = b64url(secrets.token_bytes(32))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.inputs = {}  # id or name -> attrs
        self.buttons = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input":
            self.inputs[attrs.get("id") or attrs.get("name")] = attrs
        elif tag == "button":
            self.buttons[attrs.get("id")] = attrs


class Provider:
    def __init__(self):
        self.state = tempfile.mkdtemp(prefix="oidc-provider-selftest-")
        self.port = free_port()
        self.stderr = open(os.path.join(self.state, "provider.log"), "w+")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "oidc-provider.py"), "--port", str(self.port),
             "--state", os.path.join(self.state, "db"), "--client-id", CLIENT_ID,
             "--client-secret", CLIENT_SECRET, "--redirect-uri", REDIRECT_URI,
             "--redirect-uri", OTHER_REDIRECT_URI],
            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(60)
        self.ready_line = lines[0].strip() if lines else ""
        self.issuer = f"http://127.0.0.1:{self.port}/openid"
        self.base = f"http://127.0.0.1:{self.port}"

    def log_tail(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return "".join(self.stderr.readlines()[-30:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
        shutil.rmtree(self.state, ignore_errors=True)


def login_and_authorize(p, disco, username, password, scope="openid email groups", pkce=True,
                        session=None, expect_login=True, redirect_uri=REDIRECT_URI):
    """Acts as a browser. Returns dict(code, state, nonce, verifier, query, session) or raises."""
    s = session or requests.Session()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    verifier, challenge = pkce_pair()
    params = {"client_id": CLIENT_ID, "response_type": "code", "scope": scope,
              "redirect_uri": redirect_uri, "state": state, "nonce": nonce}
    if pkce:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    r = s.get(disco["authorization_endpoint"], params=params, allow_redirects=False)
    assert r.status_code == 302, f"authorize: {r.status_code} {r.text[:200]}"
    location = urllib.parse.urljoin(r.url, r.headers["Location"])
    if expect_login:
        assert urllib.parse.urlsplit(location).path == "/accounts/login/", f"not sent to login: {location}"
        page = s.get(location, allow_redirects=False)
        assert page.status_code == 200, f"login page: {page.status_code}"
        form = FormParser()
        form.feed(page.text)
        assert "id_username" in form.inputs and "id_password" in form.inputs and "login-submit" in form.buttons, \
            "login form lacks #id_username/#id_password/#login-submit"
        r = s.post(location, data={
            "csrfmiddlewaretoken": form.inputs["csrfmiddlewaretoken"]["value"],
            "username": username, "password": password,
            "next": form.inputs["next"]["value"]}, allow_redirects=False)
        if r.status_code != 302:
            return {"login_refused": True, "status": r.status_code, "page": r.text, "session": s}
        r = s.get(urllib.parse.urljoin(location, r.headers["Location"]), allow_redirects=False)
        assert r.status_code == 302, f"authorize after login: {r.status_code} {r.text[:200]}"
        location = urllib.parse.urljoin(r.url, r.headers["Location"])
    assert location.startswith(redirect_uri + "?"), f"not redirected to the client: {location}"
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    return {"code": query.get("code"), "state": state, "nonce": nonce, "verifier": verifier,
            "query": query, "session": s}


def exchange(disco, code, verifier=None, method="basic", redirect_uri=REDIRECT_URI, secret=CLIENT_SECRET):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    if method == "basic":
        return requests.post(disco["token_endpoint"], data=data, auth=(CLIENT_ID, secret))
    return requests.post(disco["token_endpoint"], data={**data, "client_id": CLIENT_ID, "client_secret": secret})


def refresh(disco, refresh_token, method="basic"):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if method == "basic":
        return requests.post(disco["token_endpoint"], data=data, auth=(CLIENT_ID, CLIENT_SECRET))
    return requests.post(disco["token_endpoint"], data={**data, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})


def verify_id_token(token, keys, issuer):
    kid = jwt.get_unverified_header(token).get("kid")
    return jwt.decode(token, keys[kid].key, algorithms=["RS256"], audience=CLIENT_ID, issuer=issuer,
                      options={"require": ["iss", "aud", "exp", "iat", "sub"]})


def check_user_claims(prefix, claims, username, email, groups):
    check(f"{prefix}: email", claims.get("email") == email, claims)
    check(f"{prefix}: email_verified is true", claims.get("email_verified") is True, claims)
    check(f"{prefix}: preferred_username", claims.get("preferred_username") == username, claims)
    check(f"{prefix}: groups", claims.get("groups") == groups, claims)


def run(p):
    check("prints exactly the ready line", p.ready_line == f"ready {p.issuer}", repr(p.ready_line))
    if not p.ready_line.startswith("ready "):
        return

    # Discovery and keys.
    disco = requests.get(p.issuer + "/.well-known/openid-configuration").json()
    check("discovery: issuer", disco["issuer"] == p.issuer, disco["issuer"])
    for endpoint in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"):
        check(f"discovery: {endpoint} under the issuer", disco[endpoint].startswith(p.issuer + "/"), disco[endpoint])
    check("discovery: code flow", "code" in disco["response_types_supported"])
    check("discovery: basic and post client auth",
          {"client_secret_basic", "client_secret_post"} <= set(disco["token_endpoint_auth_methods_supported"]))
    jwks = requests.get(disco["jwks_uri"]).json()
    keys = {k["kid"]: jwt.PyJWK(k) for k in jwks["keys"]}
    check("jwks: one RS256 key", len(keys) == 1 and jwks["keys"][0]["kty"] == "RSA" and jwks["keys"][0]["alg"] == "RS256", jwks)

    # alice: code flow with PKCE, client_secret_basic.
    a = login_and_authorize(p, disco, "alice", "alice-password-1")
    check("alice: redirected back with a code", bool(a["code"]), a["query"])
    check("alice: state passed back", a["query"].get("state") == a["state"], a["query"])
    r = exchange(disco, a["code"], "x" * 43)
    check("wrong code_verifier refused", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text)
    r = exchange(disco, a["code"], None)
    check("missing code_verifier refused (code had a challenge)",
          r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text)
    r = exchange(disco, a["code"], a["verifier"], secret="wrong-secret")
    check("wrong client secret refused", r.status_code == 400 and r.json().get("error") == "invalid_client", r.text)
    r = exchange(disco, a["code"], a["verifier"], method="basic")
    check("client_secret_basic + right code_verifier: tokens", r.status_code == 200, r.text)
    tokens = r.json()
    check("token response has access, refresh and id tokens",
          all(tokens.get(k) for k in ("access_token", "refresh_token", "id_token")), tokens)
    check("token_type bearer", tokens.get("token_type", "").lower() == "bearer", tokens)
    claims = verify_id_token(tokens["id_token"], keys, p.issuer)
    check("id_token: signature, iss, aud verify", True)
    check("id_token: nonce", claims.get("nonce") == a["nonce"], claims)
    check("id_token: at_hash present", bool(claims.get("at_hash")), claims)
    check_user_claims("id_token", claims, "alice", "alice@example.test", ["team-a"])
    print("  id_token claims:", sorted(claims))
    r = exchange(disco, a["code"], a["verifier"])
    check("code cannot be used twice", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text)

    info = requests.get(disco["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"})
    check("userinfo: 200", info.status_code == 200, info.text)
    info = info.json()
    check("userinfo: sub matches id_token", info.get("sub") == claims["sub"], info)
    check_user_claims("userinfo", info, "alice", "alice@example.test", ["team-a"])

    r = refresh(disco, tokens["refresh_token"])
    check("refresh_token grant", r.status_code == 200, r.text)
    refreshed = r.json()
    check("refresh gives a new refresh token", refreshed.get("refresh_token") not in (None, tokens["refresh_token"]), refreshed)
    rclaims = verify_id_token(refreshed["id_token"], keys, p.issuer)
    check_user_claims("refreshed id_token", rclaims, "alice", "alice@example.test", ["team-a"])
    check("refreshed id_token: same sub", rclaims["sub"] == claims["sub"], rclaims)
    r = refresh(disco, tokens["refresh_token"])
    check("used refresh token refused", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text)
    r = requests.get(disco["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"})
    check("access token of the refreshed pair no longer works", r.status_code == 401, r.status_code)

    # alice again in the same browser: no login page, no consent page.
    a2 = login_and_authorize(p, disco, "alice", "alice-password-1", session=a["session"], expect_login=False)
    check("signed-in browser gets a code straight away (no consent)", bool(a2["code"]), a2["query"])
    check("second redirect URI accepted", bool(login_and_authorize(
        p, disco, "alice", "", session=a["session"], expect_login=False, redirect_uri=OTHER_REDIRECT_URI)["code"]))
    r = requests.get(disco["authorization_endpoint"], params={
        "client_id": CLIENT_ID, "response_type": "code", "scope": "openid",
        "redirect_uri": "http://127.0.0.1:9/not-registered"}, allow_redirects=False)
    check("unregistered redirect URI not redirected to", r.status_code != 302, r.status_code)

    # No PKCE at all: accepted (PKCE is optional in django-oidc-provider).
    n = login_and_authorize(p, disco, "alice", "", session=a["session"], expect_login=False, pkce=False)
    r = exchange(disco, n["code"], None)
    print(f"  note: code flow without PKCE -> token endpoint {r.status_code}")

    # bob: just `openid email`, client_secret_post.
    b = login_and_authorize(p, disco, "bob", "bob-password-1", scope="openid email")
    check("bob: state passed back", b["query"].get("state") == b["state"], b["query"])
    r = exchange(disco, b["code"], b["verifier"], method="post")
    check("client_secret_post: tokens", r.status_code == 200, r.text)
    btokens = r.json()
    bclaims = verify_id_token(btokens["id_token"], keys, p.issuer)
    check("bob id_token: nonce", bclaims.get("nonce") == b["nonce"], bclaims)
    check_user_claims("bob id_token (scope openid email)", bclaims, "bob", "bob@example.test", ["team-b"])
    binfo = requests.get(disco["userinfo_endpoint"], headers={"Authorization": f"Bearer {btokens['access_token']}"}).json()
    check_user_claims("bob userinfo (scope openid email)", binfo, "bob", "bob@example.test", ["team-b"])
    r = refresh(disco, btokens["refresh_token"], method="post")
    check("bob refresh with client_secret_post", r.status_code == 200, r.text)
    btokens = r.json()
    pending = login_and_authorize(p, disco, "bob", "", session=b["session"], expect_login=False)

    # Test control: deactivate bob.
    check("test-control refuses GET", requests.get(p.base + "/test-control/deactivate?user=bob").status_code == 405)
    check("test-control: unknown user is 404", requests.post(p.base + "/test-control/deactivate?user=nobody").status_code == 404)
    r = requests.post(p.base + "/test-control/deactivate?user=bob")
    check("test-control deactivate bob", r.status_code == 200 and r.json().get("is_active") is False, r.text)
    print("  deactivate said:", r.text)
    r = refresh(disco, btokens["refresh_token"])
    check("inactive bob: refresh refused", r.status_code == 400 and r.json().get("error") == "invalid_grant", r.text)
    r = requests.get(disco["userinfo_endpoint"], headers={"Authorization": f"Bearer {btokens['access_token']}"})
    check("inactive bob: userinfo refused", r.status_code == 401, r.status_code)
    r = exchange(disco, pending["code"], pending["verifier"])
    check("inactive bob: code issued before deactivation refused", r.status_code == 400, r.text)
    r = b["session"].get(disco["authorization_endpoint"], params={
        "client_id": CLIENT_ID, "response_type": "code", "scope": "openid", "redirect_uri": REDIRECT_URI},
        allow_redirects=False)
    check("inactive bob: existing browser session sent back to login",
          r.status_code == 302 and r.headers["Location"].startswith("/accounts/login/"), r.headers.get("Location"))
    x = login_and_authorize(p, disco, "bob", "bob-password-1")
    check("inactive bob: login refused", x.get("login_refused") and x["status"] == 200 and 'id="login-error"' in x["page"],
          x.get("status"))
    a3 = login_and_authorize(p, disco, "alice", "alice-password-1")
    check("alice unaffected", exchange(disco, a3["code"], a3["verifier"]).status_code == 200)
    r = requests.get(disco["userinfo_endpoint"], headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    check("alice's earlier token unaffected", r.status_code == 200, r.status_code)

    r = requests.post(p.base + "/test-control/activate?user=bob")
    check("test-control activate bob", r.status_code == 200 and r.json().get("is_active") is True, r.text)
    b2 = login_and_authorize(p, disco, "bob", "bob-password-1")
    r = exchange(disco, b2["code"], b2["verifier"])
    check("reactivated bob: login and tokens again", r.status_code == 200, r.text)
    check("reactivated bob: refresh works", refresh(disco, r.json()["refresh_token"]).status_code == 200)

    # Concurrency: several browsers and token calls at once (SQLite writes in parallel).
    def one(i):
        user, pw = ("alice", "alice-password-1") if i % 2 else ("bob", "bob-password-1")
        f = login_and_authorize(p, disco, user, pw)
        t = exchange(disco, f["code"], f["verifier"], method="post" if i % 3 else "basic")
        t.raise_for_status()
        return refresh(disco, t.json()["refresh_token"]).status_code
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: _safe(one, i), range(16)))
    check("16 concurrent logins + exchanges + refreshes", results == [200] * 16, results)


def _safe(fn, *args):
    try:
        return fn(*args)
    except Exception as e:  # reported by the caller
        return repr(e)


def main():
    p = Provider()
    try:
        try:
            run(p)
        except Exception as e:
            import traceback
            traceback.print_exc()
            check("no unexpected error", False, repr(e))
        if p.proc.poll() is None:
            p.proc.send_signal(signal.SIGTERM)
            try:
                rc = p.proc.wait(15)
                check("exits cleanly on SIGTERM", rc == 0, rc)
            except subprocess.TimeoutExpired:
                check("exits cleanly on SIGTERM", False, "still running after 15s")
        else:
            check("provider still running at the end", False, p.proc.returncode)
        rest = p.proc.stdout.read() if p.proc.poll() is not None else ""
        check("nothing else on stdout", rest == "", repr(rest[:200]))
        if failures:
            print("provider log tail:\n" + p.log_tail(), file=sys.stderr)
    finally:
        p.stop()
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
