"""The call log and fault injection of ``FakeEverReal``, as a mixin.

Both live in the ``FakeState``; this is only the test-facing side, kept
apart so the facade reads in one sitting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django_everreal.testing.calls import Call
from django_everreal.testing.errors import FakeEverRealError
from django_everreal.testing.faults import Endpoint
from django_everreal.testing.faults import Fault
from django_everreal.testing.state import FakeState


class CallsAndFaults:
    """What a test asserts on (``calls``) and orders to go wrong (``fail_next``...)."""

    state: FakeState

    def calls(self, endpoint: str | None = None) -> list[Call]:
        """The calls received so far, oldest first; only those of *endpoint* if given."""
        with self.state.lock:
            return [
                call
                for call in self.state.calls
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
        with self.state.lock:
            self.state.calls.clear()

    def reset(self) -> None:
        """Forget calls, pending faults and rate-limit counts; users and tokens stay."""
        with self.state.lock:
            self.state.calls.clear()
            self.state.faults.clear()
            self.state.rate_limiter.clear()

    def add_fault(self, endpoint: Endpoint, fault: Fault, times: int = 1) -> None:
        """Make the next *times* calls of *endpoint* fail as *fault* says."""
        with self.state.lock:
            self.state.faults.add(endpoint, fault, times)

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
        with self.state.lock:
            return self.state.faults.pending(endpoint)
