"""A local-memory cache that records the timeout of each ``set``, for tests of expiry.

``before_add``, when set, runs once just before the next ``add``: what another
request does in the gap between a cache miss and taking a lock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache


class RecordingCache(LocMemCache):
    def __init__(self, name: str, params: dict[str, Any]) -> None:
        super().__init__(name, params)
        self.timeouts: list[tuple[str, Any]] = []
        self.before_add: Callable[[], object] | None = None

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> None:
        self.timeouts.append((key, timeout))
        super().set(key, value, timeout, version)

    def add(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> bool:
        self.timeouts.append((key, timeout))
        hook, self.before_add = self.before_add, None
        if hook is not None:
            hook()
        return super().add(key, value, timeout, version)
