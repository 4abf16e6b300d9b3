"""The fake EverReal: its auth server and a slice of its API, behind one ``handle``.

Adapters (``mock`` for ``responses``, ``server`` for a real socket) turn HTTP
into a ``FakeRequest`` and the ``FakeResponse`` back into HTTP, so every way
of running the fake behaves the same.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from django_everreal.testing.api import Api
from django_everreal.testing.calls import Call
from django_everreal.testing.clock import FakeClock
from django_everreal.testing.data import DEMO_CLIENT_ID
from django_everreal.testing.data import FakeClient
from django_everreal.testing.data import FakeUser
from django_everreal.testing.data import demo_clients
from django_everreal.testing.data import demo_users
from django_everreal.testing.data import load_users_file
from django_everreal.testing.data import webhook_sample
from django_everreal.testing.errors import FakeEverRealError
from django_everreal.testing.errors import OAuthError
from django_everreal.testing.faults import Endpoint
from django_everreal.testing.faults import Fault
from django_everreal.testing.faults import FaultQueue
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import Headers
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.login import AUTHORIZE_PATH
from django_everreal.testing.login import OAUTH_PARAMS
from django_everreal.testing.oauth import AuthServer
from django_everreal.testing.oauth import method_not_allowed
from django_everreal.testing.oauth import oauth_error_response
from django_everreal.testing.ratelimit import RateLimiter
from django_everreal.testing.tokens import TokenSigner
from django_everreal.testing.tokens import TokenStore
from django_everreal.testing.webhooks import DELIVERY_TIMEOUT
from django_everreal.testing.webhooks import WEBHOOKS_PATH
from django_everreal.testing.webhooks import FakeWebhook
from django_everreal.testing.webhooks import WebhookApi
from django_everreal.testing.webhooks import WebhookDelivery
from django_everreal.testing.webhooks import copy_data
from django_everreal.testing.webhooks import envelope
from django_everreal.testing.webhooks import is_http_url
from django_everreal.testing.webhooks import iso_timestamp
from django_everreal.testing.webhooks import post_delivery

if TYPE_CHECKING:
    from django_everreal.testing.mock import FakeEverRealMock

DEFAULT_BASE_URL = "https://demo.everreal.co"
TOKEN_PATH = "/accounts/oauth/token"  # noqa: S105
USERINFO_PATH = "/accounts/api/userinfo"
GRAPHQL_PATH = "/api/reporting/graphql"

ROUTES: dict[str, Endpoint] = {
    AUTHORIZE_PATH: "authorize",
    TOKEN_PATH: "token",
    USERINFO_PATH: "userinfo",
    GRAPHQL_PATH: "graphql",
    WEBHOOKS_PATH: "webhooks",
}
EVERREAL_HOST_SUFFIX = ".everreal.co"


def route(path: str) -> Endpoint | None:
    """The endpoint serving *path*: one of ``ROUTES``, or a webhook by id."""
    path = path.rstrip("/") or "/"
    endpoint = ROUTES.get(path)
    if endpoint is None and path.startswith(WEBHOOKS_PATH + "/"):
        webhook_id = path[len(WEBHOOKS_PATH) + 1 :]
        if "/" not in webhook_id:
            return "webhooks"
    return endpoint


class FakeEverReal:
    """EverReal's auth server and API, in memory; thread-safe.

    Knobs are plain attributes, so a test may change them at any time:
    ``access_token_lifetime`` and ``refresh_token_lifetime`` (seconds),
    ``rotate_refresh_tokens`` (a refresh returns a new refresh token; off,
    it returns none), ``revoke_rotated_refresh_tokens`` (a rotation also
    kills the refresh token it replaces; off by default, as at EverReal,
    where an old refresh token stays valid until ``max_refresh_tokens``
    newer ones of the same client and user push it out),
    ``refresh_expires_in_as_string`` (``"3600"`` in refresh responses, as in
    EverReal's docs), ``code_lifetime``, ``max_refresh_tokens`` (per client
    and user), ``require_pkce``, ``rate_limit`` and ``rate_limit_window``.

    ``webhooks`` holds every registration made through the webhook API
    (deleted ones with ``deleted_at``); ``deliver`` sends an event to the
    live ones over HTTP, ``webhook_deliveries`` only builds the envelopes.
    """

    def __init__(
        self,
        *,
        users: Sequence[FakeUser] | None = None,
        clients: Sequence[FakeClient] | None = None,
        users_file: str | Path | None = None,
        base_url: str = DEFAULT_BASE_URL,
        clock: Callable[[], float] | None = None,
        private_key: rsa.RSAPrivateKey | None = None,
        access_token_lifetime: int = 3600,
        refresh_token_lifetime: int = 28 * 24 * 3600,
        rotate_refresh_tokens: bool = True,
        revoke_rotated_refresh_tokens: bool = False,
        refresh_expires_in_as_string: bool = True,
        code_lifetime: int = 60,
        max_refresh_tokens: int = 50,
        require_pkce: bool = False,
        rate_limit: int = 300,
        rate_limit_window: int = 60,
    ) -> None:
        file_clients = None
        if users_file is not None:
            if users is not None:
                raise ValueError("Give users or users_file, not both.")
            users, file_clients = load_users_file(users_file)
        self.users: list[FakeUser] = list(demo_users() if users is None else users)
        if clients is None:
            clients = file_clients if file_clients is not None else demo_clients()
        self.clients: list[FakeClient] = list(clients)
        self.base_url = base_url.rstrip("/")
        self.clock: Callable[[], float] = clock or FakeClock()
        self.access_token_lifetime = access_token_lifetime
        self.refresh_token_lifetime = refresh_token_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.revoke_rotated_refresh_tokens = revoke_rotated_refresh_tokens
        self.refresh_expires_in_as_string = refresh_expires_in_as_string
        self.code_lifetime = code_lifetime
        self.max_refresh_tokens = max_refresh_tokens
        self.require_pkce = require_pkce
        self.signer = TokenSigner(private_key)
        self.lock = threading.RLock()
        self.tokens = TokenStore(self.signer)
        self._faults = FaultQueue()
        self._calls: list[Call] = []
        self._rate_limiter = RateLimiter(
            lambda: self.clock(), rate_limit, rate_limit_window
        )
        self.auth = AuthServer(self)
        self.api = Api(self, self._rate_limiter)
        self.webhooks: list[FakeWebhook] = []
        self.webhook_api = WebhookApi(self)
        self._subdomain: str | None = None
        self._mock: FakeEverRealMock | None = None

    def __repr__(self) -> str:
        return f"<FakeEverReal {self.base_url} users={len(self.users)} clients={len(self.clients)}>"

    # Knobs that live in helpers.

    @property
    def rate_limit(self) -> int:
        return self._rate_limiter.limit

    @rate_limit.setter
    def rate_limit(self, value: int) -> None:
        self._rate_limiter.limit = value

    @property
    def rate_limit_window(self) -> int:
        return self._rate_limiter.window

    @rate_limit_window.setter
    def rate_limit_window(self, value: int) -> None:
        self._rate_limiter.window = value

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's time ahead, e.g. past an access token's expiry."""
        if not isinstance(self.clock, FakeClock):
            raise FakeEverRealError(
                "advance_clock needs the fake's clock to be a FakeClock."
            )
        self.clock.advance(seconds)

    # Users, clients, keys.

    def user(self, email_or_id: str) -> FakeUser:
        """A user by email (any case) or id, to inspect or change in a test."""
        found = self.find_user(email_or_id)
        if found is None:
            raise KeyError(email_or_id)
        return found

    def find_user(self, email_or_id: str) -> FakeUser | None:
        """A user by email (any case) or id, or ``None``."""
        wanted = email_or_id.lower()
        with self.lock:
            for user in self.users:
                if user.id == email_or_id or (user.email or "").lower() == wanted:
                    return user
        return None

    def add_user(self, user: FakeUser) -> FakeUser:
        with self.lock:
            if self.find_user(user.email) is not None:
                raise ValueError(f"A user with email {user.email!r} exists already.")
            self.users.append(user)
        return user

    def client(self, client_id: str) -> FakeClient:
        for client in self.clients:
            if client.client_id == client_id:
                return client
        raise KeyError(client_id)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.signer.public_key

    @property
    def public_key_pem(self) -> str:
        """The key to verify the fake's tokens with (EverReal publishes no JWKS)."""
        return self.signer.public_key_pem

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a live token of this fake; ``FakeEverRealError`` otherwise."""
        claims = self.signer.claims(token)
        if claims is None:
            raise FakeEverRealError("Not a token signed by this fake EverReal.")
        with self.lock:
            record = self.tokens.get(str(claims["jti"]))
        if record is None:
            raise FakeEverRealError(
                "The token is unknown to this fake EverReal (or deleted)."
            )
        if record.revoked:
            raise FakeEverRealError("The token was revoked.")
        if record.expired(self.clock()):
            raise FakeEverRealError("The token has expired.")
        return claims

    # Test helpers.

    def calls(self, endpoint: str | None = None) -> list[Call]:
        """The calls received so far, oldest first; only those of *endpoint* if given."""
        with self.lock:
            return [
                call
                for call in self._calls
                if endpoint is None or call.endpoint == endpoint
            ]

    def last_call(self, endpoint: str | None = None) -> Call:
        calls = self.calls(endpoint)
        if not calls:
            raise FakeEverRealError(
                f"No calls{f' of {endpoint}' if endpoint else ''} yet."
            )
        return calls[-1]

    def clear_calls(self) -> None:
        with self.lock:
            self._calls.clear()

    def reset(self) -> None:
        """Forget calls, pending faults and rate-limit counts; users and tokens stay."""
        with self.lock:
            self._calls.clear()
            self._faults.clear()
            self._rate_limiter.clear()

    def add_fault(self, endpoint: Endpoint, fault: Fault, times: int = 1) -> None:
        """Make the next *times* calls of *endpoint* fail as *fault* says."""
        with self.lock:
            self._faults.add(endpoint, fault, times)

    def fail_next(
        self,
        endpoint: Endpoint,
        status: int = 500,
        body: Any = None,
        *,
        times: int = 1,
        headers: Sequence[tuple[str, str]] = (),
        handled: bool = False,
    ) -> None:
        """The next calls answer *status* with *body* (JSON unless str or bytes)."""
        self.add_fault(
            endpoint, Fault(status, body, tuple(headers), handled=handled), times
        )

    def delay_next(
        self,
        endpoint: Endpoint,
        seconds: float,
        *,
        times: int = 1,
        handled: bool = False,
    ) -> None:
        """The next calls answer late: a timeout in-process when past the request's timeout."""
        self.add_fault(endpoint, Fault(delay=seconds, handled=handled), times)

    def drop_next(
        self, endpoint: Endpoint, *, times: int = 1, handled: bool = False
    ) -> None:
        """The next calls get no answer: the connection closes."""
        self.add_fault(endpoint, Fault(drop=True, handled=handled), times)

    def pending_faults(self, endpoint: Endpoint) -> int:
        with self.lock:
            return self._faults.pending(endpoint)

    def revoke(self, token: str) -> bool:
        """Revoke one access or refresh token; ``False`` when it is unknown."""
        claims = self.signer.claims(token)
        if claims is None:
            return False
        with self.lock:
            record = self.tokens.get(str(claims["jti"]))
            if record is None:
                return False
            record.revoked = True
            return True

    def revoke_refresh_tokens(
        self, email: str | None = None, *, client_id: str | None = None
    ) -> int:
        """Kill the refresh tokens of a user (or everyone's); returns how many."""
        return self._revoke(email, client_id, kinds=("refresh",))

    def revoke_tokens(
        self, email: str | None = None, *, client_id: str | None = None
    ) -> int:
        """Kill access and refresh tokens of a user (or everyone's); returns how many."""
        return self._revoke(email, client_id, kinds=("access", "refresh"))

    def _revoke(
        self, email: str | None, client_id: str | None, kinds: tuple[str, ...]
    ) -> int:
        with self.lock:
            user_id = self.user(email).id if email is not None else None
            count = 0
            for record in self.tokens.records():
                if (
                    record.kind in kinds
                    and not record.revoked
                    and (user_id is None or record.user_id == user_id)
                    and (client_id is None or record.client_id == client_id)
                ):
                    record.revoked = True
                    count += 1
            return count

    def refresh_token_count(self, email: str, client_id: str = DEMO_CLIENT_ID) -> int:
        """Live refresh tokens of a user and client: EverReal keeps at most 50."""
        with self.lock:
            user_id = self.user(email).id
            now = self.clock()
            return sum(
                1
                for record in self.tokens.records()
                if record.kind == "refresh"
                and record.user_id == user_id
                and record.client_id == client_id
                and not record.revoked
                and not record.expired(now)
            )

    def issue_tokens(
        self,
        email: str,
        scope: str = "offline_access *",
        client_id: str = DEMO_CLIENT_ID,
    ) -> dict[str, Any]:
        """A token response as the password grant gives it, without a request."""
        with self.lock:
            user = self.user(email)
            requested = self.auth.parse_scope(scope)
            return self.auth.token_response(self.client(client_id), user, requested)

    def authorize_url(
        self,
        *,
        redirect_uri: str,
        state: str = "",
        scope: str = "offline_access *",
        client_id: str = DEMO_CLIENT_ID,
        code_challenge: str | None = None,
    ) -> str:
        """An authorize URL as a client would build it, for tests of the fake."""
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
        }
        if state:
            params["state"] = state
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return f"{self.base_url}{AUTHORIZE_PATH}?{urlencode(params)}"

    def authorize_redirect(self, authorize_url: str, email: str, password: str) -> str:
        """Log in on the authorize page as a browser would; the redirect's Location.

        The Location carries ``code`` and ``state``, or an OAuth ``error`` when
        the request itself is refused in a redirectable way (e.g. a bad scope).
        A refused login or a request that cannot redirect raises ``FakeEverRealError``.
        """
        return self._submit_login(
            authorize_url, {"email": email, "password": password, "action": "login"}
        )

    def cancel_redirect(self, authorize_url: str) -> str:
        """Press "Cancel" on the authorize page; the Location with ``error=access_denied``."""
        return self._submit_login(authorize_url, {"action": "cancel"})

    def _submit_login(self, authorize_url: str, fields: dict[str, str]) -> str:
        parts = urlsplit(authorize_url)
        if parts.path.rstrip("/") != AUTHORIZE_PATH:
            raise FakeEverRealError(f"Not an authorize URL: {parts.path!r}.")
        page = self.handle(FakeRequest("GET", parts.path, parts.query))
        if page.status != 200:
            return self._location_or_raise(
                page, "The authorize page refused the request"
            )
        params = {k: v for k, v in parse_qsl(parts.query) if k in OAUTH_PARAMS}
        body = urlencode({**params, **fields}).encode("ascii")
        headers = Headers({"Content-Type": "application/x-www-form-urlencoded"})
        answer = self.handle(FakeRequest("POST", AUTHORIZE_PATH, "", headers, body))
        return self._location_or_raise(answer, "The login was refused")

    @staticmethod
    def _location_or_raise(response: FakeResponse, what: str) -> str:
        location = response.header("Location")
        if response.status == 302 and location and not response.drop:
            return location
        if response.drop:
            raise FakeEverRealError(
                f"{what}: the connection was dropped (an injected fault)."
            )
        message = re.search(r'role="alert"[^>]*>([^<]*)<', response.text)
        detail = message.group(1) if message else response.text[:200]
        raise FakeEverRealError(f"{what} (HTTP {response.status}): {detail}")

    # Webhooks.

    @property
    def subdomain(self) -> str:
        """The customer's subdomain in deliveries: set, or read off ``base_url`` or the users.

        ``https://beta.everreal.co`` is ``beta``; a fake on a local port is
        its users' partner's (``demo`` for the demo data).
        """
        if self._subdomain:
            return self._subdomain
        host = (urlsplit(self.base_url).hostname or "").lower()
        if host.endswith(EVERREAL_HOST_SUFFIX) and host.count(".") == 2:
            return host.split(".", 1)[0]
        with self.lock:
            for user in self.users:
                if user.partner is not None and user.partner.subdomain:
                    return user.partner.subdomain
        return "demo"

    @subdomain.setter
    def subdomain(self, value: str | None) -> None:
        self._subdomain = value

    def add_webhook(
        self,
        event_type: str,
        url: str,
        *,
        user: FakeUser | str = "anna@example.com",
    ) -> FakeWebhook:
        """Register a webhook as *user* (a user or email) would, without a request.

        For tests that need a registration in place, e.g. someone else's.
        """
        if not is_http_url(url):
            raise ValueError(f"Not an http(s) URL: {url!r}.")
        with self.lock:
            owner = self.user(user) if isinstance(user, str) else user
            now = iso_timestamp(self.clock())
            webhook = FakeWebhook(
                id=str(uuid.uuid4()),
                type=event_type,
                url=url,
                partner_id=owner.partner.id if owner.partner else None,
                company_id=owner.current_company_id,
                connected_by_user_id=owner.id,
                created_at=now,
                updated_at=now,
            )
            self.webhooks.append(webhook)
        return webhook

    def live_webhooks(self, event_type: str | None = None) -> list[FakeWebhook]:
        """Registrations not deleted, oldest first; only those of *event_type* if given."""
        with self.lock:
            return [
                webhook
                for webhook in self.webhooks
                if webhook.is_live
                and (event_type is None or webhook.type == event_type)
            ]

    def webhook_deliveries(
        self, event_type: str, data: Any = None, *, subdomain: str | None = None
    ) -> list[WebhookDelivery]:
        """The envelopes of one event, one per live registration of its type.

        *data* defaults to a sample of the type's payload (``webhook_sample``).
        Nothing is sent: ``deliver`` sends, ``deliver_with_client`` posts
        through Django's test client.
        """
        payload = webhook_sample(event_type) if data is None else data
        created_at = iso_timestamp(self.clock())
        subdomain = subdomain or self.subdomain
        return [
            WebhookDelivery(
                webhook.url,
                envelope(
                    event_type,
                    copy_data(payload),
                    subdomain=subdomain,
                    created_at=created_at,
                ),
            )
            for webhook in self.live_webhooks(event_type)
        ]

    def deliver(
        self,
        event_type: str,
        data: Any = None,
        *,
        subdomain: str | None = None,
        timeout: float = DELIVERY_TIMEOUT,
    ) -> list[tuple[str, int | None]]:
        """POST the event to each live registration of its type, as EverReal does.

        Returns ``(url, status)`` per registration, the status ``None`` when
        no answer came (refused, timed out). Sent one after the other,
        outside the fake's lock, so a receiver may call the fake back.
        """
        return [
            (delivery.url, post_delivery(delivery, timeout))
            for delivery in self.webhook_deliveries(
                event_type, data, subdomain=subdomain
            )
        ]

    # Mock adapter.

    @contextmanager
    def mock(self) -> Iterator[FakeEverReal]:
        """Answer ``requests`` calls to ``base_url`` in-process for the ``with`` block."""
        self.start_mock()
        try:
            yield self
        finally:
            self.stop_mock()

    def start_mock(self) -> None:
        """Answer ``requests`` calls to ``base_url`` in-process until ``stop_mock``.

        Fakes of different origins may run at once, one per EverReal
        customer; of two serving the same origin, the later started answers.
        """
        from django_everreal.testing.mock import FakeEverRealMock

        if self._mock is not None:
            raise FakeEverRealError("The mock is running already.")
        self._mock = FakeEverRealMock(self)
        self._mock.start()

    def stop_mock(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None

    # Dispatch.

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer one request; faults come out as ``delay`` and ``drop`` on the response."""
        endpoint = route(request.path)
        with self.lock:
            fault = self._faults.take(endpoint) if endpoint else None
        times_out = (
            fault is not None
            and request.read_timeout is not None
            and fault.delay > request.read_timeout
        )
        answered = fault is None or (not fault.drop and not times_out)
        if fault is None or fault.handled or (fault.is_delay_only and answered):
            response = self._dispatch(endpoint, request)
        else:
            response = FakeResponse(500)
        if fault is not None:
            response = self._apply_fault(fault, response)
        status = response.status if answered else None
        call = Call(
            endpoint=endpoint or "unknown",
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            cookies=request.cookies,
            content_type=request.content_type,
            body=request.parsed_body(),
            raw_body=request.body,
            status=status,
            fault=fault,
            time=self.clock(),
        )
        with self.lock:
            self._calls.append(call)
        return response

    @staticmethod
    def _apply_fault(fault: Fault, response: FakeResponse) -> FakeResponse:
        if fault.status is not None:
            body, content_type = fault.body_bytes()
            response = FakeResponse(
                fault.status, [("Content-Type", content_type), *fault.headers], body
            )
        response.delay = fault.delay
        response.drop = fault.drop
        return response

    def _dispatch(
        self, endpoint: Endpoint | None, request: FakeRequest
    ) -> FakeResponse:
        if endpoint == "authorize":
            if request.method not in ("GET", "POST"):
                return method_not_allowed("GET, POST")
            return self.auth.authorize(request)
        if endpoint == "token":
            if request.method != "POST":
                return method_not_allowed("POST")
            try:
                return self.auth.token(request)
            except OAuthError as exc:
                return oauth_error_response(exc)
        if endpoint == "userinfo":
            return self.api.handle(endpoint, request, "GET", self.api.userinfo)
        if endpoint == "graphql":
            return self.api.handle(endpoint, request, "POST", self.api.graphql)
        if endpoint == "webhooks":
            return self.api.handle(
                endpoint,
                request,
                self.webhook_api.methods(request),
                self.webhook_api.view,
            )
        return json_response(404, {"error": "not_found", "path": request.path})
