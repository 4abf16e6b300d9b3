"""EverReal's wire format: the small rules every caller of EverReal shares."""

from __future__ import annotations

import time
from typing import Any

import jwt
from django.utils import translation

from django_everreal.exceptions import InvalidUserInfo

# EverReal reads full locales; Django's bare language codes get their usual region.
DEFAULT_REGIONS = {
    "de": "de-DE",
    "en": "en-US",
    "fr": "fr-FR",
    "it": "it-IT",
    "es": "es-ES",
}


def everreal_language(language: str | None = None) -> str:
    """The active Django language as EverReal's locale, e.g. ``de`` -> ``de-DE``."""
    code = (language or translation.get_language() or "en").replace("_", "-")
    base, _, region = code.partition("-")
    if region:
        return f"{base.lower()}-{region.upper()}"
    return DEFAULT_REGIONS.get(base.lower(), base.lower())


def language_cookie(language: str | None = None) -> dict[str, str]:
    """EverReal takes the language from a cookie, as its docs send it."""
    return {"Cookie": f"accept-language={everreal_language(language)}"}


def parse_expires_in(value: Any) -> int | None:
    """``expires_in`` as seconds; EverReal sends a number or a numeric string."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return max(seconds, 0)


def token_request_kwargs(payload: dict[str, str], body_format: str) -> dict[str, Any]:
    """``requests`` keyword arguments sending *payload* as JSON or as a form."""
    if body_format == "form":
        return {"data": payload, "headers": {"Accept": "application/json"}}
    return {"json": payload, "headers": {"Accept": "application/json"}}


def seconds_until_expiry(token: str) -> int | None:
    """The lifetime left in a JWT's ``exp``, for responses without ``expires_in``.

    Only the expiry is read; the signature is EverReal's business (it
    publishes no keys) and the token is never trusted for anything else.
    """
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    return max(int(exp - time.time()), 0)


def retry_after(response: Any) -> float | None:
    """Seconds EverReal asks to wait: ``Retry-After`` or ``X-RateLimit-Reset``."""
    for header in ("Retry-After", "X-RateLimit-Reset"):
        value = response.headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value)
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None


def text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def validate_userinfo(payload: object, backend: Any = None) -> None:
    """Refuse anything but an object with an ``id``, before it reaches the pipeline."""
    everreal_id = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(everreal_id, bool) or not isinstance(everreal_id, (str, int)):
        raise InvalidUserInfo(
            backend,
            "EverReal's userinfo response is not an object with an 'id'.",
            stage="user_info",
        )
    if not str(everreal_id).strip() or len(str(everreal_id)) > 64:
        raise InvalidUserInfo(
            backend,
            "EverReal's userinfo response has an invalid 'id'.",
            stage="user_info",
        )
