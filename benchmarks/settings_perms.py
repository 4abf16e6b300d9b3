"""Settings of ``bench permissions`` and ``bench changelist``: a site with the admin.

``benchmarks.settings`` plus what an admin site has (admin, sessions,
messages, templates, URLs) and the authentication backends in the README's
order. ``EVERREAL_BENCH_ALIASES`` (``rows10,rows100``) adds databases like
``default`` under those aliases, each on a name of its own, and
``DatabaseSwitch`` routes every query to the one ``DatabaseSwitch.alias``
names: the changelist benchmark keeps one data set per database and times
them in turn.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import DATABASES
from benchmarks.settings import INSTALLED_APPS

ALLOWED_HOSTS = ["testserver"]
ROOT_URLCONF = "benchmarks.urls_perms"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.messages",
    "django.contrib.sessions",
    *INSTALLED_APPS,
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
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
# In the cookie: no session row, so the same login holds on every database.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
# As the README has them.
AUTHENTICATION_BACKENDS = [
    "django_everreal.backends.EverRealOAuth2",
    "django_everreal.auth.ScopeBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Users are made in bulk, outside the timed part: no slow hashing there.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

for _alias in filter(None, os.environ.get("EVERREAL_BENCH_ALIASES", "").split(",")):
    _name = str(DATABASES["default"]["NAME"])
    DATABASES[_alias] = {
        **DATABASES["default"],
        "NAME": _name if _name == ":memory:" else f"{_name}_{_alias}",
    }

DATABASE_ROUTERS = ["benchmarks.settings_perms.DatabaseSwitch"]


class DatabaseSwitch:
    """Every read and write goes to ``alias``."""

    alias = "default"

    def db_for_read(self, model: Any, **hints: Any) -> str:
        return self.alias

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return self.alias

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return True
