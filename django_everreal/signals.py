"""Signals: hook into the app without subclassing it.

``account_synced(sender=Account, account, payload, created)``
    after an account was updated from EverReal's userinfo (login or re-sync).
"""

from __future__ import annotations

from django.dispatch import Signal

account_synced = Signal()
