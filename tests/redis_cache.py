"""Django's Redis cache, sharing one Redis database with other test runs."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache


class RunRedisCache(RedisCache):
    """``clear()`` removes this run's keys (its ``KEY_PREFIX``) only.

    Django's ``RedisCache.clear()`` flushes the whole Redis database, which
    would empty the cache of a test run going on at the same time.
    """

    def clear(self) -> None:
        client = self._cache.get_client(write=True)
        pattern = self.make_key("*")
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)

    def run_keys(self) -> list[str]:
        """This run's keys as Django made them (prefix and version included)."""
        client = self._cache.get_client()
        return [key.decode() for key in client.scan_iter(match=self.make_key("*"))]
