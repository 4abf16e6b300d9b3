"""Webhooks in the fake EverReal, under one import path.

The parts live by concern: ``webhook_model`` (registrations, envelopes),
``webhook_api`` (EverReal's registration API) and ``webhook_delivery``
(sending events to the site). This module names them all, as before the
split, for tests and integrators that import from here.
"""

from __future__ import annotations

from django_everreal.testing.routes import CONTROL_PATH
from django_everreal.testing.routes import WEBHOOKS_PATH
from django_everreal.testing.webhook_api import WebhookApi
from django_everreal.testing.webhook_api import error_response
from django_everreal.testing.webhook_delivery import EverRealWebhooks
from django_everreal.testing.webhook_delivery import WebhookSource
from django_everreal.testing.webhook_delivery import control_deliver
from django_everreal.testing.webhook_delivery import deliver_with_client
from django_everreal.testing.webhook_delivery import is_loopback
from django_everreal.testing.webhook_delivery import post_delivery
from django_everreal.testing.webhook_model import DELIVERY_LANGUAGE
from django_everreal.testing.webhook_model import DELIVERY_TIMEOUT
from django_everreal.testing.webhook_model import MAX_TYPE_LENGTH
from django_everreal.testing.webhook_model import MAX_URL_LENGTH
from django_everreal.testing.webhook_model import FakeWebhook
from django_everreal.testing.webhook_model import WebhookDelivery
from django_everreal.testing.webhook_model import copy_data
from django_everreal.testing.webhook_model import envelope
from django_everreal.testing.webhook_model import is_http_url
from django_everreal.testing.webhook_model import iso_timestamp
from django_everreal.testing.webhook_model import url_origin

__all__ = [
    "CONTROL_PATH",
    "DELIVERY_LANGUAGE",
    "DELIVERY_TIMEOUT",
    "MAX_TYPE_LENGTH",
    "MAX_URL_LENGTH",
    "WEBHOOKS_PATH",
    "EverRealWebhooks",
    "FakeWebhook",
    "WebhookApi",
    "WebhookDelivery",
    "WebhookSource",
    "control_deliver",
    "copy_data",
    "deliver_with_client",
    "envelope",
    "error_response",
    "is_http_url",
    "is_loopback",
    "iso_timestamp",
    "post_delivery",
    "url_origin",
]
