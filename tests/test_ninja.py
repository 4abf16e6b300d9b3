"""EverReal access tokens as API credentials: Django Ninja's ``EverRealBearer``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from django_everreal.testing import FakeEverReal

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_ninja")]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    caches["default"].clear()
    yield
    caches["default"].clear()


def token_of(fake: FakeEverReal, email: str = "anna@example.com") -> str:
    return str(fake.issue_tokens(email)["access_token"])


def call(client: Client, token: str | None, url: str = "/api/me") -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.get(url, headers=headers)


def test_a_valid_token_is_the_user_with_the_tokens_scopes(client, everreal_fake):
    response = call(client, token_of(everreal_fake))

    assert response.status_code == 200
    assert response.json() == {
        "user": "anna@example.com",
        "auth": "anna@example.com",
        "company_user": True,
        "company_admin": False,
    }
    assert len(everreal_fake.calls("userinfo")) == 1


def test_async_operations_authenticate_too(client, everreal_fake):
    response = call(client, token_of(everreal_fake), "/api/async-me")

    assert response.status_code == 200
    assert response.json() == {"user": "anna@example.com"}


def test_a_cached_token_costs_no_userinfo_call(client, everreal_fake):
    token = token_of(everreal_fake)
    for _ in range(3):
        assert call(client, token).status_code == 200

    assert len(everreal_fake.calls("userinfo")) == 1


@pytest.mark.parametrize("token", ["not-a-token-of-everreal", "ä" * 10, "x" * 20000])
def test_a_bad_token_is_a_401_invalid_token(client, everreal_fake, token):
    response = call(client, token)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert token not in response.content.decode(errors="replace")


def test_without_a_token_the_challenge_is_bearer(client, everreal_fake):
    response = call(client, None)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_without_add_bearer_challenge_a_bad_token_is_ninjas_plain_401(
    client, everreal_fake
):
    response = call(client, "not-a-token-of-everreal", "/plain/me")

    assert response.status_code == 401
    assert "WWW-Authenticate" not in response


@pytest.mark.parametrize("fault", ["500", "drop"])
def test_everreal_out_of_reach_is_a_503(client, everreal_fake, fault):
    token = token_of(everreal_fake)
    if fault == "drop":
        everreal_fake.drop_next("userinfo")
    else:
        everreal_fake.fail_next("userinfo", 500)

    response = call(client, token)

    assert response.status_code == 503
    assert "EverReal" in response.json()["detail"]
    caches["default"].clear()  # the short "unavailable" note
    assert call(client, token).status_code == 200
