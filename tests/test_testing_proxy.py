"""FaultProxy in front of a real FakeEverRealServer, driven with ``requests`` and raw sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer

import pytest
import requests

from django_everreal.testing import HTML_PAGE
from django_everreal.testing import TOKEN_PATH
from django_everreal.testing import USERINFO_PATH
from django_everreal.testing import FaultProxy
from django_everreal.testing import ProxiedRequest

TIMEOUT = 5
CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}
GRANT = {
    **CLIENT,
    "grant_type": "password",
    "username": "anna@example.com",
    "password": "demo",
    "scope": "offline_access *",
}


@pytest.fixture
def fake(everreal_server):
    return everreal_server.fake


@pytest.fixture
def proxy(everreal_proxy):
    return everreal_proxy


def grant(proxy, session=requests, timeout=TIMEOUT):
    return session.post(f"{proxy.url}{TOKEN_PATH}", json=GRANT, timeout=timeout)


def issued(fake):
    """Refresh tokens the fake has issued to Anna: one per password grant it processed."""
    return fake.refresh_token_count("anna@example.com")


def raw_grant(proxy):
    """A token request on a raw socket, for tests that watch the bytes arrive."""
    body = json.dumps(GRANT).encode()
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)
    sock.sendall(
        f"POST {TOKEN_PATH} HTTP/1.1\r\nHost: everreal\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


def read_to_eof(sock):
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def split_answer(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return lines[0], headers, body


# Forwarding.


def test_a_session_reuses_one_connection_for_several_requests(proxy, fake):
    with requests.Session() as session:
        tokens = grant(proxy, session).json()
        for _ in range(2):
            info = session.get(
                f"{proxy.url}{USERINFO_PATH}",
                headers={"Authorization": f"Bearer {tokens['access_token']}"},
                timeout=TIMEOUT,
            )
            assert info.status_code == 200
            assert info.json()["email"] == "anna@example.com"
    assert proxy.connections_opened == 1
    assert proxy.requests == [
        ("POST", TOKEN_PATH, None, None),
        ("GET", USERINFO_PATH, None, None),
        ("GET", USERINFO_PATH, None, None),
    ]
    assert [call.status for call in fake.calls()] == [200, 200, 200]


def test_the_fixture_points_the_fake_at_the_proxy(everreal_proxy, everreal_server):
    assert everreal_server.fake.base_url == everreal_proxy.url
    assert everreal_proxy.url == f"http://127.0.0.1:{everreal_proxy.port}"
    assert everreal_proxy.url != everreal_server.url


def test_a_fault_that_closes_the_connection_makes_the_client_open_another(proxy, fake):
    with requests.Session() as session:
        assert grant(proxy, session).status_code == 200
        proxy.inject(TOKEN_PATH, "reset", when="before")
        with pytest.raises(requests.ConnectionError):
            grant(proxy, session)
        assert grant(proxy, session).status_code == 200
    assert proxy.connections_opened == 2


# Reset.


def test_reset_before_the_upstream_sees_the_request(proxy, fake):
    proxy.inject(TOKEN_PATH, "reset", when="before")
    with pytest.raises(requests.ConnectionError, match="reset"):
        grant(proxy)
    assert fake.calls("token") == []
    assert proxy.requests == [ProxiedRequest("POST", TOKEN_PATH, "reset", "before")]
    assert grant(proxy).status_code == 200


def test_reset_after_the_upstream_issued_the_tokens(proxy, fake):
    proxy.inject(TOKEN_PATH, "reset")
    with pytest.raises(requests.ConnectionError, match="reset"):
        grant(proxy)
    [call] = fake.calls("token")
    assert call.status == 200
    assert issued(fake) == 1


# Hang.


def test_hang_before_leaves_the_client_waiting_and_the_upstream_untouched(proxy, fake):
    proxy.inject(TOKEN_PATH, "hang", when="before")
    with pytest.raises(requests.ReadTimeout):
        grant(proxy, timeout=(TIMEOUT, 0.3))
    assert fake.calls("token") == []
    assert proxy.requests[-1].fault == "hang"


def test_hang_after_the_upstream_processed_the_request(proxy, fake):
    proxy.inject(TOKEN_PATH, "hang")
    with pytest.raises(requests.ReadTimeout):
        grant(proxy, timeout=(TIMEOUT, 0.3))
    assert [call.status for call in fake.calls("token")] == [200]
    assert issued(fake) == 1


def test_a_hang_ends_when_the_proxy_closes(everreal_server):
    proxy = FaultProxy(everreal_server.host, everreal_server.port).start()
    try:
        proxy.inject(TOKEN_PATH, "hang", when="before")
        sock = raw_grant(proxy)
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(1)
    finally:
        proxy.close()
    sock.settimeout(TIMEOUT)
    try:
        assert sock.recv(1) == b""
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    assert proxy.active_threads == 0


# Drip.


def test_drip_sends_the_answer_a_byte_at_a_time(proxy, fake):
    proxy.inject(TOKEN_PATH, "drip", interval=0.1)
    sock = raw_grant(proxy)
    try:
        first = sock.recv(65536)
        assert first == b"H"  # The status line drips too.
        received = first
        deadline = time.monotonic() + 0.3
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                received += sock.recv(65536)
            except TimeoutError:
                break
        # Not complete after 0.3 s: a few bytes of the status line at most.
        assert b"HTTP/1.1 200 OK".startswith(received)
        assert len(received) < 10
        # And it goes on dripping.
        sock.settimeout(TIMEOUT)
        more = sock.recv(65536)
        assert 1 <= len(more) < 5
        assert b"HTTP/1.1 200 OK".startswith(received + more)
    finally:
        sock.close()
    # After: the fake answered before the first byte left the proxy.
    assert [call.status for call in fake.calls("token")] == [200]


def test_a_dripped_answer_arrives_whole(proxy, fake):
    proxy.inject("/nowhere", "drip", interval=0.001)
    with requests.Session() as session:
        response = session.get(f"{proxy.url}/nowhere", timeout=TIMEOUT)
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "path": "/nowhere"}
        assert session.get(f"{proxy.url}/nowhere", timeout=TIMEOUT).status_code == 404
    assert proxy.connections_opened == 1


def test_drip_before_sends_the_proxys_own_answer(proxy, fake):
    proxy.inject(TOKEN_PATH, "drip", when="before", status=502, interval=0.001)
    response = grant(proxy)
    assert response.status_code == 502
    assert response.headers["Server"] == "FaultProxy"
    assert fake.calls() == []


# Status.


@pytest.mark.parametrize("status", [500, 502, 503])
def test_status_before_answers_without_the_upstream(proxy, fake, status):
    proxy.inject(TOKEN_PATH, "status", when="before", status=status)
    response = grant(proxy)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("text/html")
    assert str(status) in response.text
    assert fake.calls() == []
    assert grant(proxy).status_code == 200


def test_status_after_loses_the_upstreams_answer(proxy, fake):
    proxy.inject(TOKEN_PATH, "status")
    assert grant(proxy).status_code == 503
    assert [call.status for call in fake.calls("token")] == [200]
    assert issued(fake) == 1


def test_a_429_carries_the_rate_limit_headers(proxy, fake):
    proxy.inject(
        GRAPHQL_PATH := "/api/reporting/graphql",
        "status",
        when="before",
        status=429,
        rate_limit_reset=7,
    )
    response = requests.post(
        f"{proxy.url}{GRAPHQL_PATH}", json={"query": "{}"}, timeout=TIMEOUT
    )
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Reset"] == "7"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert response.headers["X-RateLimit-Limit"] == "300"
    assert response.json()["error"] == "too_many_requests"
    assert fake.calls() == []


# Truncate.


def test_truncate_after_keeps_the_length_and_sends_half_the_body(proxy, fake):
    proxy.inject(TOKEN_PATH, "truncate")
    sock = raw_grant(proxy)
    try:
        status_line, headers, body = split_answer(read_to_eof(sock))
    finally:
        sock.close()
    assert status_line == "HTTP/1.1 200 OK"
    length = int(headers["Content-Length"])
    assert length > 100
    assert len(body) == length // 2
    assert issued(fake) == 1


def test_requests_sees_a_truncated_answer_as_broken(proxy, fake):
    proxy.inject(TOKEN_PATH, "truncate", when="before")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        grant(proxy)
    assert fake.calls() == []


# Content type.


def test_content_type_after_relabels_the_upstreams_answer(proxy, fake):
    proxy.inject(TOKEN_PATH, "content_type")
    response = grant(proxy)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert fake.verify(json.loads(response.content)["access_token"])


def test_content_type_after_can_replace_the_body_with_a_page(proxy, fake):
    proxy.inject(TOKEN_PATH, "content_type", body=HTML_PAGE)
    with requests.Session() as session:
        response = grant(proxy, session)
        assert response.text == HTML_PAGE
        assert int(response.headers["Content-Length"]) == len(response.content)
        # The length is right, so the connection carries on.
        assert grant(proxy, session).status_code == 200
    assert proxy.connections_opened == 1
    assert issued(fake) == 2


def test_content_type_before_answers_a_page_itself(proxy, fake):
    proxy.inject(TOKEN_PATH, "content_type", when="before")
    response = grant(proxy)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text == HTML_PAGE
    assert fake.calls() == []


# Choosing requests.


def test_faults_match_a_path_prefix_and_are_used_up(proxy, fake):
    token = fake.issue_tokens("anna@example.com")["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    proxy.inject("/accounts/api/", "status", when="before", status=500, times=2)
    assert proxy.pending() == 2
    assert grant(proxy).status_code == 200
    statuses = [
        requests.get(
            f"{proxy.url}{USERINFO_PATH}", headers=auth, timeout=TIMEOUT
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [500, 500, 200]
    assert proxy.pending("/accounts/api/") == 0


def test_clear_forgets_pending_faults(proxy, fake):
    proxy.inject(TOKEN_PATH, "reset", times=3)
    proxy.clear()
    assert proxy.pending() == 0
    assert grant(proxy).status_code == 200


@pytest.mark.parametrize(
    ("fault", "options"),
    [
        ("explode", {}),
        ("reset", {"times": 0}),
        ("reset", {"when": "during"}),
        ("drip", {"interval": 0}),
        ("status", {"status": 999}),
    ],
)
def test_bad_faults_are_refused(proxy, fault, options):
    with pytest.raises(ValueError):
        proxy.inject(TOKEN_PATH, fault, **options)
    assert proxy.pending() == 0


# Shutdown.


def test_close_stops_every_thread_and_the_listener(everreal_server):
    with FaultProxy(everreal_server.host, everreal_server.port) as proxy:
        proxy.inject(TOKEN_PATH, "drip", interval=10)
        session = requests.Session()
        assert session.get(f"{proxy.url}/nowhere", timeout=TIMEOUT).status_code == 404
        dripping = raw_grant(proxy)
        assert dripping.recv(1) == b"H"
        assert proxy.active_threads == 3  # Acceptor, idle session, drip.
    assert proxy.active_threads == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("fault-proxy")]
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)
    dripping.close()
    session.close()


# Framing beyond the fake's answers.


class _Chunked(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        else:  # Close-delimited: no length, the end is the connection's end.
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until the end")
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def odd_upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Chunked)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}
    )
    thread.start()
    yield server
    server.shutdown()
    thread.join(TIMEOUT)
    server.server_close()


def test_chunked_and_close_delimited_answers(odd_upstream):
    host, port = odd_upstream.server_address[:2]
    with FaultProxy(str(host), int(port)) as proxy, requests.Session() as session:
        for _ in range(2):
            assert session.get(f"{proxy.url}/chunked", timeout=TIMEOUT).text == (
                "hello world"
            )
        assert proxy.connections_opened == 1
        assert session.get(f"{proxy.url}/close", timeout=TIMEOUT).text == (
            "until the end"
        )
        assert session.get(f"{proxy.url}/chunked", timeout=TIMEOUT).ok
        assert proxy.connections_opened == 2


# Connections the proxy gives up on.


def test_a_malformed_request_closes_the_connection_untouched(proxy, fake):
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"GET /no-version\r\nHost: everreal\r\n\r\n")
        assert read_to_eof(sock) == b""  # no answer: the proxy hung up
    assert proxy.requests == []
    assert fake.calls() == []
    assert grant(proxy).status_code == 200  # and serves the next connection


def test_an_idle_client_connection_is_closed_after_the_timeout(everreal_server):
    with FaultProxy("127.0.0.1", everreal_server.port, timeout=0.2) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT) as s:
            started = time.monotonic()
            assert read_to_eof(s) == b""
            assert time.monotonic() - started < TIMEOUT
        assert proxy.requests == []


def test_pipelined_requests_are_answered_in_order(proxy, fake):
    request = (
        f"GET {USERINFO_PATH} HTTP/1.1\r\nHost: everreal\r\n\r\n"
        f"GET {USERINFO_PATH}?second HTTP/1.1\r\nHost: everreal\r\n"
        "Connection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT) as sock:
        sock.sendall(request.encode())  # both at once, before any answer
        data = read_to_eof(sock)
    assert data.count(b"HTTP/1.1 401 ") == 2
    assert [r.path for r in proxy.requests] == [USERINFO_PATH, USERINFO_PATH]
    assert len(fake.calls("userinfo")) == 2
