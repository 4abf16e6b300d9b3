"""System checks: a misconfiguration is reported at start-up, not at first login."""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
from importlib.util import find_spec
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError
from django.db import router
from django.db import transaction
from django.urls import NoReverseMatch
from django.urls import Resolver404
from django.urls import resolve
from django.urls import reverse
from django.utils.module_loading import import_string

from django_everreal.conf import SETTINGS
from django_everreal.conf import SUBDOMAIN_RE
from django_everreal.conf import Setting
from django_everreal.conf import conf
from django_everreal.crypto import TokenDecryptionError
from django_everreal.models import Customer

BACKEND = "django_everreal.backends.EverRealOAuth2"
SCOPE_BACKEND = "django_everreal.auth.ScopeBackend"
PIPELINE_STEP = "django_everreal.pipeline.sync_account"
ASSOCIATE_BY_EMAIL = "social_core.pipeline.social_auth.associate_by_email"
REPORTER_FILTER = "django_everreal.redaction.EverRealExceptionReporterFilter"
REPORTER = "django_everreal.redaction.EverRealExceptionReporter"
#: ``EverRealOAuth2.name``: the ``backend`` of the callback URL.
BACKEND_NAME = "everreal"


def settings_customer_named() -> bool:
    """Whether any SOCIAL_AUTH_EVERREAL_KEY, _SECRET, _SUBDOMAIN or _BASE_URL is set.

    With none, the site uses the customer registry alone and the settings
    customer's checks have nothing to check.
    """
    return any((conf.KEY, conf.SECRET, conf.SUBDOMAIN, conf.BASE_URL))


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    mistyped = check_setting_types()
    # A check of a setting's value says nothing new about a value of the wrong type.
    value_checks: tuple[
        tuple[Callable[[], list[checks.CheckMessage]], set[str]], ...
    ] = (
        (
            check_credentials,
            {"SOCIAL_AUTH_EVERREAL_KEY", "SOCIAL_AUTH_EVERREAL_SECRET"},
        ),
        (
            check_origin,
            {"SOCIAL_AUTH_EVERREAL_SUBDOMAIN", "SOCIAL_AUTH_EVERREAL_BASE_URL"},
        ),
        (check_redirect_uri, {"SOCIAL_AUTH_EVERREAL_REDIRECT_URI"}),
    )
    return [
        *mistyped.values(),
        *(
            message
            for check, names in value_checks
            if not names & mistyped.keys()
            for message in check()
        ),
        *check_token_request_format(),
        *check_authentication_backends(),
        *check_pipeline(),
        *check_session_cookie(),
        *check_token_keys(),
        *check_error_reports(),
        *check_webhooks(),
    ]


#: What each kind of setting must be, as the check's messages say it.
KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number (int or float)",
    "bool": "True or False",
    "strings": "a list of strings",
    "dict": "a dict",
}
LIST_TYPES = (list, tuple, set, frozenset)


def check_setting_types() -> dict[str, checks.CheckMessage]:
    """Every ``EVERREAL_*`` and ``SOCIAL_AUTH_EVERREAL_*`` setting of the wrong type or range.

    The properties of ``conf`` convert what they read (``float("ten")``,
    ``frozenset("superadmin_all")``), so a wrong value would otherwise fail
    at the first API call, or worse, silently mean something else. Settings
    with a check of their own (``Setting.checked_by``) are left to it. Keyed
    by the setting's name, one message each.
    """
    messages: dict[str, checks.CheckMessage] = {}
    for setting in SETTINGS.values():
        if setting.checked_by or not hasattr(settings, setting.name):
            continue
        value = getattr(settings, setting.name)
        if value is None and setting.nullable:
            continue
        message = setting_type_error(setting, value)
        if message is not None:
            messages[setting.name] = message
    return messages


def setting_type_error(setting: Setting, value: Any) -> checks.CheckMessage | None:
    """The error for *value* of *setting*, or ``None`` when it is fine.

    A string setting's value is never shown: it could be the client secret.
    """
    name, kind = setting.name, setting.kind
    expected = KIND_NAMES[kind]
    got = type(value).__name__
    default = f"Remove it to use the default, {default_text(setting)}."
    if kind == "str":
        if isinstance(value, str):
            return None
        return checks.Error(
            f"{name} must be {expected}, not {got}.",
            hint=f"Give it as a str, e.g. from os.environ. {default}",
            id="everreal.E012",
        )
    if kind in {"int", "float"}:
        return number_error(setting, value)
    if kind == "strings":
        if isinstance(value, str):
            return None
        if isinstance(value, LIST_TYPES):
            wrong = [
                f"{index}: {type(item).__name__}"
                for index, item in enumerate(value)
                if not isinstance(item, str)
            ]
            if not wrong:
                return None
            problem = f"holds items that are not strings ({', '.join(wrong)})"
        else:
            problem = f"is {got}"
        return checks.Error(
            f"{name} must be {expected} (or one string); it {problem}.",
            hint=f'For example ["company_user", "company_admin"]. {default}',
            id="everreal.E015",
        )
    if kind == "bool":
        if isinstance(value, bool):
            return None
        shown = f" {value!r}" if isinstance(value, (str, int, float)) else ""
        return checks.Error(
            f"{name} must be {expected}, not {got}{shown}.",
            hint=f"Write True or False without quotes. {default}",
            id="everreal.E016",
        )
    # Dicts have a check of their own (EVERREAL_WEBHOOKS: everreal.E009).
    return None


def default_text(setting: Setting) -> str:
    """The default as a site would write it: ``[]``, not the table's immutable ``()``."""
    default = setting.default
    return repr(list(default) if isinstance(default, tuple) else default)


def number_error(setting: Setting, value: Any) -> checks.CheckMessage | None:
    """A number setting's type (E013) or range (E014) error; bools are not numbers here."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (setting.kind == "int" and not isinstance(value, int))
        or (isinstance(value, float) and not math.isfinite(value))
    ):
        # Numbers, and numbers in quotes, are no secrets: show them.
        shown = f" {value!r}" if isinstance(value, (str, int, float)) else ""
        return checks.Error(
            f"{setting.name} must be {KIND_NAMES[setting.kind]}, "
            f"not {type(value).__name__}{shown}.",
            hint=(
                f"Write the number without quotes, e.g. {default_text(setting)} "
                "(the default)."
            ),
            id="everreal.E013",
        )
    minimum = setting.minimum
    if (
        minimum is None
        or value > minimum
        or (value == minimum and not setting.above_minimum)
    ):
        return None
    bound = "greater than" if setting.above_minimum else "at least"
    return checks.Error(
        f"{setting.name} must be {bound} {minimum:g}; got {value!r}.",
        hint=f"Remove it to use the default, {default_text(setting)}.",
        id="everreal.E014",
    )


def check_webhooks() -> list[checks.CheckMessage]:
    """``EVERREAL_WEBHOOKS`` and what receiving and processing webhooks needs."""
    value = getattr(settings, "EVERREAL_WEBHOOKS", None)
    if not value:
        return []
    if not isinstance(value, dict) or not all(
        isinstance(name, str)
        and (
            isinstance(types, str)
            or (
                isinstance(types, (list, tuple))
                and all(isinstance(t, str) and t for t in types)
            )
        )
        for name, types in value.items()
    ):
        return [
            checks.Error(
                "EVERREAL_WEBHOOKS must map service account names to lists of "
                f"EverReal event types; got {value!r}.",
                hint='For example {"webhooks": ["LISTING_CREATED", "UNIT_UPDATED"]}.',
                id="everreal.E009",
            )
        ]
    messages: list[checks.CheckMessage] = []
    try:
        if "EVERREAL_WEBHOOK_BASE_URL" not in check_setting_types():  # else E012
            conf.WEBHOOK_BASE_URL  # noqa: B018 (the property validates)
    except ImproperlyConfigured as exc:
        messages.append(
            checks.Error(
                str(exc),
                hint="The origin EverReal delivers to, e.g. 'https://www.example.com'.",
                id="everreal.E010",
            )
        )
    if not (find_spec("django.tasks") or find_spec("django_tasks")):
        messages.append(
            checks.Error(
                "EVERREAL_WEBHOOKS is set but Django's task framework is missing: "
                "deliveries would be stored and never processed.",
                hint=(
                    "On Django 5.2 install django-everreal[webhooks] (the "
                    "django-tasks backport and django-tasks-db) and configure TASKS."
                ),
                id="everreal.E011",
            )
        )
    return messages


def check_credentials() -> list[checks.CheckMessage]:
    """Half a settings customer is a mistake; none at all leaves the registry alone."""
    if not settings_customer_named():
        return []
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
            hint=(
                "Set the client id and secret EverReal issued for this site, or "
                "remove every SOCIAL_AUTH_EVERREAL_KEY, _SECRET, _SUBDOMAIN and "
                "_BASE_URL setting to use the customer registry alone."
            ),
            id="everreal.E001",
        )
    ]


def check_origin() -> list[checks.CheckMessage]:
    if not settings_customer_named():
        return []
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
    """The setting is the settings customer's callback and the registry's default one."""
    uri = conf.REDIRECT_URI
    if not uri and not settings_customer_named():
        # Each registered customer without its own is reported (W010).
        return []
    if is_absolute_url(uri):
        problem = callback_problem(uri)
        if problem is None:
            return []
        return [
            checks.Warning(
                f"SOCIAL_AUTH_EVERREAL_REDIRECT_URI {uri!r} {problem}: EverReal's "
                "redirect back after a login would not reach the login callback.",
                hint=callback_hint(),
                id="everreal.W005",
            )
        ]
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


def is_absolute_url(uri: str) -> bool:
    parts = urlsplit(uri)
    return (
        parts.scheme in {"http", "https"}
        and bool(parts.hostname)
        and not parts.fragment
    )


def callback_namespace() -> str:
    """The URL namespace python-social-auth reverses its views in."""
    return str(getattr(settings, "SOCIAL_AUTH_URL_NAMESPACE", None) or "social")


def callback_problem(uri: str) -> str | None:
    """Why *uri*'s path does not route to the EverReal login callback; ``None`` if it does.

    Only the path can be checked: the host is the proxy's business. A
    ``FORCE_SCRIPT_NAME`` prefix is removed first, as Django does with
    ``SCRIPT_NAME``.
    """
    if not is_absolute_url(uri):
        return "is not an absolute http(s) URL"
    path = unquote(urlsplit(uri).path) or "/"
    prefix = str(getattr(settings, "FORCE_SCRIPT_NAME", None) or "").rstrip("/")
    if prefix and (path == prefix or path.startswith(f"{prefix}/")):
        path = path[len(prefix) :] or "/"
    try:
        match = resolve(path)
    except Resolver404:
        return f"has the path {path!r}, which this site does not route"
    expected = f"{callback_namespace()}:complete"
    if match.view_name != expected or match.kwargs.get("backend") != BACKEND_NAME:
        backend = match.kwargs.get("backend")
        routed = match.view_name + (f" with backend {backend!r}" if backend else "")
        return (
            f"has the path {path!r}, which routes to {routed}, not to {expected} "
            f"with backend {BACKEND_NAME!r}"
        )
    return None


def callback_hint() -> str:
    """Where the callback is on this site, to copy into the redirect URI."""
    try:
        path = reverse(f"{callback_namespace()}:complete", args=[BACKEND_NAME])
    except NoReverseMatch:
        return (
            "Include django_everreal.urls in the URLconf, e.g. "
            "path('auth/', include('django_everreal.urls')), and use its "
            "complete/everreal/ URL."
        )
    return (
        f"This site's login callback is at {path}; the redirect URI is that path "
        "on the site's public origin, as registered with EverReal."
    )


def check_registry(
    app_configs: Sequence[AppConfig] | None = None,
    databases: Iterable[str] | None = None,
    **kwargs: Any,
) -> list[checks.CheckMessage]:
    """The registered customers' rows: checked only when a command asks for databases.

    As Django's own database checks, this queries nothing unless ``databases``
    is given (``check --database``, ``migrate``), and reports nothing before
    the table exists. The findings are warnings: rows are edited at runtime in
    the admin, and an error would stop ``migrate`` from running.
    """
    if not databases:
        return []
    if app_configs is not None and not any(
        app_config.label == Customer._meta.app_label for app_config in app_configs
    ):
        return []
    messages: list[checks.CheckMessage] = []
    queried = customer_found = False
    for alias in databases:
        if not router.allow_migrate_model(alias, Customer):
            continue
        try:
            # A savepoint: on PostgreSQL a failed query would spoil an enclosing transaction.
            with transaction.atomic(using=alias):
                customers = list(
                    Customer._default_manager.using(alias).filter(enabled=True)
                )
        except DatabaseError:
            continue  # Not migrated yet.
        queried = True
        customer_found = customer_found or bool(customers)
        for customer in customers:
            messages.extend(check_customer(customer))
    if queried and not customer_found and not settings_customer_named():
        messages.append(
            checks.Warning(
                "No EverReal customer is configured: the SOCIAL_AUTH_EVERREAL_* "
                "settings name none and the registry has no enabled customer, so "
                "nobody can log in with EverReal.",
                hint=(
                    "Set SOCIAL_AUTH_EVERREAL_KEY, _SECRET and _SUBDOMAIN, or add "
                    "a customer under EverReal customers in the admin."
                ),
                id="everreal.W011",
            )
        )
    return messages


def check_customer(customer: Customer) -> list[checks.CheckMessage]:
    """What would make a login at this registered customer fail, or go elsewhere."""
    messages: list[checks.CheckMessage] = []
    label = f"EverReal customer {customer.subdomain!r}"
    if conf.SUBDOMAIN and customer.subdomain.lower() == conf.SUBDOMAIN.lower():
        messages.append(
            checks.Warning(
                f"{label} has the subdomain of SOCIAL_AUTH_EVERREAL_SUBDOMAIN: "
                "?subdomain= names the customer in settings, so this row is never used.",
                hint=(
                    "Keep one of them: delete or disable the row, or remove the "
                    "SOCIAL_AUTH_EVERREAL_* settings."
                ),
                obj=customer,
                id="everreal.W006",
            )
        )
    unusable = None
    if not customer.encrypted_client_secret:
        unusable = "has no client secret"
    else:
        try:
            customer.client_secret  # noqa: B018 (decrypts)
        except TokenDecryptionError:
            unusable = "has a client secret that the configured keys cannot decrypt"
        except ImproperlyConfigured:
            pass  # EVERREAL_TOKEN_KEYS is broken: everreal.E008 says so.
    if unusable:
        messages.append(
            checks.Warning(
                f"{label} {unusable}: EverReal refuses its token requests.",
                hint=(
                    "Enter the client secret EverReal issued for it in the admin; "
                    "after a key change, keep the old key in EVERREAL_TOKEN_KEYS "
                    "or SECRET_KEY_FALLBACKS."
                ),
                obj=customer,
                id="everreal.W007",
            )
        )
    if not SUBDOMAIN_RE.match(customer.subdomain) or (
        customer.subdomain != customer.subdomain.lower()
    ):
        messages.append(
            checks.Warning(
                f"{label} has a subdomain that is not one lower-case DNS label: "
                "logins look customers up by their lower-cased ?subdomain=, and "
                "EverReal's origin is built from it.",
                hint=(
                    "Delete the row and add it again with a subdomain such as acme "
                    "for acme.everreal.co; the subdomain keys the customer's "
                    "accounts, so it cannot be changed in place."
                ),
                obj=customer,
                id="everreal.W008",
            )
        )
    if customer.base_url:
        try:
            customer.origin  # noqa: B018 (the property validates)
        except ImproperlyConfigured:
            messages.append(
                checks.Warning(
                    f"{label} has an origin override that is not an origin: "
                    f"{customer.base_url!r}.",
                    hint=(
                        "Give scheme, host and port only, such as "
                        "https://staging.example.com, or leave it empty."
                    ),
                    obj=customer,
                    id="everreal.W009",
                )
            )
    messages.extend(check_customer_redirect_uri(customer, label))
    return messages


def check_customer_redirect_uri(
    customer: Customer, label: str
) -> list[checks.CheckMessage]:
    """Its own redirect URI, or the setting's when it has none, must reach the callback."""
    uri = customer.login_redirect_uri
    if not uri:
        problem = "has no redirect URI, and SOCIAL_AUTH_EVERREAL_REDIRECT_URI is empty"
    else:
        reason = callback_problem(uri)
        if reason is None:
            return []
        source = "" if customer.redirect_uri else " (SOCIAL_AUTH_EVERREAL_REDIRECT_URI)"
        problem = f"has a redirect URI{source}, {uri!r}, that {reason}"
    return [
        checks.Warning(
            f"{label} {problem}: its logins cannot complete.",
            hint=callback_hint(),
            obj=customer,
            id="everreal.W010",
        )
    ]
