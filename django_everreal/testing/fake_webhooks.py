"""Webhook helpers of ``FakeEverReal``, as a mixin.

The registrations live in the ``FakeState``; ``webhook_api`` works on
them for the API and for these helpers alike.
"""

from __future__ import annotations

from typing import Any

from django_everreal.testing import webhook_api
from django_everreal.testing.data import FakeUser
from django_everreal.testing.state import FakeState
from django_everreal.testing.webhook_delivery import post_delivery
from django_everreal.testing.webhook_model import DELIVERY_TIMEOUT
from django_everreal.testing.webhook_model import FakeWebhook
from django_everreal.testing.webhook_model import WebhookDelivery


class WebhookHelpers:
    """Register, list, build and send webhook events without a request."""

    state: FakeState

    @property
    def subdomain(self) -> str:
        """The customer's subdomain in deliveries: set, or read off ``base_url`` or the users."""
        return self.state.subdomain

    @subdomain.setter
    def subdomain(self, value: str | None) -> None:
        self.state.subdomain_override = value

    def add_webhook(
        self, event_type: str, url: str, *, user: FakeUser | str = "anna@example.com"
    ) -> FakeWebhook:
        """Register a webhook as *user* (a user or email) would, without a request.

        For tests that need a registration in place, e.g. someone else's.
        """
        return webhook_api.add_webhook(self.state, event_type, url, user)

    def live_webhooks(self, event_type: str | None = None) -> list[FakeWebhook]:
        """Registrations not deleted, oldest first; only those of *event_type* if given."""
        return webhook_api.live_webhooks(self.state, event_type)

    def webhook_deliveries(
        self, event_type: str, data: Any = None, *, subdomain: str | None = None
    ) -> list[WebhookDelivery]:
        """The envelopes of one event, one per live registration of its type.

        *data* defaults to a sample of the type's payload (``webhook_sample``).
        Nothing is sent: ``deliver`` sends, ``deliver_with_client`` posts
        through Django's test client.
        """
        return webhook_api.webhook_deliveries(self.state, event_type, data, subdomain)

    def deliver(
        self,
        event_type: str,
        data: Any = None,
        *,
        subdomain: str | None = None,
        timeout: float = DELIVERY_TIMEOUT,
    ) -> list[tuple[str, int | None]]:
        """POST the event to each live registration of its type, as EverReal does.

        Returns ``(url, status)`` per registration, the status ``None`` when
        no answer came (refused, timed out). Sent one after the other,
        outside the fake's lock, so a receiver may call the fake back.
        """
        deliveries = self.webhook_deliveries(event_type, data, subdomain=subdomain)
        return [(each.url, post_delivery(each, timeout)) for each in deliveries]
