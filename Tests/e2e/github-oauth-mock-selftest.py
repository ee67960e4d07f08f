#!/usr/bin/env python3
"""Self-test of github-oauth-mock.py (the MOCK of GitHub's OAuth web flow and REST API):
starts it on a free port, walks through what a browser and Berth will do with urllib and a
cookie jar, and stops it. Authorize -> login form -> POST /session (wrong, then right) ->
authorize again -> 302 to the callback with code and state; refusals at authorize (unknown
client, redirect_uri mismatch, plain PKCE); the code exchange with PKCE S256 (wrong secret,
wrong and missing code_verifier, reused code, redirect_uri mismatch and expiry all answered
with GitHub's error JSON at status 200; the form-encoded answer without Accept); /user,
/user/teams (pagination Link header), org membership (204; a non-member requester's
302 -> public_members -> 404), User-Agent required, the revoke and remove-member test
controls, the request log, SIGTERM. Prints one line per check; exits non-zero if any
failed. Python 3.11 standard library only."""
import base64
import hashlib
import html.parser
import http.cookiejar
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK = os.path.join(HERE, "github-oauth-mock.py")
CLIENT_ID = "berth-github-e2e"
CLIENT_SECRET = "berth-github-e2e-secret-0123456789"
REDIRECT_URI = "http://127.0.0.1:9/github_auth"  # nothing listens there; we read Location
UA = "berth-github-oauth-mock-selftest"

failures = []
processes = []


def check(name, condition, detail=""):
    if condition:
        print(f"ok - {name}")
    else:
        print(f"FAIL - {name}{': ' + str(detail) if detail != '' else ''}")
        failures.append(name)
    return condition


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_pair():
    verifier = b64url(secrets.token_bytes(32))
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def make_opener(jar=None):
    handlers = [NoRedirect()]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


def call(opener, method, url, data=None, headers=None, user_agent=True):
    headers = dict(headers or {})
    if user_agent:
        headers.setdefault("User-Agent", UA)
    if isinstance(data, dict):
        data = urllib.parse.urlencode(data).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    if not user_agent:  # urllib adds "Python-urllib/3.x" from opener.addheaders otherwise
        opener = make_opener()
        opener.addheaders = [h for h in opener.addheaders if h[0].lower() != "user-agent"]
    try:
        with opener.open(req, timeout=10) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, e.headers, e.read())


class FormParser(html.parser.HTMLParser):
    """Collects elements by id, and each form's action and inputs."""

    def __init__(self):
        super().__init__()
        self.ids, self.forms = {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = (tag, a)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "method": a.get("method"), "inputs": {}})
        if tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["inputs"][a["name"]] = a.get("value", "")


def parse_page(text):
    p = FormParser()
    p.feed(text)
    return p


def start_mock(*extra):
    proc = subprocess.Popen([sys.executable, MOCK, "--port", "0", "--client-id", CLIENT_ID,
                             "--client-secret", CLIENT_SECRET, "--redirect-uri", REDIRECT_URI, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    processes.append(proc)
    lines = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(15)
    line = lines[0].strip() if lines else ""
    if not line.startswith("ready http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"FAIL - mock did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}")
    # Drain stderr so the mock never blocks on a full pipe.
    threading.Thread(target=proc.stderr.read, daemon=True).start()
    return proc, line.split(" ", 1)[1]


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query, keep_blank_values=True))


def browser_sign_in(base, jar, login, password, params):
    """Authorize as a browser does; signs in on the form when shown. Returns the final Response."""
    browser = make_opener(jar)
    url = f"{base}/login/oauth/authorize?" + urllib.parse.urlencode(params)
    r = call(browser, "GET", url)
    if r.status == 200:
        page = parse_page(r.text)
        form = page.forms[0]
        r = call(browser, "POST", urllib.parse.urljoin(base, form["action"]),
                 {"login": login, "password": password, "return_to": form["inputs"]["return_to"]})
        if r.status != 302:
            return r
        r = call(browser, "GET", urllib.parse.urljoin(base, r.headers["Location"]))
    return r


def exchange(base, code, verifier=None, secret=CLIENT_SECRET, accept="application/json", extra=None):
    fields = {"client_id": CLIENT_ID, "client_secret": secret, "code": code}
    if verifier is not None:
        fields["code_verifier"] = verifier
    fields.update(extra or {})
    headers = {"Accept": accept} if accept else {}
    return call(make_opener(), "POST", f"{base}/login/oauth/access_token", fields, headers)


def api(base, path, token=None, scheme="Bearer", user_agent=True):
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    return call(make_opener(), "GET", f"{base}/api/v3{path}", headers=headers, user_agent=user_agent)


def is_github_error(r, name):
    try:
        body = r.json()
    except ValueError:
        return False
    return (r.status == 200 and body.get("error") == name and body.get("error_description")
            and body.get("error_uri", "").startswith("https://docs.github.com/") and "access_token" not in body)


def sign_in_and_token(base, jar, login, password, scope="read:org"):
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    r = browser_sign_in(base, jar, login, password, {
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": scope, "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    q = query_of(r.headers.get("Location", ""))
    token_r = exchange(base, q.get("code", ""), verifier)
    return token_r.json().get("access_token") if token_r.status == 200 else None


def main():
    proc, base = start_mock()
    print(f"# mock at {base}")
    anon = make_opener()

    # --- authorize refusals ---
    r = call(anon, "GET", f"{base}/login/oauth/authorize?" + urllib.parse.urlencode({"client_id": "nope", "state": "s"}))
    check("unknown client_id -> 404 page", r.status == 404, r.status)
    r = call(anon, "GET", f"{base}/login/oauth/authorize?" + urllib.parse.urlencode(
        {"client_id": CLIENT_ID, "redirect_uri": "http://127.0.0.1:9/elsewhere", "state": "s"}))
    check("redirect_uri mismatch -> 400 page", r.status == 400 and "redirect_uri mismatch" in r.text, (r.status, r.text[:200]))
    check("mismatch sends no code anywhere", "Location" not in r.headers)
    r = call(anon, "GET", f"{base}/login/oauth/authorize?" + urllib.parse.urlencode(
        {"client_id": CLIENT_ID, "code_challenge": "a" * 43, "code_challenge_method": "plain"}))
    check("PKCE method plain refused (only S256)", r.status == 400, r.status)

    # --- the browser flow as octo ---
    jar = http.cookiejar.CookieJar()
    browser = make_opener(jar)
    verifier, challenge = pkce_pair()
    state = "st&te=with spaces/é+" + secrets.token_urlsafe(8)
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "scope": "read:org", "state": state,
              "code_challenge": challenge, "code_challenge_method": "S256"}
    authorize_url = f"{base}/login/oauth/authorize?" + urllib.parse.urlencode(params)
    r = call(browser, "GET", authorize_url)
    page = parse_page(r.text)
    check("authorize without session shows the login form", r.status == 200 and "text/html" in r.headers.get("Content-Type", ""), r.status)
    check("form has #login_field, #password, #signin-submit",
          all(i in page.ids for i in ("login_field", "password", "signin-submit")), sorted(page.ids))
    form = page.forms[0] if page.forms else {"action": None, "method": None, "inputs": {}}
    check("form posts to /session", form["action"] == "/session" and (form["method"] or "").lower() == "post", form)
    return_to = form["inputs"].get("return_to", "")
    check("hidden return_to carries the authorize query",
          return_to.startswith("/login/oauth/authorize?") and query_of(return_to) == params, return_to)

    r = call(browser, "POST", f"{base}/session", {"login": "octo", "password": "wrong", "return_to": return_to})
    page = parse_page(r.text)
    check("wrong password -> 200 with #flash-error and the form again",
          r.status == 200 and "flash-error" in page.ids and "login_field" in page.ids, r.status)
    check("wrong password sets no session cookie", not any(c.name == "github_mock_session" for c in jar))

    r = call(browser, "POST", f"{base}/session", {"login": "octo", "password": "octo-password-1", "return_to": return_to})
    check("right password -> 302 back to authorize", r.status == 302 and r.headers.get("Location") == return_to,
          (r.status, r.headers.get("Location")))
    check("session cookie github_mock_session set", any(c.name == "github_mock_session" for c in jar))
    set_cookie = r.headers.get("Set-Cookie", "")
    check("cookie is HttpOnly and SameSite=Lax", "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie, set_cookie)

    r = call(browser, "GET", urllib.parse.urljoin(base, r.headers.get("Location", "/")))
    location = r.headers.get("Location", "")
    q = query_of(location)
    check("signed-in authorize -> 302 to the registered callback",
          r.status == 302 and location.startswith(REDIRECT_URI + "?"), (r.status, location))
    check("state echoed exactly", q.get("state") == state, q.get("state"))
    code = q.get("code", "")
    check("a code is given", len(code) >= 20, code)

    # Absent redirect_uri: the registered one is used; a subdirectory is allowed (GitHub's rule).
    r = call(browser, "GET", f"{base}/login/oauth/authorize?" + urllib.parse.urlencode({"client_id": CLIENT_ID, "state": "x"}))
    check("no redirect_uri -> registered callback", r.headers.get("Location", "").startswith(REDIRECT_URI + "?code="),
          r.headers.get("Location"))
    nocode_plain = query_of(r.headers.get("Location", "")).get("code", "")
    r = call(browser, "GET", f"{base}/login/oauth/authorize?" + urllib.parse.urlencode(
        {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI + "/sub", "state": "x"}))
    check("redirect_uri below the callback path accepted", r.headers.get("Location", "").startswith(REDIRECT_URI + "/sub?code="),
          r.headers.get("Location"))

    # --- code exchange ---
    r = exchange(base, code, verifier, secret="wrong-secret")
    check("wrong client_secret -> 200 incorrect_client_credentials", is_github_error(r, "incorrect_client_credentials"), r.text)
    r = exchange(base, code, "x" * 43)
    check("wrong code_verifier -> 200 bad_verification_code", is_github_error(r, "bad_verification_code"), r.text)
    r = exchange(base, code, None)
    check("missing code_verifier -> 200 bad_verification_code", is_github_error(r, "bad_verification_code"), r.text)
    r = exchange(base, code, verifier, extra={"redirect_uri": "http://127.0.0.1:9/other"})
    check("token redirect_uri mismatch -> 200 redirect_uri_mismatch", is_github_error(r, "redirect_uri_mismatch"), r.text)
    r = exchange(base, code, verifier, extra={"redirect_uri": REDIRECT_URI})
    body = r.json() if r.status == 200 else {}
    check("code + verifier -> JSON token", r.status == 200 and "application/json" in r.headers.get("Content-Type", "")
          and body.get("access_token", "").startswith("gho_") and len(body["access_token"]) == 40, r.text)
    check("token_type bearer, scope read:org", body.get("token_type") == "bearer" and body.get("scope") == "read:org", body)
    octo_token = body.get("access_token")
    r = exchange(base, code, verifier)
    check("reused code -> 200 bad_verification_code", is_github_error(r, "bad_verification_code"), r.text)
    r = exchange(base, "0123456789abcdef0123", None)
    check("unknown code -> 200 bad_verification_code", is_github_error(r, "bad_verification_code"), r.text)
    r = exchange(base, nocode_plain, None, accept=None)
    form_answer = dict(urllib.parse.parse_qsl(r.text, keep_blank_values=True))
    check("no Accept -> form-encoded answer", r.status == 200 and r.headers.get("Content-Type", "").startswith(
        "application/x-www-form-urlencoded") and form_answer.get("access_token", "").startswith("gho_")
        and form_answer.get("token_type") == "bearer", r.text)
    check("no scope requested -> empty scope", form_answer.get("scope") == "", form_answer.get("scope"))
    r = exchange(base, "0123456789abcdef0123", None, accept=None)
    check("form-encoded error answer", r.status == 200 and dict(urllib.parse.parse_qsl(r.text)).get("error") == "bad_verification_code", r.text)

    # --- REST API as octo ---
    r = api(base, "/user", octo_token, user_agent=False)
    check("API without User-Agent -> 403", r.status == 403, r.status)
    r = api(base, "/user")
    check("/user without token -> 401 Requires authentication",
          r.status == 401 and r.json().get("message") == "Requires authentication", r.text)
    r = api(base, "/user", "gho_" + "x" * 36)
    check("/user with a bad token -> 401 Bad credentials", r.status == 401 and r.json().get("message") == "Bad credentials"
          and "documentation_url" in r.json(), r.text)
    for scheme in ("Bearer", "token"):
        r = api(base, "/user", octo_token, scheme)
        u = r.json() if r.status == 200 else {}
        check(f"/user with 'Authorization: {scheme}' -> octo", u.get("login") == "octo" and u.get("id") == 1
              and u.get("type") == "User", r.text[:200])
    check("X-OAuth-Scopes: read:org", r.headers.get("X-OAuth-Scopes") == "read:org", r.headers.get("X-OAuth-Scopes"))

    r = api(base, "/user/teams?per_page=100", octo_token)
    teams = r.json() if r.status == 200 else []
    got = {(t["organization"]["login"], t["slug"], (t["parent"] or {}).get("slug")) for t in teams}
    check("/user/teams: platform (parent engineering), engineering, other-team",
          got == {("acme", "platform", "engineering"), ("acme", "engineering", None), ("elsewhere", "other-team", None)}, got)
    check("teams have name and parent null for top-level", all("name" in t and "parent" in t for t in teams)
          and any(t["slug"] == "platform" and t["name"] == "Platform" for t in teams), teams[:1])
    check("no Link header when everything fits", "Link" not in r.headers, r.headers.get("Link"))
    r = api(base, "/user/teams?per_page=1", octo_token)
    link = r.headers.get("Link", "")
    check("per_page=1: one team, Link next and last", r.status == 200 and len(r.json()) == 1
          and 'page=2>; rel="next"' in link and 'page=3>; rel="last"' in link, link)
    next_url = link.split(">", 1)[0].lstrip("<")
    check("Link URLs are absolute API URLs", next_url.startswith(f"{base}/api/v3/user/teams?"), next_url)
    r = api(base, "/user/teams?per_page=1&page=3", octo_token)
    link = r.headers.get("Link", "")
    check("last page: Link prev and first, no next", 'rel="prev"' in link and 'rel="first"' in link and 'rel="next"' not in link, link)
    seen = []
    url = f"{base}/api/v3/user/teams?per_page=1"
    while url:
        r = call(make_opener(), "GET", url, headers={"Authorization": f"Bearer {octo_token}"})
        seen += [t["slug"] for t in r.json()]
        url = next((part.split(">")[0].strip(" <") for part in r.headers.get("Link", "").split(",")
                    if 'rel="next"' in part), None)
    check("following Link next yields all teams once", sorted(seen) == ["engineering", "other-team", "platform"], seen)

    r = api(base, "/orgs/acme/members/octo", octo_token)
    check("octo: /orgs/acme/members/octo -> 204", r.status == 204, r.status)
    r = api(base, "/orgs/ACME/members/Octo", octo_token)
    check("org and user names are case-insensitive", r.status == 204, r.status)
    r = api(base, "/orgs/acme/members/mallory", octo_token)
    check("octo: /orgs/acme/members/mallory -> 404", r.status == 404 and "not a member" in r.json().get("message", ""), r.text)

    # --- mallory, in a separate browser ---
    mallory_jar = http.cookiejar.CookieJar()
    mallory_token = sign_in_and_token(base, mallory_jar, "mallory", "mallory-password-1")
    check("mallory signs in and gets a token", bool(mallory_token), mallory_token)
    r = api(base, "/user", mallory_token)
    check("/user -> mallory (id 2)", r.status == 200 and r.json().get("login") == "mallory" and r.json().get("id") == 2, r.text[:200])
    r = api(base, "/user/teams?per_page=100", mallory_token)
    check("mallory's teams: elsewhere/x only",
          [(t["organization"]["login"], t["slug"]) for t in r.json()] == [("elsewhere", "x")], r.text[:300])
    for who in ("octo", "mallory"):
        r = api(base, f"/orgs/acme/members/{who}", mallory_token)
        loc = r.headers.get("Location", "")
        check(f"mallory: /orgs/acme/members/{who} -> 302 to public_members",
              r.status == 302 and loc == f"{base}/api/v3/orgs/acme/public_members/{who}", (r.status, loc))
        r2 = call(make_opener(), "GET", loc, headers={"Authorization": f"token {mallory_token}"})
        check(f"... and public_members/{who} -> 404", r2.status == 404, r2.status)
    followed = urllib.request.build_opener()  # urllib's default: follows the 302
    try:
        followed.open(urllib.request.Request(f"{base}/api/v3/orgs/acme/members/mallory",
                                             headers={"Authorization": f"Bearer {mallory_token}", "User-Agent": UA}), timeout=10)
        status = 200
    except urllib.error.HTTPError as e:
        status = e.code
    check("a client following redirects ends at 404", status == 404, status)
    r = api(base, "/orgs/elsewhere/members/mallory", mallory_token)
    check("mallory: /orgs/elsewhere/members/mallory -> 204", r.status == 204, r.status)
    r = api(base, "/orgs/acme/members/octo")
    check("anonymous: membership check -> 302", r.status == 302, r.status)

    # --- scope needed for /user/teams ---
    noscope_token = form_answer.get("access_token")
    r = api(base, "/user/teams", noscope_token)
    check("/user/teams with a token without read:org -> 403", r.status == 403, r.status)
    r = api(base, "/user", noscope_token)
    check("/user needs no scope", r.status == 200, r.status)

    # --- test controls ---
    r = call(anon, "POST", f"{base}/test-control/revoke?user=octo", b"")
    check("revoke control", r.status == 200 and r.json().get("revoked_tokens") == 2, r.text)
    r = api(base, "/user", octo_token)
    check("revoked token -> 401 Bad credentials", r.status == 401 and r.json().get("message") == "Bad credentials", r.text)
    r = api(base, "/orgs/acme/members/octo", octo_token)
    check("revoked token on membership -> 401", r.status == 401, r.status)
    r = api(base, "/user", mallory_token)
    check("other users' tokens still work", r.status == 200, r.status)

    new_octo = sign_in_and_token(base, jar, "octo", "octo-password-1")  # still signed in: no form
    check("octo gets a new token with the existing session", bool(new_octo))
    r = call(anon, "POST", f"{base}/test-control/remove-member?org=acme&user=octo", b"")
    check("remove-member control", r.status == 200 and sorted(r.json().get("removed_teams", [])) == ["engineering", "platform"], r.text)
    r = api(base, "/orgs/acme/members/octo", new_octo)
    loc = r.headers.get("Location", "")
    r2 = call(make_opener(), "GET", loc, headers={"Authorization": f"Bearer {new_octo}"}) if loc else r
    check("after remove-member: acme/members/octo -> 302 -> 404", r.status == 302 and r2.status == 404, (r.status, r2.status))
    r = api(base, "/user/teams?per_page=100", new_octo)
    check("after remove-member: no acme teams", [t["slug"] for t in r.json()] == ["other-team"], r.text[:200])
    r = call(anon, "POST", f"{base}/test-control/sign-out?user=octo", b"")
    r2 = call(make_opener(jar), "GET", authorize_url)
    check("sign-out control: the login form again", r.status == 200 and r2.status == 200 and "login_field" in r2.text, (r.status, r2.status))

    # --- request log ---
    r = call(anon, "GET", f"{base}/test-control/requests")
    entries = r.json() if r.status == 200 else []
    check("request log answers a list", isinstance(entries, list) and len(entries) > 20, len(entries))
    auth_entries = [e for e in entries if e["path"] == "/login/oauth/authorize"]
    check("authorize entries list parameter names incl. code_challenge",
          any("code_challenge" in e["authorize_params"] and e["code_challenge_method"] == "S256" for e in auth_entries))
    check("no client secret ever reached an API endpoint",
          not any(e["client_secret_seen"] for e in entries if e["area"] == "api"))
    check("client secret seen on the token endpoint only",
          {e["path"] for e in entries if e["client_secret_seen"]} == {"/login/oauth/access_token"},
          {e["path"] for e in entries if e["client_secret_seen"]})
    check("API entries record Authorization presence",
          any(e["area"] == "api" and e["authorization"] for e in entries)
          and any(e["area"] == "api" and not e["authorization"] for e in entries))
    check("log never holds secret values", CLIENT_SECRET not in r.text and "octo-password-1" not in r.text
          and (octo_token or "none") not in r.text)
    check("log holds at most 200 entries", len(entries) <= 200)

    # --- code expiry (a second mock with a short code lifetime and the documented redirect on mismatch) ---
    proc2, base2 = start_mock("--code-ttl", "0.5", "--redirect-mismatch", "redirect", "--non-member-check", "404")
    jar2 = http.cookiejar.CookieJar()
    r = browser_sign_in(base2, jar2, "octo", "octo-password-1", {"client_id": CLIENT_ID, "scope": "read:org", "state": "e"})
    code2 = query_of(r.headers.get("Location", "")).get("code", "")
    time.sleep(1.0)
    r = exchange(base2, code2)
    check("expired code -> 200 bad_verification_code", is_github_error(r, "bad_verification_code"), r.text)
    r = call(make_opener(jar2), "GET", f"{base2}/login/oauth/authorize?" + urllib.parse.urlencode(
        {"client_id": CLIENT_ID, "redirect_uri": "http://evil.example/cb", "state": "s1"}))
    q = query_of(r.headers.get("Location", ""))
    check("--redirect-mismatch redirect: error=redirect_uri_mismatch to the registered callback",
          r.status == 302 and r.headers["Location"].startswith(REDIRECT_URI + "?") and q.get("error") == "redirect_uri_mismatch"
          and q.get("state") == "s1" and "code" not in q, r.headers.get("Location"))
    mallory2 = sign_in_and_token(base2, http.cookiejar.CookieJar(), "mallory", "mallory-password-1")
    r = api(base2, "/orgs/acme/members/octo", mallory2)
    check("--non-member-check 404: direct 404", r.status == 404, r.status)

    # --- SIGTERM ---
    for p in (proc, proc2):
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        check("SIGTERM stops the mock cleanly (exit 0)", rc == 0, rc)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # an unexpected exception is a failure, not a crash without cleanup
        import traceback
        traceback.print_exc()
        failures.append(f"exception: {e}")
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    print(f"# {len(failures)} failure(s)" + (": " + ", ".join(failures) if failures else ""))
    sys.exit(1 if failures else 0)
