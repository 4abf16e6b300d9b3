"""EverReal access tokens as API credentials: ``Authorization: Bearer <token>``.

EverReal publishes no keys, so a token is checked by asking EverReal's
userinfo with it. The answer is kept in Django's cache (``EVERREAL_TOKEN_CACHE``)
under the customer and a SHA-256 of the token (never the token), until the
smaller of ``EVERREAL_TOKEN_CACHE_TIMEOUT`` and the token's own expiry; a
refused token is kept refused for ``EVERREAL_TOKEN_NEGATIVE_CACHE_TIMEOUT``.
Requests that bring the same new token at once make one userinfo call: the
first takes a lock in the cache, the others wait for its answer (at most
``EVERREAL_TOKEN_LOCK_WAIT``), across threads and, with a shared cache such as
Redis, across processes and hosts.

A token passes only when EverReal knows it, it was issued to one of the
accepted clients (``tokenInfo.audience``: the customer's client id, or one of
``EVERREAL_TOKEN_AUDIENCES``), it has not expired, and both the EverReal user
and the linked Django user are active.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.cache import caches
from django.db import transaction
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables
from social_django.models import UserSocialAuth

from django_everreal import protocol
from django_everreal import sync
from django_everreal import transport
from django_everreal.auth import GrantedScopes
from django_everreal.auth import ScopeBackend
from django_everreal.auth import model_permission_codenames
from django_everreal.client import EverRealClient
from django_everreal.conf import conf
from django_everreal.customers import get_customer
from django_everreal.exceptions import EverRealUnavailable
from django_everreal.exceptions import InvalidUserInfo
from django_everreal.exceptions import UnknownCustomer
from django_everreal.models import Account
from django_everreal.models import Customer
from django_everreal.transport import Deadline

logger = logging.getLogger("django_everreal")

#: Cache keys: ``everreal:bearer:<customer>:<sha256 of the token>``.
KEY_PREFIX = "everreal:bearer"
#: How long EverReal being unreachable is remembered, so waiters fail fast.
UNAVAILABLE_TIMEOUT = 2.0
#: How often a request waiting for another one's answer looks again.
POLL_INTERVAL = 0.02


class InvalidBearerToken(Exception):
    """The token does not pass; the message is a reason safe to log (never the token)."""


@dataclass(frozen=True)
class TokenIdentity:
    """Who a valid bearer token stands for, as the cache keeps it."""

    customer: str
    everreal_id: str
    user_id: Any
    scopes: frozenset[str]
    expires_at: float


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header; ``None`` without one.

    ``InvalidBearerToken`` when the header says Bearer but holds no token.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if (
        not token
        or len(token) > protocol.MAX_TOKEN_LENGTH
        or not protocol.TOKEN_PATTERN.fullmatch(token)
    ):
        raise InvalidBearerToken("malformed")
    return token


def customer_of_request(request: HttpRequest) -> Customer:
    """The customer named by ``EVERREAL_TOKEN_CUSTOMER_HEADER``; the settings' one without it."""
    try:
        return get_customer(request.headers.get(conf.TOKEN_CUSTOMER_HEADER) or None)
    except UnknownCustomer:
        raise InvalidBearerToken("unknown customer") from None


def cache_key(customer: str, token: str) -> str:
    return f"{KEY_PREFIX}:{customer}:{hashlib.sha256(token.encode()).hexdigest()}"


@sensitive_variables("token")
def authenticate(
    request: HttpRequest, token: str
) -> tuple[AbstractBaseUser, TokenIdentity]:
    """The Django user *token* stands for, with the token's scopes as their permissions.

    Sets ``request.everreal`` to a client that calls EverReal with the token
    itself. Raises ``InvalidBearerToken`` (401) or ``EverRealUnavailable`` (503).
    """
    customer = customer_of_request(request)
    key = cache_key(customer.key, token)
    entry = caches[conf.TOKEN_CACHE].get(key)
    if entry is None:
        entry = _ask_once(customer, token, key)
    if entry.get("unavailable"):
        raise EverRealUnavailable("EverReal could not check the token just now.")
    if not entry.get("ok"):
        raise InvalidBearerToken(str(entry.get("reason", "refused")))
    if entry["expires_at"] <= time.time():
        raise InvalidBearerToken("expired")
    identity = TokenIdentity(
        customer=customer.key,
        everreal_id=entry["everreal_id"],
        user_id=entry["user_id"],
        scopes=frozenset(entry["scopes"]),
        expires_at=entry["expires_at"],
    )
    user_model = get_user_model()
    try:
        user = user_model._default_manager.get(pk=identity.user_id)
    except user_model.DoesNotExist:
        raise InvalidBearerToken("user deleted") from None
    if not user.is_active:
        raise InvalidBearerToken("user inactive")
    # The token's scopes are the request's permissions, as ScopeBackend grants them.
    scopes = identity.scopes - model_permission_codenames()
    setattr(
        user,
        ScopeBackend.cache_attribute,
        GrantedScopes(
            scopes,
            everything=bool(scopes & conf.SUPERUSER_SCOPES),
            customer=customer.key,
        ),
    )
    holder = Account(user=user, customer=customer.key, everreal_id=identity.everreal_id)
    request.everreal = EverRealClient.with_app_token(holder, token, customer)  # type: ignore[attr-defined]
    return user, identity


@sensitive_variables("token")
def _ask_once(customer: Customer, token: str, key: str) -> dict[str, Any]:
    """EverReal's verdict on *token*, asked by one request while the others wait."""
    cache = caches[conf.TOKEN_CACHE]
    lock = f"{key}:lock"
    owner = secrets.token_hex(8)
    if not cache.add(lock, owner, timeout=conf.TOKEN_LOCK_WAIT + conf.DEADLINE):
        deadline = time.monotonic() + conf.TOKEN_LOCK_WAIT
        while time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
            entry = cache.get(key)
            if entry is not None:
                return dict(entry)
        # The other request took too long: ask too, rather than fail.
    try:
        # Another request may have asked and let go of the lock between this
        # one's cache miss and its lock.
        cached = cache.get(key)
        if cached is not None:
            return dict(cached)
        entry, timeout = _verdict(customer, token)
        cache.set(key, entry, timeout=timeout)
        return entry
    finally:
        if cache.get(lock) == owner:
            cache.delete(lock)


@sensitive_variables("token", "headers")
def _verdict(customer: Customer, token: str) -> tuple[dict[str, Any], float]:
    """(cache entry, seconds to keep it) from EverReal's userinfo for *token*."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        **protocol.language_cookie(),
    }
    try:
        response = transport.send(
            "GET",
            customer.origin + protocol.USERINFO_PATH,
            deadline=Deadline.for_operation(),
            headers=headers,
        )
    except requests.RequestException as exc:
        logger.warning(
            "EverReal userinfo for a bearer token failed (%s).", type(exc).__name__
        )
        return {"unavailable": True}, UNAVAILABLE_TIMEOUT
    if response.status_code in (401, 403):
        return _refused("rejected by EverReal")
    if response.status_code != 200:
        logger.warning(
            "EverReal userinfo for a bearer token answered HTTP %s.",
            response.status_code,
        )
        return {"unavailable": True}, UNAVAILABLE_TIMEOUT
    try:
        payload = protocol.clean_userinfo(protocol.json_answer(response))
    except InvalidUserInfo:
        return {"unavailable": True}, UNAVAILABLE_TIMEOUT
    token_info = payload.get("tokenInfo")
    if not isinstance(token_info, dict):
        token_info = {}
    audience = protocol.text(token_info.get("audience"))
    if audience not in {customer.client_id, *conf.TOKEN_AUDIENCES} - {""}:
        return _refused("issued to another client")
    if payload.get("isActive") is False:
        return _refused("EverReal user inactive")
    now = time.time()
    expires_at = _expiry(token, token_info, now)
    if expires_at <= now:
        return _refused("expired")
    user = _linked_user(customer, payload)
    if user is None:
        return _refused("unknown user")
    if not user.is_active:
        return _refused("user inactive")
    scopes = sorted(set(protocol.granted_scopes(payload)) - {"offline_access", "*"})
    entry = {
        "ok": True,
        "everreal_id": str(payload["id"]).strip(),
        "user_id": user.pk,
        "scopes": scopes,
        "expires_at": expires_at,
    }
    return entry, max(0.0, min(conf.TOKEN_CACHE_TIMEOUT, expires_at - now))


def _refused(reason: str) -> tuple[dict[str, Any], float]:
    return {"ok": False, "reason": reason}, conf.TOKEN_NEGATIVE_CACHE_TIMEOUT


def _expiry(token: str, token_info: dict[str, Any], now: float) -> float:
    """When the token ends: its JWT ``exp`` (read unverified), else ``tokenInfo.expires_in``."""
    seconds = protocol.seconds_until_expiry(token)
    if seconds is None:
        seconds = protocol.parse_expires_in(token_info.get("expires_in"))
    if seconds is None:
        seconds = protocol.clamp_seconds(conf.TOKEN_CACHE_TIMEOUT)
    return now + seconds


def _linked_user(
    customer: Customer, payload: dict[str, Any]
) -> AbstractBaseUser | None:
    """The Django user of this EverReal identity, synced as at a browser login.

    A new identity gets a new user, linked as a browser login would link it
    (unless ``EVERREAL_TOKEN_CREATE_USERS`` is off); the user's EverReal
    rows are synced by the same code as at login.
    """
    everreal_id = str(payload["id"]).strip()
    with transaction.atomic():
        lock = sync.lock_everreal_user(everreal_id, customer.key)
        if lock.account is not None:
            user: Any = lock.account.user
            sync.sync_account(user, payload, lock=lock, customer=customer.key)
            return user  # type: ignore[no-any-return]
        if not conf.TOKEN_CREATE_USERS:
            return None
        user = _create_user(payload)
        UserSocialAuth.objects.create(
            user=user,
            provider="everreal",
            uid=protocol.qualify(customer.key, everreal_id),
            extra_data={},
        )
        sync.sync_account(
            user, payload, lock=lock, new_user=True, customer=customer.key
        )
        return user  # type: ignore[no-any-return]


def _create_user(payload: dict[str, Any]) -> Any:
    """A new user named after the EverReal email (made unique), as social-auth would."""
    user_model = get_user_model()
    field = user_model._meta.get_field(user_model.USERNAME_FIELD)
    max_length = getattr(field, "max_length", None) or 150
    base = (protocol.text(payload.get("email")) or f"everreal-{payload['id']}")[
        :max_length
    ]
    username = base
    while user_model._default_manager.filter(
        **{user_model.USERNAME_FIELD: username}
    ).exists():
        suffix = secrets.token_hex(4)
        username = f"{base[: max_length - len(suffix) - 1]}-{suffix}"
    return user_model._default_manager.create_user(
        **{user_model.USERNAME_FIELD: username}
    )
