"""Failures a test can order for the next calls of an endpoint."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any
from typing import Literal

Endpoint = Literal["authorize", "token", "userinfo", "graphql", "webhooks"]
ENDPOINTS: tuple[Endpoint, ...] = (
    "authorize",
    "token",
    "userinfo",
    "graphql",
    "webhooks",
)


@dataclass(frozen=True)
class Fault:
    """How one call fails.

    ``status`` (with ``body``) replaces the response; ``delay`` holds it back
    (in-process: a timeout when longer than the request's read timeout);
    ``drop`` closes the connection without a response. With ``handled``
    the fake first does the work (issues the token, consumes the code) and
    the answer is lost on the way, as when a network fails after the fact.
    A delay alone does the work when its answer arrives in time.
    """

    status: int | None = None
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    drop: bool = False
    handled: bool = False

    def __post_init__(self) -> None:
        if self.status is None and not self.delay and not self.drop:
            raise ValueError("A fault needs a status, a delay or a drop.")
        if self.delay < 0:
            raise ValueError("A delay cannot be negative.")

    @property
    def is_delay_only(self) -> bool:
        """A late answer, not a lost or wrong one: the fake does the work."""
        return self.status is None and not self.drop

    def body_bytes(self) -> tuple[bytes, str]:
        """The replacement body and its content type."""
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode("utf-8"), "text/plain; charset=utf-8"
        payload = {"error": "server_error"} if self.body is None else self.body
        return json.dumps(payload).encode("utf-8"), "application/json; charset=utf-8"


class FaultQueue:
    """Faults waiting per endpoint, used up one call at a time; callers hold the fake's lock."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[Fault]] = {}

    def add(self, endpoint: Endpoint, fault: Fault, times: int = 1) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(
                f"Unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}."
            )
        if times < 1:
            raise ValueError("times must be at least 1.")
        self._pending.setdefault(endpoint, deque()).extend([fault] * times)

    def take(self, endpoint: str) -> Fault | None:
        queue = self._pending.get(endpoint)
        return queue.popleft() if queue else None

    def pending(self, endpoint: str) -> int:
        return len(self._pending.get(endpoint, ()))

    def clear(self) -> None:
        self._pending.clear()
