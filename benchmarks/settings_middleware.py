"""Settings of ``bench middleware``: a site with sessions, EverReal logins and OIDC ones.

``EVERREAL_BENCH_STACK`` picks the middleware of a gunicorn server
(``baseline``, ``everreal`` or ``oidc``); the measuring process builds a
handler per stack itself. Each stack is Django's session and authentication
middleware, plus at most the one middleware compared.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls_middleware"
ALLOWED_HOSTS = ["127.0.0.1", "testserver"]

INSTALLED_APPS = [
    *INSTALLED_APPS,  # noqa: F405
    "django.contrib.sessions",
    "mozilla_django_oidc",
]

# Persistent database connections, as a site tuned for speed has them: opening
# one per request would dwarf what a middleware costs.
_database: dict[str, Any] = DATABASES["default"]  # noqa: F405
_database["CONN_MAX_AGE"] = 600

BASELINE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
STACKS = {
    "baseline": BASELINE,
    "everreal": [*BASELINE, "django_everreal.middleware.EverRealMiddleware"],
    "oidc": [*BASELINE, "mozilla_django_oidc.middleware.SessionRefresh"],
}
MIDDLEWARE = STACKS[os.environ.get("EVERREAL_BENCH_STACK", "baseline")]

AUTHENTICATION_BACKENDS = [
    "django_everreal.backends.EverRealOAuth2",
    "mozilla_django_oidc.auth.OIDCAuthenticationBackend",
]
LOGIN_URL = "/login/"

# The fake EverReal's demo customer (``django_everreal.testing``), in-process.
SOCIAL_AUTH_EVERREAL_KEY = "demo-client"
SOCIAL_AUTH_EVERREAL_SECRET = "demo-secret"  # noqa: S105 -- the fake's
SOCIAL_AUTH_EVERREAL_SUBDOMAIN = "demo"
SOCIAL_AUTH_PIPELINE = [
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "django_everreal.pipeline.sync_account",
]

# What mozilla-django-oidc needs to start; no request ever reaches these URLs.
OIDC_RP_CLIENT_ID = "bench-client"
OIDC_RP_CLIENT_SECRET = "bench-secret"  # noqa: S105 -- never sent
OIDC_OP_AUTHORIZATION_ENDPOINT = "https://oidc.invalid/authorize"
OIDC_OP_TOKEN_ENDPOINT = "https://oidc.invalid/token"  # noqa: S105 -- a URL
OIDC_OP_USER_ENDPOINT = "https://oidc.invalid/userinfo"
