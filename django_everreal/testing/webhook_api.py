"""EverReal's webhook registration API in the fake, and the registry behind it.

``GET``/``POST /api/external-integrations/webhooks`` and ``DELETE
…/webhooks/<id>`` register one event type and URL per record, scoped to the
caller's current company, and answer a registration with the new id as a
bare UUID in ``Location``; a deletion is soft (``deletedAt``). The
functions below work on a ``FakeState``, so ``FakeEverReal`` and the views
share one implementation.
"""

from __future__ import annotations

import uuid
from typing import Any

from django_everreal.testing.data import FakeUser
from django_everreal.testing.data import webhook_sample
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.routes import WEBHOOKS_PATH
from django_everreal.testing.state import FakeState
from django_everreal.testing.tokens import TokenRecord
from django_everreal.testing.webhook_model import MAX_TYPE_LENGTH
from django_everreal.testing.webhook_model import FakeWebhook
from django_everreal.testing.webhook_model import WebhookDelivery
from django_everreal.testing.webhook_model import copy_data
from django_everreal.testing.webhook_model import envelope
from django_everreal.testing.webhook_model import is_http_url
from django_everreal.testing.webhook_model import iso_timestamp


def add_webhook(
    state: FakeState, event_type: str, url: str, user: FakeUser | str
) -> FakeWebhook:
    """Register a webhook as *user* (a user or an email) would."""
    if not is_http_url(url):
        raise ValueError(f"Not an http(s) URL: {url!r}.")
    with state.lock:
        owner = state.user(user) if isinstance(user, str) else user
        now = iso_timestamp(state.now())
        webhook = FakeWebhook(
            id=str(uuid.uuid4()),
            type=event_type,
            url=url,
            partner_id=owner.partner.id if owner.partner else None,
            company_id=owner.current_company_id,
            connected_by_user_id=owner.id,
            created_at=now,
            updated_at=now,
        )
        state.webhooks.append(webhook)
    return webhook


def live_webhooks(state: FakeState, event_type: str | None = None) -> list[FakeWebhook]:
    """Registrations not deleted, oldest first; only those of *event_type* if given."""
    with state.lock:
        return [
            webhook
            for webhook in state.webhooks
            if webhook.is_live and (event_type is None or webhook.type == event_type)
        ]


def webhook_deliveries(
    state: FakeState, event_type: str, data: Any = None, subdomain: str | None = None
) -> list[WebhookDelivery]:
    """The envelopes of one event, one per live registration of its type.

    *data* defaults to a sample of the type's payload (``webhook_sample``).
    """
    payload = webhook_sample(event_type) if data is None else data
    created_at = iso_timestamp(state.now())
    subdomain = subdomain or state.subdomain
    return [
        WebhookDelivery(
            webhook.url,
            envelope(
                event_type,
                copy_data(payload),
                subdomain=subdomain,
                created_at=created_at,
            ),
        )
        for webhook in live_webhooks(state, event_type)
    ]


def error_response(status: int, message: str, code: str) -> FakeResponse:
    """EverReal's error shape where its docs show one: ``{"code", "statusCode"}``."""
    return json_response(
        status, {"code": code, "statusCode": status, "message": message}
    )


class WebhookApi:
    """The management API's views; called by ``Api.handle`` with the bearer's user."""

    def __init__(self, state: FakeState) -> None:
        self.state = state

    @staticmethod
    def item_id(path: str) -> str | None:
        """The id in ``…/webhooks/<id>``; ``None`` for the collection."""
        rest = path.rstrip("/")[len(WEBHOOKS_PATH) :]
        return rest[1:] if rest.startswith("/") else None

    def methods(self, request: FakeRequest) -> tuple[str, ...]:
        return ("DELETE",) if self.item_id(request.path) else ("GET", "POST")

    def view(
        self, request: FakeRequest, record: TokenRecord, user: FakeUser
    ) -> FakeResponse:
        webhook_id = self.item_id(request.path)
        if webhook_id is not None:
            return self.delete(webhook_id, user)
        if request.method == "POST":
            return self.register(request, user)
        return self.list(user)

    def list(self, user: FakeUser) -> FakeResponse:
        with self.state.lock:
            records = [
                webhook.as_json()
                for webhook in self.state.webhooks
                if webhook.is_live and webhook.company_id == user.current_company_id
            ]
        return json_response(200, records)

    def register(self, request: FakeRequest, user: FakeUser) -> FakeResponse:
        body = (
            request.parsed_body()
            if request.content_type == "application/json"
            else None
        )
        if body is None:
            return error_response(400, "POST a JSON object {type, url}.", "bad_request")
        event_type, url = body.get("type"), body.get("url")
        if (
            not isinstance(event_type, str)
            or not event_type.strip()
            or len(event_type) > MAX_TYPE_LENGTH
        ):
            return error_response(400, "type must be an event type.", "bad_request")
        if not is_http_url(url):
            return error_response(400, "url must be an http(s) URL.", "bad_request")
        webhook = add_webhook(self.state, event_type.strip(), url, user)
        return FakeResponse(200, [("Location", webhook.id)])

    def delete(self, webhook_id: str, user: FakeUser) -> FakeResponse:
        with self.state.lock:
            for webhook in self.state.webhooks:
                if (
                    webhook.id == webhook_id
                    and webhook.is_live
                    and webhook.company_id == user.current_company_id
                ):
                    now = iso_timestamp(self.state.now())
                    webhook.deleted_at = webhook.updated_at = now
                    return FakeResponse(200)
        return error_response(404, "No such webhook.", "not_found")
