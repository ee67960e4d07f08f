#!/usr/bin/env python3
"""A MOCK of GitHub's OAuth web application flow and of the few REST API endpoints Berth's
`github_auth` sign-in calls. FOR END-TO-END TESTS ONLY.

GitHub itself cannot run on this machine, so this is a named mock written by us, not a real
implementation: it follows GitHub's public documentation (facts listed below) and nothing
else. Fixed published passwords, no TLS, in-memory state, and anyone on loopback can change
that state through /test-control/. Python 3.11 standard library only.

    python3 github-oauth-mock.py --port PORT --client-id ID --client-secret SECRET \\
        --redirect-uri URI [--code-ttl SECONDS] [--non-member-check redirect|404] \\
        [--redirect-mismatch page|redirect] [--allow-missing-user-agent]

--port 0 picks a free port. --redirect-uri is the OAuth app's registered "Authorization
callback URL" (e.g. http://127.0.0.1:BERTH/github_auth). Prints exactly one stdout line
`ready http://127.0.0.1:PORT` (flushed) once it serves; logs go to stderr; SIGTERM or SIGINT
stop it cleanly (exit 0).

Berth's configuration: github_web_uri = http://127.0.0.1:PORT,
                       github_api_uri = http://127.0.0.1:PORT/api/v3 (the GitHub Enterprise shape).

Endpoints it mimics
  Web (github.com, at the root):
    GET  /login/oauth/authorize   client_id, redirect_uri, scope, state, login,
                                  code_challenge, code_challenge_method (allow_signup, prompt
                                  accepted and ignored). Not signed in: a login form (inputs
                                  #login_field and #password, submit #signin-submit, POST to
                                  /session with the authorize URL in hidden `return_to`).
                                  Signed in: 302 to the callback with ?code=...&state=...
                                  (the app counts as already authorized: no consent page).
    POST /session                 login, password, return_to. Wrong: the form again, status
                                  200, with #flash-error. Right: cookie `github_mock_session`
                                  (HttpOnly, SameSite=Lax, Path=/) and 302 to return_to.
    POST /login/oauth/access_token  client_id, client_secret, code, redirect_uri,
                                  code_verifier, as form body, JSON body or query string
                                  (client credentials also accepted as HTTP Basic).
  REST API (api.github.com, under /api/v3):
    GET  /api/v3/user
    GET  /api/v3/user/teams       per_page (default 30, max 100), page; Link header
    GET  /api/v3/orgs/ORG/members/USER
    GET  /api/v3/orgs/ORG/public_members/USER
  Test controls (NOT GitHub; loopback clients only):
    POST /test-control/revoke?user=NAME          revokes all of NAME's access tokens
    POST /test-control/remove-member?org=ORG&user=NAME
                                                 ends NAME's membership of ORG and of ORG's teams
    POST /test-control/sign-out?user=NAME        ends NAME's browser sessions (all if no user)
    GET  /test-control/requests                  the last 200 requests as JSON (see below)

Facts followed from GitHub's documentation ("Authorizing OAuth apps", "Troubleshooting
authorization request errors", "Troubleshooting OAuth app access token request errors",
"Scopes for OAuth apps", the REST reference for users, teams and org members, "Using
pagination in the REST API", "Getting started with the REST API", the 2025-07-14 changelog
"PKCE support for OAuth and GitHub App authentication"):
  * authorize: redirect_uri is optional (absent: the registered callback). When given, its
    host (sub-domains of it allowed) and port must match the callback's exactly and its path
    must be the callback's path or below it; for a loopback callback (127.0.0.1, ::1,
    localhost) the port need not match. The user comes back with `code` and the `state`
    given. The code expires after 10 minutes (--code-ttl). PKCE: code_challenge (43
    characters) and code_challenge_method go together; only S256 is accepted ("plain" is
    not supported). PKCE is optional (GitHub does not require it).
  * Mismatching redirect_uri: the documentation says GitHub redirects to the registered
    callback with error=redirect_uri_mismatch, error_description=..., error_uri=..., state;
    github.com in practice shows an error page instead. Default here: a 400 HTML page saying
    "redirect_uri mismatch" (--redirect-mismatch redirect: the documented redirect). Either
    way no code is ever sent to an unregistered URI. Unknown client_id: 404 page.
  * access_token: client_secret is always required (GitHub does not distinguish public and
    confidential clients). The answer's format follows Accept: application/json -> JSON,
    application/xml -> <OAuth> XML, anything else -> application/x-www-form-urlencoded.
    Errors are answered with HTTP 200 and error, error_description, error_uri:
    incorrect_client_credentials ("The client_id and/or client_secret passed are
    incorrect."), redirect_uri_mismatch (redirect_uri differs from the one the code was
    issued for), bad_verification_code ("The code passed is incorrect or expired.", also
    for a reused code, a code of another app, or a missing/wrong code_verifier of a code
    issued with a code_challenge: S256 = base64url(sha256(verifier)) without padding).
    Success: access_token (gho_ + 36 characters), token_type "bearer", scope = the
    requested scopes joined by commas ("read:org"). Codes are single-use.
  * API: `Authorization: Bearer T` or `Authorization: token T`; a bad or revoked token is
    401 {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
    "status": "401"}; no credentials on /user or /user/teams is 401 "Requires
    authentication". Requests without a User-Agent header are refused with 403 (GitHub:
    "Requests with no User-Agent header will be rejected"; --allow-missing-user-agent turns
    this off). Authenticated answers carry X-OAuth-Scopes and X-Accepted-OAuth-Scopes.
  * /user/teams lists the teams the user belongs to across organizations, each with its
    organization and parent (null for a top-level team); OAuth tokens need the user, repo
    or read:org scope. Pagination: per_page (max 100, default 30), page, and a Link header
    with rel="next"/"last"/"first"/"prev" as GitHub sends it.
  * /orgs/ORG/members/USER: 204 if the requester is an org member and USER is a member;
    404 if the requester is a member and USER is not; 302 to
    /orgs/ORG/public_members/USER if the requester is not an org member (anonymous
    included), and that endpoint answers 204 for a public member, else 404. All
    memberships here are private (concealed), so the redirect always ends in 404. (An
    issue on github/docs, #27266, reports GitHub Enterprise Server answering 404 directly
    instead; --non-member-check 404 mimics that.) ORG and USER are case-insensitive.
Mock choices (not documented by GitHub, or simplified): the login form is shown at the
authorize URL itself (github.com redirects to /login?return_to=...); no consent page; a
failed code exchange does not use up the code; a code_verifier sent for a code issued
without a challenge is ignored; scopes are granted as requested; the scope refusal on
/user/teams is a 403 JSON with a mock message; the third-party OAuth app access
restrictions of organizations are treated as "app approved".

State (in memory, reset at each start)
  octo     / octo-password-1     id 1: member of acme (teams platform, whose parent is
                                 engineering, and engineering) and of elsewhere (other-team)
  mallory  / mallory-password-1  id 2: NOT a member of acme; member of elsewhere (team x)

/test-control/requests answers a JSON list (oldest first) of objects: time, method, path
(without query), area ("web", "api" or "test-control"), status, query_names, form_names
(names of body fields), authorization (bool: an Authorization header was present),
authorization_scheme, user_agent (bool), accept, client_secret_seen (bool: the configured
client secret appeared anywhere in the request: path, query, headers or body), and for
the authorize endpoint authorize_params (names) and code_challenge_method (value). No
values of secrets, passwords, codes or tokens are recorded.
"""
import argparse
import base64
import collections
import hashlib
import html
import http.server
import ipaddress
import json
import logging
import secrets
import signal
import string
import sys
import threading
import time
import urllib.parse

log = logging.getLogger("github-oauth-mock")

COOKIE = "github_mock_session"
DOCS = "https://docs.github.com"
TOKEN_ERRORS_URI = DOCS + "/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"
AUTHZ_ERRORS_URI = "/apps/building-integrations/setting-up-and-registering-oauth-apps/troubleshooting-authorization-request-errors/"
TOKEN_ERRORS = {
    "incorrect_client_credentials": ("The client_id and/or client_secret passed are incorrect.",
                                     TOKEN_ERRORS_URI + "#incorrect-client-credentials"),
    "redirect_uri_mismatch": ("The redirect_uri MUST match the registered callback URL for this application.",
                              DOCS + "/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#redirect-uri-mismatch2"),
    "bad_verification_code": ("The code passed is incorrect or expired.",
                              TOKEN_ERRORS_URI + "#bad-verification-code"),
}
# Scopes that let an OAuth token list /user/teams (read:org is implied by write:org, admin:org).
TEAMS_SCOPES = {"user", "repo", "read:org", "write:org", "admin:org"}
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}


def node_id(kind, number):
    return base64.b64encode(f"04:{kind}{number}".encode()).decode()


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.users = {
            "octo": {"id": 1, "password": "octo-password-1", "name": "Octo Cat", "email": "octo@example.test"},
            "mallory": {"id": 2, "password": "mallory-password-1", "name": "Mallory", "email": None},
        }
        self.orgs = {"acme": {"id": 101, "name": "Acme"}, "elsewhere": {"id": 102, "name": "Elsewhere"}}
        self.members = {("acme", "octo"), ("elsewhere", "octo"), ("elsewhere", "mallory")}
        self.public_members = set()  # every membership is private (concealed)
        # slug -> team; parent is a slug in the same org.
        self.teams = [
            {"id": 1001, "org": "acme", "slug": "engineering", "name": "Engineering", "parent": None, "members": {"octo"}},
            {"id": 1002, "org": "acme", "slug": "platform", "name": "Platform", "parent": "engineering", "members": {"octo"}},
            {"id": 1003, "org": "elsewhere", "slug": "other-team", "name": "Other team", "parent": None, "members": {"octo"}},
            {"id": 1004, "org": "elsewhere", "slug": "x", "name": "X", "parent": None, "members": {"mallory"}},
        ]
        self.sessions = {}  # cookie value -> login
        self.codes = {}  # code -> grant
        self.tokens = {}  # token -> {"user", "scopes"}
        self.requests = collections.deque(maxlen=200)


def make_handler(args, state, base):
    api_base = base + "/api/v3"

    def redirect_allowed(given, registered):
        """GitHub's documented redirect_uri rule (see the module docstring)."""
        try:
            g, r = urllib.parse.urlsplit(given), urllib.parse.urlsplit(registered)
            g_port, r_port = g.port, r.port
        except ValueError:
            return False
        if g.scheme.lower() != r.scheme.lower() or g.fragment or not g.hostname or g.username or g.password:
            return False
        default = {"http": 80, "https": 443}.get(r.scheme.lower())
        g_port, r_port = g_port or default, r_port or default
        gh, rh = g.hostname.lower(), (r.hostname or "").lower()
        if rh in LOOPBACK_HOSTS:
            if gh != rh:
                return False
        else:
            try:
                ipaddress.ip_address(rh)
                is_ip = True
            except ValueError:
                is_ip = False
            if not (gh == rh or (not is_ip and gh.endswith("." + rh))):
                return False
            if g_port != r_port:
                return False
        segments = g.path.split("/")
        if "." in segments or ".." in segments:
            return False
        r_path = r.path or "/"
        g_path = g.path or "/"
        return g_path == r_path or g_path.startswith(r_path.rstrip("/") + "/")

    def with_query(uri, params):
        joiner = "&" if urllib.parse.urlsplit(uri).query else "?"
        return uri + joiner + urllib.parse.urlencode(params)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def version_string(self):
            return "github-oauth-mock"

        def log_message(self, fmt, *a):
            log.info("%s %s", self.client_address[0], fmt % a)

        # ---------- plumbing ----------

        def read_body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def send(self, status, body=b"", content_type=None, headers=()):
            if isinstance(body, str):
                body = body.encode()
            self.send_response(status)
            if content_type and status != 204:
                self.send_header("Content-Type", content_type)
            for name, value in headers:
                self.send_header(name, value)
            if status != 204:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204 and self.command != "HEAD":
                self.wfile.write(body)
            if self.record is not None:
                self.record["status"] = status

        def send_html(self, status, title, body_html, headers=()):
            page = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>\n'
                    f"<body>\n{body_html}\n</body></html>\n")
            self.send(status, page, "text/html; charset=utf-8", headers)

        def send_json(self, status, obj, headers=()):
            self.send(status, json.dumps(obj, indent=2) + "\n", "application/json; charset=utf-8", headers)

        def api_headers(self, token=None):
            h = [("X-GitHub-Media-Type", "github.v3; format=json"),
                 ("X-GitHub-Request-Id", secrets.token_hex(8).upper())]
            if token is not None:
                h.append(("X-OAuth-Scopes", ", ".join(token["scopes"])))
            return h

        def api_error(self, status, message, doc="https://docs.github.com/rest", headers=()):
            self.send_json(status, {"message": message, "documentation_url": doc, "status": str(status)},
                           headers=list(self.api_headers()) + list(headers))

        def redirect(self, location, headers=()):
            self.send(302, f'<html><body>You are being <a href="{html.escape(location)}">redirected</a>.</body></html>',
                      "text/html; charset=utf-8", [("Location", location)] + list(headers))

        # ---------- dispatch ----------

        def do_GET(self):
            self.dispatch(b"")

        def do_HEAD(self):
            self.dispatch(b"")

        def do_POST(self):
            self.dispatch(self.read_body())

        def do_PUT(self):
            self.dispatch(self.read_body())

        def do_DELETE(self):
            self.dispatch(self.read_body())

        def do_PATCH(self):
            self.dispatch(self.read_body())

        def do_OPTIONS(self):
            self.dispatch(b"")

        def dispatch(self, body):
            self.record = None
            split = urllib.parse.urlsplit(self.path)
            path, query = split.path, urllib.parse.parse_qs(split.query, keep_blank_values=True)
            self.query = {k: v[0] for k, v in query.items()}
            self.body = body
            self.form = self.parse_form(body)
            area = "api" if path == "/api/v3" or path.startswith("/api/v3/") else (
                "test-control" if path.startswith("/test-control/") else "web")
            if not (self.command == "GET" and path == "/test-control/requests"):
                auth = self.headers.get("Authorization")
                haystack = [self.path, body.decode("latin-1")] + [f"{k}: {v}" for k, v in self.headers.items()]
                secret_seen = any(args.client_secret in s for s in haystack)
                if not secret_seen and auth and auth.lower().startswith("basic "):
                    try:
                        secret_seen = args.client_secret in base64.b64decode(auth[6:].strip()).decode("utf-8", "replace")
                    except ValueError:
                        pass
                self.record = {
                    "time": time.time(), "method": self.command, "path": path, "area": area, "status": None,
                    "query_names": sorted(query), "form_names": sorted(self.form),
                    "authorization": auth is not None,
                    "authorization_scheme": auth.split(" ", 1)[0] if auth else None,
                    "user_agent": bool(self.headers.get("User-Agent")),
                    "accept": self.headers.get("Accept"),
                    "client_secret_seen": secret_seen,
                }
                if path == "/login/oauth/authorize":
                    self.record["authorize_params"] = sorted(query)
                    self.record["code_challenge_method"] = self.query.get("code_challenge_method")
                with state.lock:
                    state.requests.append(self.record)
            try:
                if area == "api":
                    self.route_api(path[len("/api/v3"):] or "/")
                elif area == "test-control":
                    self.route_control(path)
                else:
                    self.route_web(path)
            except Exception:  # keep serving; the test sees a 500
                log.exception("error handling %s %s", self.command, path)
                try:
                    self.send(500, "mock error\n", "text/plain; charset=utf-8")
                except OSError:
                    pass

        def parse_form(self, body):
            if not body:
                return {}
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype == "application/json":
                try:
                    obj = json.loads(body)
                except ValueError:
                    return {}
                return {str(k): "" if v is None else str(v) for k, v in obj.items()} if isinstance(obj, dict) else {}
            try:
                pairs = urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError:
                return {}
            return dict(pairs)

        # ---------- github.com ----------

        def route_web(self, path):
            if path == "/login/oauth/authorize" and self.command in ("GET", "HEAD", "POST"):
                return self.authorize()
            if path == "/session" and self.command == "POST":
                return self.session()
            if path == "/login/oauth/access_token" and self.command == "POST":
                return self.access_token()
            if path == "/" and self.command in ("GET", "HEAD"):
                return self.send_html(200, "GitHub OAuth mock", "<p>GitHub OAuth mock for Berth's end-to-end tests.</p>")
            self.send_html(404, "Page not found", "<h1>404</h1><p>This is not the web page you are looking for.</p>")

        def signed_in_user(self):
            for part in self.headers.get("Cookie", "").split(";"):
                name, _, value = part.strip().partition("=")
                if name == COOKIE:
                    with state.lock:
                        user = state.sessions.get(value)
                    if user:
                        return user
            return None

        def login_form(self, return_to, error=None, login=""):
            flash = (f'<div id="flash-error" class="flash flash-error" role="alert">{html.escape(error)}</div>\n'
                     if error else "")
            body = f"""<h1>Sign in to GitHub</h1>
<p>to continue to the Berth test app (GitHub OAuth mock)</p>
{flash}<form action="/session" accept-charset="UTF-8" method="post" id="login-form">
  <input type="hidden" name="return_to" value="{html.escape(return_to)}">
  <label for="login_field">Username or email address</label>
  <input type="text" name="login" id="login_field" autocapitalize="off" autocorrect="off" autocomplete="username" autofocus value="{html.escape(login)}">
  <label for="password">Password</label>
  <input type="password" name="password" id="password" autocomplete="current-password">
  <input type="submit" name="commit" value="Sign in" id="signin-submit">
</form>"""
            self.send_html(200, "Sign in to GitHub · GitHub", body)

        def authorize(self):
            q = dict(self.query)
            if self.command == "POST":  # GitHub's consent form posts here; accept the same fields
                q.update(self.form)
            if q.get("client_id") != args.client_id:
                return self.send_html(404, "Page not found", "<h1>404</h1><p>Unknown OAuth application (client_id).</p>")
            given = q.get("redirect_uri")
            if given and not redirect_allowed(given, args.redirect_uri):
                if args.redirect_mismatch == "redirect":
                    params = {"error": "redirect_uri_mismatch",
                              "error_description": TOKEN_ERRORS["redirect_uri_mismatch"][0],
                              "error_uri": AUTHZ_ERRORS_URI + "#redirect-uri-mismatch"}
                    if "state" in q:
                        params["state"] = q["state"]
                    return self.redirect(with_query(args.redirect_uri, params))
                return self.send_html(400, "redirect_uri mismatch",
                                      '<h1 id="redirect-uri-mismatch">redirect_uri mismatch</h1>\n'
                                      "<p>The redirect_uri is not associated with this application.</p>\n"
                                      "<p>The application might be misconfigured or could be trying to redirect you "
                                      "to a website you weren't expecting.</p>")
            target = given or args.redirect_uri
            challenge, method = q.get("code_challenge"), q.get("code_challenge_method")
            if challenge is not None or method is not None:
                problem = None
                if challenge is None or method is None:
                    problem = "code_challenge and code_challenge_method must be given together."
                elif method != "S256":
                    problem = "code_challenge_method must be S256 (plain is not supported)."
                elif len(challenge) != 43 or any(c not in string.ascii_letters + string.digits + "-_" for c in challenge):
                    problem = "code_challenge must be 43 base64url characters (SHA-256)."
                if problem:
                    return self.send_html(400, "Invalid PKCE request",
                                          f'<h1 id="pkce-error">Invalid PKCE parameters</h1><p>{html.escape(problem)}</p>')
            user = self.signed_in_user()
            return_to = "/login/oauth/authorize?" + urllib.parse.urlencode(q)
            if user is None:
                return self.login_form(return_to, login=q.get("login", ""))
            scopes = []
            for s in q.get("scope", "").replace(",", " ").split():
                if s not in scopes:
                    scopes.append(s)
            code = secrets.token_hex(10)
            with state.lock:
                state.codes[code] = {
                    "client_id": args.client_id, "user": user, "scopes": scopes,
                    "redirect_uri": target, "redirect_uri_given": given is not None,
                    "code_challenge": challenge, "code_challenge_method": method,
                    "expires": time.monotonic() + args.code_ttl, "used": False,
                }
            params = {"code": code}
            if "state" in q:
                params["state"] = q["state"]
            log.info("issued a code for %s (scopes %s, PKCE %s) to %s", user, ",".join(scopes) or "-", method or "no", target)
            self.redirect(with_query(target, params))

        def session(self):
            login = self.form.get("login", "")
            password = self.form.get("password", "")
            return_to = self.form.get("return_to", "")
            if not return_to.startswith("/login/oauth/authorize"):
                return_to = "/"
            with state.lock:
                user = next((name for name, u in state.users.items()
                             if name == login.strip().lower() or (u["email"] and u["email"] == login.strip())), None)
                ok = user is not None and secrets.compare_digest(state.users[user]["password"].encode(), password.encode())
                if ok:
                    sid = secrets.token_urlsafe(24)
                    state.sessions[sid] = user
            if not ok:
                return self.login_form(return_to, error="Incorrect username or password.", login=login)
            log.info("%s signed in", user)
            self.redirect(return_to, [("Set-Cookie", f"{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax")])

        def access_token(self):
            params = dict(self.query)
            params.update(self.form)
            client_id, client_secret = params.get("client_id"), params.get("client_secret")
            auth = self.headers.get("Authorization", "")
            if auth.lower().startswith("basic ") and client_secret is None:
                try:
                    user, _, password = base64.b64decode(auth[6:].strip()).decode("utf-8").partition(":")
                    client_id = client_id or urllib.parse.unquote(user)
                    client_secret = urllib.parse.unquote(password)
                except ValueError:
                    pass
            accept = self.headers.get("Accept", "").lower()

            def answer(fields):
                if "json" in accept:
                    return self.send_json(200, fields)
                if "xml" in accept:
                    inner = "".join(f"<{k}>{html.escape(v)}</{k}>" for k, v in fields.items())
                    return self.send(200, f"<OAuth>{inner}</OAuth>", "application/xml; charset=utf-8")
                self.send(200, urllib.parse.urlencode(fields), "application/x-www-form-urlencoded; charset=utf-8")

            def error(name):
                description, uri = TOKEN_ERRORS[name]
                log.info("access_token refused: %s", name)
                answer({"error": name, "error_description": description, "error_uri": uri})

            if client_id != args.client_id or client_secret is None or \
                    not secrets.compare_digest(client_secret.encode(), args.client_secret.encode()):
                return error("incorrect_client_credentials")
            code = params.get("code", "")
            with state.lock:
                grant = state.codes.get(code)
                refusal = self.check_grant(grant, client_id, params)
                if refusal is None:
                    grant["used"] = True
                    token = "gho_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
                    state.tokens[token] = {"user": grant["user"], "scopes": list(grant["scopes"])}
                    for old_code, old in list(state.codes.items()):  # forget spent and expired codes
                        if old["used"] and time.monotonic() > old["expires"]:
                            del state.codes[old_code]
            if refusal is not None:
                return error(refusal)
            log.info("access token issued to %s", grant["user"])
            answer({"access_token": token, "token_type": "bearer", "scope": ",".join(grant["scopes"])})

        def check_grant(self, grant, client_id, params):
            """None if the code may be exchanged, else the name of GitHub's error. Holds state.lock."""
            if grant is None or grant["used"] or grant["client_id"] != client_id or time.monotonic() > grant["expires"]:
                return "bad_verification_code"
            given = params.get("redirect_uri")
            if given and given != grant["redirect_uri"]:
                return "redirect_uri_mismatch"
            if grant["code_challenge"] is not None:
                verifier = params.get("code_verifier")
                if not verifier:
                    return "bad_verification_code"
                computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if not secrets.compare_digest(computed, grant["code_challenge"]):
                    return "bad_verification_code"
            return None

        # ---------- api.github.com ----------

        def bearer(self):
            """(present, token record or None). present=False: no Authorization header."""
            auth = self.headers.get("Authorization")
            if auth is None:
                return False, None
            scheme, _, value = auth.strip().partition(" ")
            if scheme.lower() not in ("token", "bearer") or not value.strip():
                return True, None
            with state.lock:
                token = state.tokens.get(value.strip())
                return True, (dict(token) if token else None)

        def route_api(self, path):
            if not args.allow_missing_user_agent and not self.headers.get("User-Agent"):
                return self.send(403, "Request forbidden by administrative rules. Please make sure your request has a "
                                      "User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api"
                                      "#user-agent-required). Check https://developer.github.com for other possible causes.\n",
                                 "text/plain; charset=utf-8")
            if self.command not in ("GET", "HEAD"):
                return self.api_error(404, "Not Found")
            present, token = self.bearer()
            if present and token is None:
                return self.api_error(401, "Bad credentials")
            parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
            if parts == ["user"]:
                if token is None:
                    return self.api_error(401, "Requires authentication",
                                          DOCS + "/rest/users/users#get-the-authenticated-user")
                return self.send_json(200, self.user_json(token["user"]), self.api_headers(token))
            if parts == ["user", "teams"]:
                if token is None:
                    return self.api_error(401, "Requires authentication",
                                          DOCS + "/rest/teams/teams#list-teams-for-the-authenticated-user")
                return self.user_teams(token)
            if len(parts) == 4 and parts[0] == "orgs" and parts[2] in ("members", "public_members"):
                return self.org_member(token, parts[1].lower(), parts[3].lower(), parts[2] == "public_members")
            self.api_error(404, "Not Found")

        def user_json(self, login):
            u = state.users[login]
            return {
                "login": login, "id": u["id"], "node_id": node_id("User", u["id"]),
                "avatar_url": f"{base}/avatars/u/{u['id']}?v=4", "gravatar_id": "",
                "url": f"{api_base}/users/{login}", "html_url": f"{base}/{login}",
                "followers_url": f"{api_base}/users/{login}/followers",
                "following_url": f"{api_base}/users/{login}/following{{/other_user}}",
                "organizations_url": f"{api_base}/users/{login}/orgs",
                "repos_url": f"{api_base}/users/{login}/repos",
                "type": "User", "user_view_type": "private", "site_admin": False,
                "name": u["name"], "company": None, "blog": "", "location": None, "email": u["email"],
                "hireable": None, "bio": None, "twitter_username": None,
                "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
                "created_at": "2011-01-25T18:44:36Z", "updated_at": "2024-01-01T00:00:00Z",
            }

        def org_json(self, org):
            o = state.orgs[org]
            return {
                "login": org, "id": o["id"], "node_id": node_id("Organization", o["id"]),
                "url": f"{api_base}/orgs/{org}", "repos_url": f"{api_base}/orgs/{org}/repos",
                "events_url": f"{api_base}/orgs/{org}/events", "hooks_url": f"{api_base}/orgs/{org}/hooks",
                "issues_url": f"{api_base}/orgs/{org}/issues",
                "members_url": f"{api_base}/orgs/{org}/members{{/member}}",
                "public_members_url": f"{api_base}/orgs/{org}/public_members{{/member}}",
                "avatar_url": f"{base}/avatars/u/{o['id']}?v=4", "description": None,
                "name": o["name"], "company": None, "blog": "", "location": None, "email": None,
                "is_verified": False, "has_organization_projects": True, "has_repository_projects": True,
                "public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
                "html_url": f"{base}/{org}", "created_at": "2015-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z", "type": "Organization",
            }

        def team_json(self, team, full=True):
            org = team["org"]
            t = {
                "id": team["id"], "node_id": node_id("Team", team["id"]),
                "url": f"{api_base}/organizations/{state.orgs[org]['id']}/team/{team['id']}",
                "html_url": f"{base}/orgs/{org}/teams/{team['slug']}",
                "name": team["name"], "slug": team["slug"], "description": None,
                "privacy": "closed", "notification_setting": "notifications_enabled", "permission": "pull",
                "members_url": f"{api_base}/organizations/{state.orgs[org]['id']}/team/{team['id']}/members{{/member}}",
                "repositories_url": f"{api_base}/organizations/{state.orgs[org]['id']}/team/{team['id']}/repos",
            }
            if full:
                parent = next((p for p in state.teams if p["org"] == org and p["slug"] == team["parent"]), None)
                t["parent"] = self.team_json(parent, full=False) if parent else None
                t.update({"members_count": len(team["members"]), "repos_count": 0,
                          "created_at": "2017-07-14T16:53:42Z", "updated_at": "2024-01-01T00:00:00Z",
                          "organization": self.org_json(org)})
            return t

        def user_teams(self, token):
            headers = self.api_headers(token) + [("X-Accepted-OAuth-Scopes", "admin:org, read:org, repo, user, write:org")]
            if not TEAMS_SCOPES & set(token["scopes"]):
                return self.send_json(403, {"message": "GitHub OAuth mock: this endpoint needs the user, repo or read:org "
                                                       "scope; the token has: " + (", ".join(token["scopes"]) or "none"),
                                            "documentation_url": DOCS + "/rest/teams/teams#list-teams-for-the-authenticated-user",
                                            "status": "403"}, headers)
            try:
                per_page = min(max(int(self.query.get("per_page", "30")), 1), 100)
            except ValueError:
                per_page = 30
            try:
                page = max(int(self.query.get("page", "1")), 1)
            except ValueError:
                page = 1
            with state.lock:
                teams = [self.team_json(t) for t in state.teams if token["user"] in t["members"]]
            last = max((len(teams) + per_page - 1) // per_page, 1)
            body = teams[(page - 1) * per_page: page * per_page]
            links = []

            def page_url(n):
                q = dict(self.query)
                q["per_page"], q["page"] = str(per_page), str(n)
                if "per_page" not in self.query:
                    del q["per_page"]
                return f"{api_base}/user/teams?" + urllib.parse.urlencode(q)

            if page > 1:
                links += [f'<{page_url(page - 1)}>; rel="prev"']
            if page < last:
                links += [f'<{page_url(page + 1)}>; rel="next"', f'<{page_url(last)}>; rel="last"']
            if page > 1:
                links += [f'<{page_url(1)}>; rel="first"']
            if links:
                headers.append(("Link", ", ".join(links)))
            self.send_json(200, body, headers)

        def org_member(self, token, org, user, public):
            headers = self.api_headers(token)
            with state.lock:
                known_org = org in state.orgs
                requester_member = token is not None and (org, token["user"]) in state.members
                member = (org, user) in state.members
                public_member = (org, user) in state.public_members
            if not known_org:
                return self.api_error(404, "Not Found", DOCS + "/rest/orgs/members", headers)
            if public:
                if public_member:
                    return self.send(204, headers=headers)
                return self.api_error(404, "Not Found",
                                      DOCS + "/rest/orgs/members#check-public-organization-membership-for-a-user", headers)
            if not requester_member:
                if args.non_member_check == "404":
                    return self.api_error(404, "User does not exist or is not a member of the organization",
                                          DOCS + "/rest/orgs/members#check-organization-membership-for-a-user", headers)
                return self.send(302, b"", None, headers + [
                    ("Location", f"{api_base}/orgs/{urllib.parse.quote(org)}/public_members/{urllib.parse.quote(user)}")])
            if member:
                return self.send(204, headers=headers)
            self.api_error(404, "User does not exist or is not a member of the organization",
                           DOCS + "/rest/orgs/members#check-organization-membership-for-a-user", headers)

        # ---------- test controls ----------

        def route_control(self, path):
            host = self.client_address[0]
            try:
                loopback = ipaddress.ip_address(host.split("%")[0]).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                return self.send_json(403, {"error": "test controls answer loopback clients only"})
            name = path[len("/test-control/"):]
            user = self.query.get("user", self.form.get("user", "")).lower()
            if name == "requests" and self.command == "GET":
                with state.lock:
                    entries = [dict(r) for r in state.requests]
                return self.send_json(200, entries)
            if self.command != "POST":
                return self.send_json(404, {"error": "unknown test control"})
            with state.lock:
                if name == "revoke":
                    if user not in state.users:
                        return self.send_json(404, {"error": f"no user {user!r}"})
                    gone = [t for t, rec in state.tokens.items() if rec["user"] == user]
                    for t in gone:
                        del state.tokens[t]
                    log.info("TEST CONTROL: revoked %d token(s) of %s", len(gone), user)
                    return self.send_json(200, {"user": user, "revoked_tokens": len(gone)})
                if name == "remove-member":
                    org = self.query.get("org", self.form.get("org", "")).lower()
                    if user not in state.users or org not in state.orgs:
                        return self.send_json(404, {"error": f"no user {user!r} or org {org!r}"})
                    was = (org, user) in state.members
                    state.members.discard((org, user))
                    state.public_members.discard((org, user))
                    teams = [t["slug"] for t in state.teams if t["org"] == org and user in t["members"]]
                    for t in state.teams:
                        if t["org"] == org:
                            t["members"].discard(user)
                    log.info("TEST CONTROL: removed %s from %s (teams %s)", user, org, ",".join(teams) or "-")
                    return self.send_json(200, {"user": user, "org": org, "was_member": was, "removed_teams": teams})
                if name == "sign-out":
                    gone = [s for s, u in state.sessions.items() if not user or u == user]
                    for s in gone:
                        del state.sessions[s]
                    log.info("TEST CONTROL: ended %d browser session(s)", len(gone))
                    return self.send_json(200, {"ended_sessions": len(gone)})
            self.send_json(404, {"error": "unknown test control"})

    return Handler


def main():
    parser = argparse.ArgumentParser(description="MOCK of GitHub's OAuth web flow and REST API, for end-to-end tests only.")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", required=True, help="the OAuth app's registered callback URL")
    parser.add_argument("--code-ttl", type=float, default=600, help="seconds a code stays valid (GitHub: 600)")
    parser.add_argument("--non-member-check", choices=["redirect", "404"], default="redirect",
                        help="/orgs/ORG/members/USER when the requester is not an org member: "
                             "302 to public_members (documented, default) or 404 (GHES as reported)")
    parser.add_argument("--redirect-mismatch", choices=["page", "redirect"], default="page",
                        help="authorize with a wrong redirect_uri: 400 page (default) or the documented "
                             "redirect to the callback with error=redirect_uri_mismatch")
    parser.add_argument("--allow-missing-user-agent", action="store_true",
                        help="do not refuse API requests without a User-Agent header")
    args = parser.parse_args()
    if not args.client_secret:
        parser.error("--client-secret must not be empty")
    split = urllib.parse.urlsplit(args.redirect_uri)
    if split.scheme not in ("http", "https") or not split.hostname:
        parser.error("--redirect-uri must be an absolute http(s) URL")

    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s github-oauth-mock %(levelname)s %(message)s")
    state = State()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), None)
    server.daemon_threads = True
    port = server.server_address[1]
    base = f"http://127.0.0.1:{port}"
    server.RequestHandlerClass = make_handler(args, state, base)

    def stop(signum, frame):
        log.info("signal %d: stopping", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("GitHub OAuth MOCK on %s (client_id %s, callback %s); API at %s/api/v3",
             base, args.client_id, args.redirect_uri, base)
    print(f"ready {base}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
