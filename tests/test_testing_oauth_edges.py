"""The fake's token endpoint and API refusals that EverReal's clients must handle."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeEverRealError
from django_everreal.testing import errors
from django_everreal.testing.data import FakeClient
from django_everreal.testing.data import demo_clients
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import Headers
from django_everreal.testing.proxy_faults import reason
from django_everreal.testing.webhook_model import url_origin

TOKEN_PATH = "/accounts/oauth/token"
USERINFO_PATH = "/accounts/api/userinfo"
REDIRECT_URI = "http://127.0.0.1:8000/complete/everreal/"
CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}


def post_token(
    fake: FakeEverReal,
    params: dict[str, str],
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> FakeResponse:
    return fake.handle(
        FakeRequest(
            "POST",
            TOKEN_PATH,
            headers=Headers({"Content-Type": "application/json", **(headers or {})}),
            body=json.dumps(params).encode() if body is None else body,
        )
    )


def userinfo(fake: FakeEverReal, access_token: str) -> FakeResponse:
    return fake.handle(
        FakeRequest(
            "GET",
            USERINFO_PATH,
            headers=Headers({"Authorization": f"Bearer {access_token}"}),
        )
    )


def basic(value: str) -> dict[str, str]:
    return {"Authorization": "Basic " + value}


def refused(response: FakeResponse, status: int, description: str) -> bool:
    body: dict[str, Any] = response.json()
    return response.status == status and body["error_description"] == description


def test_a_malformed_basic_authorization_is_an_invalid_client():
    fake = FakeEverReal()
    params = {"grant_type": "password", "username": "anna@example.com"}
    for header in ("not base64!", base64.b64encode(b"\xff\xfe").decode()):
        answer = post_token(fake, params, basic(header))
        assert refused(answer, 401, errors.CLIENT_INVALID)


def test_basic_and_body_must_name_the_same_client():
    fake = FakeEverReal()
    credentials = base64.b64encode(b"demo-client:demo-secret").decode()
    params = {
        "grant_type": "password",
        "username": "anna@example.com",
        "password": "demo",
        "scope": "offline_access *",
    }
    assert post_token(fake, params, basic(credentials)).status == 200
    other = {**params, "client_id": "other-client"}
    assert refused(
        post_token(fake, other, basic(credentials)), 401, errors.CLIENT_INVALID
    )


def test_a_verifier_for_a_code_without_challenge_is_refused():
    fake = FakeEverReal()
    location = fake.authorize_redirect(
        fake.authorize_url(redirect_uri=REDIRECT_URI), "anna@example.com", "demo"
    )
    code = parse_qs(urlsplit(location).query)["code"][0]
    answer = post_token(
        fake,
        {
            **CLIENT,
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": "v" * 64,
        },
    )
    assert refused(answer, 403, errors.CODE_VERIFIER_UNEXPECTED)


def test_a_refresh_token_works_for_its_own_client_only():
    clients = [
        *demo_clients(),
        FakeClient("other-client", "other-secret", allow_loopback_redirects=True),
    ]
    fake = FakeEverReal(clients=clients)
    tokens = fake.issue_tokens("anna@example.com")
    answer = post_token(
        fake,
        {
            "client_id": "other-client",
            "client_secret": "other-secret",
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refused(answer, 403, errors.REFRESH_TOKEN_CLIENT_MISMATCH)


def test_tokens_of_a_removed_user_stop_working():
    fake = FakeEverReal()
    tokens = fake.issue_tokens("anna@example.com")
    assert userinfo(fake, tokens["access_token"]).status == 200
    with fake.lock:
        fake.users.remove(fake.user("anna@example.com"))
    assert userinfo(fake, tokens["access_token"]).status == 401
    answer = post_token(
        fake,
        {
            **CLIENT,
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
        },
    )
    assert refused(answer, 403, errors.USER_DOES_NOT_EXIST)


def test_a_form_body_that_is_not_utf8_is_invalid():
    answer = post_token(
        FakeEverReal(),
        {},
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=b"grant_type=password&username=\xff",
    )
    assert refused(answer, 400, errors.BODY_INVALID)


def test_the_authorize_page_takes_get_and_post_only():
    answer = FakeEverReal().handle(FakeRequest("PUT", "/accounts/dialog/authorize"))
    assert answer.status == 405
    assert answer.header("Allow") == "GET, POST"


def test_authorize_redirect_needs_an_authorize_url():
    fake = FakeEverReal()
    with pytest.raises(FakeEverRealError, match="Not an authorize URL"):
        fake.authorize_redirect(
            "https://demo.everreal.co/accounts/oauth/token", "anna@example.com", "demo"
        )


@pytest.mark.parametrize(
    ("url", "logged"),
    [
        ("https://site.test/hooks/s3cr3t/", "https://site.test"),
        ("http://127.0.0.1:8000/hooks/s3cr3t/", "http://127.0.0.1:8000"),
        ("http://[::1]:8000/hooks/s3cr3t/", "http://[::1]:8000"),
        ("http://site.test:99999/hooks/s3cr3t/", "http://site.test"),
    ],
)
def test_receiver_urls_are_logged_as_their_origin_only(url, logged):
    assert url_origin(url) == logged


def test_the_proxys_status_reasons():
    assert reason(503) == "Service Unavailable"
    assert reason(599) == "Unknown"
