"""Valid access tokens for accounts and service accounts, refreshed one at a time.

A refresh takes the token row with ``select_for_update()`` and checks again
whether it is still due once it holds the lock, so of many threads,
processes or hosts that find a token due, one refreshes and the others use
its result. Where the database has no row locks (SQLite) a lock per token
row in this process does the same for threads. Waiting for the lock ends by
the caller's deadline, and after a refresh failed for a passing reason the
others fail fast for ``EVERREAL_REFRESH_COOLDOWN`` instead of queueing up to
try again.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from django.db import OperationalError
from django.db import router
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from django_everreal import protocol
from django_everreal.customers import customer_of
from django_everreal.exceptions import EverRealBadResponse
from django_everreal.exceptions import EverRealUnavailable
from django_everreal.exceptions import InvalidTokenResponse
from django_everreal.exceptions import ReauthenticationRequired
from django_everreal.exceptions import RefreshTokenRejected as RefreshTokenRejected
from django_everreal.models import TOKEN_FIELD_NAMES
from django_everreal.models import Customer
from django_everreal.models import TokenFields
from django_everreal.signals import reauthentication_required
from django_everreal.signals import tokens_refreshed
from django_everreal.transport import Deadline

logger = logging.getLogger("django_everreal")

_process_locks: defaultdict[tuple[str, Any], threading.Lock] = defaultdict(
    threading.Lock
)
_process_locks_guard = threading.Lock()


#: EverReal's reason for refusing a grant to a user it has deactivated.
INACTIVE_USER = "heimdall.validation.user.is.inactive"


class TokenStore:
    """Hands out a valid access token for one token holder.

    The holder is an ``Account`` or a ``ServiceAccount`` (any ``TokenFields``
    model); after a refresh it carries the new tokens. The decrypted access
    token is kept in memory while the store lives, never written anywhere.
    """

    def __init__(self, holder: TokenFields, customer: Customer | None = None) -> None:
        self.holder = holder
        self._customer = customer
        self._decrypted: tuple[str, str] | None = None

    @property
    def customer(self) -> Customer:
        """The holder's customer, whose token endpoint refreshes; ``UnknownCustomer`` if gone."""
        if self._customer is None:
            self._customer = customer_of(self.holder)
        return self._customer

    @sensitive_variables()
    def access_token(self, deadline: Deadline | None = None) -> str:
        """The stored access token, refreshed first when it is due.

        When the refresh fails for a passing reason and the token has not
        actually expired yet (it is only within ``EVERREAL_REFRESH_LEEWAY``),
        the token is used as it is.
        """
        if self.holder.reauth_required:
            raise self.reauthentication_error()
        if not self.holder.access_token_due():
            return self._plain_access_token()
        try:
            return self.refresh(deadline=deadline)
        except EverRealUnavailable as exc:
            if self.holder.access_token_expired():
                raise
            logger.warning("EverReal token refresh failed (%s); using the token.", exc)
            return self._plain_access_token()

    def _plain_access_token(self) -> str:
        encrypted = self.holder.encrypted_access_token
        if self._decrypted is None or self._decrypted[0] != encrypted:
            self._decrypted = (encrypted, self.holder.access_token)
        return self._decrypted[1]

    @sensitive_variables()
    def refresh(
        self, rejected: str | None = None, deadline: Deadline | None = None
    ) -> str:
        """Refresh the tokens unless another caller already did; the new access token.

        *rejected* is an access token EverReal just answered 401 to: a refresh
        happens unless the stored token is already a different one. Waiting
        for another caller's refresh, and the refresh itself, end by
        *deadline* (default: ``EVERREAL_DEADLINE`` from now).
        """
        deadline = deadline or Deadline.for_operation()
        model = type(self.holder)
        dead = deactivated = False
        failure: EverRealUnavailable | None = None
        with self._process_lock(deadline), transaction.atomic(using=self._db):
            locked = self._lock_row(deadline)
            now = timezone.now()
            if locked.reauth_required:
                dead = True
            elif self._still_valid(locked, rejected):
                self._adopt(locked)
                return self._plain_access_token()
            elif not locked.has_refresh_token:
                dead = True
            elif cooling_down := locked.refresh_cooling_down(now):
                self._adopt(locked)
                raise EverRealUnavailable(
                    "EverReal's token endpoint failed moments ago; not trying again yet.",
                    retry_after=cooling_down,
                )
            else:
                try:
                    response = self.request_refresh(locked.refresh_token, deadline)
                except RefreshTokenRejected as exc:
                    dead = True
                    deactivated = exc.args == (INACTIVE_USER,)
                except EverRealUnavailable as exc:
                    failure = exc
                    locked.refresh_failed_at = timezone.now()
                else:
                    locked.set_tokens(
                        response["access_token"],
                        response["refresh_token"],
                        response["expires_in"],
                    )
            update_fields = list(TOKEN_FIELD_NAMES)
            if dead:
                locked.reauth_required = True
            if deactivated and hasattr(locked, "is_active"):
                # EverReal says the user is deactivated: their scopes go now.
                locked.is_active = False
                update_fields.append("is_active")
            locked.save(update_fields=update_fields)
        self._adopt(locked)
        if failure is not None:
            raise failure
        if dead:
            reauthentication_required.send(sender=model, holder=locked)
            raise self.reauthentication_error()
        tokens_refreshed.send(sender=model, holder=locked)
        return self._plain_access_token()

    @property
    def _db(self) -> str:
        return router.db_for_write(type(self.holder))

    def _lock_row(self, deadline: Deadline) -> TokenFields:
        """The holder's row, locked; waiting for another refresh ends by *deadline*."""
        model = type(self.holder)
        connection = transaction.get_connection(self._db)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true)",
                    [f"{max(1, int(deadline.remaining() * 1000))}ms"],
                )
        elif connection.vendor == "mysql":
            # MySQL and MariaDB wait in whole seconds, one at least; the
            # session's own setting comes back once the row is locked.
            with connection.cursor() as cursor:
                cursor.execute(
                    "SET @everreal_lock_wait = @@SESSION.innodb_lock_wait_timeout,"
                    " SESSION innodb_lock_wait_timeout = %s",
                    [max(1, int(deadline.remaining()))],
                )
        try:
            return model._default_manager.select_for_update().get(pk=self.holder.pk)
        except OperationalError as exc:
            raise EverRealUnavailable(
                "Another refresh of this EverReal token is still running."
            ) from exc
        finally:
            if connection.vendor == "mysql":
                try:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SET SESSION innodb_lock_wait_timeout = @everreal_lock_wait"
                        )
                except OperationalError:
                    pass  # a lost connection: nothing left to restore

    @staticmethod
    def _still_valid(locked: TokenFields, rejected: str | None) -> bool:
        if rejected is None:
            return not locked.access_token_due()
        return bool(locked.encrypted_access_token) and locked.access_token != rejected

    def _adopt(self, locked: TokenFields) -> None:
        for name in TOKEN_FIELD_NAMES:
            setattr(self.holder, name, getattr(locked, name))

    @contextmanager
    def _process_lock(self, deadline: Deadline) -> Iterator[None]:
        """Where the database has no row locks, threads of this process take turns."""
        connection = transaction.get_connection(self._db)
        if connection.features.has_select_for_update:
            yield
            return
        model = type(self.holder)
        with _process_locks_guard:
            lock = _process_locks[(model._meta.label, self.holder.pk)]
        if not lock.acquire(timeout=max(0.0, deadline.remaining())):
            raise EverRealUnavailable(
                "Another refresh of this EverReal token is still running."
            )
        try:
            yield
        finally:
            lock.release()

    @sensitive_variables()
    def request_refresh(
        self, refresh_token: str, deadline: Deadline | None = None
    ) -> dict[str, Any]:
        """One refresh-token grant at the holder's customer's token endpoint.

        Raises ``RefreshTokenRejected`` when the refresh token is dead
        (``invalid_grant``, or any 401) and ``EverRealUnavailable`` for
        everything that may pass (network, timeout, 429, 5xx, a garbled
        answer).
        """
        try:
            return protocol.request_tokens(
                self.customer,
                {"grant_type": "refresh_token", "refresh_token": refresh_token},
                deadline or Deadline.for_operation(),
            )
        except requests.RequestException as exc:
            raise EverRealUnavailable(
                f"EverReal's token endpoint could not be reached ({type(exc).__name__})."
            ) from None
        except protocol.TokenRefused as exc:
            if exc.error.grant_rejected:
                raise RefreshTokenRejected(
                    exc.error.description or exc.error.error
                ) from None
            raise EverRealUnavailable(
                "EverReal refused to refresh the token "
                f"(HTTP {exc.error.status} {exc.error.error}).".replace(" )", ")"),
                retry_after=exc.error.retry_after,
            ) from None
        except InvalidTokenResponse as exc:
            # Passing, as far as this app can tell: the stored tokens stay.
            raise EverRealBadResponse(exc.detail, status=200) from None

    def reauthentication_error(self) -> ReauthenticationRequired:
        return ReauthenticationRequired.for_holder(self.holder)
