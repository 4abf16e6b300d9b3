"""EverReal's webhook deliveries: received at a secret URL, stored once, answered fast.

EverReal signs no delivery and documents no retry, ordering or source
address. So each subscription's URL carries a random secret (256 bits; only
its SHA-256 is stored), each delivery is stored once by its ``uuid`` and
acknowledged at once, and handlers run later in the background
(``django_everreal.tasks``), where they should re-fetch what the event
names through the API (``WebhookEvent.everreal``) rather than trust it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any
from typing import TypeVar
from urllib.parse import urlsplit

from django.db import DatabaseError
from django.db import IntegrityError
from django.db import transaction
from django.http import HttpRequest
from django.http import HttpResponse
from django.http import JsonResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from django_everreal import protocol
from django_everreal.conf import conf
from django_everreal.exceptions import InvalidEnvelope as InvalidEnvelope
from django_everreal.models import WebhookEvent
from django_everreal.models import WebhookSubscription
from django_everreal.signals import webhook_received

logger = logging.getLogger("django_everreal")

#: Bytes of randomness in a receiver URL's secret.
TOKEN_BYTES = 32
#: The receiver's URL name, in ``django_everreal.urls``.
URL_NAME = "social:everreal_webhook"
#: A placeholder secret, to find where the secret goes in the receiver's path.
_PLACEHOLDER = "0" * 43

_VISIBLE = re.compile(r"[\x21-\x7e]+")

Handler = TypeVar("Handler", bound=Callable[..., Any])


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def receiver_url(token: str) -> str:
    """The URL EverReal delivers a subscription's events to."""
    return conf.WEBHOOK_BASE_URL + reverse(URL_NAME, args=[token])


def token_in_url(url: object) -> str | None:
    """The secret of a receiver URL of this site's; ``None`` for anyone else's URL."""
    if not isinstance(url, str):
        return None
    prefix, _, suffix = receiver_url(_PLACEHOLDER).partition(_PLACEHOLDER)
    parts = urlsplit(url)
    plain = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if parts.query or not plain.startswith(prefix) or not plain.endswith(suffix):
        return None
    token = plain[len(prefix) : len(plain) - len(suffix)]
    return token if token and "/" not in token else None


def webhook_handler(*event_types: str) -> Callable[[Handler], Handler]:
    """Connect a function to ``webhook_received`` for *event_types* (none: every type).

    ``@webhook_handler("LISTING_PUBLISHED_TO_CHANNEL")`` above
    ``def published(sender, event, **kwargs)``. It runs in the background
    worker; raising has the event processed again later.
    """

    def decorator(function: Handler) -> Handler:
        if not event_types:
            webhook_received.connect(function, weak=False)
        for event_type in event_types:
            webhook_received.connect(
                function, sender=sys.intern(event_type), weak=False
            )
        return function

    return decorator


def parse_envelope(body: object) -> dict[str, Any]:
    """EverReal's envelope (``uuid``, ``operation``, ``subdomain``, ``language``,
    ``createdAt``, ``data``), checked; ``InvalidEnvelope`` naming the bad field.

    Event types this app does not know are kept: EverReal adds them.
    """
    if not isinstance(body, dict):
        raise InvalidEnvelope("body")
    uuid = _word(body.get("uuid"), 64)
    if uuid is None:
        raise InvalidEnvelope("uuid")
    operation = _word(body.get("operation"), 100)
    if operation is None:
        raise InvalidEnvelope("operation")
    subdomain = body.get("subdomain")
    if subdomain is not None and _word(subdomain, 63) is None:
        raise InvalidEnvelope("subdomain")
    language = body.get("language")
    if language is not None and _word(language, 35) is None:
        raise InvalidEnvelope("language")
    created_at = _datetime(body.get("createdAt"))
    if body.get("createdAt") is not None and created_at is None:
        raise InvalidEnvelope("createdAt")
    if "data" not in body:
        raise InvalidEnvelope("data")
    return {
        "uuid": uuid,
        "event_type": operation,
        "subdomain": subdomain or "",
        "language": language or "",
        "created_at": created_at,
        "data": protocol.clean_json(body["data"]),
    }


def _word(value: object, max_length: int) -> str | None:
    """*value* when it is one word of visible ASCII of at most *max_length*."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= max_length and _VISIBLE.fullmatch(value) else None


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return parse_datetime(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _answer(status: int, body: dict[str, Any]) -> HttpResponse:
    response = JsonResponse(body, status=status)
    # The path holds the secret: Django must not log it with a 4xx or 5xx.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@csrf_exempt
def receive(request: HttpRequest, token: str) -> HttpResponse:
    """Store one delivery and acknowledge it; handlers run later.

    404 for an unknown secret (as for any URL that does not exist), 405 for
    anything but POST, 413 past ``EVERREAL_WEBHOOK_MAX_BODY``, 400 for what
    is not EverReal's envelope, 200 for a delivery stored now or before,
    503 when the database fails (so a sender that retries, retries).
    """
    digest = token_hash(token)
    subscription = (
        WebhookSubscription.objects.filter(token_hash=digest)
        .only("pk", "customer", "token_hash")
        .first()
    )
    if subscription is None or not hmac.compare_digest(subscription.token_hash, digest):
        return _answer(404, {"error": "not_found"})
    if request.method != "POST":
        response = _answer(405, {"error": "method_not_allowed"})
        response["Allow"] = "POST"
        return response
    limit = conf.WEBHOOK_MAX_BODY
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return _answer(400, {"error": "invalid_request"})
    if declared > limit:
        return _answer(413, {"error": "too_large", "limit": limit})
    body = request.read(limit + 1)
    if len(body) > limit:
        return _answer(413, {"error": "too_large", "limit": limit})
    try:
        envelope = parse_envelope(json.loads(body))
    except (ValueError, RecursionError) as exc:
        field = str(exc) if isinstance(exc, InvalidEnvelope) else "body"
        return _answer(400, {"error": "invalid_envelope", "field": field})
    try:
        created = _store(subscription, envelope)
    except DatabaseError as exc:
        logger.warning(
            "EverReal webhook not stored: database error (%s)", type(exc).__name__
        )
        response = _answer(503, {"error": "temporarily_unavailable"})
        response["Retry-After"] = "5"
        return response
    return _answer(200, {"status": "received" if created else "duplicate"})


def _store(subscription: WebhookSubscription, envelope: dict[str, Any]) -> bool:
    """Insert the event once and queue its processing, which starts once the insert commits.

    On django-tasks-db's queue in the same database the task is queued in
    the event's own transaction: one commit for both, and neither without
    the other. Any other backend is handed the event after the commit.
    """
    from django_everreal.tasks import enqueue
    from django_everreal.tasks import queues_in_transaction

    together = queues_in_transaction()
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(
                subscription=subscription, customer=subscription.customer, **envelope
            )
            if together:
                enqueue(event.pk)
    except IntegrityError:
        if WebhookEvent.objects.filter(
            customer=subscription.customer, uuid=envelope["uuid"]
        ).exists():
            return False
        raise
    if not together:
        transaction.on_commit(lambda: enqueue(event.pk))
    return True
