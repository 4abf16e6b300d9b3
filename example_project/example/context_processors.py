"""The EverReal customers a visitor may log in at, for the login form."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext

from django_everreal.models import Customer


def everreal_customers(request: HttpRequest) -> dict[str, Any]:
    """``[(subdomain, label), ...]``: the settings' customer first (subdomain ``""``).

    Only when the registry holds some: a single-customer site shows no choice.
    """
    registered = list(
        Customer.objects.filter(enabled=True).values_list("subdomain", "name")
    )
    if not registered:
        return {"everreal_customers": []}
    return {
        "everreal_customers": [
            ("", gettext("Demo Hausverwaltung")),
            *((subdomain, name or subdomain) for subdomain, name in registered),
        ]
    }
