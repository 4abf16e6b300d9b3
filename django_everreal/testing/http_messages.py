"""Transport-neutral requests and responses, so one fake serves every adapter."""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from http.cookies import CookieError
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive HTTP headers (the last value of a repeated name wins)."""

    def __init__(
        self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()
    ) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, tuple[str, str]] = {
            name.lower(): (name, value) for name, value in pairs
        }

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self)!r})"


@dataclass(frozen=True)
class FakeRequest:
    """One HTTP request as an adapter received it."""

    method: str
    path: str
    query_string: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    #: Seconds the client waits for an answer, when the adapter knows it.
    read_timeout: float | None = None

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(self.query_string, keep_blank_values=True))

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case; empty when absent."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def cookies(self) -> dict[str, str]:
        cookie = SimpleCookie()
        try:
            cookie.load(self.headers.get("Cookie", ""))
        except CookieError:
            return {}
        return {name: morsel.value for name, morsel in cookie.items()}

    def parsed_body(self) -> dict[str, Any] | None:
        """The body as a dict for JSON objects and forms; ``None`` when empty or unparseable."""
        if not self.body:
            return None
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if self.content_type == "application/json" or self.content_type.endswith(
            "+json"
        ):
            try:
                value = json.loads(text)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
        if self.content_type in ("application/x-www-form-urlencoded", ""):
            return dict(parse_qsl(text, keep_blank_values=True))
        return None


@dataclass
class FakeResponse:
    """What the fake answers; ``delay`` and ``drop`` tell the adapter how to fail."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    delay: float = 0.0
    drop: bool = False

    def header(self, name: str) -> str | None:
        return Headers(self.headers).get(name)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def json_response(
    status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()
) -> FakeResponse:
    body = json.dumps(payload).encode("utf-8")
    return FakeResponse(
        status,
        [("Content-Type", "application/json; charset=utf-8"), *headers],
        body,
    )


def html_response(status: int, html: str) -> FakeResponse:
    return FakeResponse(
        status,
        [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
        html.encode("utf-8"),
    )


def redirect_response(location: str) -> FakeResponse:
    return FakeResponse(302, [("Location", location), ("Cache-Control", "no-store")])
