"""Settings of ``bench webhooks``: a site with the webhook receiver and the database queue.

Shared by the measuring process, the gunicorn server and the worker
processes it starts (all on the same database). ``EVERREAL_BENCH_CONN_MAX_AGE``
sets ``CONN_MAX_AGE`` (600 unless given: a site tuned for speed keeps its
connections; the worker is also measured with Django's default, 0).
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks import settings as _base
from benchmarks.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls_webhooks"
ALLOWED_HOSTS = ["127.0.0.1", "testserver"]

INSTALLED_APPS = [
    *INSTALLED_APPS,  # noqa: F405
    "django_tasks",
    "django_tasks_db",
]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# No middleware: the receiver and the baseline view are both csrf-exempt
# views of their own, and whatever a site adds costs both the same.
MIDDLEWARE: list[str] = []

_database: dict[str, Any] = dict(_base.DATABASES["default"])
_database["CONN_MAX_AGE"] = int(os.environ.get("EVERREAL_BENCH_CONN_MAX_AGE", "600"))
if _database["ENGINE"].endswith("sqlite3"):
    # Two gunicorn workers and a worker process write to one file: wait for
    # the lock rather than fail, and take it at BEGIN (no upgrade deadlocks).
    _database["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
DATABASES = {"default": _database}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "django_everreal": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
