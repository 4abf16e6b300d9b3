"""Settings of the load test's site: tests.settings on the test run's database.

The test passes, in the environment:

``EVERREAL_LOAD_DATABASE``
    JSON of the ``default`` database (the pytest-django test database, so the
    gunicorn workers and the test see the same rows).
``EVERREAL_LOAD_SITE_URL``
    Where the clients reach the site, e.g. ``http://127.0.0.1:41234``.
``EVERREAL_LOAD_EVERREAL_URL``
    The fake EverReal's origin.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

from tests import settings as base

SITE_URL = os.environ["EVERREAL_LOAD_SITE_URL"].rstrip("/")

SECRET_KEY = base.SECRET_KEY
DEBUG = False
ALLOWED_HOSTS = [urlsplit(SITE_URL).hostname or "127.0.0.1"]
USE_TZ = True
ROOT_URLCONF = "tests.load.urls"

DATABASES = {"default": json.loads(os.environ["EVERREAL_LOAD_DATABASE"])}

INSTALLED_APPS = base.INSTALLED_APPS
MIDDLEWARE = base.MIDDLEWARE
TEMPLATES = base.TEMPLATES
AUTHENTICATION_BACKENDS = base.AUTHENTICATION_BACKENDS
SOCIAL_AUTH_PIPELINE = base.SOCIAL_AUTH_PIPELINE

SOCIAL_AUTH_EVERREAL_KEY = base.SOCIAL_AUTH_EVERREAL_KEY
SOCIAL_AUTH_EVERREAL_SECRET = base.SOCIAL_AUTH_EVERREAL_SECRET
SOCIAL_AUTH_EVERREAL_BASE_URL = os.environ["EVERREAL_LOAD_EVERREAL_URL"]
SOCIAL_AUTH_EVERREAL_REDIRECT_URI = f"{SITE_URL}/auth/complete/everreal/"
# Under load the fake may answer slower than usual; a timeout is a failed login.
EVERREAL_TIMEOUT = 30

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/me/"

# Server errors and failed logins go to gunicorn's log, which the test reads.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR"},
        "django_everreal": {"handlers": ["stderr"], "level": "WARNING"},
    },
}
