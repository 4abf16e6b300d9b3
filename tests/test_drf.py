from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from tests.everreal_accounts import log_in_at_beta_with_companies
from tests.everreal_accounts import make_account

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_scopes")]

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def log_in(client: Client, *scopes: str) -> None:
    client.force_login(make_account(scopes=scopes).user, backend=MODEL_BACKEND)


def test_anonymous_gets_401_with_a_challenging_authenticator(client):
    response = client.get("/api/basic-portfolio/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")


def test_anonymous_gets_403_with_session_authentication(client):
    response = client.get("/api/portfolio/")
    assert response.status_code == 403
    assert response.json()["detail"] == "Authentication credentials were not provided."


def test_lacking_scope_gets_403(client):
    log_in(client, "offline_access", "*", "company_user")
    response = client.get("/api/basic-portfolio/")
    assert response.status_code == 403
    assert "EverReal scopes" in response.json()["detail"]


def test_with_scope_gets_200(client):
    log_in(client, "company_portfolio_all")
    response = client.get("/api/portfolio/")
    assert response.status_code == 200
    assert response.json() == {"portfolio": True}


def test_view_without_required_scopes_is_a_configuration_error(client):
    log_in(client, "company_portfolio_all")
    with pytest.raises(ImproperlyConfigured, match=r"UnguardedAPI\.required_scopes"):
        client.get("/api/unguarded/")


def test_a_scope_covers_only_objects_of_its_own_customer(client):
    own, other = log_in_at_beta_with_companies(client)

    assert client.get(f"/api/companies/{own.pk}/").status_code == 200
    assert client.get(f"/api/companies/{other.pk}/").status_code == 403
