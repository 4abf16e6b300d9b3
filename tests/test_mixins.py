from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.everreal_accounts import log_in
from tests.everreal_accounts import log_in_at_beta_with_companies
from tests.everreal_accounts import login_redirect

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_scopes")]


@pytest.mark.parametrize("url", ["/portfolio-view/", "/async-portfolio-view/"])
def test_anonymous_users_go_to_login_with_next(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert login_redirect(response) == ("/login/", url)


@pytest.mark.parametrize("url", ["/portfolio-view/", "/async-portfolio-view/"])
def test_users_lacking_a_scope_get_403(client, url):
    log_in(client, "company_user")
    assert client.get(url).status_code == 403


def test_every_scope_is_required(client):
    log_in(client, "company_portfolio_all")
    assert client.get("/portfolio-view/").status_code == 403
    log_in(client, "company_portfolio_all", "company_user")
    response = client.get("/portfolio-view/")
    assert response.status_code == 200
    assert response.content == b"portfolio view"


def test_async_view_with_the_scope(client):
    log_in(client, "company_portfolio_all")
    response = client.get("/async-portfolio-view/")
    assert response.status_code == 200
    assert response.content == b"async portfolio view"


def test_one_string_is_one_scope(client):
    log_in(client, "company_portfolio_all")
    assert client.get("/single-scope-view/").status_code == 200


def test_missing_required_scopes_is_a_configuration_error(client):
    log_in(client, "company_portfolio_all")
    with pytest.raises(ImproperlyConfigured, match=r"UnguardedView\.required_scopes"):
        client.get("/unguarded-view/")


@pytest.mark.parametrize("prefix", ["/companies/", "/async-companies/"])
def test_a_scope_covers_only_objects_of_its_own_customer(client, prefix):
    own, other = log_in_at_beta_with_companies(client)

    assert client.get(f"{prefix}{own.pk}/").status_code == 200
    assert client.get(f"{prefix}{other.pk}/").status_code == 403
