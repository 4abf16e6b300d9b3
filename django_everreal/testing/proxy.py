"""A loopback TCP proxy that breaks HTTP exchanges on purpose, for end-to-end tests.

Put it in front of a ``FakeEverRealServer`` and point the client at ``proxy.url``::

    with FakeEverRealServer() as server, FaultProxy(server.host, server.port) as proxy:
        proxy.inject("/accounts/oauth/token", "reset", when="after")
        ...  # the fake issues new tokens, the client never hears of them

Faults, each for the next *times* requests whose path starts with a prefix:

``reset``
    close the client's connection with a TCP RST;
``hang``
    never answer, until the client gives up or the proxy closes;
``drip``
    send the answer a byte every ``interval`` seconds, head included;
``status``
    answer ``status`` itself (503 by default; 429 comes with ``X-RateLimit-*``
    headers, ``X-RateLimit-Reset`` being ``rate_limit_reset``);
``truncate``
    send the head, ``Content-Length`` unchanged, and half the body, then close;
``content_type``
    replace the answer's ``Content-Type`` (``text/html`` by default) and,
    given ``body``, its body (``HTML_PAGE`` is one), with a correct length.

``when="before"``: the upstream never sees the request, and the answer that
``drip``, ``truncate`` and ``content_type`` work on is the proxy's own (as
for ``status``). ``when="after"``: the upstream receives and answers the
request in full, then the fault hits its answer.

Connections are kept alive as the client and the upstream allow, one
upstream connection per client connection; ``connections_opened`` counts the
client's. Only HTTP/1.1 without ``Expect: 100-continue`` or upgrades.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType

from django_everreal.testing.proxy_connection import Switchboard
from django_everreal.testing.proxy_connection import serve
from django_everreal.testing.proxy_faults import HTML_PAGE
from django_everreal.testing.proxy_faults import FaultKind
from django_everreal.testing.proxy_faults import ProxiedRequest
from django_everreal.testing.proxy_faults import ProxyFault
from django_everreal.testing.proxy_faults import When

__all__ = ["HTML_PAGE", "FaultProxy", "ProxiedRequest", "ProxyFault"]

#: How soon the accepting thread notices ``close``.
POLL_INTERVAL = 0.05
#: ``close`` waits at most this long for the proxy's threads.
JOIN_TIMEOUT = 5.0


class FaultProxy:
    """A fault-injecting HTTP/1.1 proxy on 127.0.0.1, served from threads.

    ``port=0`` picks a free port. ``timeout`` bounds every wait on a socket
    (an idle client connection, a slow upstream). A context manager;
    ``close`` stops every thread it started.
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        port: int = 0,
        timeout: float = 30.0,
    ) -> None:
        self._board = Switchboard((upstream_host, upstream_port), timeout)
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(POLL_INTERVAL)
        self._port = int(self._listener.getsockname()[1])
        self._acceptor: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # Faults.

    def inject(
        self,
        path_prefix: str,
        fault: FaultKind,
        *,
        when: When = "after",
        times: int = 1,
        status: int | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
        interval: float = 0.5,
        rate_limit_reset: int = 60,
    ) -> ProxyFault:
        """Make the next *times* requests under *path_prefix* fail as *fault*.

        Faults wait in order; a request takes the oldest whose prefix matches.
        ``status``, ``body``, ``content_type`` and ``headers`` shape the
        proxy's own answers (and ``content_type``'s replacements).
        """
        if times < 1:
            raise ValueError("times must be at least 1.")
        made = ProxyFault(
            fault,
            when,
            status=status,
            body=body,
            content_type=content_type,
            headers=tuple(headers),
            interval=interval,
            rate_limit_reset=rate_limit_reset,
        )
        self._board.add_fault(path_prefix, made, times)
        return made

    def pending(self, path_prefix: str | None = None) -> int:
        """Injected faults not used yet (of *path_prefix* as injected, if given)."""
        return self._board.pending(path_prefix)

    def clear(self) -> None:
        """Forget the faults not used yet; the log and counts stay."""
        self._board.clear_faults()

    @property
    def requests(self) -> list[ProxiedRequest]:
        """``(method, path, fault, when)`` of each request received, oldest first."""
        with self._board.lock:
            return list(self._board.log)

    @property
    def connections_opened(self) -> int:
        """Client TCP connections accepted so far."""
        with self._board.lock:
            return self._board.connections_opened

    @property
    def active_threads(self) -> int:
        """The proxy's threads still running (0 after ``close``)."""
        threads = [*self._threads, *([self._acceptor] if self._acceptor else [])]
        return sum(thread.is_alive() for thread in threads)

    # Lifecycle.

    def start(self) -> FaultProxy:
        if self._closed:
            raise RuntimeError("This proxy is closed.")
        if self._acceptor is None:
            self._acceptor = threading.Thread(
                target=self._accept, name=f"fault-proxy-{self.port}", daemon=True
            )
            self._acceptor.start()
        return self

    def close(self) -> None:
        """Stop accepting, cut every connection, and join the threads."""
        if self._closed:
            return
        self._closed = True
        self._board.stopping.set()
        deadline = time.monotonic() + JOIN_TIMEOUT
        if self._acceptor is not None:
            self._acceptor.join(JOIN_TIMEOUT)
        self._listener.close()
        self._board.shutdown_all()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _accept(self) -> None:
        while not self._board.stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._board.lock:
                self._board.connections_opened += 1
            self._board.track(client)
            self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(
                target=serve,
                args=(self._board, client),
                name=f"fault-proxy-{self.port}-connection",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        host, port = self._board.upstream
        return f"<FaultProxy {self.url} -> {host}:{port}>"
