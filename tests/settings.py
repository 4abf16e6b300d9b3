from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

SECRET_KEY = "django-everreal-tests"
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
ROOT_URLCONF = "tests.urls"

DATABASES: dict[str, dict[str, Any]]
if os.environ.get("EVERREAL_TEST_DATABASE") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("EVERREAL_TEST_DATABASE_NAME", "everreal"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
        }
    }
elif os.environ.get("EVERREAL_TEST_DATABASE") == "mariadb":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ.get("EVERREAL_TEST_DATABASE_NAME", "everreal"),
            "HOST": "127.0.0.1",
            "PORT": "3306",
            "USER": "root",
            "PASSWORD": "",
            # What the README asks of a MariaDB site: a login re-reads rows
            # after taking its lock, which under REPEATABLE READ would see
            # the transaction's older snapshot.
            "OPTIONS": {"charset": "utf8mb4", "isolation_level": "read committed"},
            # The server's usual case-insensitive collation, on purpose: the
            # EverReal ids must stay case-sensitive under it.
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    }
else:
    DATABASES = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    }
    if os.environ.get("EVERREAL_TEST_SQLITE_FILE"):
        # A test database in a file, which the load test's gunicorn workers share.
        DATABASES["default"]["TEST"] = {
            "NAME": str(Path(tempfile.gettempdir()) / f"everreal-test-{os.getpid()}.db")
        }

CACHES: dict[str, dict[str, Any]]
if os.environ.get("EVERREAL_TEST_CACHE") == "redis":
    # A Redis database of the tests' own; a key prefix per run (a subprocess
    # of a test inherits its run's) so that runs at the same time stay apart.
    CACHES = {
        "default": {
            "BACKEND": "tests.redis_cache.RunRedisCache",
            "LOCATION": os.environ.get(
                "EVERREAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/5"
            ),
            "KEY_PREFIX": os.environ.setdefault(
                "EVERREAL_TEST_CACHE_PREFIX", f"everreal-test-{os.getpid()}"
            ),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "social_django",
    "django_tasks",
    "django_tasks_db",
    "django_everreal",
]

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_everreal.middleware.EverRealMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

SOCIAL_AUTH_EVERREAL_KEY = "demo-client"
SOCIAL_AUTH_EVERREAL_SECRET = "demo-secret"
SOCIAL_AUTH_EVERREAL_SUBDOMAIN = "demo"
SOCIAL_AUTH_EVERREAL_REDIRECT_URI = "http://localhost:8000/auth/complete/everreal/"

AUTHENTICATION_BACKENDS = [
    "django_everreal.backends.EverRealOAuth2",
    "django_everreal.auth.ScopeBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LOGIN_URL = "/login/"

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

# Django 6.1's mail configuration (the test runner swaps in its outbox); older
# Django ignores it.
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend"}}
