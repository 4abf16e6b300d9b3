"""The fake's smaller promises: its clock, faults, lookups, router, server and proxy edges."""

from __future__ import annotations

import socket
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from urllib3.util import Timeout

import django_everreal.testing as testing
from django_everreal.testing import FakeClock
from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeEverRealError
from django_everreal.testing import FakeEverRealServer
from django_everreal.testing.data import ABSENT
from django_everreal.testing.data import FakeCompany
from django_everreal.testing.data import FakePartner
from django_everreal.testing.data import demo_users
from django_everreal.testing.fake import _Mirror
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.proxy import FaultProxy
from django_everreal.testing.router import ROUTER
from django_everreal.testing.router import origin
from django_everreal.testing.router import read_timeout

TIMEOUT = 5
USERINFO = "https://demo.everreal.co/accounts/api/userinfo"


# The clock.


def test_a_wall_clock_follows_time_and_moves_ahead():
    clock = FakeClock()
    before = time.time()
    now = clock()
    assert before <= now <= time.time()
    clock.advance(3600)
    assert clock() >= before + 3600
    assert repr(clock).startswith("<FakeClock wall offset=+3600s now=")


def test_a_frozen_clock_says_where_it_stands():
    clock = FakeClock(now=1000)
    clock.advance(-10)
    assert clock() == 990
    assert repr(clock) == "<FakeClock frozen offset=-10s now=990>"


# Faults.


def test_faults_refuse_what_cannot_happen():
    fake = FakeEverReal()
    with pytest.raises(ValueError, match="negative"):
        fake.delay_next("userinfo", -1)
    with pytest.raises(ValueError, match="at least 1"):
        fake.fail_next("userinfo", times=0)
    assert fake.pending_faults("userinfo") == 0


def test_a_text_fault_body_is_plain_text():
    fake = FakeEverReal()
    fake.fail_next("userinfo", 502, "Bad Gateway")
    with fake.mock():
        answer = requests.get(USERINFO, timeout=TIMEOUT)
    assert answer.status_code == 502
    assert answer.text == "Bad Gateway"
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"


# Lookups and settings of the fake.


def test_users_or_a_users_file_not_both(tmp_path):
    path = tmp_path / "users.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match="not both"):
        FakeEverReal(users=demo_users(), users_file=path)


def test_unknown_users_and_clients_are_key_errors():
    fake = FakeEverReal()
    assert fake.find_user("nobody@example.com") is None
    with pytest.raises(KeyError):
        fake.user("nobody@example.com")
    with pytest.raises(KeyError):
        fake.client("no-such-client")


def test_a_user_is_added_once():
    fake = FakeEverReal()
    anna = fake.user("anna@example.com")
    with pytest.raises(ValueError, match="exists already"):
        fake.add_user(type(anna)(email="ANNA@example.com", password="x"))
    added = fake.add_user(type(anna)(email="new@example.com", password="x"))
    assert fake.user("new@example.com") is added
    assert repr(fake) == (
        f"<FakeEverReal https://demo.everreal.co users={len(fake.users)} clients=1>"
    )


def test_the_rate_limit_window_can_be_changed():
    fake = FakeEverReal(rate_limit=1, rate_limit_window=60)
    assert fake.rate_limit_window == 60
    fake.rate_limit_window = 1
    assert fake.rate_limit_window == 1
    token = fake.issue_tokens("anna@example.com")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with fake.mock():
        assert requests.get(USERINFO, headers=headers, timeout=TIMEOUT).ok
        assert requests.get(USERINFO, headers=headers, timeout=TIMEOUT).status_code == (
            429
        )
        fake.advance_clock(1)
        assert requests.get(USERINFO, headers=headers, timeout=TIMEOUT).ok


@pytest.mark.parametrize(
    ("base_url", "partners", "subdomain"),
    [
        ("https://beta.everreal.co", ["acme"], "beta"),
        ("http://127.0.0.1:8001", ["acme"], "acme"),
        ("http://127.0.0.1:8001", [None, "acme"], "acme"),
        ("http://127.0.0.1:8001", [None], "demo"),
        ("https://a.b.everreal.co", [None], "demo"),
    ],
)
def test_the_subdomain_in_deliveries(base_url, partners, subdomain):
    users = demo_users()[: len(partners)]
    for user, partner in zip(users, partners, strict=True):
        user.partner = None if partner is None else FakePartner("p", partner, partner)
    assert FakeEverReal(base_url=base_url, users=users).subdomain == subdomain


def test_deprecated_names_warn_and_unknown_names_are_attribute_errors():
    with pytest.warns(DeprecationWarning, match="use FakeCompany"):
        assert testing.Company is FakeCompany
    with pytest.warns(DeprecationWarning, match="use FakePartner"):
        assert testing.Partner is FakePartner
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        testing.Nope


# The in-process router.


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [
        (None, None),
        (3, 3.0),
        (2.5, 2.5),
        ((1, 4), 4.0),
        ((1, None), None),
        (Timeout(connect=1, read=7), 7.0),
        (Timeout(connect=1), None),
        ("soon", None),
    ],
)
def test_read_timeout_in_each_form_requests_takes(timeout, seconds):
    assert read_timeout(timeout) == seconds


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://Demo.EverReal.co/x", "https://demo.everreal.co:443"),
        ("http://localhost:8001/", "http://localhost:8001"),
        ("http://[::1]:8001/", "http://[::1]:8001"),
        ("http://[::1]/", "http://[::1]:80"),
        ("http://host:99999/", "http://host:80"),
        ("ftp://host/", "ftp://host:"),
    ],
)
def test_origins_are_normalised(url, normal):
    assert origin(url) == normal


def test_removing_a_fake_never_served_leaves_the_others():
    serving, stranger = FakeEverReal(), FakeEverReal()
    with serving.mock():
        ROUTER.remove(stranger)
        assert serving in ROUTER.fakes()
        assert requests.get(USERINFO, timeout=TIMEOUT).status_code == 401
    ROUTER.remove(stranger)  # and with no mock running at all
    assert ROUTER.fakes() == []


# The HTTP server.


def raw_exchange(server: FakeEverRealServer, data: bytes) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=TIMEOUT) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("length", ["-1", str(1024 * 1024 + 1)])
def test_the_server_refuses_a_bad_or_huge_body_length(length):
    with FakeEverRealServer(FakeEverReal()) as server:
        answer = raw_exchange(
            server,
            f"POST /accounts/oauth/token HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n\r\n".encode(),
        )
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert server.fake.calls("token") == []


def test_the_server_answers_head_without_a_body():
    with FakeEverRealServer(FakeEverReal()) as server:
        path = "/accounts/api/userinfo"
        expected = server.fake.handle(FakeRequest("HEAD", path))
        head = requests.head(server.url + path, timeout=TIMEOUT)
        assert head.status_code == expected.status
        assert expected.body  # the fake's answer has a body: the server holds it back
        assert head.content == b""
        assert head.headers["Content-Length"] == str(len(expected.body))
        # The connection stays usable: nothing of the body is left on it.
        with requests.Session() as session:
            for _ in range(2):
                assert session.head(server.url + path, timeout=TIMEOUT).content == b""
            assert session.get(server.url + path, timeout=TIMEOUT).status_code == 401


def test_a_failing_handle_costs_one_connection_not_the_server(capsys):
    fake = FakeEverReal()
    real_handle = fake.handle
    failures = [RuntimeError("a bug in a wrapped handle")]

    def handle(request: Any) -> Any:
        if failures:
            raise failures.pop()
        return real_handle(request)

    fake.handle = handle  # type: ignore[method-assign]
    with FakeEverRealServer(fake) as server:
        assert server.start() is server  # started once only
        with pytest.raises(requests.ConnectionError):
            requests.get(server.url + "/accounts/api/userinfo", timeout=TIMEOUT)
        answer = requests.get(server.url + "/accounts/api/userinfo", timeout=TIMEOUT)
        assert answer.status_code == 401
        assert repr(server) == f"<FakeEverRealServer {server.url}>"
    assert "a bug in a wrapped handle" in capsys.readouterr().err


# The fault proxy's life cycle.


def test_a_closed_proxy_cannot_start_again_and_closes_once():
    with FakeEverRealServer(FakeEverReal()) as server:
        proxy = FaultProxy(server.host, server.port)
        assert repr(proxy) == f"<FaultProxy {proxy.url} -> 127.0.0.1:{server.port}>"
        with proxy:
            assert requests.get(
                proxy.url + "/accounts/api/userinfo", timeout=TIMEOUT
            ).status_code == (401)
        proxy.close()
        assert proxy.active_threads == 0
        with pytest.raises(RuntimeError, match="closed"):
            proxy.start()


# More of the fake's small promises.


def test_a_bytes_fault_body_is_an_octet_stream():
    fake = FakeEverReal()
    fake.fail_next("userinfo", 500, b"\x00\x01")
    with fake.mock():
        answer = requests.get(USERINFO, timeout=TIMEOUT)
    assert answer.content == b"\x00\x01"
    assert answer.headers["Content-Type"] == "application/octet-stream"


def test_tokens_verify_with_the_published_key():
    fake = FakeEverReal()
    token = fake.issue_tokens("anna@example.com")["access_token"]
    pem_key = serialization.load_pem_public_key(fake.public_key_pem.encode())
    for key in (fake.public_key, pem_key):
        claims = jwt.decode(token, key, algorithms=["RS256"])  # type: ignore[arg-type]
        assert claims["sub"] == fake.user("anna@example.com").id


def test_the_rate_limit_can_be_read_and_changed():
    fake = FakeEverReal()
    assert fake.rate_limit == 300
    fake.rate_limit = 5
    assert fake.rate_limit == 5
    assert isinstance(FakeEverReal.rotate_refresh_tokens, _Mirror)
    assert fake.rotate_refresh_tokens is True


def test_stop_mock_without_a_mock_is_harmless_and_calls_say_what_they_are():
    fake = FakeEverReal()
    fake.stop_mock()
    with pytest.raises(FakeEverRealError, match="No calls of userinfo yet"):
        fake.last_call("userinfo")
    with fake.mock():
        requests.get(USERINFO, timeout=TIMEOUT)
    call = fake.last_call("userinfo")
    assert repr(call) == "<Call userinfo GET /accounts/api/userinfo -> 401>"
    assert repr(ABSENT) == "ABSENT"


def test_the_router_serves_each_fake_once():
    fake = FakeEverReal()
    ROUTER.add(fake)
    try:
        with pytest.raises(FakeEverRealError, match="running already"):
            ROUTER.add(fake)
    finally:
        ROUTER.remove(fake)
    assert fake not in ROUTER.fakes()


def test_a_proxy_starts_once_and_closes_without_starting():
    with FakeEverRealServer(FakeEverReal()) as server:
        never_started = FaultProxy(server.host, server.port)
        never_started.close()
        assert never_started.active_threads == 0
        with FaultProxy(server.host, server.port) as proxy:
            assert proxy.start() is proxy
            assert proxy.active_threads == 1  # the one acceptor
        assert proxy.active_threads == 0
