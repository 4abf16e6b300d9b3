"""Webhooks in the fake EverReal: the registration API, and deliveries to the site.

EverReal's management API (``GET``/``POST /api/external-integrations/webhooks``,
``DELETE …/webhooks/<id>``) registers one event type and URL per record,
scoped to the caller's current company, and answers a registration with the
new id as a bare UUID in ``Location``; a deletion is soft (``deletedAt``).

Deliveries are EverReal's envelope ``{uuid, operation, subdomain, language,
createdAt, data}``, POSTed as JSON. EverReal signs nothing, so a receiver's
URL carries its secret in the path: only the URL's origin is ever logged,
and the fake's control endpoint answers statuses, never URLs.

Nothing here imports Django at module level: ``deliver_with_client`` and
``EverRealWebhooks`` import it when called, for tests with Django's client.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeGuard
from typing import cast
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler
from urllib.request import ProxyHandler
from urllib.request import Request
from urllib.request import build_opener

from django_everreal.testing.data import FakeUser
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.tokens import TokenRecord

if TYPE_CHECKING:
    from django.http import HttpResponse
    from django.test import Client

    from django_everreal.testing.fake import FakeEverReal

logger = logging.getLogger("django_everreal.testing")

WEBHOOKS_PATH = "/api/external-integrations/webhooks"
#: The fake server's endpoint that makes the fake deliver (loopback callers only).
CONTROL_PATH = "/_fake/webhooks/deliver"
#: Seconds a delivery waits for the receiver: EverReal's receivers answer fast.
DELIVERY_TIMEOUT = 5.0
#: The envelope's ``language``, as EverReal's samples send it.
DELIVERY_LANGUAGE = "de-DE"
#: Type and URL lengths past which a registration is refused.
MAX_TYPE_LENGTH = 100
MAX_URL_LENGTH = 2000


def iso_timestamp(seconds: float) -> str:
    """``2024-01-01T10:00:00.000Z``: EverReal's timestamps, in UTC with milliseconds."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of *url*: what may be logged of a receiver URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


def is_http_url(value: object) -> TypeGuard[str]:
    """An absolute ``http``/``https`` URL with a host, of a sane length."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        return False
    if any(char.isspace() for char in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@dataclass
class FakeWebhook:
    """One registration, as EverReal's list shows it; ``deleted_at`` once deleted."""

    id: str
    type: str
    url: str
    partner_id: str | None
    company_id: str | None
    connected_by_user_id: str
    created_at: str
    updated_at: str
    deleted_at: str | None = None

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "partnerId": self.partner_id,
            "companyId": self.company_id,
            "connectedByUserId": self.connected_by_user_id,
            "url": self.url,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "deletedAt": self.deleted_at,
        }


@dataclass(frozen=True)
class WebhookDelivery:
    """One envelope and the URL it goes to."""

    url: str
    envelope: dict[str, Any]

    @property
    def body(self) -> bytes:
        return json.dumps(self.envelope).encode("utf-8")

    @property
    def origin(self) -> str:
        return url_origin(self.url)


def envelope(
    event_type: str,
    data: Any,
    *,
    subdomain: str,
    created_at: str,
    language: str = DELIVERY_LANGUAGE,
) -> dict[str, Any]:
    """EverReal's delivery envelope, with a new ``uuid`` (each delivery is its own)."""
    return {
        "uuid": str(uuid.uuid4()),
        "operation": event_type,
        "subdomain": subdomain,
        "language": language,
        "createdAt": created_at,
        "data": data,
    }


def error_response(status: int, message: str, code: str) -> FakeResponse:
    """EverReal's error shape where its docs show one: ``{"code", "statusCode"}``."""
    return json_response(
        status, {"code": code, "statusCode": status, "message": message}
    )


class WebhookApi:
    """The management API's views; called by ``Api.handle`` with the bearer's user."""

    def __init__(self, fake: FakeEverReal) -> None:
        self.fake = fake

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
        with self.fake.lock:
            records = [
                webhook.as_json()
                for webhook in self.fake.webhooks
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
        webhook = self.fake.add_webhook(event_type.strip(), url, user=user)
        return FakeResponse(200, [("Location", webhook.id)])

    def delete(self, webhook_id: str, user: FakeUser) -> FakeResponse:
        with self.fake.lock:
            for webhook in self.fake.webhooks:
                if (
                    webhook.id == webhook_id
                    and webhook.is_live
                    and webhook.company_id == user.current_company_id
                ):
                    now = iso_timestamp(self.fake.clock())
                    webhook.deleted_at = webhook.updated_at = now
                    return FakeResponse(200)
        return error_response(404, "No such webhook.", "not_found")


class _NoRedirects(HTTPRedirectHandler):
    """A redirect is the receiver's answer: EverReal is not known to follow one."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_delivery(
    delivery: WebhookDelivery, timeout: float = DELIVERY_TIMEOUT
) -> int | None:
    """POST one envelope; the receiver's HTTP status, ``None`` when none came."""
    request = Request(  # noqa: S310 -- http(s) only, checked at registration
        delivery.url,
        data=delivery.body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "FakeEverReal"},
    )
    # No proxy from the environment: receivers are usually on this machine.
    opener = build_opener(ProxyHandler({}), _NoRedirects())
    status: int | None
    try:
        with opener.open(request, timeout=timeout) as answer:
            answer.read()
            status = int(answer.status)
    except HTTPError as exc:
        status = exc.code
        exc.close()
    except (OSError, ValueError) as exc:
        logger.warning(
            "Webhook %s to %s: no answer (%s)",
            delivery.envelope.get("operation"),
            delivery.origin,
            type(exc).__name__,
        )
        return None
    logger.info(
        "Webhook %s to %s: HTTP %s",
        delivery.envelope.get("operation"),
        delivery.origin,
        status,
    )
    return status


def is_loopback(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def control_deliver(
    fake: FakeEverReal, request: FakeRequest, client_host: str
) -> FakeResponse:
    """``POST /_fake/webhooks/deliver`` ``{"type", "data"?}``: deliver, answer the statuses.

    Only callers on this machine: anyone who can make the fake deliver can
    feed the site events. The answer names no URL, as each holds a secret.
    """
    if not is_loopback(client_host):
        return json_response(
            403, {"error": "forbidden", "error_description": "loopback only"}
        )
    if request.method != "POST":
        response = json_response(405, {"error": "method_not_allowed"})
        response.headers.append(("Allow", "POST"))
        return response
    parsed = request.parsed_body()
    body = parsed if parsed and request.content_type == "application/json" else {}
    event_type = body.get("type")
    if not isinstance(event_type, str) or not event_type.strip():
        return json_response(
            400,
            {
                "error": "invalid_request",
                "error_description": 'POST {"type": "...", "data": {...}}',
            },
        )
    results = fake.deliver(event_type.strip(), body.get("data"))
    return json_response(
        200, {"delivered": [{"status": status} for _, status in results]}
    )


def deliver_with_client(
    fake: FakeEverReal,
    client: Client,
    event_type: str,
    data: Any = None,
    *,
    subdomain: str | None = None,
) -> list[HttpResponse]:
    """Deliver *event_type* to the site in-process, through Django's test *client*.

    Each live registration's envelope is POSTed to its URL's path (the host
    is the test client's), so a test needs no server: what ``manage.py
    everreal_webhooks sync`` registered at the fake reaches the receiver.
    """
    responses: list[HttpResponse] = []
    for delivery in fake.webhook_deliveries(event_type, data, subdomain=subdomain):
        parts = urlsplit(delivery.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = client.post(
            path,
            data=json.dumps(delivery.envelope),
            content_type="application/json",
        )
        # The test client's response is the view's, with test attributes added.
        responses.append(cast("HttpResponse", answer))
    return responses


class EverRealWebhooks:
    """The ``everreal_webhooks`` fixture: deliveries of the fake to the site under test."""

    def __init__(self, fake: FakeEverReal, client: Client) -> None:
        self.fake = fake
        self.client = client

    def deliver(
        self, event_type: str, data: Any = None, *, subdomain: str | None = None
    ) -> list[HttpResponse]:
        """POST *event_type* (with *data*, or a sample) to each registered receiver."""
        return deliver_with_client(
            self.fake, self.client, event_type, data, subdomain=subdomain
        )

    def deliveries(
        self, event_type: str, data: Any = None, *, subdomain: str | None = None
    ) -> list[WebhookDelivery]:
        """The envelopes ``deliver`` would send, without sending them."""
        return self.fake.webhook_deliveries(event_type, data, subdomain=subdomain)

    @property
    def registrations(self) -> list[FakeWebhook]:
        """The live registrations at the fake."""
        return self.fake.live_webhooks()

    def __repr__(self) -> str:
        return f"<EverRealWebhooks {self.fake.base_url}>"


def copy_data(data: Any) -> Any:
    """Each envelope its own ``data``, so a receiver that changes one changes no other."""
    return copy.deepcopy(data)
