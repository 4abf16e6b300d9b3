"""System checks: a misconfiguration is reported at start-up, not at first login."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from django_everreal.conf import conf


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    missing = [
        name
        for name, value in (
            ("SOCIAL_AUTH_EVERREAL_KEY", conf.KEY),
            ("SOCIAL_AUTH_EVERREAL_SECRET", conf.SECRET),
        )
        if not value
    ]
    if missing:
        errors.append(
            checks.Error(
                f"EverReal client credentials are missing: {', '.join(missing)}.",
                hint="Set the client id and secret EverReal issued for this site.",
                id="everreal.E001",
            )
        )
    if conf.BASE_URL:
        try:
            conf.origin
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    str(exc),
                    hint="Give scheme, host and port only, without a path.",
                    id="everreal.E003",
                )
            )
    else:
        try:
            conf.origin
        except ImproperlyConfigured as exc:
            errors.append(
                checks.Error(
                    str(exc),
                    hint=(
                        "Set SOCIAL_AUTH_EVERREAL_SUBDOMAIN to the part before "
                        "'.everreal.co', or SOCIAL_AUTH_EVERREAL_BASE_URL to a full origin."
                    ),
                    id="everreal.E002",
                )
            )
    return errors
