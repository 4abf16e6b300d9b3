"""The fault proxy's HTTP/1.1 framing and the fake's transport-neutral messages."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from django_everreal.testing import wire
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import Headers
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.wire import HttpFramingError
from django_everreal.testing.wire import Message
from django_everreal.testing.wire import Reader
from django_everreal.testing.wire import read_answer
from django_everreal.testing.wire import read_request


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(5)
        yield ours, theirs


def reader_of(pair: tuple[socket.socket, socket.socket], data: bytes) -> Reader:
    """A reader of *data*, after which the other side has closed."""
    ours, theirs = pair
    theirs.sendall(data)
    theirs.shutdown(socket.SHUT_WR)
    return Reader(ours)


# Reader: where messages end, and connections that end too soon.


def test_read_until_refuses_a_head_beyond_the_limit(pair):
    reader = reader_of(pair, b"x" * 100)
    with pytest.raises(HttpFramingError, match="too long"):
        reader.read_until(b"\r\n", 10)


def test_a_connection_closed_mid_message_is_a_connection_error(pair):
    reader = reader_of(pair, b"GET / HTTP/1.1\r\n")
    with pytest.raises(ConnectionError):
        reader.read_until(b"\r\n\r\n", 1000, eof_ok=True)


def test_a_body_cut_short_is_a_connection_error(pair):
    reader = reader_of(pair, b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nshort")
    with pytest.raises(ConnectionError):
        read_request(reader)


def test_a_clean_close_between_requests_is_none(pair):
    reader = reader_of(pair, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
    first = read_request(reader)
    assert first is not None and first.start_line == "GET /a HTTP/1.1"
    assert read_request(reader) is None


def test_an_answer_without_length_ends_with_the_connection(pair, monkeypatch):
    reader = reader_of(pair, b"HTTP/1.1 200 OK\r\n\r\nall of it")
    answer = read_answer(reader, "GET")
    assert answer.body == b"all of it"
    assert answer.close_delimited and not answer.keep_alive

    ours, theirs = socket.socketpair()
    with ours, theirs:
        monkeypatch.setattr(wire, "MAX_BODY", 8)
        # More than one read's worth: the limit is checked as the body comes in.
        body = b"x" * 70_000
        reader = reader_of((ours, theirs), b"HTTP/1.1 200 OK\r\n\r\n" + body)
        with pytest.raises(HttpFramingError, match="Body too long"):
            read_answer(reader, "GET")


# Framing errors.


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GET /\r\n\r\n", "Malformed request line"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", "Malformed header line"),
        (b"GET / HTTP/1.1\r\n: empty name\r\n\r\n", "Malformed header line"),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "Bad Content-Length"),
        (b"POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", "Content-Length"),
        (
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "Bad chunk size",
        ),
    ],
)
def test_malformed_requests_are_framing_errors(pair, data, message):
    with pytest.raises(HttpFramingError, match=message):
        read_request(reader_of(pair, data))


@pytest.mark.parametrize(
    "status_line", [b"HTTP/1.1", b"HTTP/1.1 OK fine", b"ICY 200 OK"]
)
def test_malformed_status_lines_are_framing_errors(pair, status_line):
    with pytest.raises(HttpFramingError, match="Malformed status line"):
        read_answer(reader_of(pair, status_line + b"\r\n\r\n"), "GET")


def test_a_chunked_body_beyond_the_limit_is_refused(pair, monkeypatch):
    monkeypatch.setattr(wire, "MAX_BODY", 16)
    data = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + b"x" * 32
    with pytest.raises(HttpFramingError, match="Body too long"):
        read_request(reader_of(pair, data + b"\r\n0\r\n\r\n"))


# Bodies as they travelled.


def test_a_chunked_body_with_trailers_is_kept_as_it_travelled(pair):
    body = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n"
    head = b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    reader = reader_of(pair, head + body + b"GET /next HTTP/1.1\r\n\r\n")
    request = read_request(reader)
    assert request is not None
    assert request.body == body
    assert request.to_bytes() == head + body
    following = read_request(reader)
    assert following is not None and following.start_line == "GET /next HTTP/1.1"


@pytest.mark.parametrize(
    ("method", "status"), [("HEAD", 200), ("GET", 204), ("GET", 304), ("GET", 101)]
)
def test_answers_without_a_body(pair, method, status):
    head = f"HTTP/1.1 {status} X\r\nContent-Length: 5\r\n\r\n".encode()
    reader = reader_of(pair, head + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    answer = read_answer(reader, method)
    assert answer.body == b"" and not answer.close_delimited
    # The next answer on the connection is read from where this one ended.
    assert read_answer(reader, "GET").body == b"ok"


@pytest.mark.parametrize(
    ("start_line", "connection", "keep_alive"),
    [
        ("HTTP/1.1 200 OK", None, True),
        ("HTTP/1.1 200 OK", "Close", False),
        ("HTTP/1.0 200 OK", None, False),
        ("HTTP/1.0 200 OK", "keep-alive", True),
        ("GET / HTTP/1.0", "Keep-Alive, foo", True),
        ("GET / HTTP/1.1", "foo, close", False),
    ],
)
def test_keep_alive_follows_the_version_and_connection_header(
    start_line, connection, keep_alive
):
    headers = (("Connection", connection),) if connection else ()
    assert Message(start_line, headers).keep_alive is keep_alive


def test_with_header_and_with_body_reframe_the_message():
    message = Message(
        "HTTP/1.1 200 OK",
        (("transfer-encoding", "chunked"), ("X-A", "1"), ("x-a", "2")),
        b"3\r\nabc\r\n0\r\n\r\n",
        close_delimited=True,
    )
    assert message.header("X-A") == "2"  # the last one
    replaced = message.with_header("X-A", "3")
    assert replaced.headers == (("transfer-encoding", "chunked"), ("X-A", "3"))
    rebodied = message.with_body(b"hello")
    assert rebodied.header("Transfer-Encoding") is None
    assert rebodied.header("Content-Length") == "5"
    assert not rebodied.close_delimited
    assert rebodied.to_bytes().endswith(b"\r\n\r\nhello")


# The fake's own requests and responses.


def test_headers_are_case_insensitive_and_keep_the_last_value():
    headers = Headers([("Content-Type", "text/plain"), ("X-Id", "1"), ("x-id", "2")])
    assert headers["content-type"] == "text/plain"
    assert headers["X-ID"] == "2"
    assert len(headers) == 2
    assert list(headers) == ["Content-Type", "x-id"]
    assert "CONTENT-TYPE" in headers
    number: object = 3
    assert number not in headers
    assert "Accept" not in headers
    assert Headers({"A": "b"}) == {"A": "b"}
    assert repr(Headers({"A": "b"})) == "Headers({'A': 'b'})"


def test_a_malformed_cookie_header_is_no_cookies():
    good = FakeRequest("GET", "/", headers=Headers({"Cookie": "a=1; b=2"}))
    assert good.cookies == {"a": "1", "b": "2"}
    for malformed in ('a="unterminated', "a=1; $b=2"):
        bad = FakeRequest("GET", "/", headers=Headers({"Cookie": malformed}))
        assert bad.cookies == {}


@pytest.mark.parametrize(
    ("content_type", "body", "parsed"),
    [
        ("application/json", b'{"a": 1}', {"a": 1}),
        ("application/merge-patch+json; charset=utf-8", b'{"a": 1}', {"a": 1}),
        ("application/json", b"[1]", None),
        ("application/json", b"{nope", None),
        ("application/json", b"\xff\xfe", None),
        ("", b"a=1&b=", {"a": "1", "b": ""}),
        ("application/x-www-form-urlencoded", b"a=1", {"a": "1"}),
        ("text/plain", b"a=1", None),
        ("application/json", b"", None),
    ],
)
def test_parsed_body(content_type, body, parsed):
    headers = Headers({"Content-Type": content_type} if content_type else {})
    request = FakeRequest("POST", "/", headers=headers, body=body)
    assert request.parsed_body() == parsed


def test_a_response_reads_as_json_and_text():
    response = json_response(201, {"ok": True}, [("X-A", "1")])
    assert response.json() == {"ok": True}
    assert response.text == '{"ok": true}'
    assert response.header("content-type") == "application/json; charset=utf-8"
    assert response.header("x-a") == "1"
    assert FakeResponse(204).header("X-A") is None
