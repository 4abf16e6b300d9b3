from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import override_settings
from django.utils import timezone
from django.utils import translation

from django_everreal.client import EverRealClient
from django_everreal.exceptions import AccountNotLinked
from django_everreal.exceptions import EverRealRateLimited
from django_everreal.exceptions import EverRealUnavailable
from django_everreal.exceptions import GraphQLError
from django_everreal.exceptions import ReauthenticationRequired
from django_everreal.models import Account
from django_everreal.models import ServiceAccount
from django_everreal.protocol import GRAPHQL_PATH
from django_everreal.signals import reauthentication_required
from django_everreal.testing import USERINFO_PATH
from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeEverRealError

pytestmark = pytest.mark.django_db

USERS_PAGE = """
query Users($skip: Int!, $take: Int!) {
  users(input: {paging: {skip: $skip, take: $take}}) { id email }
}
"""


class RecordingClient(EverRealClient):
    """Records the waits instead of sleeping; with *clock*, moves the fake's time too."""

    clock: FakeEverReal | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sleeps: list[float] = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        if self.clock is not None:
            self.clock.advance_clock(seconds)


@pytest.fixture
def account(everreal_login, everreal_fake):
    everreal_login("anna@example.com")
    everreal_fake.clear_calls()
    return Account.objects.get(email="anna@example.com")


@pytest.fixture
def api(account):
    return RecordingClient(account)


def make_due(account):
    account.access_token_expires_at = timezone.now() - timedelta(minutes=1)
    account.save(update_fields=["access_token_expires_at"])


def stored_tokens(account):
    return Account.objects.values_list(
        "encrypted_access_token", "encrypted_refresh_token"
    ).get(pk=account.pk)


# Calls.


def test_get_sends_the_token_only_as_bearer_header(api, account, everreal_fake):
    token = account.access_token
    response = api.get(USERINFO_PATH)
    assert response.status_code == 200
    assert response.json()["email"] == "anna@example.com"
    call = everreal_fake.last_call("userinfo")
    assert call.method == "GET"
    assert call.headers["Authorization"] == f"Bearer {token}"
    assert token not in call.path
    assert not any(token in value for value in call.query.values())
    assert token not in response.url


def test_language_cookie_follows_the_active_language(api, everreal_fake):
    with translation.override("de"):
        api.get(USERINFO_PATH)
    assert everreal_fake.last_call("userinfo").cookies == {"accept-language": "de-DE"}
    with translation.override("en"):
        api.get(USERINFO_PATH)
    assert everreal_fake.last_call("userinfo").cookies == {"accept-language": "en-US"}


def test_post(api, account, everreal_fake):
    response = api.post(
        GRAPHQL_PATH,
        json={
            "query": '{ users(input: {filter: {email: "tom@example.com"}}) { email } }'
        },
    )
    assert response.status_code == 200
    assert response.json()["data"]["users"] == [{"email": "tom@example.com"}]
    call = everreal_fake.last_call("graphql")
    assert call.method == "POST"
    assert call.headers["Authorization"] == f"Bearer {account.access_token}"


def test_graphql_returns_data_and_sends_variables(api, everreal_fake):
    data = api.graphql(USERS_PAGE, {"skip": 0, "take": 1})
    assert len(data["users"]) == 1
    assert everreal_fake.last_call("graphql").body == {
        "query": USERS_PAGE,
        "variables": {"skip": 0, "take": 1},
    }


def test_graphql_pages(api, everreal_fake):
    emails: list[str] = []
    skip = 0
    while page := api.graphql(USERS_PAGE, {"skip": skip, "take": 1})["users"]:
        emails.extend(user["email"] for user in page)
        skip += len(page)
    assert emails == [user.email for user in everreal_fake.users]
    assert len(emails) >= 2


def test_graphql_errors_raise(api):
    with pytest.raises(GraphQLError) as info:
        api.graphql("{ buildings { id } }")
    assert info.value.errors
    assert info.value.errors[0]["message"] in str(info.value)


def test_userinfo(api):
    assert api.userinfo()["email"] == "anna@example.com"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/api/x",
        "//evil.example/api/x",
        "https://demo.everreal.co@evil.example/api/x",
        "http://demo.everreal.co/api/x",
    ],
)
def test_other_hosts_are_refused(api, everreal_fake, url):
    with pytest.raises(
        ValueError, match=re.escape("only calls https://demo.everreal.co")
    ):
        api.get(url)
    assert everreal_fake.calls() == []


def test_absolute_urls_on_the_origin_are_fine(api):
    assert api.get("https://demo.everreal.co" + USERINFO_PATH).status_code == 200


def test_repr_shows_no_token(api, account):
    assert account.access_token not in repr(api)
    assert account.refresh_token not in repr(api)
    assert repr(api) == f"<RecordingClient {account!r}>"


# Holders.


def test_for_user(account):
    client = EverRealClient.for_user(account.user)
    assert client.userinfo()["email"] == "anna@example.com"


def test_for_user_without_account():
    user = get_user_model().objects.create_user("nobody")
    with pytest.raises(AccountNotLinked):
        EverRealClient.for_user(user)
    with pytest.raises(AccountNotLinked):
        EverRealClient.for_user(AnonymousUser())


def test_for_service(everreal_fake):
    tokens = everreal_fake.issue_tokens("tom@example.com")
    service = ServiceAccount(name="reports", username="tom@example.com")
    service.set_tokens(tokens["access_token"], tokens["refresh_token"], 3600)
    service.save()
    client = EverRealClient.for_service("reports")
    assert client.holder == service
    assert client.userinfo()["email"] == "tom@example.com"


def test_for_service_unknown_names_the_command():
    with pytest.raises(
        AccountNotLinked, match=re.escape("manage.py everreal_service_login nightly")
    ):
        EverRealClient.for_service("nightly")


# Tokens.


def test_due_token_is_refreshed_before_the_call(api, account, everreal_fake):
    old = account.access_token
    make_due(account)
    assert api.get(USERINFO_PATH).status_code == 200
    assert len(everreal_fake.calls("token")) == 1
    [call] = everreal_fake.calls("userinfo")
    assert call.headers["Authorization"] != f"Bearer {old}"
    account.refresh_from_db()
    assert call.headers["Authorization"] == f"Bearer {account.access_token}"
    assert not account.access_token_due()


@pytest.mark.parametrize("strict", [False, True])
def test_rotated_refresh_token_replaces_the_old_one(
    api, account, everreal_fake, strict
):
    """EverReal keeps the old one valid (up to 50); the fake can revoke it instead."""
    everreal_fake.revoke_rotated_refresh_tokens = strict
    old_refresh = account.refresh_token
    make_due(account)
    api.get(USERINFO_PATH)
    account.refresh_from_db()
    assert account.refresh_token != old_refresh
    assert everreal_fake.verify(account.refresh_token)
    if strict:
        with pytest.raises(FakeEverRealError, match="revoked"):
            everreal_fake.verify(old_refresh)
    else:
        assert everreal_fake.verify(old_refresh)


def test_without_rotation_the_refresh_token_is_kept(api, account, everreal_fake):
    everreal_fake.rotate_refresh_tokens = False
    old_refresh = account.refresh_token
    for _ in range(2):
        make_due(account)
        assert api.get(USERINFO_PATH).status_code == 200
        account.refresh_from_db()
        assert account.refresh_token == old_refresh
    assert [call.status for call in everreal_fake.calls("token")] == [200, 200]


def test_401_refreshes_once_and_retries(api, account, everreal_fake):
    rejected = account.access_token
    everreal_fake.revoke(rejected)
    response = api.get(USERINFO_PATH)
    assert response.status_code == 200
    assert len(everreal_fake.calls("token")) == 1
    first, second = everreal_fake.calls("userinfo")
    assert (first.status, second.status) == (401, 200)
    assert first.headers["Authorization"] == f"Bearer {rejected}"
    assert second.headers["Authorization"] != f"Bearer {rejected}"


def test_token_expired_at_everreal_before_we_thought(api, everreal_fake):
    everreal_fake.advance_clock(2 * 3600)
    assert api.get(USERINFO_PATH).status_code == 200
    assert len(everreal_fake.calls("token")) == 1


def test_401_is_retried_only_once(api, everreal_fake):
    everreal_fake.fail_next("userinfo", 401, {"error": "invalid_token"}, times=2)
    assert api.get(USERINFO_PATH).status_code == 401
    assert len(everreal_fake.calls("userinfo")) == 2
    assert len(everreal_fake.calls("token")) == 1


def test_dead_refresh_token(api, account, everreal_fake):
    fired = []

    def receiver(sender, holder, **kwargs):
        fired.append(holder.pk)

    reauthentication_required.connect(receiver)
    try:
        everreal_fake.revoke_refresh_tokens("anna@example.com")
        make_due(account)
        with pytest.raises(ReauthenticationRequired):
            api.get(USERINFO_PATH)
    finally:
        reauthentication_required.disconnect(receiver)
    assert fired == [account.pk]
    account.refresh_from_db()
    assert account.reauth_required is True
    assert everreal_fake.calls("userinfo") == []

    calls = len(everreal_fake.calls())
    with pytest.raises(ReauthenticationRequired):
        EverRealClient.for_user(account.user).get(USERINFO_PATH)
    assert len(everreal_fake.calls()) == calls


TOKEN_FAULTS = {
    "timeout": lambda fake: fake.delay_next("token", 60),
    "reset": lambda fake: fake.drop_next("token"),
    "500": lambda fake: fake.fail_next("token", 500),
    "503": lambda fake: fake.fail_next("token", 503, "Service Unavailable"),
    "429": lambda fake: fake.fail_next(
        "token", 429, {"error": "too_many_requests"}, headers=[("Retry-After", "7")]
    ),
}


@pytest.mark.parametrize("fault", TOKEN_FAULTS)
def test_refresh_faults_lose_no_token(api, account, everreal_fake, fault):
    make_due(account)
    before = stored_tokens(account)
    TOKEN_FAULTS[fault](everreal_fake)
    with pytest.raises(EverRealUnavailable) as info:
        api.get(USERINFO_PATH)
    assert info.value.retry_after == (7 if fault == "429" else None)
    assert stored_tokens(account) == before
    account.refresh_from_db()
    assert account.reauth_required is False
    assert everreal_fake.calls("userinfo") == []

    # Right after, callers fail fast instead of trying again...
    refreshes = len(everreal_fake.calls("token"))
    with pytest.raises(EverRealUnavailable, match="moments ago"):
        EverRealClient(account).get(USERINFO_PATH)
    assert len(everreal_fake.calls("token")) == refreshes
    # ...and once the pause is over, the next call refreshes and succeeds.
    with override_settings(EVERREAL_REFRESH_COOLDOWN=0):
        assert api.get(USERINFO_PATH).status_code == 200
    assert stored_tokens(account)[0] != before[0]


# Retries.


@pytest.mark.parametrize("status", [502, 503, 504])
def test_api_5xx_is_retried_with_backoff(api, everreal_fake, status):
    everreal_fake.fail_next("userinfo", status, times=2)
    assert api.get(USERINFO_PATH).status_code == 200
    assert [call.status for call in everreal_fake.calls("userinfo")] == [
        status,
        status,
        200,
    ]
    assert api.sleeps == [0.5, 1.0]


def test_api_5xx_gives_up_after_the_retries(api, everreal_fake, settings):
    settings.EVERREAL_RETRIES = 3
    everreal_fake.fail_next("userinfo", 503, times=4, headers=[("Retry-After", "20")])
    with pytest.raises(EverRealUnavailable) as info:
        api.get(USERINFO_PATH)
    assert info.value.retry_after == 20
    assert len(everreal_fake.calls("userinfo")) == 4
    assert api.sleeps == [0.5, 1.0, 2.0]


def test_500_is_retried_like_any_5xx(api, everreal_fake):
    everreal_fake.fail_next("userinfo", 500)
    assert api.get(USERINFO_PATH).status_code == 200
    assert [call.status for call in everreal_fake.calls("userinfo")] == [500, 200]


@pytest.mark.parametrize("status", [400, 403, 404])
def test_4xx_is_returned_not_retried(api, everreal_fake, status):
    everreal_fake.fail_next("userinfo", status)
    assert api.get(USERINFO_PATH).status_code == status
    assert len(everreal_fake.calls("userinfo")) == 1


@pytest.mark.parametrize(
    "fault",
    [
        lambda fake: fake.drop_next("userinfo", times=2),
        lambda fake: fake.delay_next("userinfo", 60, times=2),
    ],
    ids=["reset", "timeout"],
)
def test_network_errors_are_retried(api, everreal_fake, fault):
    fault(everreal_fake)
    assert api.get(USERINFO_PATH).status_code == 200
    assert len(everreal_fake.calls("userinfo")) == 3


def test_network_errors_give_up_as_unavailable(api, everreal_fake):
    everreal_fake.drop_next("userinfo", times=3)
    with pytest.raises(EverRealUnavailable, match="ConnectionError"):
        api.get(USERINFO_PATH)
    assert len(everreal_fake.calls("userinfo")) == 3


def test_timeout_setting_bounds_an_attempt(api, everreal_fake, settings):
    settings.EVERREAL_TIMEOUT = 90
    settings.EVERREAL_DEADLINE = 120
    everreal_fake.delay_next("userinfo", 60)
    assert api.get(USERINFO_PATH).status_code == 200
    assert len(everreal_fake.calls("userinfo")) == 1


def test_deadline_bounds_an_attempt_too(api, everreal_fake, settings):
    settings.EVERREAL_TIMEOUT = 90
    settings.EVERREAL_DEADLINE = 30
    everreal_fake.delay_next("userinfo", 60)
    assert api.get(USERINFO_PATH).status_code == 200
    assert len(everreal_fake.calls("userinfo")) == 2


@pytest.mark.parametrize(
    "fault",
    [
        lambda fake: fake.fail_next("graphql", 503),
        lambda fake: fake.drop_next("graphql"),
    ],
    ids=["503", "reset"],
)
def test_posts_are_not_retried(api, everreal_fake, fault):
    fault(everreal_fake)
    with pytest.raises(EverRealUnavailable):
        api.post(GRAPHQL_PATH, json={"query": "{ users { id } }"})
    assert len(everreal_fake.calls("graphql")) == 1
    assert api.sleeps == []


def test_graphql_queries_are_retried(api, everreal_fake):
    everreal_fake.fail_next("graphql", 503)
    assert api.graphql(USERS_PAGE, {"skip": 0, "take": 1})["users"]
    assert len(everreal_fake.calls("graphql")) == 2


def test_graphql_mutations_are_not_retried(api, everreal_fake):
    everreal_fake.fail_next("graphql", 503)
    with pytest.raises(EverRealUnavailable):
        api.graphql("mutation Archive { archiveUser(id: 1) { id } }")
    assert len(everreal_fake.calls("graphql")) == 1


def test_retries_log_no_token(api, account, everreal_fake, caplog):
    everreal_fake.fail_next("userinfo", 503)
    with caplog.at_level(logging.DEBUG):
        api.get(USERINFO_PATH)
    assert "retrying" in caplog.text
    assert account.access_token not in caplog.text


# Rate limit.


def test_429_waits_as_told_then_retries(api, everreal_fake):
    everreal_fake.fail_next(
        "userinfo", 429, {"error": "too_many_requests"}, headers=[("Retry-After", "3")]
    )
    assert api.get(USERINFO_PATH).status_code == 200
    assert api.sleeps == [3.0]
    assert len(everreal_fake.calls("userinfo")) == 2


def test_429_of_everreals_rate_limiter(account, everreal_fake):
    everreal_fake.reset()
    everreal_fake.rate_limit = 1
    everreal_fake.rate_limit_window = 5
    api = RecordingClient(account)
    api.clock = everreal_fake
    api.get(USERINFO_PATH)
    assert api.get(USERINFO_PATH).status_code == 200
    assert api.sleeps == [5.0]
    assert [call.status for call in everreal_fake.calls("userinfo")] == [200, 429, 200]


def test_429_longer_than_the_limit_raises(api, everreal_fake, settings):
    settings.EVERREAL_MAX_RATE_LIMIT_WAIT = 10
    everreal_fake.fail_next("userinfo", 429, headers=[("X-RateLimit-Reset", "42")])
    with pytest.raises(EverRealRateLimited) as info:
        api.get(USERINFO_PATH)
    assert info.value.retry_after == 42
    assert api.sleeps == []
    assert len(everreal_fake.calls("userinfo")) == 1


def test_429_twice_raises(api, everreal_fake):
    everreal_fake.fail_next("graphql", 429, headers=[("Retry-After", "2")], times=2)
    with pytest.raises(EverRealRateLimited) as info:
        api.graphql(USERS_PAGE, {"skip": 0, "take": 1})
    assert info.value.retry_after == 2
    assert api.sleeps == [2.0]
    assert len(everreal_fake.calls("graphql")) == 2
