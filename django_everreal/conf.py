"""Typed access to the app's settings, read at use so ``override_settings`` works."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# One DNS label: what may stand before ".everreal.co".
SUBDOMAIN_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)

DEFAULT_SCOPE = ("offline_access", "*")


class Settings:
    @property
    def KEY(self) -> str:
        return str(getattr(settings, "SOCIAL_AUTH_EVERREAL_KEY", "") or "")

    @property
    def SECRET(self) -> str:
        return str(getattr(settings, "SOCIAL_AUTH_EVERREAL_SECRET", "") or "")

    @property
    def SUBDOMAIN(self) -> str:
        return str(getattr(settings, "SOCIAL_AUTH_EVERREAL_SUBDOMAIN", "") or "")

    @property
    def BASE_URL(self) -> str:
        return str(getattr(settings, "SOCIAL_AUTH_EVERREAL_BASE_URL", "") or "")

    @property
    def SCOPE(self) -> list[str]:
        """The scopes requested at login: EverReal's default plus any extra ones."""
        extra = getattr(settings, "SOCIAL_AUTH_EVERREAL_SCOPE", ()) or ()
        if isinstance(extra, str):
            extra = extra.split()
        scopes = list(DEFAULT_SCOPE)
        scopes.extend(scope for scope in extra if scope not in scopes)
        return scopes

    @property
    def REDIRECT_URI(self) -> str:
        """The callback URL registered with EverReal, used verbatim."""
        return str(getattr(settings, "SOCIAL_AUTH_EVERREAL_REDIRECT_URI", "") or "")

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
        return str(
            getattr(settings, "SOCIAL_AUTH_EVERREAL_TOKEN_REQUEST_FORMAT", "json")
        )

    @property
    def SUPERUSER_SCOPES(self) -> frozenset[str]:
        return frozenset(getattr(settings, "EVERREAL_SUPERUSER_SCOPES", ()) or ())

    @property
    def TOKEN_KEYS(self) -> list[str]:
        return list(getattr(settings, "EVERREAL_TOKEN_KEYS", ()) or ())

    @property
    def SECRET_KEYS(self) -> list[str]:
        """Django's secret key and its fallbacks, current first."""
        return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]

    @property
    def REFRESH_LEEWAY(self) -> int:
        return int(getattr(settings, "EVERREAL_REFRESH_LEEWAY", 60))

    @property
    def TIMEOUT(self) -> float:
        """Seconds one attempt at EverReal may take in all: connect, headers and body."""
        return float(getattr(settings, "EVERREAL_TIMEOUT", 10))

    @property
    def DEADLINE(self) -> float:
        """Seconds one call may take in all: attempts, backoff and waiting for a refresh.

        Keep it below the web server's worker timeout (gunicorn: 30 s).
        """
        return float(getattr(settings, "EVERREAL_DEADLINE", 20))

    @property
    def REFRESH_COOLDOWN(self) -> float:
        """Seconds after a failed refresh during which callers fail fast instead of retrying."""
        return max(float(getattr(settings, "EVERREAL_REFRESH_COOLDOWN", 5)), 0.0)

    @property
    def RETRIES(self) -> int:
        """Extra attempts of an idempotent API call after a network error or 502/503/504."""
        return max(int(getattr(settings, "EVERREAL_RETRIES", 2)), 0)

    @property
    def RETRY_BACKOFF(self) -> float:
        """Seconds before the first retry; each further retry waits twice as long."""
        return max(float(getattr(settings, "EVERREAL_RETRY_BACKOFF", 0.5)), 0.0)

    @property
    def MAX_RATE_LIMIT_WAIT(self) -> float:
        """The longest wait for EverReal's rate limit before giving up with an error."""
        return max(float(getattr(settings, "EVERREAL_MAX_RATE_LIMIT_WAIT", 10)), 0.0)

    @property
    def WEBHOOKS(self) -> dict[str, list[str]]:
        """Event types to register, by the name of the service account that registers them."""
        value = getattr(settings, "EVERREAL_WEBHOOKS", {}) or {}
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
        value = str(getattr(settings, "EVERREAL_WEBHOOK_BASE_URL", "") or "")
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
        return int(getattr(settings, "EVERREAL_WEBHOOK_MAX_BODY", 1024 * 1024))

    @property
    def WEBHOOK_MAX_ATTEMPTS(self) -> int:
        """Times an event's handlers run before it is marked failed."""
        return max(int(getattr(settings, "EVERREAL_WEBHOOK_MAX_ATTEMPTS", 5)), 1)

    @property
    def WEBHOOK_RETRY_BACKOFF(self) -> float:
        """Seconds before the first retry of a failed event; each further one doubles."""
        return max(float(getattr(settings, "EVERREAL_WEBHOOK_RETRY_BACKOFF", 30)), 0.0)

    @property
    def WEBHOOK_LEASE(self) -> float:
        """Seconds a worker may process an event before it counts as dead and the event runs again."""
        return max(float(getattr(settings, "EVERREAL_WEBHOOK_LEASE", 600)), 1.0)

    @property
    def TOKEN_CACHE(self) -> str:
        """The alias in ``CACHES`` that keeps validated bearer tokens."""
        return str(getattr(settings, "EVERREAL_TOKEN_CACHE", "default"))

    @property
    def TOKEN_CACHE_TIMEOUT(self) -> float:
        """The longest a validated bearer token is believed without asking EverReal again."""
        return max(float(getattr(settings, "EVERREAL_TOKEN_CACHE_TIMEOUT", 300)), 0.0)

    @property
    def TOKEN_NEGATIVE_CACHE_TIMEOUT(self) -> float:
        """How long a refused bearer token stays refused without asking EverReal again."""
        return max(
            float(getattr(settings, "EVERREAL_TOKEN_NEGATIVE_CACHE_TIMEOUT", 30)), 0.0
        )

    @property
    def TOKEN_AUDIENCES(self) -> list[str]:
        """Client ids, besides the customer's own, whose tokens the API accepts."""
        value = getattr(settings, "EVERREAL_TOKEN_AUDIENCES", ()) or ()
        return [value] if isinstance(value, str) else [str(v) for v in value]

    @property
    def TOKEN_CREATE_USERS(self) -> bool:
        """Whether a bearer token of an EverReal user unknown here creates a Django user."""
        return bool(getattr(settings, "EVERREAL_TOKEN_CREATE_USERS", True))

    @property
    def TOKEN_CUSTOMER_HEADER(self) -> str:
        """The request header naming the customer of a bearer token (its subdomain)."""
        return str(
            getattr(settings, "EVERREAL_TOKEN_CUSTOMER_HEADER", "X-EverReal-Customer")
        )

    @property
    def TOKEN_LOCK_WAIT(self) -> float:
        """Seconds a request waits for another one validating the same new token."""
        return max(float(getattr(settings, "EVERREAL_TOKEN_LOCK_WAIT", 5)), 0.0)

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
