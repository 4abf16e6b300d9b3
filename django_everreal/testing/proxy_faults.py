"""The faults ``FaultProxy`` injects, and the answers it makes up itself."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Literal
from typing import NamedTuple

from django_everreal.testing import errors
from django_everreal.testing.wire import Message

FaultKind = Literal["reset", "hang", "drip", "status", "truncate", "content_type"]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "reset",
    "hang",
    "drip",
    "status",
    "truncate",
    "content_type",
)
When = Literal["before", "after"]

HTML = "text/html; charset=utf-8"
#: A page such as a load balancer or a login wall answers instead of JSON.
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>EverReal</title></head>"
    "<body><h1>We'll be back soon</h1><p>EverReal is being updated.</p></body></html>"
)


class ProxiedRequest(NamedTuple):
    """One request the proxy received, and the fault it applied (if any)."""

    method: str
    path: str
    fault: FaultKind | None = None
    when: When | None = None


@dataclass(frozen=True)
class ProxyFault:
    """How one request fails; see ``FaultProxy.inject`` for the options."""

    kind: FaultKind
    when: When = "after"
    status: int | None = None
    body: bytes | str | None = None
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    interval: float = 0.5
    rate_limit_reset: int = 60

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(
                f"Unknown fault {self.kind!r}; one of {', '.join(FAULT_KINDS)}."
            )
        if self.when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'.")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError("status must be an HTTP status (100 to 599).")
        if self.interval <= 0:
            raise ValueError("interval must be positive.")

    def own_answer(self) -> Message:
        """The proxy's own answer: for ``status``, and any fault applied ``before``.

        503 with a small HTML page by default; 200 with ``HTML_PAGE`` for
        ``content_type``; 429 carries ``X-RateLimit-*`` headers and
        EverReal's JSON error.
        """
        status = self.status or (200 if self.kind == "content_type" else 503)
        body = self.body
        content_type = self.content_type
        extra: list[tuple[str, str]] = []
        if status == 429:
            extra = [
                ("X-RateLimit-Limit", "300"),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", str(self.rate_limit_reset)),
            ]
            if body is None:
                body = json.dumps(
                    {
                        "error": "too_many_requests",
                        "error_description": errors.RATE_LIMIT_EXCEEDED,
                    }
                )
                content_type = content_type or "application/json; charset=utf-8"
        if body is None:
            body = HTML_PAGE if self.kind == "content_type" else error_page(status)
        data = body.encode("utf-8") if isinstance(body, str) else body
        headers = (
            ("Server", "FaultProxy"),
            ("Content-Type", content_type or HTML),
            *extra,
            *self.headers,
        )
        return Message(f"HTTP/1.1 {status} {reason(status)}", headers).with_body(data)

    def retyped(self, answer: Message) -> Message:
        """*answer* with ``content_type`` (HTML by default) and, if given, ``body``."""
        answer = answer.with_header("Content-Type", self.content_type or HTML)
        if self.body is not None:
            body = self.body
            answer = answer.with_body(
                body.encode("utf-8") if isinstance(body, str) else body
            )
        return answer


def truncated(answer: Message) -> bytes:
    """The head as it was and half the body: its ``Content-Length`` is a lie."""
    return answer.head + answer.body[: len(answer.body) // 2]


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def error_page(status: int) -> str:
    title = html.escape(f"{status} {reason(status)}")
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1></body></html>"
    )
