from __future__ import annotations

import time

import pytest

from django_everreal import transport
from django_everreal.testing import USERINFO_PATH
from django_everreal.transport import Deadline
from django_everreal.transport import DeadlineExceeded


def test_a_dripping_answer_is_cut_at_the_attempts_deadline(everreal_proxy, settings):
    settings.EVERREAL_TIMEOUT = 0.5
    everreal_proxy.inject(USERINFO_PATH, "drip", when="before", interval=0.05)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        transport.send("GET", everreal_proxy.url + USERINFO_PATH, deadline=Deadline(5))
    assert time.monotonic() - started < 0.5 + 0.5


def test_no_time_left_sends_nothing(everreal_proxy):
    with pytest.raises(DeadlineExceeded):
        transport.send("GET", everreal_proxy.url + USERINFO_PATH, deadline=Deadline(0))
    assert everreal_proxy.requests == []


def test_an_attempt_never_outlasts_the_operation(settings):
    settings.EVERREAL_TIMEOUT = 10
    assert Deadline(2).attempt().remaining() <= 2


def test_the_session_is_shared_and_keeps_no_cookies(everreal_proxy):
    """Every user's calls share the session: nothing EverReal sets may stick to it."""
    session = transport.session()
    assert transport.session() is session
    everreal_proxy.inject(
        USERINFO_PATH,
        "status",
        when="before",
        status=503,
        headers=[("Set-Cookie", "sid=someones-session; Path=/")],
    )
    response = transport.send(
        "GET", everreal_proxy.url + USERINFO_PATH, deadline=Deadline(5)
    )
    assert response.headers["Set-Cookie"].startswith("sid=")
    assert list(session.cookies) == []


def test_connections_through_an_http_proxy_keep_the_deadline():
    adapter = transport.session().get_adapter("https://acme.everreal.co")
    assert isinstance(adapter, transport.DeadlineAdapter)
    manager = adapter.proxy_manager_for("http://127.0.0.1:3128")
    assert manager.pool_classes_by_scheme["https"].ConnectionCls.response_class is (
        transport._DeadlineResponse
    )


def test_closing_at_exit_drops_the_connections_and_a_later_call_opens_new_ones(
    everreal_proxy,
):
    before = transport.session()
    transport.send("GET", everreal_proxy.url + USERINFO_PATH, deadline=Deadline(5))
    adapter = before.get_adapter(everreal_proxy.url)
    assert isinstance(adapter, transport.DeadlineAdapter)
    assert adapter.poolmanager.pools  # a connection kept open

    transport.close()
    transport.close()  # twice, as atexit and a server's own shutdown may

    assert not adapter.poolmanager.pools
    after = transport.session()
    assert after is not before
    response = transport.send(
        "GET", everreal_proxy.url + USERINFO_PATH, deadline=Deadline(5)
    )
    assert response.status_code == 401  # EverReal answered: no token sent
