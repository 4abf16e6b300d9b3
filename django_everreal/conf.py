"""Typed access to the app's settings, read at use so ``override_settings`` works."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from typing import Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# One DNS label: what may stand before ".everreal.co".
SUBDOMAIN_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)

DEFAULT_SCOPE = ("offline_access", "*")

#: What a setting's value must be: ``"strings"`` is a list of strings, or one
#: string (space-separated where it lists scopes).
Kind = Literal["str", "int", "float", "bool", "strings", "dict"]


@dataclass(frozen=True, eq=False)
class Setting:
    """One setting as a site writes it: the properties read it, the system check checks it.

    One table, so that a default or an accepted type cannot differ between
    the code that uses a setting and the check that vouches for it.
    """

    name: str
    kind: Kind
    default: Any
    #: The smallest sensible number; ``None``: any number.
    minimum: float | None = None
    #: Whether the minimum itself is too small (a timeout of 0 s never succeeds).
    above_minimum: bool = False
    #: ``None`` (or any empty value) means the default, as the property reads it.
    nullable: bool = False
    #: The id of the system check that checks this setting's value in full.
    checked_by: str | None = None


SETTINGS: dict[str, Setting] = {
    setting.name: setting
    for setting in (
        Setting("SOCIAL_AUTH_EVERREAL_KEY", "str", "", nullable=True),
        Setting("SOCIAL_AUTH_EVERREAL_SECRET", "str", "", nullable=True),
        Setting("SOCIAL_AUTH_EVERREAL_SUBDOMAIN", "str", "", nullable=True),
        Setting("SOCIAL_AUTH_EVERREAL_BASE_URL", "str", "", nullable=True),
        Setting("SOCIAL_AUTH_EVERREAL_SCOPE", "strings", (), nullable=True),
        Setting("SOCIAL_AUTH_EVERREAL_REDIRECT_URI", "str", "", nullable=True),
        Setting(
            "SOCIAL_AUTH_EVERREAL_TOKEN_REQUEST_FORMAT",
            "str",
            "json",
            checked_by="everreal.E005",
        ),
        Setting("EVERREAL_SUPERUSER_SCOPES", "strings", (), nullable=True),
        Setting(
            "EVERREAL_TOKEN_KEYS",
            "strings",
            (),
            nullable=True,
            checked_by="everreal.E008",
        ),
        Setting("EVERREAL_REFRESH_LEEWAY", "int", 60, minimum=0),
        Setting("EVERREAL_TIMEOUT", "float", 10, minimum=0, above_minimum=True),
        Setting("EVERREAL_DEADLINE", "float", 20, minimum=0, above_minimum=True),
        Setting("EVERREAL_REFRESH_COOLDOWN", "float", 5, minimum=0),
        Setting("EVERREAL_RETRIES", "int", 2, minimum=0),
        Setting("EVERREAL_RETRY_BACKOFF", "float", 0.5, minimum=0),
        Setting("EVERREAL_MAX_RATE_LIMIT_WAIT", "float", 10, minimum=0),
        Setting(
            "EVERREAL_WEBHOOKS", "dict", {}, nullable=True, checked_by="everreal.E009"
        ),
        Setting("EVERREAL_WEBHOOK_BASE_URL", "str", "", nullable=True),
        Setting("EVERREAL_WEBHOOK_MAX_BODY", "int", 1024 * 1024, minimum=1),
        Setting("EVERREAL_WEBHOOK_MAX_ATTEMPTS", "int", 5, minimum=1),
        Setting("EVERREAL_WEBHOOK_RETRY_BACKOFF", "float", 30, minimum=0),
        Setting("EVERREAL_WEBHOOK_LEASE", "float", 600, minimum=1),
        Setting("EVERREAL_TOKEN_CACHE", "str", "default"),
        Setting("EVERREAL_TOKEN_CACHE_TIMEOUT", "float", 300, minimum=0),
        Setting("EVERREAL_TOKEN_NEGATIVE_CACHE_TIMEOUT", "float", 30, minimum=0),
        Setting("EVERREAL_TOKEN_AUDIENCES", "strings", (), nullable=True),
        Setting("EVERREAL_TOKEN_CREATE_USERS", "bool", True),
        Setting("EVERREAL_TOKEN_CUSTOMER_HEADER", "str", "X-EverReal-Customer"),
        Setting("EVERREAL_TOKEN_LOCK_WAIT", "float", 5, minimum=0),
    )
}
"""Every ``SOCIAL_AUTH_EVERREAL_*`` and ``EVERREAL_*`` setting the app reads."""


def setting_value(name: str) -> Any:
    """The site's value of the setting *name*, or its default from ``SETTINGS``."""
    setting = SETTINGS[name]
    value = getattr(settings, name, setting.default)
    if setting.nullable and not value:
        return setting.default
    return value


def scopes(value: Any) -> list[str]:
    """A list of scopes as settings give it: a list, or one space-separated string."""
    if isinstance(value, str):
        return value.split()
    return [str(scope) for scope in value]


class Settings:
    @property
    def KEY(self) -> str:
        return str(setting_value("SOCIAL_AUTH_EVERREAL_KEY"))

    @property
    def SECRET(self) -> str:
        return str(setting_value("SOCIAL_AUTH_EVERREAL_SECRET"))

    @property
    def SUBDOMAIN(self) -> str:
        return str(setting_value("SOCIAL_AUTH_EVERREAL_SUBDOMAIN"))

    @property
    def BASE_URL(self) -> str:
        return str(setting_value("SOCIAL_AUTH_EVERREAL_BASE_URL"))

    @property
    def SCOPE(self) -> list[str]:
        """The scopes requested at login: EverReal's default plus any extra ones."""
        requested = list(DEFAULT_SCOPE)
        for scope in scopes(setting_value("SOCIAL_AUTH_EVERREAL_SCOPE")):
            if scope not in requested:
                requested.append(scope)
        return requested

    @property
    def REDIRECT_URI(self) -> str:
        """The callback URL registered with EverReal, used verbatim."""
        return str(setting_value("SOCIAL_AUTH_EVERREAL_REDIRECT_URI"))

    @property
    def LOGIN_ERROR_URL(self) -> str:
        """Where a failed login goes, with a message; empty: an error page instead."""
        return str(
            getattr(settings, "SOCIAL_AUTH_LOGIN_ERROR_URL", "")
            or getattr(settings, "LOGIN_ERROR_URL", "")
            or ""
        )

    @property
    def TOKEN_REQUEST_FORMAT(self) -> str:
        return str(setting_value("SOCIAL_AUTH_EVERREAL_TOKEN_REQUEST_FORMAT"))

    @property
    def SUPERUSER_SCOPES(self) -> frozenset[str]:
        """Scopes that grant every permission: a list, or a space-separated string.

        A string is split, not iterated: ``"superadmin_all"`` would otherwise
        become a set of single letters, and a user with the scope ``"a"`` a superuser.
        """
        return frozenset(scopes(setting_value("EVERREAL_SUPERUSER_SCOPES")))

    @property
    def TOKEN_KEYS(self) -> list[str]:
        return list(setting_value("EVERREAL_TOKEN_KEYS"))

    @property
    def SECRET_KEYS(self) -> list[str]:
        """Django's secret key and its fallbacks, current first."""
        return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]

    @property
    def REFRESH_LEEWAY(self) -> int:
        return int(setting_value("EVERREAL_REFRESH_LEEWAY"))

    @property
    def TIMEOUT(self) -> float:
        """Seconds one attempt at EverReal may take in all: connect, headers and body."""
        return float(setting_value("EVERREAL_TIMEOUT"))

    @property
    def DEADLINE(self) -> float:
        """Seconds one call may take in all: attempts, backoff and waiting for a refresh.

        Keep it below the web server's worker timeout (gunicorn: 30 s).
        """
        return float(setting_value("EVERREAL_DEADLINE"))

    @property
    def REFRESH_COOLDOWN(self) -> float:
        """Seconds after a failed refresh during which callers fail fast instead of retrying."""
        return max(float(setting_value("EVERREAL_REFRESH_COOLDOWN")), 0.0)

    @property
    def RETRIES(self) -> int:
        """Extra attempts of an idempotent API call after a network error or 502/503/504."""
        return max(int(setting_value("EVERREAL_RETRIES")), 0)

    @property
    def RETRY_BACKOFF(self) -> float:
        """Seconds before the first retry; each further retry waits twice as long."""
        return max(float(setting_value("EVERREAL_RETRY_BACKOFF")), 0.0)

    @property
    def MAX_RATE_LIMIT_WAIT(self) -> float:
        """The longest wait for EverReal's rate limit before giving up with an error."""
        return max(float(setting_value("EVERREAL_MAX_RATE_LIMIT_WAIT")), 0.0)

    @property
    def WEBHOOKS(self) -> dict[str, list[str]]:
        """Event types to register, by the name of the service account that registers them."""
        value = setting_value("EVERREAL_WEBHOOKS")
        if not isinstance(value, dict):
            raise ImproperlyConfigured(
                "EVERREAL_WEBHOOKS must be a dict of service account names to "
                "lists of EverReal event types."
            )
        return {
            str(name): [types] if isinstance(types, str) else list(types)
            for name, types in value.items()
        }

    @property
    def WEBHOOK_BASE_URL(self) -> str:
        """This site's origin as EverReal reaches it; default: the redirect URI's."""
        value = str(setting_value("EVERREAL_WEBHOOK_BASE_URL"))
        if value:
            return validate_base_url(value, setting="EVERREAL_WEBHOOK_BASE_URL")
        parts = urlsplit(self.REDIRECT_URI)
        if not parts.scheme or not parts.netloc:
            raise ImproperlyConfigured(
                "EVERREAL_WEBHOOK_BASE_URL is not set and SOCIAL_AUTH_EVERREAL_REDIRECT_URI "
                "names no origin: set the origin EverReal delivers webhooks to."
            )
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def WEBHOOK_MAX_BODY(self) -> int:
        """Bytes a delivery may have; a longer one is refused with 413."""
        return int(setting_value("EVERREAL_WEBHOOK_MAX_BODY"))

    @property
    def WEBHOOK_MAX_ATTEMPTS(self) -> int:
        """Times an event's handlers run before it is marked failed."""
        return max(int(setting_value("EVERREAL_WEBHOOK_MAX_ATTEMPTS")), 1)

    @property
    def WEBHOOK_RETRY_BACKOFF(self) -> float:
        """Seconds before the first retry of a failed event; each further one doubles."""
        return max(float(setting_value("EVERREAL_WEBHOOK_RETRY_BACKOFF")), 0.0)

    @property
    def WEBHOOK_LEASE(self) -> float:
        """Seconds a worker may process an event before it counts as dead and the event runs again."""
        return max(float(setting_value("EVERREAL_WEBHOOK_LEASE")), 1.0)

    @property
    def TOKEN_CACHE(self) -> str:
        """The alias in ``CACHES`` that keeps validated bearer tokens."""
        return str(setting_value("EVERREAL_TOKEN_CACHE"))

    @property
    def TOKEN_CACHE_TIMEOUT(self) -> float:
        """The longest a validated bearer token is believed without asking EverReal again."""
        return max(float(setting_value("EVERREAL_TOKEN_CACHE_TIMEOUT")), 0.0)

    @property
    def TOKEN_NEGATIVE_CACHE_TIMEOUT(self) -> float:
        """How long a refused bearer token stays refused without asking EverReal again."""
        return max(float(setting_value("EVERREAL_TOKEN_NEGATIVE_CACHE_TIMEOUT")), 0.0)

    @property
    def TOKEN_AUDIENCES(self) -> list[str]:
        """Client ids, besides the customer's own, whose tokens the API accepts."""
        value = setting_value("EVERREAL_TOKEN_AUDIENCES")
        return [value] if isinstance(value, str) else [str(v) for v in value]

    @property
    def TOKEN_CREATE_USERS(self) -> bool:
        """Whether a bearer token of an EverReal user unknown here creates a Django user."""
        return bool(setting_value("EVERREAL_TOKEN_CREATE_USERS"))

    @property
    def TOKEN_CUSTOMER_HEADER(self) -> str:
        """The request header naming the customer of a bearer token (its subdomain)."""
        return str(setting_value("EVERREAL_TOKEN_CUSTOMER_HEADER"))

    @property
    def TOKEN_LOCK_WAIT(self) -> float:
        """Seconds a request waits for another one validating the same new token."""
        return max(float(setting_value("EVERREAL_TOKEN_LOCK_WAIT")), 0.0)

    @property
    def origin(self) -> str:
        """EverReal's origin, e.g. ``https://acme.everreal.co``.

        ``SOCIAL_AUTH_EVERREAL_BASE_URL`` wins over the subdomain, so the fake
        EverReal or a staging server can stand in.
        """
        if self.BASE_URL:
            return validate_base_url(self.BASE_URL)
        subdomain = self.SUBDOMAIN
        if not SUBDOMAIN_RE.match(subdomain):
            raise ImproperlyConfigured(
                "SOCIAL_AUTH_EVERREAL_SUBDOMAIN must be your EverReal subdomain, "
                f"one DNS label such as 'acme' for acme.everreal.co; got {subdomain!r}."
            )
        return f"https://{subdomain.lower()}.everreal.co"


def validate_base_url(
    value: str, setting: str = "SOCIAL_AUTH_EVERREAL_BASE_URL"
) -> str:
    """Return the origin of *value*, or raise ``ImproperlyConfigured`` naming *setting*."""
    parts = urlsplit(value)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.path.strip("/")
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ImproperlyConfigured(
            f"{setting} must be an origin such as "
            f"'https://staging.example.com' or 'http://127.0.0.1:8001'; got {value!r}."
        )
    return f"{parts.scheme}://{parts.netloc}"


conf = Settings()
