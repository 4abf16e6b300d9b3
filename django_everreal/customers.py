"""Which EverReal customer a login, an account or a call belongs to.

The customer configured in settings (``SOCIAL_AUTH_EVERREAL_*``) is the
zero-step configuration; each further customer is a ``Customer`` row. A row
names its customer by key: its subdomain, or ``""`` for the settings' one.
"""

from __future__ import annotations

from django_everreal.conf import conf
from django_everreal.exceptions import UnknownCustomer
from django_everreal.models import SETTINGS_CUSTOMER
from django_everreal.models import Customer


def settings_customer_configured() -> bool:
    """Whether settings name a customer at all: a site may use the registry alone."""
    return bool(conf.KEY)


def get_customer(key: str | None = None) -> Customer:
    """The enabled customer *key* names; ``UnknownCustomer`` when there is none.

    ``None`` or ``""`` is the customer in settings, and so is the subdomain
    of ``SOCIAL_AUTH_EVERREAL_SUBDOMAIN``. Any other key is looked up in the
    registry, case-insensitively, as DNS names are.
    """
    key = (key or SETTINGS_CUSTOMER).strip().lower()
    if key == SETTINGS_CUSTOMER or (
        conf.SUBDOMAIN and key == conf.SUBDOMAIN.lower() and conf.KEY
    ):
        if not settings_customer_configured():
            raise UnknownCustomer(
                "No EverReal customer is configured in settings "
                "(SOCIAL_AUTH_EVERREAL_KEY); name one with ?subdomain=."
            )
        return Customer.from_settings()
    try:
        return Customer._default_manager.get(subdomain=key, enabled=True)
    except Customer.DoesNotExist:
        raise UnknownCustomer(
            f"No enabled EverReal customer has the subdomain {key[:63]!r}."
        ) from None


def customer_of(holder: object) -> Customer:
    """The enabled customer of an account, service account or any row with ``customer``."""
    return get_customer(getattr(holder, "customer", SETTINGS_CUSTOMER))
