"""Calls to EverReal's API with a token that is valid when the call leaves.

Every call asks ``TokenStore`` for the access token, so a due token is
refreshed first; a 401 gets one forced refresh and one retry. Network
errors and 5xx answers are retried with backoff where repeating the call is
harmless, a 429 waits once for EverReal's rate limit when that is short, and
what is left becomes ``EverRealUnavailable``, which the middleware answers
with 503. All of it, refresh included, ends within ``EVERREAL_DEADLINE``.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from typing import Self
from urllib.parse import urlsplit

import requests
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.views.decorators.debug import sensitive_variables

from django_everreal import protocol
from django_everreal import transport
from django_everreal.conf import conf
from django_everreal.customers import customer_of
from django_everreal.customers import get_customer
from django_everreal.exceptions import AccountNotLinked
from django_everreal.exceptions import EverRealBadResponse
from django_everreal.exceptions import EverRealRateLimited
from django_everreal.exceptions import EverRealUnavailable
from django_everreal.exceptions import GraphQLError
from django_everreal.exceptions import InvalidUserInfo
from django_everreal.exceptions import ReauthenticationRequired
from django_everreal.models import Account
from django_everreal.models import Customer
from django_everreal.models import ServiceAccount
from django_everreal.models import TokenFields
from django_everreal.tokens import TokenStore
from django_everreal.transport import Deadline

logger = logging.getLogger("django_everreal")


# Methods a retry cannot do twice: RFC 9110's idempotent methods.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)

_MUTATION_RE = re.compile(r"\bmutation\b")


class BearerAuth(requests.auth.AuthBase):
    """Puts the token in the ``Authorization`` header, the only place it goes.

    As ``auth`` (not a plain header) it is dropped by ``requests`` on a
    redirect to another host, and it wins over credentials from ``.netrc``.
    """

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def __repr__(self) -> str:
        return "<BearerAuth>"


class AppTokens:
    """The access token an app sent with its request: used as it is, never refreshed.

    The app owns that token (and its refresh token); when EverReal refuses
    it, the app must get a new one.
    """

    def __init__(self, token: str) -> None:
        self.token = token

    def __repr__(self) -> str:
        return "<AppTokens>"

    def access_token(self, deadline: Deadline | None = None) -> str:
        return self.token

    def refresh(
        self, rejected: str | None = None, deadline: Deadline | None = None
    ) -> str:
        raise ReauthenticationRequired(
            "EverReal refused the app's access token; the app must get a new one."
        )


class EverRealClient:
    """EverReal's API on behalf of one ``Account`` or ``ServiceAccount``.

    ``get``, ``post`` and ``request`` take a path on EverReal's origin and
    return the ``requests.Response`` whatever its status; ``graphql`` returns
    the ``data`` of a GraphQL answer. A dead refresh token raises
    ``ReauthenticationRequired``; EverReal out of reach (after the retries)
    raises ``EverRealUnavailable``, or ``EverRealRateLimited`` when its rate
    limit lasts longer than ``EVERREAL_MAX_RATE_LIMIT_WAIT``.
    """

    def __init__(
        self,
        holder: TokenFields,
        *,
        session: requests.Session | None = None,
        customer: Customer | None = None,
    ) -> None:
        self.holder = holder
        #: The holder's customer: its origin is the only one this client calls.
        #: ``UnknownCustomer`` when it is no longer registered or enabled.
        self.customer = customer if customer is not None else customer_of(holder)
        self.tokens = TokenStore(holder, self.customer)
        #: The process's pooled session unless one is given.
        self.session = session if session is not None else transport.session()

    @classmethod
    def for_user(
        cls, user: AbstractBaseUser | AnonymousUser, subdomain: str | None = None
    ) -> Self:
        """The client of *user*'s EverReal account; ``AccountNotLinked`` without one.

        A Django user has one EverReal account, at one customer. *subdomain*
        makes sure it is that customer's (``""``: the one in settings):
        ``AccountNotLinked`` when it is another's. ``UnknownCustomer`` (an
        ``AccountNotLinked``) when the account's customer is disabled.
        """
        if not user.is_authenticated:
            raise AccountNotLinked("Anonymous users have no EverReal account.")
        try:
            account = Account._default_manager.get(user_id=user.pk)
        except Account.DoesNotExist:
            raise AccountNotLinked(
                f"The user {user.get_username()!r} has not logged in with EverReal."
            ) from None
        if subdomain is not None:
            wanted = get_customer(subdomain)
            if wanted.key != account.customer:
                raise AccountNotLinked(
                    f"The user {user.get_username()!r} has no EverReal account "
                    f"at {subdomain[:63]!r}."
                )
            return cls(account, customer=wanted)
        return cls(account)

    @classmethod
    def with_app_token(
        cls, holder: TokenFields, token: str, customer: Customer
    ) -> Self:
        """A client calling with the access token an app sent (``Authorization: Bearer``).

        No refresh: the app owns the token. A 401 from EverReal raises
        ``ReauthenticationRequired``.
        """
        client = cls(holder, customer=customer)
        client.tokens = AppTokens(token)  # type: ignore[assignment]
        return client

    @classmethod
    def for_service(cls, name: str) -> Self:
        """The client of the service account *name*, for tasks and commands."""
        try:
            service = ServiceAccount._default_manager.get(name=name)
        except ServiceAccount.DoesNotExist:
            raise AccountNotLinked(
                f"There is no EverReal service account {name!r}; create it with "
                f"'manage.py everreal_service_login {name} --username USER'."
            ) from None
        return cls(service)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.holder!r}>"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to close: the connections belong to the process's pool."""

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send *method* to *path*; keyword arguments are those of ``requests``."""
        method = method.upper()
        return self._send(method, path, method in IDEMPOTENT_METHODS, kwargs)

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The ``data`` of a GraphQL answer; ``GraphQLError`` when it has ``errors``.

        A query is retried like a GET; a document naming a mutation is not.
        """
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        idempotent = _MUTATION_RE.search(query) is None
        response = self._send(
            "POST", protocol.GRAPHQL_PATH, idempotent, {"json": payload}
        )
        body = json_body(response, "GraphQL")
        if body.get("errors"):
            errors = body["errors"]
            raise GraphQLError(errors if isinstance(errors, list) else [errors])
        if response.status_code != 200 or "data" not in body:
            raise EverRealBadResponse(
                f"EverReal's GraphQL answer carries no data (HTTP {response.status_code}).",
                status=response.status_code,
            )
        return body["data"]

    def userinfo(self) -> dict[str, Any]:
        """EverReal's userinfo of the holder, cleaned as at login (``protocol.clean_userinfo``).

        An answer without a usable ``id`` is ``EverRealBadResponse``, as any
        other answer this app cannot use.
        """
        response = self.get(protocol.USERINFO_PATH)
        if response.status_code != 200:
            raise EverRealBadResponse(
                f"EverReal's userinfo answered HTTP {response.status_code}.",
                status=response.status_code,
            )
        try:
            return protocol.clean_userinfo(json_body(response, "userinfo"))
        except InvalidUserInfo as exc:
            raise EverRealBadResponse(exc.detail, status=response.status_code) from None

    def sleep(self, seconds: float) -> None:
        """Wait before a retry; tests override it to record instead."""
        time.sleep(seconds)

    def url(self, path: str) -> str:
        """The absolute URL of *path*, which must stay on the customer's origin."""
        origin = self.customer.origin
        parts = urlsplit(path)
        if not parts.scheme and not parts.netloc:
            return f"{origin}/{path.lstrip('/')}"
        if f"{parts.scheme}://{parts.netloc}".lower() != origin.lower():
            raise ValueError(
                f"EverRealClient only calls {origin} (it would send the user's "
                f"token along); pass a path such as '/api/...', not {path!r}."
            )
        return path

    @sensitive_variables("token")
    def _send(
        self, method: str, path: str, idempotent: bool, kwargs: dict[str, Any]
    ) -> requests.Response:
        url = self.url(path)
        deadline = Deadline.for_operation()
        kwargs.pop("timeout", None)  # the deadline decides
        headers = kwargs.pop("headers", None) or {}
        failures = 0
        refreshed = rate_limited = False
        while True:
            token = self.tokens.access_token(deadline)
            response: requests.Response | None = None
            try:
                response = transport.send(
                    method,
                    url,
                    deadline=deadline,
                    http=self.session,
                    headers={**protocol.language_cookie(), **headers},
                    auth=BearerAuth(token),
                    **kwargs,
                )
            except TRANSIENT_ERRORS as exc:
                problem = type(exc).__name__
            else:
                status = response.status_code
                if status == 401 and not refreshed:
                    refreshed = True
                    self.tokens.refresh(rejected=token, deadline=deadline)
                    continue
                if status == 429:
                    wait = protocol.retry_after(response)
                    if (
                        rate_limited
                        or (wait or 0) > conf.MAX_RATE_LIMIT_WAIT
                        or (wait or 0) >= deadline.remaining()
                    ):
                        raise EverRealRateLimited(
                            f"EverReal's rate limit is spent ({method} {path}).",
                            retry_after=wait,
                        )
                    rate_limited = True
                    self.sleep(conf.RETRY_BACKOFF if wait is None else wait)
                    continue
                if status < 500:
                    return response
                problem = f"HTTP {status}"
            failures += 1
            delay = conf.RETRY_BACKOFF * 2 ** (failures - 1)
            if (
                not idempotent
                or failures > conf.RETRIES
                or delay >= deadline.remaining()
            ):
                raise EverRealUnavailable(
                    f"EverReal did not answer {method} {path} ({problem}).",
                    retry_after=None
                    if response is None
                    else protocol.retry_after(response),
                )
            logger.info(
                "EverReal %s %s failed (%s); retrying in %gs.",
                method,
                path,
                problem,
                delay,
            )
            self.sleep(delay)


def json_body(response: requests.Response, what: str) -> dict[str, Any]:
    """The JSON object EverReal answered; ``EverRealBadResponse`` for anything else."""
    body = protocol.json_answer(response)
    if not isinstance(body, dict):
        raise EverRealBadResponse(
            f"EverReal's {what} answer is not a JSON object "
            f"(HTTP {response.status_code}, {response.headers.get('Content-Type', 'no type')}).",
            status=response.status_code,
        )
    return body
