#!/usr/bin/env python3
"""A real OpenID Connect provider for Berth's end-to-end tests. FOR TESTS ONLY.

Do not use it for anything else: it keeps fixed, published passwords, hashes them with
MD5, lets anyone on loopback disable users through /test-control/, and has no TLS.

Why django-oidc-provider (PyPI, on Django): it is a real, separately maintained provider
implementation, so the tests exercise Berth against behaviour we did not write ourselves:
discovery, a JWKS endpoint, the authorization code flow with PKCE, refresh tokens, userinfo,
custom claims, and a browser login page. The other option we looked at, Debian's
lemonldap-ng, needs a web server with FastCGI and its own configuration. Here everything
runs in this single process (`pip install django django-oidc-provider` is all CI needs).
No Django project directory is kept: settings are made in-process with settings.configure(),
templates are held in memory, and the SQLite database sits in the --state directory (its
previous contents are wiped at start).

    python3 oidc-provider.py --port PORT --state DIR \\
        --client-id ID --client-secret SECRET --redirect-uri URI [--redirect-uri URI ...]

(--port 0 picks a free port.) Serves on http://127.0.0.1:PORT:
  /openid/...                          the provider, issuer http://127.0.0.1:PORT/openid
                                       (.well-known/openid-configuration, jwks, authorize,
                                       token, userinfo, end-session, introspect)
  /accounts/login/                     login form: #id_username, #id_password, #login-submit
  POST /test-control/deactivate?user=NAME   TEST CONTROL: sets is_active=False and deletes the
                                       user's tokens, unused codes and login sessions, so
                                       refresh, userinfo and logins are refused afterwards
  POST /test-control/activate?user=NAME     TEST CONTROL: sets is_active=True again
Users: alice / alice-password-1 (group team-a), bob / bob-password-1 (group team-b).
One confidential client (response type code, RS256 id_tokens, no consent page). The id_token
and userinfo always carry email, email_verified (true), preferred_username and groups (a
list of Django group names), whatever the scope; a `groups` scope is also declared.
Prints `ready http://127.0.0.1:PORT/openid` on stdout once it serves; logs go to stderr.
Stops cleanly on SIGTERM or SIGINT.
"""
import argparse
import logging
import os
import signal
import sys

USERS = [
    # username, password, email, group
    ("alice", "alice-password-1", "alice@example.test", "team-a"),
    ("bob", "bob-password-1", "bob@example.test", "team-b"),
]

# Held in memory by Django's locmem template loader; nothing else on disk.
LOGIN_TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in - test OpenID provider</title></head>
<body>
<h1>Sign in to the test OpenID provider</h1>
{% if form.errors %}<p id="login-error" role="alert">{% for error in form.non_field_errors %}{{ error }} {% endfor %}</p>{% endif %}
<form method="post" id="login-form">
  {% csrf_token %}
  <input type="hidden" name="next" value="{{ next }}">
  <p><label for="id_username">Username</label>
     <input type="text" id="id_username" name="username" autocomplete="username" autofocus required
            value="{{ form.username.value|default:'' }}"></p>
  <p><label for="id_password">Password</label>
     <input type="password" id="id_password" name="password" autocomplete="current-password" required></p>
  <p><button type="submit" id="login-submit">Sign in</button></p>
</form>
</body>
</html>
"""

INDEX_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test OpenID provider</title></head>
<body><p id="signed-in-as">{% if user.is_authenticated %}Signed in as {{ user.username }}{% else %}Not signed in{% endif %}</p></body></html>
"""

log = logging.getLogger("oidc-test-provider")


def parse_args():
    parser = argparse.ArgumentParser(description="OpenID Connect provider for end-to-end tests only.")
    parser.add_argument("--port", type=int, required=True, help="port on 127.0.0.1 (0: pick a free one)")
    parser.add_argument("--state", required=True, help="directory for the SQLite database (created if missing)")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--redirect-uri", action="append", required=True,
                        help="an allowed redirect URI (repeatable)")
    return parser.parse_args()


# ---- Claims: named in the settings by dotted path (this module is __main__). ----

def userinfo(claims, user):
    """OIDC_USERINFO: fills the standard claims from the Django user."""
    claims["preferred_username"] = user.username
    claims["email"] = user.email
    claims["email_verified"] = True
    claims["name"] = user.get_full_name() or user.username
    return claims


def _groups(user):
    return sorted(user.groups.values_list("name", flat=True))


def _scope_claims_base():
    from oidc_provider.lib.claims import ScopeClaims
    return ScopeClaims


class ExtraClaims(_scope_claims_base()):
    """OIDC_EXTRA_SCOPE_CLAIMS: used both for the id_token (OIDC_IDTOKEN_INCLUDE_CLAIMS) and
    for userinfo. Declares a `groups` scope, and also always adds the claims the tests rely on,
    whatever the scope (django-oidc-provider otherwise only gives preferred_username under
    `profile` and email under `email`)."""

    info_groups = ("Groups", "The names of the groups you belong to.")

    def scope_groups(self):
        return {"groups": _groups(self.user)}

    def create_response_dic(self):
        dic = super().create_response_dic()
        dic.update({
            "preferred_username": self.user.username,
            "email": self.user.email,
            "email_verified": True,
            "groups": _groups(self.user),
        })
        return dic


# ---- Views outside the provider ----

def index(request):
    from django.shortcuts import render
    return render(request, "index.html")


def test_control(request, action):
    """TEST CONTROL ONLY: switch a user off/on. POST /test-control/(de)activate?user=NAME."""
    from django.contrib.auth.models import User
    from django.contrib.sessions.models import Session
    from django.http import JsonResponse
    from oidc_provider.models import Code, Token

    if request.method != "POST":
        return JsonResponse({"error": "use POST"}, status=405)
    if action not in ("activate", "deactivate"):
        return JsonResponse({"error": "unknown action"}, status=404)
    name = request.GET.get("user") or request.POST.get("user", "")
    try:
        user = User.objects.get(username=name)
    except User.DoesNotExist:
        return JsonResponse({"error": "no such user", "user": name}, status=404)
    user.is_active = action == "activate"
    user.save(update_fields=["is_active"])
    result = {"user": user.username, "is_active": user.is_active}
    if not user.is_active:
        # django-oidc-provider's refresh grant (and userinfo) never look at is_active, so
        # take the user's grants away too: tokens (access + refresh), unused codes, and
        # browser sessions at this provider.
        result["tokens_deleted"] = Token.objects.filter(user=user).delete()[0]
        result["codes_deleted"] = Code.objects.filter(user=user).delete()[0]
        sessions = 0
        for session in Session.objects.all():
            if session.get_decoded().get("_auth_user_id") == str(user.pk):
                session.delete()
                sessions += 1
        result["sessions_deleted"] = sessions
    log.info("test-control: %s", result)
    return JsonResponse(result)


def configure(args, port, db_path):
    from django.conf import settings

    me = __name__  # "__main__" when run as a script
    settings.configure(
        DEBUG=False,
        SECRET_KEY="oidc-test-provider-not-secret",
        ALLOWED_HOSTS=["*"],  # only listens on loopback
        ROOT_URLCONF=me,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "oidc_provider",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        DATABASES={"default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": db_path,
            # Concurrent requests (browser + Berth) each get a connection; wait for locks
            # rather than failing, and take the write lock up front.
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        TEMPLATES=[{
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    ("django.template.loaders.locmem.Loader", {
                        "registration/login.html": LOGIN_TEMPLATE,
                        "index.html": INDEX_TEMPLATE,
                    }),
                    # oidc_provider's own templates (error page).
                    "django.template.loaders.app_directories.Loader",
                ],
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                ],
            },
        }],
        # Fast hashing: these are published test passwords.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        # Cookies are shared by every port on 127.0.0.1, so keep clear of the names other
        # test servers (Berth's web UI) may use.
        SESSION_COOKIE_NAME="oidc_test_provider_session",
        CSRF_COOKIE_NAME="oidc_test_provider_csrftoken",
        LOGIN_URL="/accounts/login/",
        LOGIN_REDIRECT_URL="/",
        SITE_URL=f"http://127.0.0.1:{port}",  # fixed issuer, whatever Host header is used
        OIDC_LOGIN_URL="/accounts/login/",
        OIDC_IDTOKEN_INCLUDE_CLAIMS=True,
        OIDC_USERINFO=f"{me}.userinfo",
        OIDC_EXTRA_SCOPE_CLAIMS=f"{me}.ExtraClaims",
        LOGGING={
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": sys.stderr,
                                    "formatter": "plain"}},
            "formatters": {"plain": {"format": "oidc-provider %(levelname)s %(name)s: %(message)s"}},
            "root": {"handlers": ["stderr"], "level": "INFO"},
            # Says why a token request was refused (invalid_grant etc.).
            "loggers": {"oidc_provider": {"level": "DEBUG"}},
        },
    )


def seed(args):
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oidc_provider.models import Client, ResponseType

    call_command("migrate", verbosity=0, interactive=False)
    call_command("creatersakey", stdout=open(os.devnull, "w"))
    for username, password, email, group in USERS:
        user = User.objects.create_user(username, email=email, password=password)
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    client = Client.objects.create(
        name="Berth (end-to-end tests)",
        client_type="confidential",
        client_id=args.client_id,
        client_secret=args.client_secret,
        jwt_alg="RS256",
        require_consent=False,
        reuse_consent=True,
    )
    client.redirect_uris = args.redirect_uri
    client.scope = ["openid", "profile", "email", "groups"]
    client.save()
    client.response_types.add(ResponseType.objects.get(value="code"))


def main():
    args = parse_args()
    os.makedirs(args.state, exist_ok=True)
    db_path = os.path.join(os.path.abspath(args.state), "oidc-provider.sqlite3")
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)

    # Bind first so that --port 0 is known before the settings (issuer) are made.
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    server = ThreadedWSGIServer(("127.0.0.1", args.port), WSGIRequestHandler)
    port = server.server_address[1]

    configure(args, port, db_path)
    import django
    django.setup()

    global urlpatterns
    from django.contrib.auth.views import LoginView
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt
    urlpatterns = [
        path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
        path("accounts/login/", LoginView.as_view(), name="login"),
        path("test-control/<str:action>", csrf_exempt(test_control)),
        path("", index),
    ]

    seed(args)

    from django.core.wsgi import get_wsgi_application
    server.set_app(get_wsgi_application())

    def stop(signum, frame):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print(f"ready http://127.0.0.1:{port}/openid", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        log.info("stopped")


if __name__ == "__main__":
    main()
