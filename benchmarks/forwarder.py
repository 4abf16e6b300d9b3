"""A loopback TCP forwarder that counts the connections it accepts.

The outbound benchmark counts the TCP connections its clients open to the
fake EverReal with ``django_everreal.testing.FaultProxy`` where the tree has
it; this is the stand-in where it does not (``--counter forwarder``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable

#: How soon the accepting thread notices ``close``.
POLL_INTERVAL = 0.05
#: ``close`` waits at most this long for each thread.
JOIN_TIMEOUT = 5.0


class CountingForwarder:
    """Forwards every connection to 127.0.0.1:``port`` to the upstream, byte for byte.

    ``connections_opened`` counts the connections accepted; each gets one
    upstream connection of its own, so keep-alive passes through unchanged.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL_INTERVAL)
        self._lock = threading.Lock()
        self._opened = 0
        self._stopping = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    @property
    def connections_opened(self) -> int:
        with self._lock:
            return self._opened

    def start(self) -> CountingForwarder:
        self._spawn(self._accept)
        return self

    def close(self) -> None:
        """Stop accepting, cut every connection and join the threads."""
        self._stopping.set()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        self._listener.close()

    def _spawn(self, target: Callable[..., object], *args: socket.socket) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            upstream = socket.create_connection(self._upstream)
            with self._lock:
                self._opened += 1
                self._sockets += [client, upstream]
            self._spawn(_pump, client, upstream)
            self._spawn(_pump, upstream, client)


def _pump(source: socket.socket, target: socket.socket) -> None:
    """Copy *source* to *target* until *source* ends, then end *target*'s writing."""
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
