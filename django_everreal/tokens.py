"""Valid access tokens for accounts and service accounts, refreshed one at a time.

A refresh takes the token row with ``select_for_update()`` and checks again
whether it is still due once it holds the lock, so of many threads,
processes or hosts that find a token due, one refreshes and the others use
its result. Where the database has no row locks (SQLite) a lock per token
row in this process does the same for threads.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import AbstractContextManager
from contextlib import nullcontext
from typing import Any

import requests
from django.db import router
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from django_everreal import protocol
from django_everreal.backends import TOKEN_PATH
from django_everreal.conf import conf
from django_everreal.exceptions import EverRealUnavailable
from django_everreal.exceptions import ReauthenticationRequired
from django_everreal.models import TOKEN_FIELD_NAMES
from django_everreal.models import TokenFields
from django_everreal.signals import reauthentication_required
from django_everreal.signals import tokens_refreshed

_process_locks: defaultdict[tuple[str, Any], threading.Lock] = defaultdict(
    threading.Lock
)
_process_locks_guard = threading.Lock()


class RefreshTokenRejected(Exception):
    """EverReal refused the refresh token: it is dead, only a new login helps."""


class TokenStore:
    """Hands out a valid access token for one token holder.

    The holder is an ``Account`` or a ``ServiceAccount`` (any ``TokenFields``
    model); after a refresh it carries the new tokens.
    """

    def __init__(self, holder: TokenFields) -> None:
        self.holder = holder

    @sensitive_variables()
    def access_token(self) -> str:
        """The stored access token, refreshed first when it is due."""
        if self.holder.reauth_required:
            raise self.reauthentication_error()
        if not self.holder.access_token_due():
            return self.holder.access_token
        return self.refresh()

    @sensitive_variables()
    def refresh(self, rejected: str | None = None) -> str:
        """Refresh the tokens unless another caller already did; the new access token.

        *rejected* is an access token EverReal just answered 401 to: a refresh
        happens unless the stored token is already a different one.
        """
        model = type(self.holder)
        dead = False
        with self._process_lock(), transaction.atomic(using=router.db_for_write(model)):
            locked = model._default_manager.select_for_update().get(pk=self.holder.pk)
            if locked.reauth_required:
                dead = True
            elif self._still_valid(locked, rejected):
                self._adopt(locked)
                return locked.access_token
            elif not locked.has_refresh_token:
                dead = True
            else:
                try:
                    response = self.request_refresh(locked.refresh_token)
                except RefreshTokenRejected:
                    dead = True
                else:
                    locked.set_tokens(
                        str(response["access_token"]),
                        response.get("refresh_token") or None,
                        protocol.parse_expires_in(response.get("expires_in")),
                    )
            if dead:
                locked.reauth_required = True
            locked.save(update_fields=TOKEN_FIELD_NAMES)
        self._adopt(locked)
        if dead:
            reauthentication_required.send(sender=model, holder=locked)
            raise self.reauthentication_error()
        tokens_refreshed.send(sender=model, holder=locked)
        return locked.access_token

    @staticmethod
    def _still_valid(locked: TokenFields, rejected: str | None) -> bool:
        if rejected is None:
            return not locked.access_token_due()
        return bool(locked.encrypted_access_token) and locked.access_token != rejected

    def _adopt(self, locked: TokenFields) -> None:
        for name in TOKEN_FIELD_NAMES:
            setattr(self.holder, name, getattr(locked, name))

    def _process_lock(self) -> AbstractContextManager[Any]:
        model = type(self.holder)
        connection = transaction.get_connection(router.db_for_write(model))
        if connection.features.has_select_for_update:
            return nullcontext()
        with _process_locks_guard:
            return _process_locks[(model._meta.label, self.holder.pk)]

    @sensitive_variables()
    def request_refresh(self, refresh_token: str) -> dict[str, Any]:
        """One refresh-token grant against EverReal's token endpoint.

        Raises ``RefreshTokenRejected`` when the refresh token is dead
        (``invalid_grant``, or any 401) and ``EverRealUnavailable`` for
        everything that may pass (network, 429, 5xx, a garbled answer).
        """
        payload = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": conf.KEY,
            "client_secret": conf.SECRET,
        }
        try:
            response = requests.post(
                conf.origin + TOKEN_PATH,
                timeout=conf.TIMEOUT,
                **protocol.token_request_kwargs(payload, conf.TOKEN_REQUEST_FORMAT),
            )
        except requests.RequestException as exc:
            raise EverRealUnavailable(
                f"EverReal's token endpoint could not be reached ({type(exc).__name__})."
            ) from None
        body = _json_object(response)
        if response.status_code == 401 or body.get("error") == "invalid_grant":
            raise RefreshTokenRejected(
                body.get("error_description") or body.get("error")
            )
        if response.status_code != 200 or not isinstance(body.get("access_token"), str):
            raise EverRealUnavailable(
                "EverReal refused to refresh the token "
                f"(HTTP {response.status_code} {body.get('error') or ''}).".replace(
                    " )", ")"
                ),
                retry_after=protocol.retry_after(response),
            )
        return body

    def reauthentication_error(self) -> ReauthenticationRequired:
        return ReauthenticationRequired.for_holder(self.holder)


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
