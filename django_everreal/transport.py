"""HTTP to EverReal: one pooled session per process, and deadlines that hold.

``requests`` timeouts bound each socket operation, so an answer that trickles
in a byte at a time never times out. Here every read from the socket first
checks the attempt's deadline and waits at most until then: one attempt
lasts at most ``EVERREAL_TIMEOUT`` in total, headers and body included, and
a whole operation (attempts, backoff, the wait for a refresh) at most
``EVERREAL_DEADLINE``.
"""

from __future__ import annotations

import atexit
import http.client
import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool

from django_everreal.conf import conf

#: Connections kept open to EverReal per process: enough for a threaded worker.
POOL_SIZE = 32


class Deadline:
    """A point in time by which something must be done (monotonic clock)."""

    def __init__(self, seconds: float) -> None:
        self.expires_at = time.monotonic() + seconds

    @classmethod
    def for_operation(cls) -> Deadline:
        """``EVERREAL_DEADLINE`` from now: the budget of one call to EverReal."""
        return cls(conf.DEADLINE)

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def attempt(self) -> Deadline:
        """The deadline of one attempt: ``EVERREAL_TIMEOUT``, within this one."""
        return Deadline(max(0.0, min(conf.TIMEOUT, self.remaining())))


class DeadlineExceeded(requests.Timeout):
    """An attempt ran out of time: too slow to connect, to answer or to finish."""


_attempt: ContextVar[Deadline | None] = ContextVar("everreal_attempt", default=None)


class _DeadlineSocketReader(io.RawIOBase):
    """Reads the socket, each read waiting at most until the attempt's deadline."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise TimeoutError("EverReal's answer did not arrive in time.")
        self.sock.settimeout(remaining)
        return self.sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``http.client`` reads an answer from: the socket, read by the deadline."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.sock = sock
        self.deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineSocketReader(self.sock, self.deadline))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        deadline = _attempt.get()
        source: Any = sock if deadline is None else _DeadlineSocket(sock, deadline)
        super().__init__(source, *args, **kwargs)


class _HTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOL_CLASSES = {"http": _HTTPConnectionPool, "https": _HTTPSConnectionPool}


class DeadlineAdapter(HTTPAdapter):
    """``requests``' adapter with connections whose answers keep the deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has connections of its own
            manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


def new_session() -> requests.Session:
    """A session for EverReal: pooled, deadline-keeping, and keeping no cookies.

    The session is shared by every user's calls, so it must not remember
    what EverReal sets for one of them.
    """
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = DeadlineAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_session: requests.Session | None = None
_session_lock = threading.Lock()


def session() -> requests.Session:
    """The process's session to EverReal; its connections stay open between requests."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                _session = new_session()
    return _session


def close() -> None:
    """Close the process's connections to EverReal (at exit)."""
    global _session
    with _session_lock:
        if _session is not None:
            _session.close()
            _session = None


def _forget_after_fork() -> None:
    # A worker forked from a server that already called EverReal must not
    # share its parent's sockets.
    global _session, _session_lock
    _session = None
    _session_lock = threading.Lock()


atexit.register(close)
os.register_at_fork(after_in_child=_forget_after_fork)


@contextmanager
def attempt_deadline(deadline: Deadline) -> Iterator[None]:
    """Let reads on the process's connections wait at most until *deadline*."""
    token = _attempt.set(deadline)
    try:
        yield
    finally:
        _attempt.reset(token)


def send(
    method: str,
    url: str,
    *,
    deadline: Deadline,
    http: requests.Session | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One attempt of *method* *url*, whole answer read, within *deadline*.

    Raises ``DeadlineExceeded`` (a ``requests.Timeout``) when the attempt
    runs out of time, whatever phase it was in; other ``requests``
    exceptions pass as they are.
    """
    attempt = deadline.attempt()
    seconds = attempt.remaining()
    if seconds <= 0:
        raise DeadlineExceeded(f"No time left to call EverReal ({method}).")
    with attempt_deadline(attempt):
        try:
            return (http or session()).request(
                method, url, timeout=(seconds, seconds), **kwargs
            )
        except requests.RequestException as exc:
            if attempt.expired and not isinstance(exc, DeadlineExceeded):
                raise DeadlineExceeded(
                    f"EverReal did not answer in time ({method})."
                ) from exc
            raise
