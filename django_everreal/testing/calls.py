"""The record of each request the fake received, for tests to assert on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django_everreal.testing.faults import Fault
from django_everreal.testing.http_messages import Headers


@dataclass(frozen=True)
class Call:
    """One request and how the fake answered it.

    ``status`` is what the fake produced; ``None`` when a fault dropped the
    connection before an answer. ``body`` is the parsed JSON object or form,
    ``None`` when there was none or it did not parse.
    """

    endpoint: str
    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    cookies: dict[str, str]
    content_type: str
    body: dict[str, Any] | None
    raw_body: bytes
    status: int | None
    fault: Fault | None
    time: float

    def __repr__(self) -> str:
        return f"<Call {self.endpoint} {self.method} {self.path} -> {self.status}>"

    @property
    def is_json(self) -> bool:
        return self.content_type == "application/json"

    @property
    def is_form(self) -> bool:
        return self.content_type == "application/x-www-form-urlencoded"
