"""System checks: a misconfiguration is reported at start-up, not at first login."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_everreal.conf import conf

BACKEND = "django_everreal.backends.EverRealOAuth2"
SCOPE_BACKEND = "django_everreal.auth.ScopeBackend"
PIPELINE_STEP = "django_everreal.pipeline.sync_account"
ASSOCIATE_BY_EMAIL = "social_core.pipeline.social_auth.associate_by_email"
REPORTER_FILTER = "django_everreal.redaction.EverRealExceptionReporterFilter"
REPORTER = "django_everreal.redaction.EverRealExceptionReporter"


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    return [
        *check_credentials(),
        *check_origin(),
        *check_redirect_uri(),
        *check_token_request_format(),
        *check_authentication_backends(),
        *check_pipeline(),
        *check_session_cookie(),
        *check_token_keys(),
        *check_error_reports(),
    ]


def check_credentials() -> list[checks.CheckMessage]:
    missing = [
        name
        for name, value in (
            ("SOCIAL_AUTH_EVERREAL_KEY", conf.KEY),
            ("SOCIAL_AUTH_EVERREAL_SECRET", conf.SECRET),
        )
        if not value
    ]
    if not missing:
        return []
    return [
        checks.Error(
            f"EverReal client credentials are missing: {', '.join(missing)}.",
            hint="Set the client id and secret EverReal issued for this site.",
            id="everreal.E001",
        )
    ]


def check_origin() -> list[checks.CheckMessage]:
    try:
        conf.origin  # noqa: B018 (the property validates)
    except ImproperlyConfigured as exc:
        if conf.BASE_URL:
            return [
                checks.Error(
                    str(exc),
                    hint="Give scheme, host and port only, without a path.",
                    id="everreal.E003",
                )
            ]
        return [
            checks.Error(
                str(exc),
                hint=(
                    "Set SOCIAL_AUTH_EVERREAL_SUBDOMAIN to the part before "
                    "'.everreal.co', or SOCIAL_AUTH_EVERREAL_BASE_URL to a full origin."
                ),
                id="everreal.E002",
            )
        ]
    return []


def check_redirect_uri() -> list[checks.CheckMessage]:
    uri = conf.REDIRECT_URI
    parts = urlsplit(uri)
    if parts.scheme in {"http", "https"} and parts.hostname and not parts.fragment:
        return []
    return [
        checks.Error(
            f"SOCIAL_AUTH_EVERREAL_REDIRECT_URI must be the absolute callback URL "
            f"registered with EverReal; got {uri!r}.",
            hint="For example 'https://www.example.com/auth/complete/everreal/'.",
            id="everreal.E004",
        )
    ]


def check_token_request_format() -> list[checks.CheckMessage]:
    if conf.TOKEN_REQUEST_FORMAT in {"json", "form"}:
        return []
    return [
        checks.Error(
            "SOCIAL_AUTH_EVERREAL_TOKEN_REQUEST_FORMAT must be 'json' or 'form'; "
            f"got {conf.TOKEN_REQUEST_FORMAT!r}.",
            id="everreal.E005",
        )
    ]


def check_authentication_backends() -> list[checks.CheckMessage]:
    backends = list(settings.AUTHENTICATION_BACKENDS)
    messages: list[checks.CheckMessage] = []
    if BACKEND not in backends:
        messages.append(
            checks.Error(
                f"{BACKEND} is not in AUTHENTICATION_BACKENDS: nobody can log in with EverReal.",
                hint=f"Add '{BACKEND}' to AUTHENTICATION_BACKENDS.",
                id="everreal.E006",
            )
        )
    if SCOPE_BACKEND not in backends:
        messages.append(
            checks.Warning(
                f"{SCOPE_BACKEND} is not in AUTHENTICATION_BACKENDS: "
                "has_perm('everreal.<scope>') is always false.",
                hint=f"Add '{SCOPE_BACKEND}' to AUTHENTICATION_BACKENDS.",
                id="everreal.W001",
            )
        )
    return messages


def check_pipeline() -> list[checks.CheckMessage]:
    pipeline = getattr(settings, "SOCIAL_AUTH_PIPELINE", None)
    if pipeline is None:
        pipeline = getattr(settings, "SOCIAL_AUTH_EVERREAL_PIPELINE", None)
    messages: list[checks.CheckMessage] = []
    if pipeline is None or PIPELINE_STEP not in pipeline:
        messages.append(
            checks.Warning(
                f"{PIPELINE_STEP} is not in SOCIAL_AUTH_PIPELINE: EverReal logins "
                "store no account, companies, scopes or tokens.",
                hint="Use the pipeline shown in django-everreal's README.",
                id="everreal.W002",
            )
        )
    if pipeline is not None and ASSOCIATE_BY_EMAIL in pipeline:
        messages.append(
            checks.Warning(
                f"{ASSOCIATE_BY_EMAIL} is in SOCIAL_AUTH_PIPELINE: it links an EverReal "
                "login to any local user with the same email address.",
                hint="Remove it; EverReal users are linked by their EverReal id alone.",
                id="everreal.W003",
            )
        )
    return messages


def check_session_cookie() -> list[checks.CheckMessage]:
    if str(getattr(settings, "SESSION_COOKIE_SAMESITE", "Lax")).lower() != "strict":
        return []
    return [
        checks.Error(
            "SESSION_COOKIE_SAMESITE = 'Strict' drops the session on the redirect back "
            "from EverReal, so every login fails with a missing state.",
            hint="Use 'Lax' (Django's default).",
            id="everreal.E007",
        )
    ]


def check_token_keys() -> list[checks.CheckMessage]:
    """Bad encryption keys would only show when the first token is stored or read."""
    keys = getattr(settings, "EVERREAL_TOKEN_KEYS", None)
    if not keys:
        return []
    hint = (
        "Make keys with cryptography.fernet.Fernet.generate_key(); put the new "
        "key first and keep the old ones after it until "
        "'manage.py everreal_rotate_token_keys' has run."
    )
    if isinstance(keys, (str, bytes)) or not isinstance(keys, (list, tuple)):
        return [
            checks.Error(
                "EVERREAL_TOKEN_KEYS must be a list of Fernet keys, "
                f"not {type(keys).__name__}.",
                hint=hint,
                id="everreal.E008",
            )
        ]
    invalid = []
    for index, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            invalid.append(str(index))
    if not invalid:
        return []
    # The keys themselves are secrets: name their positions only.
    return [
        checks.Error(
            "EVERREAL_TOKEN_KEYS holds values that are not Fernet keys "
            f"(at position {', '.join(invalid)}).",
            hint=hint,
            id="everreal.E008",
        )
    ]


def _is_or_subclasses(setting: object, expected: str) -> bool:
    """Whether the dotted path *setting* names the class *expected* or a subclass."""
    if setting == expected:
        return True
    try:
        configured = import_string(str(setting))
    except ImportError:
        return False
    return isinstance(configured, type) and issubclass(
        configured, import_string(expected)
    )


def check_error_reports() -> list[checks.CheckMessage]:
    """With DEBUG on, Django's error page shows every frame's variables unfiltered.

    Among them the login callback's code and state, the PKCE verifier and the
    tokens; with Django's reporter also the query string and the GET values.
    """
    if not settings.DEBUG:
        return []
    missing = [
        name
        for name, expected in (
            ("DEFAULT_EXCEPTION_REPORTER_FILTER", REPORTER_FILTER),
            ("DEFAULT_EXCEPTION_REPORTER", REPORTER),
        )
        if not _is_or_subclasses(getattr(settings, name, ""), expected)
    ]
    if not missing:
        return []
    return [
        checks.Warning(
            f"DEBUG is on and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not django-everreal's: error "
            "pages show EverReal tokens, authorization codes, state and PKCE "
            "verifiers in plain text.",
            hint=(
                f"Set DEFAULT_EXCEPTION_REPORTER_FILTER = '{REPORTER_FILTER}' and "
                f"DEFAULT_EXCEPTION_REPORTER = '{REPORTER}' (or subclasses of them)."
            ),
            id="everreal.W004",
        )
    ]
