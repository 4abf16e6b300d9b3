"""Webhook deliveries of the fake EverReal to the site under test.

Deliveries are EverReal's envelope ``{uuid, operation, subdomain, language,
createdAt, data}``, POSTed as JSON: over HTTP (``post_delivery``, the fake
server's loopback-only control endpoint) or through Django's test client
(``deliver_with_client``, the ``everreal_webhooks`` fixture). The URLs hold
the receivers' secrets, so only their origins are logged and the control
endpoint answers statuses, never URLs.

Each takes the fake as a ``WebhookSource``, the little it needs, so this
module does not import ``FakeEverReal``. Nothing here imports Django at
module level.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol
from typing import cast
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import HTTPRedirectHandler
from urllib.request import ProxyHandler
from urllib.request import Request
from urllib.request import build_opener

from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.webhook_model import DELIVERY_TIMEOUT
from django_everreal.testing.webhook_model import FakeWebhook
from django_everreal.testing.webhook_model import WebhookDelivery

if TYPE_CHECKING:
    from django.http import HttpResponse
    from django.test import Client

logger = logging.getLogger("django_everreal.testing")


class WebhookSource(Protocol):
    """What deliveries need of a fake (``FakeEverReal`` is one)."""

    base_url: str

    def webhook_deliveries(
        self, event_type: str, data: Any = None, *, subdomain: str | None = None
    ) -> list[WebhookDelivery]: ...

    def deliver(
        self, event_type: str, data: Any = None
    ) -> list[tuple[str, int | None]]: ...

    def live_webhooks(self, event_type: str | None = None) -> list[FakeWebhook]: ...


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
    fake: WebhookSource, request: FakeRequest, client_host: str
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
    fake: WebhookSource,
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

    def __init__(self, fake: WebhookSource, client: Client) -> None:
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
