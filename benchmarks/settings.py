"""Django settings for the benchmarks: the app as a site installs it, on one database.

``EVERREAL_BENCH_DATABASE`` picks the database (``sqlite`` or ``postgres``);
``benchmarks.run`` sets it, creates the database and removes it afterwards.
"""

from __future__ import annotations

import os

SECRET_KEY = "django-everreal-benchmarks"  # noqa: S105 -- a throwaway database
USE_TZ = True
DEBUG = False

if os.environ.get("EVERREAL_BENCH_DATABASE") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("EVERREAL_BENCH_DATABASE_NAME", "everreal_bench"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("EVERREAL_BENCH_SQLITE_PATH", ":memory:"),
        }
    }

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "social_django",
    "django_everreal",
    # The baseline of ``bench bearer``: DRF's own tokens.
    "rest_framework",
    "rest_framework.authtoken",
]

SOCIAL_AUTH_EVERREAL_KEY = "bench-client"
SOCIAL_AUTH_EVERREAL_SECRET = "bench-secret"  # noqa: S105 -- never sent
SOCIAL_AUTH_EVERREAL_SUBDOMAIN = "bench"
SOCIAL_AUTH_EVERREAL_REDIRECT_URI = "http://localhost:8000/auth/complete/everreal/"
