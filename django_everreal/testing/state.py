"""Everything one fake EverReal knows, in one object its parts share.

The auth server, the API, the webhook API, the dispatcher and the HTTP
server each receive a ``FakeState``; none of them knows ``FakeEverReal``,
which is only the facade tests talk to. Every read or write of the state
happens under ``state.lock``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from django_everreal.testing.calls import Call
from django_everreal.testing.faults import FaultQueue
from django_everreal.testing.ratelimit import RateLimiter
from django_everreal.testing.records import FakeClient
from django_everreal.testing.records import FakeUser
from django_everreal.testing.tokens import FakeTokenRegistry
from django_everreal.testing.tokens import TokenSigner
from django_everreal.testing.webhook_model import FakeWebhook

EVERREAL_HOST_SUFFIX = ".everreal.co"


@dataclass
class CodeRecord:
    """An authorization code: single use, short-lived, bound to its request."""

    client_id: str
    redirect_uri: str
    code_challenge: str | None
    user_id: str
    requested_scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass
class FakeKnobs:
    """The behaviour a test may change at any time (``FakeEverReal`` mirrors each)."""

    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 28 * 24 * 3600
    rotate_refresh_tokens: bool = True
    revoke_rotated_refresh_tokens: bool = False
    refresh_expires_in_as_string: bool = True
    code_lifetime: int = 60
    max_refresh_tokens: int = 50
    require_pkce: bool = False


class FakeState:
    """Users, clients, tokens, codes, webhooks, calls, faults, rate limit and knobs.

    ``clock`` may be replaced at any time: the token registry and the rate
    limiter read it through the state.
    """

    def __init__(
        self,
        *,
        users: Sequence[FakeUser],
        clients: Sequence[FakeClient],
        base_url: str,
        clock: Callable[[], float],
        signer: TokenSigner,
        knobs: FakeKnobs,
        rate_limit: int,
        rate_limit_window: int,
    ) -> None:
        self.users: list[FakeUser] = list(users)
        self.clients: list[FakeClient] = list(clients)
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.signer = signer
        self.knobs = knobs
        self.lock = threading.RLock()
        self.tokens = FakeTokenRegistry(signer, self.now, self.find_user)
        self.codes: dict[str, CodeRecord] = {}
        self.webhooks: list[FakeWebhook] = []
        self.calls: list[Call] = []
        self.faults = FaultQueue()
        self.rate_limiter = RateLimiter(self.now, rate_limit, rate_limit_window)
        self.subdomain_override: str | None = None

    def now(self) -> float:
        """The fake's time, from whichever clock is set now."""
        return self.clock()

    def find_user(self, email_or_id: str) -> FakeUser | None:
        """A user by email (any case) or id, or ``None``."""
        wanted = email_or_id.lower()
        with self.lock:
            for user in self.users:
                if user.id == email_or_id or (user.email or "").lower() == wanted:
                    return user
        return None

    def user(self, email_or_id: str) -> FakeUser:
        """A user by email (any case) or id; ``KeyError`` when there is none."""
        found = self.find_user(email_or_id)
        if found is None:
            raise KeyError(email_or_id)
        return found

    def find_client(self, client_id: str) -> FakeClient | None:
        with self.lock:
            return next((c for c in self.clients if c.client_id == client_id), None)

    def client(self, client_id: str) -> FakeClient:
        found = self.find_client(client_id)
        if found is None:
            raise KeyError(client_id)
        return found

    @property
    def subdomain(self) -> str:
        """The customer's subdomain in deliveries: set, or read off ``base_url`` or the users.

        ``https://beta.everreal.co`` is ``beta``; a fake on a local port is
        its users' partner's (``demo`` for the demo data).
        """
        if self.subdomain_override:
            return self.subdomain_override
        host = (urlsplit(self.base_url).hostname or "").lower()
        if host.endswith(EVERREAL_HOST_SUFFIX) and host.count(".") == 2:
            return host.split(".", 1)[0]
        with self.lock:
            for user in self.users:
                if user.partner is not None and user.partner.subdomain:
                    return user.partner.subdomain
        return "demo"
