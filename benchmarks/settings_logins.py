"""Settings of the whole-login and bearer-burst measurements: a site with sessions.

On top of ``benchmarks.settings``: sessions, the login's middleware, the
URLconf of ``benchmarks.login_site`` (the app's login and a plain
social-app-django one), the fake EverReal's demo client for both backends,
and Redis as the cache when ``EVERREAL_BENCH_CACHE=redis``.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.sessions"]
ROOT_URLCONF = "benchmarks.login_site"
ALLOWED_HOSTS = ["localhost"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "django_everreal.backends.EverRealOAuth2",
    "django_everreal.auth.ScopeBackend",
    "benchmarks.login_site.PlainEverRealOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_REDIRECT_URL = "/"

# The app's login, as its README wires it.
SOCIAL_AUTH_EVERREAL_KEY = "demo-client"
SOCIAL_AUTH_EVERREAL_SECRET = "demo-secret"  # noqa: S105 -- the fake's demo client
SOCIAL_AUTH_EVERREAL_SUBDOMAIN = "demo"
SOCIAL_AUTH_EVERREAL_REDIRECT_URI = "http://localhost/auth/complete/everreal/"
SOCIAL_AUTH_EVERREAL_PIPELINE = [
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

# The plain login: no pipeline set, so social-core's DEFAULT_AUTH_PIPELINE.
SOCIAL_AUTH_PLAIN_KEY = "demo-client"
SOCIAL_AUTH_PLAIN_SECRET = "demo-secret"  # noqa: S105 -- the fake's demo client

CACHES: dict[str, dict[str, Any]]
if os.environ.get("EVERREAL_BENCH_CACHE") == "redis":
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get(
                "EVERREAL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6"
            ),
            "KEY_PREFIX": os.environ.get(
                "EVERREAL_BENCH_CACHE_PREFIX", "everreal-bench"
            ),
        }
    }
