"""Settings of the example site.

On its embedded defaults it runs on SQLite against the fake EverReal that
``python3 dev.py demo`` starts. With ``EVERREAL_SUBDOMAIN``,
``EVERREAL_CLIENT_ID`` and ``EVERREAL_CLIENT_SECRET`` set it talks to the real
EverReal instead.

Environment variables:

``EXAMPLE_SITE_URL``
    Where the browser reaches this site (default ``http://localhost:8000``);
    the redirect URI registered with EverReal is
    ``{EXAMPLE_SITE_URL}/auth/complete/everreal/``.
``EXAMPLE_DATABASE``
    The SQLite file (default ``example_project/db.sqlite3``).
``EVERREAL_BASE_URL``
    The fake EverReal's origin (default ``http://127.0.0.1:8001``).
``DJANGO_DEBUG``, ``DJANGO_SECRET_KEY``
    As usual; debug is on by default, which also serves the CSS.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-site-not-for-production")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"

SITE_URL = os.environ.get("EXAMPLE_SITE_URL", "http://localhost:8000").rstrip("/")
ALLOWED_HOSTS = sorted({"localhost", "127.0.0.1", urlsplit(SITE_URL).hostname or ""})

#: True when the site runs against the fake EverReal (``python3 dev.py demo``).
EXAMPLE_USES_FAKE_EVERREAL = not os.environ.get("EVERREAL_SUBDOMAIN")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "social_django",
    "django_tasks",
    "django_tasks_db",
    "django_everreal",
    "example",
]

# EverReal's webhook deliveries are processed in the background by
# ``manage.py everreal_webhooks worker``, from this database queue.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication (it needs request.user) and locale (the active
    # language goes to EverReal with each API call).
    "django_everreal.middleware.EverRealMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.i18n",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "example.context_processors.everreal_customers",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("EXAMPLE_DATABASE", BASE_DIR / "db.sqlite3"),
    }
}

AUTHENTICATION_BACKENDS = [
    "django_everreal.backends.EverRealOAuth2",
    "django_everreal.auth.ScopeBackend",
    "django.contrib.auth.backends.ModelBackend",
]

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
# A failed login returns to the home page with a message.
SOCIAL_AUTH_LOGIN_ERROR_URL = "/"
SOCIAL_AUTH_EVERREAL_REDIRECT_URI = f"{SITE_URL}/auth/complete/everreal/"

if EXAMPLE_USES_FAKE_EVERREAL:
    SOCIAL_AUTH_EVERREAL_BASE_URL = os.environ.get(
        "EVERREAL_BASE_URL", "http://127.0.0.1:8001"
    )
    SOCIAL_AUTH_EVERREAL_KEY = "demo-client"
    SOCIAL_AUTH_EVERREAL_SECRET = "demo-secret"  # noqa: S105
    # The events the demo's service account registers (``everreal_webhooks sync``).
    EVERREAL_WEBHOOKS = {
        "demo-webhooks": [
            "LISTING_PUBLISHED_TO_CHANNEL",
            "LISTING_CANDIDATE_APPLIED",
            "PROPERTY_UPDATED",
        ]
    }
else:
    SOCIAL_AUTH_EVERREAL_SUBDOMAIN = os.environ["EVERREAL_SUBDOMAIN"]
    SOCIAL_AUTH_EVERREAL_KEY = os.environ.get("EVERREAL_CLIENT_ID", "")
    SOCIAL_AUTH_EVERREAL_SECRET = os.environ.get("EVERREAL_CLIENT_SECRET", "")

# Where EverReal delivers webhooks: this site.
EVERREAL_WEBHOOK_BASE_URL = SITE_URL

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "profile"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
# The site's own catalog first, so its wording wins over the apps'.
LOCALE_PATHS = [BASE_DIR / "example" / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Berlin"

STATIC_URL = "static/"

# Keep tokens, codes and secrets out of logs and error pages.
DEFAULT_EXCEPTION_REPORTER_FILTER = (
    "django_everreal.redaction.EverRealExceptionReporterFilter"
)
DEFAULT_EXCEPTION_REPORTER = "django_everreal.redaction.EverRealExceptionReporter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "django_everreal.redaction.RedactSecretsFilter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]},
    },
    "loggers": {
        "django_everreal": {"handlers": ["console"], "level": "INFO"},
        "example": {"handlers": ["console"], "level": "INFO"},
    },
}
