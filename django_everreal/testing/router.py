"""Serve fakes in-process to ``requests``, through the ``responses`` library.

The router knows fakes only as ``Servable`` (a ``base_url`` and a
``handle``); ``django_everreal.testing.mock`` names them as ``FakeEverReal``.

Several fakes may be started at once, one per EverReal customer: a single
router (one ``responses.RequestsMock``, started with the first fake and
stopped with the last) hands each request to the fake whose ``base_url``
serves its origin. Two ``RequestsMock`` started at once would shadow each
other, so every fake goes through this one.

Only this module needs ``responses`` (a test dependency), and only once a
mock starts.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol
from urllib.parse import urlsplit

import requests

from django_everreal.testing.errors import FakeEverRealError
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import Headers

if TYPE_CHECKING:
    import responses

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
DEFAULT_PORTS = {"http": 80, "https": 443}
#: The router sees every request; those no fake serves are refused by it.
ANY_URL = re.compile(r".*", re.DOTALL)


class Servable(Protocol):
    """What the router needs of a fake (``FakeEverReal`` is one).

    ``handle`` is looked up on each request, so a test may wrap a fake's.
    """

    base_url: str

    def handle(self, request: FakeRequest) -> FakeResponse: ...


def read_timeout(timeout: Any) -> float | None:
    """The read timeout in whatever form ``requests`` was given it."""
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        return None if timeout[1] is None else float(timeout[1])
    if isinstance(timeout, int | float):
        return float(timeout)
    value = getattr(timeout, "read_timeout", None)  # urllib3's Timeout
    return float(value) if isinstance(value, int | float) else None


def origin(url: str) -> str:
    """*url*'s origin, normalised: ``https://Demo.everreal.co`` is ``https://demo.everreal.co:443``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS.get(scheme, '')}"


def serves(fake: Servable, url: str) -> bool:
    """Whether *url* is under the fake's ``base_url`` (read now: a test may change it)."""
    if origin(url) != origin(fake.base_url):
        return False
    prefix = urlsplit(fake.base_url).path.rstrip("/")
    path = urlsplit(url).path
    return not prefix or path == prefix or path.startswith(prefix + "/")


class MockRouter:
    """The one ``responses`` mock of all fakes started in-process; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fakes: list[Servable] = []
        self._responses: responses.RequestsMock | None = None

    def add(self, fake: Servable) -> None:
        """Serve *fake* from now on; the first one starts the ``responses`` mock."""
        with self._lock:
            if any(started is fake for started in self._fakes):
                raise FakeEverRealError("The mock is running already.")
            if self._responses is None:
                self._responses = self._start()
            self._fakes.append(fake)

    def remove(self, fake: Servable) -> None:
        """Stop serving *fake*; the last one stops the ``responses`` mock."""
        with self._lock:
            self._fakes = [started for started in self._fakes if started is not fake]
            if self._fakes or self._responses is None:
                return
            mock, self._responses = self._responses, None
            mock.stop()
            mock.reset()

    def fakes(self) -> list[Servable]:
        """The fakes served now, oldest first."""
        with self._lock:
            return list(self._fakes)

    def fake_for(self, url: str) -> Servable | None:
        """The fake that answers *url*: the latest started one whose ``base_url`` serves it."""
        for fake in reversed(self.fakes()):
            if serves(fake, url):
                return fake
        return None

    def _start(self) -> responses.RequestsMock:
        # ``responses`` is a test dependency: needed once a mock starts, not before.
        import responses

        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        for method in METHODS:
            mock.add_callback(method, ANY_URL, callback=self._callback)
        mock.start()
        return mock

    def _callback(self, prepared: requests.PreparedRequest) -> Any:
        url = prepared.url or ""
        fake = self.fake_for(url)
        if fake is None:
            served = ", ".join(f.base_url for f in self.fakes()) or "none"
            return requests.ConnectionError(
                f"Connection refused: no fake EverReal started in-process serves "
                f"{prepared.method} {urlsplit(url)._replace(query='', fragment='').geturl()}"
                f" (started: {served}).",
                request=prepared,
            )
        return answer(fake, prepared)


def answer(fake: Servable, prepared: requests.PreparedRequest) -> Any:
    """*fake*'s answer to one request, as a ``responses`` callback returns it."""
    parts = urlsplit(prepared.url or "")
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    request = FakeRequest(
        method=prepared.method or "GET",
        path=parts.path or "/",
        query_string=parts.query,
        headers=Headers(prepared.headers.items()),
        body=body,
        read_timeout=read_timeout(getattr(prepared, "req_kwargs", {}).get("timeout")),
    )
    response = fake.handle(request)
    if response.drop:
        return requests.ConnectionError(
            "Connection aborted: the fake EverReal dropped the connection (an injected fault).",
            request=prepared,
        )
    if request.read_timeout is not None and response.delay > request.read_timeout:
        return requests.ReadTimeout(
            f"Read timed out: the fake EverReal answers after {response.delay:g}s "
            f"(an injected fault), the timeout is {request.read_timeout:g}s.",
            request=prepared,
        )
    return response.status, response.headers, response.body


#: Every fake started in-process, in this process.
ROUTER = MockRouter()
