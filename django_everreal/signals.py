"""Signals: hook into the app without subclassing it.

``account_synced(sender=Account, account, payload, created)``
    after an account was updated from EverReal's userinfo (login or re-sync).
``tokens_refreshed(sender=Account|ServiceAccount, holder)``
    after a refresh stored new tokens.
``reauthentication_required(sender=Account|ServiceAccount, holder)``
    when EverReal refused the refresh token and the holder was marked
    ``reauth_required``: time to tell the user, or the operator of a service
    account.
``webhook_received(sender=<event type>, event)``
    in the background, once per delivery of EverReal's (``WebhookEvent``);
    ``sender`` is the event type, e.g. ``"LISTING_CREATED"``. A receiver
    that raises has the event processed again later, every receiver anew:
    receivers must be idempotent (EverReal may deliver twice, too).
"""

from __future__ import annotations

from django.dispatch import Signal

account_synced = Signal()
tokens_refreshed = Signal()
reauthentication_required = Signal()
webhook_received = Signal()
