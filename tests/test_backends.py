from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import aauthenticate
from django.contrib.auth import aget_user
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.test import override_settings
from social_django.models import UserSocialAuth

from django_everreal.backends import EverRealOAuth2
from django_everreal.models import Account
from django_everreal.signals import account_synced

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent / "samples"
REDIRECT_URI = "http://localhost:8000/auth/complete/everreal/"


def query(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_login_creates_the_user_and_account(client, everreal_login, everreal_fake):
    response = everreal_login("anna@example.com")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"

    anna = everreal_fake.user("anna@example.com")
    user = get_user_model().objects.get()
    assert client.session["_auth_user_id"] == str(user.pk)
    assert (user.email, user.first_name, user.last_name) == (
        "anna@example.com",
        "Anna",
        "Becker",
    )
    account = Account.objects.get()
    assert account.user == user
    assert account.everreal_id == anna.id
    assert account.current_company_id == anna.current_company_id
    assert account.current_company.partner.subdomain == anna.partner.subdomain
    assert sorted(account.companies.values_list("id", flat=True)) == sorted(
        c.id for c in anna.companies
    )
    assert set(anna.scopes) <= set(account.scopes)
    assert account.language == "de-DE"
    assert everreal_fake.verify(account.access_token)["sub"] == anna.id
    assert account.has_refresh_token
    assert account.access_token_due() is False


def test_tokens_are_not_in_extra_data(everreal_login):
    everreal_login("anna@example.com")
    social = UserSocialAuth.objects.get()
    account = Account.objects.get()
    stored = json.dumps(social.extra_data)
    assert account.access_token not in stored
    assert account.refresh_token not in stored
    assert "access_token" not in social.extra_data
    assert "refresh_token" not in social.extra_data
    assert social.extra_data["expires_at"] > 0
    assert "company_user" in social.extra_data["scope"]


def test_authorize_request(everreal_login):
    params = query(everreal_login.begin())
    assert params["response_type"] == "code"
    assert params["client_id"] == "demo-client"
    assert params["redirect_uri"] == REDIRECT_URI
    assert params["scope"] == "offline_access *"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 32
    assert "redirect_state" not in params


@override_settings(SOCIAL_AUTH_EVERREAL_SCOPE=["company_user"])
def test_extra_scopes(everreal_login):
    assert query(everreal_login.begin())["scope"] == "offline_access * company_user"


@override_settings(ALLOWED_HOSTS=["*"])
def test_redirect_uri_ignores_the_host_header(client, everreal_fake):
    response = client.post("/auth/login/everreal/", HTTP_HOST="evil.example")
    assert query(response["Location"])["redirect_uri"] == REDIRECT_URI


def test_token_request_is_json_with_the_same_redirect_uri(
    everreal_login, everreal_fake
):
    everreal_login("anna@example.com")
    call = everreal_fake.last_call("token")
    assert call.content_type == "application/json"
    assert call.body["grant_type"] == "authorization_code"
    assert call.body["redirect_uri"] == REDIRECT_URI
    assert call.body["client_id"] == "demo-client"
    assert len(call.body["code_verifier"]) == 43


@override_settings(SOCIAL_AUTH_EVERREAL_TOKEN_REQUEST_FORMAT="form")
def test_token_request_as_form(everreal_login, everreal_fake):
    assert everreal_login("anna@example.com").status_code == 302
    call = everreal_fake.last_call("token")
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.body["redirect_uri"] == REDIRECT_URI


@override_settings(LANGUAGE_CODE="de")
def test_userinfo_carries_the_language(everreal_login, everreal_fake):
    everreal_login("anna@example.com")
    call = everreal_fake.last_call("userinfo")
    assert "accept-language=de-DE" in call.headers["Cookie"]
    assert call.headers["Authorization"].startswith("Bearer ")


def test_expires_in_as_a_string(everreal_login, everreal_fake):
    tokens = everreal_fake.issue_tokens("anna@example.com")
    everreal_fake.fail_next("token", 200, {**tokens, "expires_in": "120"})
    assert everreal_login("anna@example.com").status_code == 302
    account = Account.objects.get()
    assert (
        100
        < (
            account.access_token_expires_at - account.tokens_refreshed_at
        ).total_seconds()
        <= 120
    )


def test_docs_sample_without_refresh_token(everreal_login, everreal_fake):
    tokens = everreal_fake.issue_tokens("anna@example.com")
    sample = json.loads((SAMPLES / "refresh-response.json").read_text())
    everreal_fake.fail_next(
        "token", 200, {**sample, "access_token": tokens["access_token"]}
    )
    assert everreal_login("anna@example.com").status_code == 302
    account = Account.objects.get()
    assert account.access_token == tokens["access_token"]
    assert not account.has_refresh_token


def test_second_login_updates_the_same_user(client, everreal_login, everreal_fake):
    everreal_login("anna@example.com")
    client.logout()
    anna = everreal_fake.user("anna@example.com")
    anna.companies = anna.companies[:1]
    anna.current_company_id = anna.companies[0].id
    anna.scopes = ["company_user"]
    assert everreal_login("anna@example.com").status_code == 302
    assert get_user_model().objects.count() == 1
    account = Account.objects.get()
    assert account.companies.count() == 1
    assert account.permission_scopes == {"company_user"}


def test_linked_by_everreal_id_never_by_email(everreal_login):
    existing = get_user_model().objects.create_user("local", email="anna@example.com")
    everreal_login("anna@example.com")
    account = Account.objects.get()
    assert account.user != existing
    assert get_user_model().objects.count() == 2


def test_state_is_single_use(client, everreal_login, everreal_fake):
    location = everreal_fake.authorize_redirect(
        everreal_login.begin(), "anna@example.com", "demo"
    )
    assert everreal_login.complete(location).status_code == 302
    client.logout()
    replay = everreal_login.complete(location)
    assert replay.status_code == 400
    assert "_auth_user_id" not in client.session


def test_failed_callback_consumes_the_state(client, everreal_login, everreal_fake):
    url = everreal_login.begin()
    location = everreal_fake.authorize_redirect(url, "anna@example.com", "demo")
    everreal_fake.fail_next("token", 503)
    assert everreal_login.complete(location).status_code == 400
    # The same state with a good code now fails: it was used up.
    retry = everreal_login.complete(location)
    assert retry.status_code == 400
    assert "_auth_user_id" not in client.session
    assert len(everreal_fake.calls("token")) == 1


def test_several_tabs_each_complete(client, everreal_login, everreal_fake):
    first, second = everreal_login.begin(), everreal_login.begin()
    assert query(first)["state"] != query(second)["state"]
    second_location = everreal_fake.authorize_redirect(
        second, "anna@example.com", "demo"
    )
    first_location = everreal_fake.authorize_redirect(first, "anna@example.com", "demo")
    assert everreal_login.complete(second_location).status_code == 302
    assert everreal_login.complete(first_location).status_code == 302
    assert get_user_model().objects.count() == 1


def test_backend_urls_follow_the_settings(rf):
    backend = EverRealOAuth2()
    assert (
        backend.authorization_url()
        == "https://demo.everreal.co/accounts/dialog/authorize"
    )
    with override_settings(SOCIAL_AUTH_EVERREAL_BASE_URL="http://127.0.0.1:8001"):
        assert (
            backend.access_token_url() == "http://127.0.0.1:8001/accounts/oauth/token"
        )
        assert backend.userinfo_url() == "http://127.0.0.1:8001/accounts/api/userinfo"


def test_cancelled_callback_consumes_the_state(client, everreal_login, everreal_fake):
    url = everreal_login.begin()
    cancelled = everreal_login.complete(everreal_fake.cancel_redirect(url))
    assert cancelled.status_code == 400
    # EverReal would not send a code for this state any more; if it did, it is refused.
    late = everreal_fake.authorize_redirect(url, "anna@example.com", "demo")
    assert everreal_login.complete(late).status_code == 400
    assert "_auth_user_id" not in client.session
    assert everreal_fake.calls("token") == []


def test_account_synced_receivers_get_the_userinfo_and_no_token(
    client, everreal_login, everreal_fake
):
    received = []

    def receiver(sender, account, payload, **kwargs):
        received.append(payload)

    account_synced.connect(receiver)
    try:
        assert everreal_login("anna@example.com").status_code == 302
    finally:
        account_synced.disconnect(receiver)
    [payload] = received
    account = Account.objects.get()
    assert payload["email"] == "anna@example.com"
    assert payload["tokenInfo"]["scope"]
    assert not set(payload) & {"access_token", "refresh_token", "expires_in"}
    assert account.access_token not in repr(payload)
    assert account.refresh_token not in repr(payload)


def test_async_views_see_the_user_of_an_everreal_login(client, everreal_login):
    """``request.auser()`` (async ``login_required``, ``scope_required``) asks the login's backend."""
    everreal_login("anna@example.com")
    request = RequestFactory().get("/")
    request.session = client.session

    user = async_to_sync(aget_user)(request)

    assert user.is_authenticated
    assert user == get_user_model().objects.get()


def test_async_authentication_passes_over_the_everreal_backend(settings):
    """Django's ``aauthenticate`` asks every backend, the login's first."""
    get_user_model().objects.create_user("bert", password="secret-1")

    user = async_to_sync(aauthenticate)(username="bert", password="secret-1")
    nobody = async_to_sync(aauthenticate)(username="bert", password="wrong")

    assert (user.username, nobody) == ("bert", None)
