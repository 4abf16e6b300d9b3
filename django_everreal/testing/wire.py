"""Just enough HTTP/1.1 framing for ``FaultProxy``: where messages start and end.

Messages are kept as they travelled: the body is the raw bytes on the wire
(chunked stays chunked), so forwarding one changes nothing.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from dataclasses import replace

#: Request line and headers beyond this are refused.
MAX_HEAD = 64 * 1024
#: Bodies beyond this are refused: the fake's messages are small.
MAX_BODY = 16 * 1024 * 1024

CRLF = b"\r\n"


class HttpFramingError(ValueError):
    """A message the proxy cannot frame (malformed, or too large)."""


class Reader:
    """Buffered reads from a socket; ``ConnectionError`` when it ends mid-message."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buffer += data
        return bool(data)

    def read_until(self, marker: bytes, limit: int, *, eof_ok: bool = False) -> bytes:
        """Up to and including *marker*; ``b""`` for a clean end when *eof_ok*."""
        while True:
            end = self.buffer.find(marker)
            if end >= 0:
                end += len(marker)
                data = bytes(self.buffer[:end])
                del self.buffer[:end]
                return data
            if len(self.buffer) > limit:
                raise HttpFramingError("Line or head too long.")
            if not self._fill():
                if eof_ok and not self.buffer:
                    return b""
                raise ConnectionError("Connection closed mid-message.")

    def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise ConnectionError("Connection closed mid-message.")
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def read_to_eof(self) -> bytes:
        while self._fill():
            if len(self.buffer) > MAX_BODY:
                raise HttpFramingError("Body too long.")
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


@dataclass(frozen=True)
class Message:
    """A request or an answer: start line, headers, raw body."""

    start_line: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""
    #: An answer whose end is the connection's end (no length, not chunked).
    close_delimited: bool = False

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        found = [value for key, value in self.headers if key.lower() == wanted]
        return found[-1] if found else None

    @property
    def head(self) -> bytes:
        lines = [self.start_line, *(f"{k}: {v}" for k, v in self.headers), "", ""]
        return "\r\n".join(lines).encode("latin-1")

    def to_bytes(self) -> bytes:
        return self.head + self.body

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another message after this one."""
        if self.close_delimited:
            return False
        tokens = {
            t.strip().lower() for t in (self.header("Connection") or "").split(",")
        }
        if self.start_line.startswith("HTTP/1.0") or self.start_line.endswith(
            "HTTP/1.0"
        ):
            return "keep-alive" in tokens
        return "close" not in tokens

    def with_header(self, name: str, value: str) -> Message:
        kept = tuple((k, v) for k, v in self.headers if k.lower() != name.lower())
        return replace(self, headers=(*kept, (name, value)))

    def with_body(self, body: bytes) -> Message:
        """This message with another body, framed by a correct ``Content-Length``."""
        framing = ("content-length", "transfer-encoding")
        kept = tuple((k, v) for k, v in self.headers if k.lower() not in framing)
        return replace(
            self,
            headers=(*kept, ("Content-Length", str(len(body)))),
            body=body,
            close_delimited=False,
        )


def read_request(reader: Reader) -> Message | None:
    """The next request on a connection; ``None`` when the client closed it cleanly."""
    head = reader.read_until(CRLF + CRLF, MAX_HEAD, eof_ok=True)
    if not head:
        return None
    start_line, headers = _parse_head(head)
    if len(start_line.split(" ")) != 3:
        raise HttpFramingError("Malformed request line.")
    body, _ = _read_body(reader, headers, bodyless=False, is_answer=False)
    return Message(start_line, headers, body)


def read_answer(reader: Reader, method: str) -> Message:
    """The answer to a request of *method* (RFC 9112, section 6.3)."""
    head = reader.read_until(CRLF + CRLF, MAX_HEAD)
    start_line, headers = _parse_head(head)
    status = answer_status(start_line)
    bodyless = method == "HEAD" or status < 200 or status in (204, 304)
    body, close_delimited = _read_body(
        reader, headers, bodyless=bodyless, is_answer=True
    )
    return Message(start_line, headers, body, close_delimited)


def answer_status(start_line: str) -> int:
    parts = start_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise HttpFramingError("Malformed status line.")
    return int(parts[1])


def _parse_head(head: bytes) -> tuple[str, tuple[tuple[str, str], ...]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise HttpFramingError("Malformed header line.")
        headers.append((name.strip(), value.strip()))
    return lines[0], tuple(headers)


def _read_body(
    reader: Reader,
    headers: tuple[tuple[str, str], ...],
    *,
    bodyless: bool,
    is_answer: bool,
) -> tuple[bytes, bool]:
    """The raw body and whether it ended with the connection."""
    if bodyless:
        return b"", False
    fields = {name.lower(): value for name, value in headers}
    if "chunked" in fields.get("transfer-encoding", "").lower():
        return _read_chunked(reader), False
    if "content-length" in fields:
        length = fields["content-length"]
        if not length.isdigit() or int(length) > MAX_BODY:
            raise HttpFramingError("Bad Content-Length.")
        return reader.read_exact(int(length)), False
    if is_answer:
        return reader.read_to_eof(), True
    return b"", False


def _read_chunked(reader: Reader) -> bytes:
    raw = bytearray()
    while True:
        line = reader.read_until(CRLF, MAX_HEAD)
        raw += line
        try:
            size = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise HttpFramingError("Bad chunk size.") from None
        if size == 0:
            break
        if len(raw) + size > MAX_BODY:
            raise HttpFramingError("Body too long.")
        raw += reader.read_exact(size + len(CRLF))
    while True:  # Trailers, up to the empty line.
        line = reader.read_until(CRLF, MAX_HEAD)
        raw += line
        if line == CRLF:
            return bytes(raw)
