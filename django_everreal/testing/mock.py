"""Serve the fake in-process to ``requests``, through the ``responses`` library.

Only this module needs ``responses`` (a test dependency), and only once a
mock starts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

import requests

from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import Headers

if TYPE_CHECKING:
    from django_everreal.testing.fake import FakeEverReal

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


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


class FakeEverRealMock:
    """Registers the fake as callbacks for every path under its ``base_url``."""

    def __init__(self, fake: FakeEverReal) -> None:
        import responses

        self.fake = fake
        self.responses = responses.RequestsMock(assert_all_requests_are_fired=False)
        url = re.compile(re.escape(fake.base_url) + r"(/[^?#]*)?(\?.*)?$")
        for method in METHODS:
            self.responses.add_callback(method, url, callback=self._callback)

    def start(self) -> None:
        self.responses.start()

    def stop(self) -> None:
        self.responses.stop()
        self.responses.reset()

    def _callback(self, prepared: requests.PreparedRequest) -> Any:
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
            read_timeout=read_timeout(
                getattr(prepared, "req_kwargs", {}).get("timeout")
            ),
        )
        response = self.fake.handle(request)
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
