"""``FakeEverReal``: the one object tests talk to, a facade over state and app.

Its call-log and fault helpers are in ``fake_calls``, its webhook helpers
in ``fake_webhooks``.

Everything the fake knows is a ``FakeState``; ``FakeApp`` answers requests
against it. ``FakeEverReal`` builds both, mirrors the state's knobs as
attributes, and offers the helpers tests need (users, tokens, faults, the
call log, logins without a browser, webhooks, the in-process mock).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import cast
from typing import overload
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric import rsa

from django_everreal.testing.app import FakeApp
from django_everreal.testing.authorize import submit_login
from django_everreal.testing.clock import FakeClock
from django_everreal.testing.data import DEMO_CLIENT_ID
from django_everreal.testing.data import FakeClient
from django_everreal.testing.data import FakeUser
from django_everreal.testing.data import demo_clients
from django_everreal.testing.data import demo_users
from django_everreal.testing.data import load_users_file
from django_everreal.testing.errors import FakeEverRealError
from django_everreal.testing.fake_calls import CallsAndFaults
from django_everreal.testing.fake_webhooks import WebhookHelpers
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.oauth import parse_scope
from django_everreal.testing.router import ROUTER
from django_everreal.testing.routes import AUTHORIZE_PATH
from django_everreal.testing.routes import DEFAULT_BASE_URL
from django_everreal.testing.routes import GRAPHQL_PATH
from django_everreal.testing.routes import TOKEN_PATH
from django_everreal.testing.routes import USERINFO_PATH
from django_everreal.testing.state import FakeKnobs
from django_everreal.testing.state import FakeState
from django_everreal.testing.tokens import TokenRejected
from django_everreal.testing.tokens import TokenSigner
from django_everreal.testing.webhook_model import FakeWebhook

__all__ = [
    "DEFAULT_BASE_URL",
    "GRAPHQL_PATH",
    "TOKEN_PATH",
    "USERINFO_PATH",
    "FakeEverReal",
]

T = TypeVar("T")

#: How ``verify`` words each of the token registry's refusals.
VERIFY_REJECTED = {
    "forged": "Not a token signed by this fake EverReal.",
    "unknown": "The token is unknown to this fake EverReal (or deleted).",
    "revoked": "The token was revoked.",
    "expired": "The token has expired.",
}


class _Mirror(Generic[T]):
    """An attribute of ``FakeEverReal`` that reads and writes the state (or its knobs)."""

    def __init__(self, *, knob: bool = False) -> None:
        self.knob = knob
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def _target(self, fake: FakeEverReal) -> object:
        return fake.state.knobs if self.knob else fake.state

    @overload
    def __get__(self, fake: None, owner: type) -> _Mirror[T]: ...
    @overload
    def __get__(self, fake: FakeEverReal, owner: type) -> T: ...
    def __get__(self, fake: FakeEverReal | None, owner: type) -> T | _Mirror[T]:
        if fake is None:
            return self
        return cast("T", getattr(self._target(fake), self.name))

    def __set__(self, fake: FakeEverReal, value: T) -> None:
        setattr(self._target(fake), self.name, value)


class FakeEverReal(CallsAndFaults, WebhookHelpers):
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

    users: _Mirror[list[FakeUser]] = _Mirror()
    clients: _Mirror[list[FakeClient]] = _Mirror()
    base_url: _Mirror[str] = _Mirror()
    clock: _Mirror[Callable[[], float]] = _Mirror()
    webhooks: _Mirror[list[FakeWebhook]] = _Mirror()
    access_token_lifetime: _Mirror[int] = _Mirror(knob=True)
    refresh_token_lifetime: _Mirror[int] = _Mirror(knob=True)
    rotate_refresh_tokens: _Mirror[bool] = _Mirror(knob=True)
    revoke_rotated_refresh_tokens: _Mirror[bool] = _Mirror(knob=True)
    refresh_expires_in_as_string: _Mirror[bool] = _Mirror(knob=True)
    code_lifetime: _Mirror[int] = _Mirror(knob=True)
    max_refresh_tokens: _Mirror[int] = _Mirror(knob=True)
    require_pkce: _Mirror[bool] = _Mirror(knob=True)

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
        if clients is None:
            clients = file_clients if file_clients is not None else demo_clients()
        self.state = FakeState(
            users=demo_users() if users is None else users,
            clients=clients,
            base_url=base_url,
            clock=clock or FakeClock(),
            signer=TokenSigner(private_key),
            knobs=FakeKnobs(
                access_token_lifetime=access_token_lifetime,
                refresh_token_lifetime=refresh_token_lifetime,
                rotate_refresh_tokens=rotate_refresh_tokens,
                revoke_rotated_refresh_tokens=revoke_rotated_refresh_tokens,
                refresh_expires_in_as_string=refresh_expires_in_as_string,
                code_lifetime=code_lifetime,
                max_refresh_tokens=max_refresh_tokens,
                require_pkce=require_pkce,
            ),
            rate_limit=rate_limit,
            rate_limit_window=rate_limit_window,
        )
        self.app = FakeApp(self.state)
        self._mocked = False

    def __repr__(self) -> str:
        return f"<FakeEverReal {self.base_url} users={len(self.users)} clients={len(self.clients)}>"

    @property
    def lock(self) -> Any:
        """The state's lock (re-entrant): hold it to read or change users consistently."""
        return self.state.lock

    @property
    def rate_limit(self) -> int:
        return self.state.rate_limiter.limit

    @rate_limit.setter
    def rate_limit(self, value: int) -> None:
        self.state.rate_limiter.limit = value

    @property
    def rate_limit_window(self) -> int:
        return self.state.rate_limiter.window

    @rate_limit_window.setter
    def rate_limit_window(self, value: int) -> None:
        self.state.rate_limiter.window = value

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's time ahead, e.g. past an access token's expiry."""
        if not isinstance(self.clock, FakeClock):
            raise FakeEverRealError(
                "advance_clock needs the fake's clock to be a FakeClock."
            )
        self.clock.advance(seconds)

    # Users, clients, keys, tokens.

    def user(self, email_or_id: str) -> FakeUser:
        """A user by email (any case) or id, to inspect or change in a test."""
        return self.state.user(email_or_id)

    def find_user(self, email_or_id: str) -> FakeUser | None:
        """A user by email (any case) or id, or ``None``."""
        return self.state.find_user(email_or_id)

    def add_user(self, user: FakeUser) -> FakeUser:
        with self.lock:
            if self.find_user(user.email) is not None:
                raise ValueError(f"A user with email {user.email!r} exists already.")
            self.users.append(user)
        return user

    def client(self, client_id: str) -> FakeClient:
        return self.state.client(client_id)

    @property
    def public_key(self) -> rsa.RSAPublicKey:
        return self.state.signer.public_key

    @property
    def public_key_pem(self) -> str:
        """The key to verify the fake's tokens with (EverReal publishes no JWKS)."""
        return self.state.signer.public_key_pem

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a live token (access or refresh); ``FakeEverRealError`` otherwise."""
        with self.lock:
            try:
                self.state.tokens.check(token)
            except TokenRejected as exc:
                raise FakeEverRealError(VERIFY_REJECTED[exc.reason]) from None
        return cast("dict[str, Any]", self.state.signer.claims(token))

    def revoke(self, token: str) -> bool:
        """Revoke one access or refresh token; ``False`` when it is unknown."""
        with self.lock:
            return self.state.tokens.revoke(token)

    def revoke_refresh_tokens(
        self, email: str | None = None, *, client_id: str | None = None
    ) -> int:
        """Kill the refresh tokens of a user (or everyone's); returns how many."""
        return self._revoke(email, client_id, ("refresh",))

    def revoke_tokens(
        self, email: str | None = None, *, client_id: str | None = None
    ) -> int:
        """Kill access and refresh tokens of a user (or everyone's); returns how many."""
        return self._revoke(email, client_id, ("access", "refresh"))

    def _revoke(
        self, email: str | None, client_id: str | None, kinds: tuple[str, ...]
    ) -> int:
        with self.lock:
            user_id = self.user(email).id if email is not None else None
            return self.state.tokens.revoke_matching(kinds, user_id, client_id)

    def refresh_token_count(self, email: str, client_id: str = DEMO_CLIENT_ID) -> int:
        """Live refresh tokens of a user and client: EverReal keeps at most 50."""
        with self.lock:
            user_id = self.user(email).id
            return self.state.tokens.live_refresh_tokens(client_id, user_id)

    def issue_tokens(
        self,
        email: str,
        scope: str = "offline_access *",
        client_id: str = DEMO_CLIENT_ID,
    ) -> dict[str, Any]:
        """A token response as the password grant gives it, without a request."""
        with self.lock:
            user = self.user(email)
            requested = parse_scope(self.state, scope)
            return self.app.token.token_response(
                self.client(client_id), user, requested
            )

    # Logins without a browser.

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
        fields = {"email": email, "password": password, "action": "login"}
        return submit_login(self.handle, authorize_url, fields)

    def cancel_redirect(self, authorize_url: str) -> str:
        """Press "Cancel" on the authorize page; the Location with ``error=access_denied``."""
        return submit_login(self.handle, authorize_url, {"action": "cancel"})

    # Serving.

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
        if self._mocked:
            raise FakeEverRealError("The mock is running already.")
        ROUTER.add(self)
        self._mocked = True

    def stop_mock(self) -> None:
        if self._mocked:
            ROUTER.remove(self)
            self._mocked = False

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer one request; faults come out as ``delay`` and ``drop`` on the response."""
        return self.app.handle(request)
