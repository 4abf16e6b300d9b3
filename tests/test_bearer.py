"""EverReal access tokens as API credentials: DRF's ``EverRealTokenAuthentication``."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import BaseCache
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.db import connections
from django.test import Client
from django.test import RequestFactory
from social_django.models import UserSocialAuth

from django_everreal import bearer
from django_everreal.models import Account
from django_everreal.testing import FakeEverReal
from django_everreal.testing.data import FakeClient
from tests.recording_cache import RecordingCache
from tests.redis_cache import RunRedisCache

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_scopes")]

URL = "/api/token/"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    caches["default"].clear()
    yield
    caches["default"].clear()


def use_recording_cache(settings: Any) -> None:
    """A fresh cache that records the timeout of each entry (its own, whatever CACHES was)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "tests.recording_cache.RecordingCache",
            "LOCATION": "recording",
        }
    }
    caches["default"].clear()


def token_of(fake: FakeEverReal, email: str = "anna@example.com", **kw: Any) -> str:
    return str(fake.issue_tokens(email, **kw)["access_token"])


def call(client: Client, token: str | None, url: str = URL, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(url, headers=headers)


def cache_keys(cache: BaseCache) -> list[str]:
    """The keys in the test cache: locmem's own, or this run's in Redis."""
    if isinstance(cache, RunRedisCache):
        return cache.run_keys()
    return list(cache._cache)  # type: ignore[attr-defined]


def userinfo_calls(fake: FakeEverReal) -> int:
    return len(fake.calls("userinfo"))


def test_a_valid_token_is_the_linked_user_with_the_tokens_scopes(client, everreal_fake):
    token = token_of(everreal_fake)

    response = call(client, token)

    assert response.status_code == 200
    assert response.json() == {"user": "anna@example.com", "portfolio": True}
    account = Account.objects.get()
    assert account.user.get_username() == "anna@example.com"
    assert UserSocialAuth.objects.get().uid == account.everreal_id
    assert userinfo_calls(everreal_fake) == 1


def test_a_cached_token_costs_no_userinfo_call(client, everreal_fake):
    token = token_of(everreal_fake)
    call(client, token)

    for _ in range(3):
        assert call(client, token).status_code == 200

    assert userinfo_calls(everreal_fake) == 1


@pytest.mark.urls("tests.urls")
def test_a_browser_login_and_a_token_are_one_user(
    client, everreal_fake, everreal_login
):
    everreal_login("anna@example.com")
    token = token_of(everreal_fake)
    request = RequestFactory().get("/", headers={"Authorization": f"Bearer {token}"})

    user, _identity = bearer.authenticate(request, token)

    assert list(get_user_model().objects.all()) == [user]


def test_without_a_token_the_challenge_is_bearer(client, everreal_fake):
    response = call(client, None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("token", ["not-a-token-of-everreal", "ä" * 10, "x" * 20000])
def test_a_bad_token_is_a_401_invalid_token(client, everreal_fake, token):
    response = call(client, token)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert not get_user_model().objects.exists()


def test_a_refused_token_is_refused_from_the_cache(client, everreal_fake):
    call(client, "not-a-token-of-everreal")
    call(client, "not-a-token-of-everreal")

    assert userinfo_calls(everreal_fake) == 1


def test_a_token_issued_to_another_client_is_refused(client, everreal_fake, settings):
    everreal_fake.clients.append(FakeClient("spa-client", "spa-secret"))
    token = token_of(everreal_fake, client_id="spa-client")

    assert call(client, token).status_code == 401

    settings.EVERREAL_TOKEN_AUDIENCES = ["spa-client"]
    caches["default"].clear()
    assert call(client, token).status_code == 200


def test_an_expired_token_is_refused(client, everreal_fake):
    token = token_of(everreal_fake)
    everreal_fake.advance_clock(3601)

    assert call(client, token).status_code == 401


def test_the_cache_entry_ends_at_the_tokens_expiry(client, everreal_fake, settings):
    use_recording_cache(settings)
    everreal_fake.access_token_lifetime = 120
    token = token_of(everreal_fake)

    call(client, token)

    cache = caches["default"]
    assert isinstance(cache, RecordingCache)
    [timeout] = [t for key, t in cache.timeouts if not key.endswith(":lock")]
    assert 115 <= timeout <= 120  # not EVERREAL_TOKEN_CACHE_TIMEOUT's 300


def test_a_token_past_its_expiry_is_refused_even_from_the_cache(client, everreal_fake):
    token = token_of(everreal_fake)
    call(client, token)
    key = bearer.cache_key("", token)
    entry = caches["default"].get(key)
    caches["default"].set(key, {**entry, "expires_at": 0})

    assert call(client, token).status_code == 401


def test_a_revoked_token_is_refused_once_its_entry_lapses(client, everreal_fake):
    token = token_of(everreal_fake)
    assert call(client, token).status_code == 200
    everreal_fake.revoke(token)

    caches["default"].clear()  # the entry lapses

    assert call(client, token).status_code == 401


def test_an_inactive_everreal_user_is_refused(client, everreal_fake):
    everreal_fake.user("anna@example.com").is_active = False

    assert call(client, token_of(everreal_fake)).status_code == 401


def test_an_inactive_django_user_is_refused(client, everreal_fake):
    token = token_of(everreal_fake)
    call(client, token)
    get_user_model().objects.update(is_active=False)

    assert call(client, token).status_code == 401


def test_unknown_users_may_be_refused_instead_of_created(
    client, everreal_fake, settings
):
    settings.EVERREAL_TOKEN_CREATE_USERS = False

    assert call(client, token_of(everreal_fake)).status_code == 401
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("fault", ["500", "drop"])
def test_everreal_out_of_reach_is_a_503_not_cached(client, everreal_fake, fault):
    token = token_of(everreal_fake)
    if fault == "drop":
        everreal_fake.drop_next("userinfo")
    else:
        everreal_fake.fail_next("userinfo", 500)

    assert call(client, token).status_code == 503
    caches["default"].clear()  # the short "unavailable" note
    assert call(client, token).status_code == 200


def test_a_scope_the_token_lacks_is_a_403(client, everreal_fake):
    token = token_of(everreal_fake, "tom@example.com")

    assert call(client, token).status_code == 200
    assert call(client, token, "/api/token/admin/").status_code == 403


def test_request_everreal_calls_with_the_apps_token(client, everreal_fake):
    token = token_of(everreal_fake)

    response = call(client, token, "/api/token/userinfo/")

    assert response.status_code == 200
    assert everreal_fake.last_call("userinfo").headers["Authorization"] == (
        f"Bearer {token}"
    )
    assert not everreal_fake.calls("token")  # never refreshed: the app owns it


def test_the_customer_comes_from_a_header(client, everreal_fake, everreal_customer):
    beta = everreal_customer("beta")
    token = token_of(beta, client_id="beta-client")

    assert call(client, token).status_code == 401  # not the settings' customer's
    response = call(client, token, **{"X-EverReal-Customer": "beta"})
    assert response.status_code == 200
    assert Account.objects.get().customer == "beta"
    assert call(client, token, **{"X-EverReal-Customer": "nobody"}).status_code == 401


def test_a_request_taking_the_lock_after_another_answered_asks_no_more(
    client, everreal_fake, settings
):
    """Between a request's cache miss and its lock, another may ask and let go."""
    use_recording_cache(settings)
    token = token_of(everreal_fake)
    cache = caches["default"]
    assert isinstance(cache, RecordingCache)
    cache.before_add = lambda: call(client, token)

    assert call(client, token).status_code == 200
    assert userinfo_calls(everreal_fake) == 1


def test_a_refused_token_is_logged_in_words_the_redaction_keeps(
    client, everreal_fake, caplog
):
    caplog.set_level(logging.INFO, logger="django_everreal")
    call(client, "not-a-token-of-everreal")

    assert "EverReal access token refused:" in caplog.text
    assert "*****" not in caplog.text


def test_no_token_in_cache_keys_logs_or_answers(client, everreal_fake, caplog):
    caplog.set_level(logging.DEBUG)
    token = token_of(everreal_fake)
    answers = [call(client, token), call(client, token + "x")]

    keys = cache_keys(caches["default"])
    assert keys and not any(token in key for key in keys)
    assert token not in caplog.text
    assert all(token.encode() not in a.content for a in answers)


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_requests_with_one_new_token_make_one_userinfo_call(
    everreal_server,
    settings,
):
    fake = everreal_server.fake
    settings.SOCIAL_AUTH_EVERREAL_BASE_URL = everreal_server.url
    token = token_of(fake)
    start = threading.Barrier(50)

    def one_request(_: int) -> int:
        request = RequestFactory().get(
            URL, headers={"Authorization": f"Bearer {token}"}
        )
        start.wait(timeout=30)
        try:
            user, _identity = bearer.authenticate(request, token)
            return int(user.pk)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        users = list(pool.map(one_request, range(50)))

    assert len(set(users)) == 1
    assert len(fake.calls("userinfo")) == 1


#: One process of the cross-process test: THREADS threads present the token at
#: once, after the test says "go"; prints the user ids they got, as JSON.
PROCESS_SCRIPT = """
import json, os, sys, threading
from concurrent.futures import ThreadPoolExecutor

import django

django.setup()
from django.conf import settings
from django.db import connections
from django.test import RequestFactory

from django_everreal import bearer

settings.SOCIAL_AUTH_EVERREAL_BASE_URL = os.environ["SOCIAL_AUTH_EVERREAL_BASE_URL"]
token = os.environ["EVERREAL_TEST_TOKEN"]
threads = int(os.environ["EVERREAL_TEST_THREADS"])
start = threading.Barrier(threads)


def one_request(_):
    request = RequestFactory().get("/", headers={"Authorization": f"Bearer {token}"})
    start.wait(timeout=60)
    try:
        return bearer.authenticate(request, token)[0].pk
    finally:
        connections.close_all()


print("ready", flush=True)
assert sys.stdin.readline().strip() == "go"
with ThreadPoolExecutor(max_workers=threads) as pool:
    print(json.dumps(list(pool.map(one_request, range(threads)))), flush=True)
"""


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
def test_processes_sharing_redis_make_one_userinfo_call_for_a_new_token(
    everreal_server,
):
    """Four processes of eight threads each, one token at once: one userinfo call.

    The single flight is a lock in the shared cache, so it holds across
    processes (and hosts) only with a shared cache such as Redis.
    """
    if not isinstance(caches["default"], RunRedisCache):
        pytest.skip("needs a shared cache: set EVERREAL_TEST_CACHE=redis")
    fake = everreal_server.fake
    token = token_of(fake)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EVERREAL_TEST_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "SOCIAL_AUTH_EVERREAL_BASE_URL": everreal_server.url,
        "EVERREAL_TEST_TOKEN": token,
        "EVERREAL_TEST_THREADS": "8",
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS_SCRIPT],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for process in processes:  # each has set Django up and waits
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        users = []
        for process in processes:
            output, _ = process.communicate(timeout=120)
            assert process.returncode == 0
            users += json.loads(output)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()

    assert len(users) == 32
    assert len(set(users)) == 1
    assert len(fake.calls("userinfo")) == 1


# EverReal's userinfo answers as a token check sees them.


def userinfo_answer(
    fake: FakeEverReal, email: str = "anna@example.com", **fields: Any
) -> dict[str, Any]:
    """A 200 userinfo answer for *email*, as EverReal sends it, with *fields* changed."""
    user = fake.user(email)
    payload = user.userinfo()
    payload["tokenInfo"] = {
        "audience": fake.client("demo-client").audience,
        "scope": ["offline_access", "company_user"],
        "user_id": user.id,
        "expires_in": 3571,
    }
    payload.update(fields)
    return payload


@pytest.mark.parametrize(
    "body", ["<html>Bad gateway</html>", [1, 2], {"email": "anna@example.com"}]
)
def test_userinfo_that_is_no_user_is_a_503_not_a_refusal(client, everreal_fake, body):
    token = token_of(everreal_fake)
    everreal_fake.fail_next("userinfo", 200, body)

    assert call(client, token).status_code == 503
    assert not get_user_model().objects.exists()
    caches["default"].clear()  # the short "unavailable" note
    assert call(client, token).status_code == 200


def test_userinfo_naming_an_inactive_user_is_refused(client, everreal_fake):
    token = token_of(everreal_fake)
    everreal_fake.fail_next(
        "userinfo", 200, userinfo_answer(everreal_fake, isActive=False)
    )

    assert call(client, token).status_code == 401
    assert not get_user_model().objects.exists()


def test_a_token_past_its_exp_is_refused_though_userinfo_answers(client, everreal_fake):
    everreal_fake.access_token_lifetime = 0
    token = token_of(everreal_fake)
    everreal_fake.fail_next("userinfo", 200, userinfo_answer(everreal_fake))

    assert call(client, token).status_code == 401
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize(("expires_in", "timeout"), [(120, 120), (None, 300)])
def test_an_opaque_token_lasts_as_userinfo_says_else_the_cache_timeout(
    client, everreal_fake, settings, expires_in, timeout
):
    use_recording_cache(settings)
    settings.EVERREAL_TOKEN_CACHE_TIMEOUT = 300
    answer = userinfo_answer(everreal_fake)
    answer["tokenInfo"]["expires_in"] = expires_in
    everreal_fake.fail_next("userinfo", 200, answer)

    response = call(client, "an-opaque-token-not-a-jwt")

    assert response.status_code == 200
    cache = caches["default"]
    assert isinstance(cache, RecordingCache)
    [kept] = [t for key, t in cache.timeouts if not key.endswith(":lock")]
    assert timeout - 5 <= kept <= timeout


def test_a_token_whose_user_was_deleted_is_refused(client, everreal_fake):
    token = token_of(everreal_fake)
    assert call(client, token).status_code == 200

    get_user_model().objects.all().delete()

    assert call(client, token).status_code == 401  # from the cached verdict


def test_a_deactivated_django_user_is_refused_at_the_next_check(client, everreal_fake):
    token = token_of(everreal_fake)
    assert call(client, token).status_code == 200
    get_user_model().objects.update(is_active=False)
    caches["default"].clear()  # the verdict lapses; EverReal is asked again

    assert call(client, token).status_code == 401
    assert userinfo_calls(everreal_fake) == 2


def test_a_new_user_does_not_take_a_taken_username(client, everreal_fake):
    someone = get_user_model().objects.create_user(username="anna@example.com")

    assert call(client, token_of(everreal_fake)).status_code == 200

    account = Account.objects.get()
    assert account.user != someone
    assert account.user.get_username().startswith("anna@example.com-")
    assert not UserSocialAuth.objects.filter(user=someone).exists()


def test_a_header_naming_a_disabled_customer_is_refused(
    client, everreal_fake, everreal_customer
):
    from django_everreal.models import Customer

    beta = everreal_customer("beta")
    token = token_of(beta, client_id="beta-client")
    Customer.objects.filter(subdomain="beta").update(enabled=False)

    assert call(client, token, **{"X-EverReal-Customer": "beta"}).status_code == 401
    assert not beta.calls("userinfo")


def test_a_check_that_waits_too_long_for_another_asks_itself(
    client, everreal_fake, settings
):
    settings.EVERREAL_TOKEN_LOCK_WAIT = 0.05
    token = token_of(everreal_fake)
    key = bearer.cache_key("", token)
    # Another request holds the lock and never finishes.
    assert caches["default"].add(f"{key}:lock", "another-request", timeout=60)

    assert call(client, token).status_code == 200
    assert userinfo_calls(everreal_fake) == 1
    assert caches["default"].get(f"{key}:lock") == "another-request"  # not ours


class VerdictArrivesCache(LocMemCache):
    """A local cache where another request's verdict lands as this one starts to wait."""

    arriving: dict[str, Any] = {}

    def add(self, key: str, value: Any, *args: Any, **kwargs: Any) -> bool:
        added = super().add(key, value, *args, **kwargs)
        if not added and key.endswith(":lock"):
            for entry_key, entry in self.arriving.items():
                self.set(entry_key, entry)
        return added


def test_a_check_waiting_for_another_uses_its_verdict(client, everreal_fake, settings):
    token = token_of(everreal_fake)
    assert call(client, token).status_code == 200
    key = bearer.cache_key("", token)
    verdict = caches["default"].get(key)
    settings.CACHES = {"default": {"BACKEND": "tests.test_bearer.VerdictArrivesCache"}}
    cache = caches["default"]
    assert isinstance(cache, VerdictArrivesCache)
    cache.clear()  # locmem keeps one store per name: the first verdict goes
    cache.arriving = {key: verdict}
    assert cache.add(f"{key}:lock", "another-request", timeout=60)

    assert call(client, token).status_code == 200
    assert userinfo_calls(everreal_fake) == 1  # the first call's only


@pytest.mark.parametrize("token_info", [None, "company_user", ["company_user"]])
def test_userinfo_without_token_info_names_no_audience_and_is_refused(
    client, everreal_fake, token_info
):
    token = token_of(everreal_fake)
    everreal_fake.fail_next(
        "userinfo", 200, userinfo_answer(everreal_fake, tokenInfo=token_info)
    )

    assert call(client, token).status_code == 401
    assert not get_user_model().objects.exists()


def test_without_a_customer_in_settings_a_token_needs_the_customer_header(
    client, everreal_fake, everreal_customer, settings
):
    beta = everreal_customer("beta")
    token = token_of(beta, client_id="beta-client")
    settings.SOCIAL_AUTH_EVERREAL_KEY = ""

    assert call(client, token).status_code == 401
    assert call(client, token, **{"X-EverReal-Customer": "beta"}).status_code == 200
