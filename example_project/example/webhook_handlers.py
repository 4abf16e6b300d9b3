"""The example's EverReal webhook handler: it runs in the background worker.

``manage.py everreal_webhooks worker`` processes each delivery and sends
``webhook_received``; this handler only logs what EverReal said. A real one
would re-fetch the listing through ``event.everreal`` before trusting it.
"""

from __future__ import annotations

import logging
from typing import Any

from django_everreal.models import WebhookEvent
from django_everreal.webhooks import webhook_handler

logger = logging.getLogger("example")


@webhook_handler("LISTING_PUBLISHED_TO_CHANNEL")
def listing_published(sender: str, event: WebhookEvent, **kwargs: Any) -> None:
    data = event.data if isinstance(event.data, dict) else {}
    logger.info(
        "EverReal published listing %s to %s (delivery %s).",
        data.get("listingId") or data.get("id") or "?",
        data.get("channel") or "a channel",
        event.uuid,
    )
