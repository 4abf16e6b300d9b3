"""Webhook registrations and delivery envelopes, as EverReal shapes them.

Plain data and pure helpers, shared by the registration API
(``webhook_api``), the deliveries (``webhook_delivery``) and the state.
EverReal signs nothing, so a receiver's URL carries its secret in the path:
only ``url_origin`` of it may be logged.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import TypeGuard
from urllib.parse import urlsplit

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


def copy_data(data: Any) -> Any:
    """Each envelope its own ``data``, so a receiver that changes one changes no other."""
    return copy.deepcopy(data)
