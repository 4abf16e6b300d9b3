"""EverReal's rate limit: a budget of requests per window and per API."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class RateLimitState:
    allowed: bool
    limit: int
    remaining: int
    reset_in: int

    def headers(self) -> list[tuple[str, str]]:
        headers = [
            ("X-RateLimit-Limit", str(self.limit)),
            ("X-RateLimit-Remaining", str(self.remaining)),
            ("X-RateLimit-Reset", str(self.reset_in)),
        ]
        if not self.allowed:
            headers.append(("Retry-After", str(self.reset_in)))
        return headers


class RateLimiter:
    """Fixed windows that start at the first request; callers hold the fake's lock."""

    def __init__(self, clock: Callable[[], float], limit: int, window: int) -> None:
        self.clock = clock
        self.limit = limit
        self.window = window
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> RateLimitState:
        now = self.clock()
        started, used = self._windows.get(key, (now, 0))
        if now >= started + self.window:
            started, used = now, 0
        allowed = used < self.limit
        if allowed:
            used += 1
        self._windows[key] = (started, used)
        reset_in = max(1, math.ceil(started + self.window - now))
        return RateLimitState(allowed, self.limit, max(0, self.limit - used), reset_in)

    def clear(self) -> None:
        self._windows.clear()
