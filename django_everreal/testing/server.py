"""Serve the fake over real HTTP, for the example site and end-to-end tests."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from django_everreal.testing.fake import FakeEverReal
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import Headers
from django_everreal.testing.routes import CONTROL_PATH
from django_everreal.testing.webhook_delivery import control_deliver

logger = logging.getLogger("django_everreal.testing")

#: An injected delay never holds a server thread longer than this.
MAX_DELAY = 30.0
#: How soon ``stop`` takes effect.
POLL_INTERVAL = 0.05
#: Bodies beyond this are refused: the fake's requests are small.
MAX_BODY = 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Never share a port with another socket: each port is one customer.
    allow_reuse_port = False
    # socketserver's backlog is 5: a burst of concurrent callers (a load test,
    # many threads refreshing at once) would see connections dropped and
    # retried a second later, a delay no real server adds.
    request_queue_size = 256
    fake: FakeEverReal
    stopping: threading.Event
    max_delay: float

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (or a dropped connection fault) is no error of the fake."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "FakeEverReal"
    sys_version = ""
    # Idle keep-alive connections must not hold threads forever.
    timeout = 30
    # The head and the body go out in two writes: with Nagle's algorithm on, a
    # kept-alive connection would hold the body back for the client's delayed
    # ACK (some 40 ms), as no production server does.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        request = FakeRequest(
            method=self.command,
            path=parts.path or "/",
            query_string=parts.query,
            headers=Headers(self.headers.items()),
            body=body,
        )
        if request.path.rstrip("/") == CONTROL_PATH:
            # The fake's own control, not EverReal's API: no call, fault or limit.
            response = control_deliver(
                self.server.fake, request, str(self.client_address[0])
            )
        else:
            response = self.server.fake.handle(request)
        if response.delay:
            self.server.stopping.wait(min(response.delay, self.server.max_delay))
        if response.drop:
            logger.info("%s %s dropped", self.command, parts.path)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path only: queries carry codes and states.
        status = int(code) if isinstance(code, int) else code
        logger.info("%s %s %s", self.command, urlsplit(self.path).path, status)

    def log_error(self, format: str, *args: Any) -> None:
        # Messages of the base class may quote the request line, with its query.
        logger.warning(
            "%s %s: HTTP error",
            getattr(self, "command", "-"),
            urlsplit(getattr(self, "path", "")).path,
        )

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("fake EverReal: %s", getattr(self, "command", "-"))


class FakeEverRealServer:
    """A fake EverReal on a real socket, served from a thread.

    ``with FakeEverRealServer(fake) as server: requests.get(server.url + ...)``;
    ``port=0`` picks a free port. ``fake.base_url`` is set to the server's URL.
    ``POST /_fake/webhooks/deliver`` ``{"type": ..., "data": ...}`` from a
    loopback caller makes the fake deliver a webhook event (``fake.deliver``).
    """

    def __init__(
        self,
        fake: FakeEverReal | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_delay: float = MAX_DELAY,
    ) -> None:
        self.fake = fake or FakeEverReal()
        self._httpd = _Server((host, port), _Handler, bind_and_activate=True)
        self._httpd.fake = self.fake
        self._httpd.stopping = threading.Event()
        self._httpd.max_delay = max_delay
        self._thread: threading.Thread | None = None
        #: Set while ``serve_forever`` runs in a thread of the caller's.
        self._serving = threading.Event()
        self.fake.base_url = self.url

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> FakeEverRealServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": POLL_INTERVAL},
                name=f"fake-everreal-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until ``stop`` from another thread (or Ctrl+C)."""
        self._serving.set()
        try:
            self._httpd.serve_forever(poll_interval=POLL_INTERVAL)
        finally:
            self._serving.clear()
            self._httpd.server_close()

    def stop(self) -> None:
        self._httpd.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        elif self._serving.is_set():
            # serve_forever runs in another thread: ask it to end and wait.
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeEverRealServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<FakeEverRealServer {self.url}>"
