"""One client connection of ``FaultProxy``: read requests, forward them, fail as told."""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

from django_everreal.testing.proxy_faults import ProxiedRequest
from django_everreal.testing.proxy_faults import ProxyFault
from django_everreal.testing.proxy_faults import truncated
from django_everreal.testing.wire import HttpFramingError
from django_everreal.testing.wire import Message
from django_everreal.testing.wire import Reader
from django_everreal.testing.wire import read_answer
from django_everreal.testing.wire import read_request


@dataclass
class _Pending:
    path_prefix: str
    fault: ProxyFault
    remaining: int


class Switchboard:
    """What the proxy's threads share: faults, the log, counts and open sockets."""

    def __init__(self, upstream: tuple[str, int], timeout: float) -> None:
        self.upstream = upstream
        self.timeout = timeout
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.log: list[ProxiedRequest] = []
        self.connections_opened = 0
        self._pending: list[_Pending] = []
        self._sockets: set[socket.socket] = set()

    def add_fault(self, path_prefix: str, fault: ProxyFault, times: int) -> None:
        with self.lock:
            self._pending.append(_Pending(path_prefix, fault, times))

    def take_fault(self, path: str) -> ProxyFault | None:
        """The oldest fault waiting for a prefix of *path*, used up once."""
        with self.lock:
            for pending in self._pending:
                if path.startswith(pending.path_prefix):
                    pending.remaining -= 1
                    if not pending.remaining:
                        self._pending.remove(pending)
                    return pending.fault
        return None

    def pending(self, path_prefix: str | None) -> int:
        with self.lock:
            return sum(
                p.remaining
                for p in self._pending
                if path_prefix is None or p.path_prefix == path_prefix
            )

    def clear_faults(self) -> None:
        with self.lock:
            self._pending.clear()

    def record(self, entry: ProxiedRequest) -> None:
        with self.lock:
            self.log.append(entry)

    def track(self, sock: socket.socket) -> None:
        """Remember *sock*, so ``shutdown_all`` unblocks whoever waits on it."""
        sock.settimeout(self.timeout)
        with self.lock:
            self._sockets.add(sock)
            if self.stopping.is_set():
                _shutdown(sock)

    def release(self, sock: socket.socket) -> None:
        with self.lock:
            self._sockets.discard(sock)
        sock.close()

    def shutdown_all(self) -> None:
        with self.lock:
            for sock in self._sockets:
                _shutdown(sock)


def serve(board: Switchboard, client: socket.socket) -> None:
    """Serve one client connection until either side closes it or the proxy stops."""
    upstream = _Upstream(board)
    reader = Reader(client)
    try:
        while not board.stopping.is_set():
            if not _wait_for_request(board, client, reader, upstream):
                return
            request = read_request(reader)
            if request is None:
                return
            method, target, _ = request.start_line.split(" ")
            path = urlsplit(target).path or "/"
            fault = board.take_fault(path)
            if fault is None:
                board.record(ProxiedRequest(method, path))
                answer = upstream.exchange(request, method)
                client.sendall(answer.head if method == "HEAD" else answer.to_bytes())
                keep_alive = answer.keep_alive and request.keep_alive
            else:
                board.record(ProxiedRequest(method, path, fault.kind, fault.when))
                lost = (
                    upstream.exchange(request, method)
                    if fault.when == "after"
                    else None
                )
                keep_alive = _fail(board, client, method, request, fault, lost)
            if not keep_alive:
                return
    except (OSError, HttpFramingError):
        return  # Either side hung up, a timeout, or a message beyond the proxy.
    finally:
        upstream.close()
        board.release(client)


def _wait_for_request(
    board: Switchboard, client: socket.socket, reader: Reader, upstream: _Upstream
) -> bool:
    """Wait for the client's next request; drop an upstream connection that closes meanwhile."""
    while not reader.buffer:
        watched = [client] + ([upstream.sock] if upstream.sock else [])
        readable, _, _ = select.select(watched, [], [], board.timeout)
        if not readable:
            return False  # Idle too long.
        if upstream.sock is not None and upstream.sock in readable:
            upstream.close()  # The upstream ended an idle connection: reconnect later.
        if client in readable:
            return True
    return True


def _fail(
    board: Switchboard,
    client: socket.socket,
    method: str,
    request: Message,
    fault: ProxyFault,
    upstream_answer: Message | None,
) -> bool:
    """Answer as *fault* says; whether the connection may carry another request."""
    if fault.kind == "reset":
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False  # Closing with a zero linger sends a RST.
    if fault.kind == "hang":
        _hang(board, client)
        return False
    answer = upstream_answer
    if fault.kind == "status" or answer is None:
        answer = fault.own_answer()
    if fault.kind == "content_type":
        answer = fault.retyped(answer)
    if fault.kind == "truncate":
        client.sendall(truncated(answer))
        return False
    data = answer.head if method == "HEAD" else answer.to_bytes()
    if fault.kind == "drip":
        if not _drip(board, client, data, fault.interval):
            return False
    else:
        client.sendall(data)
    return answer.keep_alive and request.keep_alive


def _hang(board: Switchboard, client: socket.socket) -> None:
    """Say nothing until the client gives up or the proxy stops."""
    while not board.stopping.is_set():
        try:
            if not client.recv(65536):
                return
        except TimeoutError:
            continue


def _drip(
    board: Switchboard, client: socket.socket, data: bytes, interval: float
) -> bool:
    """Send *data* a byte at a time; ``False`` when the proxy stopped meanwhile."""
    for index in range(len(data)):
        client.sendall(data[index : index + 1])
        if index + 1 < len(data) and board.stopping.wait(interval):
            return False
    return True


class _Upstream:
    """The connection to the upstream for one client connection, kept while it lasts."""

    def __init__(self, board: Switchboard) -> None:
        self.board = board
        self.sock: socket.socket | None = None
        self.reader: Reader | None = None

    def exchange(self, request: Message, method: str) -> Message:
        if self.sock is None or self.reader is None:
            self.sock = socket.create_connection(
                self.board.upstream, timeout=self.board.timeout
            )
            self.board.track(self.sock)
            self.reader = Reader(self.sock)
        self.sock.sendall(request.to_bytes())
        answer = read_answer(self.reader, method)
        if not answer.keep_alive:
            self.close()
        return answer

    def close(self) -> None:
        if self.sock is not None:
            self.board.release(self.sock)
            self.sock = None
            self.reader = None


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
