"""Which fakes answer ``requests`` in-process now (``FakeEverReal.mock()``).

The router itself is ``django_everreal.testing.router``; this module names
its fakes as the ``FakeEverReal`` they are, for tests and fixtures.
"""

from __future__ import annotations

from django_everreal.testing.fake import FakeEverReal
from django_everreal.testing.router import ROUTER
from django_everreal.testing.router import origin

__all__ = ["mocked_fake", "mocked_fakes", "origin"]


def mocked_fakes() -> list[FakeEverReal]:
    """The fakes started in-process, oldest first."""
    return [fake for fake in ROUTER.fakes() if isinstance(fake, FakeEverReal)]


def mocked_fake(url: str) -> FakeEverReal | None:
    """The started fake that answers *url* in-process, or ``None``."""
    fake = ROUTER.fake_for(url)
    return fake if isinstance(fake, FakeEverReal) else None
