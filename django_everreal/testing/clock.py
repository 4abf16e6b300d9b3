"""A clock tests can move, so expiry is tested without sleeping."""

from __future__ import annotations

import threading
import time


class FakeClock:
    """Seconds since the epoch: wall time plus an offset, or frozen.

    ``FakeClock()`` follows the wall clock, and ``advance`` moves it ahead
    (the app under test keeps its own sense of time). ``FakeClock(now=...)``
    stands still until advanced, for tests that count seconds exactly.
    """

    def __init__(self, now: float | None = None) -> None:
        self._frozen_at = now
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            base = time.time() if self._frozen_at is None else self._frozen_at
            return base + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds

    def __repr__(self) -> str:
        mode = "wall" if self._frozen_at is None else "frozen"
        return f"<FakeClock {mode} offset={self._offset:+g}s now={self():.0f}>"
