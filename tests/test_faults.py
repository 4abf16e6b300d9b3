"""EverReal misbehaving on the wire, at login, at refresh and on API calls.

The fake EverReal runs as a real server behind ``FaultProxy``; each fault hits
a request before EverReal sees it or after EverReal processed it (the answer
is lost). Whatever happens: no 500, a clear answer within the deadline, the
stored tokens unchanged or recovered, no ``reauth_required`` for a passing
fault, and the next call succeeds.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from django_everreal.models import Account
from django_everreal.testing import HTML_PAGE
from django_everreal.testing import TOKEN_PATH
from django_everreal.testing import USERINFO_PATH
from django_everreal.testing.login_flow import EverRealLogin

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_client")]

#: Short, so that hanging and dripping faults end quickly.
TIMEOUT = 0.5
DEADLINE = 1.5
#: Room for the rest of a request (the database, the test client) past the deadline.
SLACK = 1.0

FAULTS: dict[str, dict[str, Any]] = {
    "reset": {"fault": "reset"},
    "hang": {"fault": "hang"},
    "drip": {"fault": "drip", "interval": 0.1},
    "500": {"fault": "status", "status": 500},
    "502": {"fault": "status", "status": 502},
    "503": {"fault": "status", "status": 503},
    "429": {"fault": "status", "status": 429, "rate_limit_reset": 30},
    "truncate": {"fault": "truncate"},
    "html": {"fault": "content_type", "body": HTML_PAGE},
}
WHEN = ["before", "after"]


@pytest.fixture
def proxy(everreal_proxy, settings):
    settings.SOCIAL_AUTH_EVERREAL_BASE_URL = everreal_proxy.url
    settings.SOCIAL_AUTH_EVERREAL_REDIRECT_URI = (
        "http://localhost:8000/auth/complete/everreal/"
    )
    settings.EVERREAL_TIMEOUT = TIMEOUT
    settings.EVERREAL_DEADLINE = DEADLINE
    settings.EVERREAL_RETRY_BACKOFF = 0.05
    settings.EVERREAL_MAX_RATE_LIMIT_WAIT = 1
    return everreal_proxy


@pytest.fixture
def fake(everreal_server):
    return everreal_server.fake


@pytest.fixture
def account(fake):
    user = get_user_model().objects.create_user("anna")
    account = Account(user=user, everreal_id=fake.user("anna@example.com").id)
    tokens = fake.issue_tokens("anna@example.com")
    account.set_tokens(tokens["access_token"], tokens["refresh_token"], 3600)
    account.save()
    return account


@pytest.fixture
def browser(account):
    client = Client()
    client.force_login(account.user)
    return client


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def stored(account):
    return Account.objects.values_list(
        "encrypted_access_token", "encrypted_refresh_token", "reauth_required"
    ).get(pk=account.pk)


def make_due(account):
    Account.objects.filter(pk=account.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )


# -- API calls ------------------------------------------------------------------


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("name", FAULTS)
def test_api_call(proxy, browser, account, name, when):
    before = stored(account)
    proxy.inject(USERINFO_PATH, when=when, times=10, **FAULTS[name])
    response, seconds = timed(
        lambda: browser.get("/userinfo/", HTTP_ACCEPT="application/json")
    )
    assert response.status_code == 503, response.content
    assert response.json()["error"] == "everreal_unavailable"
    assert seconds < DEADLINE + SLACK
    assert stored(account) == before

    proxy.clear()
    assert browser.get("/userinfo/").json() == {
        "linked": True,
        "email": "anna@example.com",
    }


@pytest.mark.parametrize("name", ["reset", "hang", "drip", "503", "truncate"])
def test_one_fault_on_a_repeatable_call_is_retried(proxy, browser, name):
    proxy.inject(USERINFO_PATH, times=1, **FAULTS[name])
    response, seconds = timed(lambda: browser.get("/userinfo/"))
    assert response.json()["linked"] is True
    assert seconds < DEADLINE + SLACK


# -- refresh --------------------------------------------------------------------


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("name", FAULTS)
def test_refresh(proxy, browser, account, fake, settings, name, when):
    make_due(account)
    before = stored(account)
    proxy.inject(TOKEN_PATH, when=when, times=1, **FAULTS[name])
    response, seconds = timed(lambda: browser.get("/userinfo/"))
    assert response.status_code == 503
    assert b"EverReal cannot be reached right now" in response.content
    assert seconds < DEADLINE + SLACK
    assert stored(account) == before  # reauth_required still False

    # Once the pause after a failed refresh is over, the next call refreshes,
    # with the same refresh token even where EverReal already rotated it.
    settings.EVERREAL_REFRESH_COOLDOWN = 0
    assert browser.get("/userinfo/").json()["linked"] is True
    after = stored(account)
    assert after[0] != before[0]
    assert after[2] is False
    assert fake.verify(Account.objects.get(pk=account.pk).access_token)


# -- login ----------------------------------------------------------------------


@pytest.mark.parametrize("when", WHEN)
@pytest.mark.parametrize("name", FAULTS)
@pytest.mark.parametrize("path", [TOKEN_PATH, USERINFO_PATH], ids=["token", "userinfo"])
def test_login(proxy, fake, client, path, name, when):
    login = EverRealLogin(client, fake)
    location = fake.authorize_redirect(login.begin(), "anna@example.com", "demo")
    proxy.inject(path, when=when, times=1, **FAULTS[name])
    response, seconds = timed(lambda: login.complete(location))
    assert response.status_code in (400, 403), response.content
    assert b"EverReal" in response.content
    assert seconds < DEADLINE + SLACK
    assert get_user_model().objects.count() == 0
    assert "_auth_user_id" not in client.session

    # The user logs in again (a new code: the old one may be spent).
    assert login("anna@example.com").status_code == 302
    assert Account.objects.get().email == "anna@example.com"


# -- connections ----------------------------------------------------------------


def test_requests_reuse_the_connection(proxy, browser):
    """Each request builds its own client; they share the process's connections."""
    for _ in range(20):
        assert browser.get("/userinfo/").json()["linked"] is True
    assert proxy.connections_opened <= 2
