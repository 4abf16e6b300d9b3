from __future__ import annotations

import pytest
from asgiref.sync import iscoroutinefunction
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.http import HttpResponse

from django_everreal.decorators import scope_required
from tests import views_scopes
from tests.everreal_accounts import log_in
from tests.everreal_accounts import login_redirect

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_scopes")]


@pytest.mark.parametrize("url", ["/portfolio/", "/async-portfolio/"])
def test_anonymous_users_go_to_login_with_next(client, url):
    response = client.get(url, {"page": "2"})
    assert response.status_code == 302
    assert login_redirect(response) == ("/login/", f"{url}?page=2")


@pytest.mark.parametrize("url", ["/portfolio/", "/async-portfolio/"])
def test_users_lacking_the_scope_get_403(client, url):
    log_in(client, "offline_access", "*", "company_user")
    assert client.get(url).status_code == 403


@pytest.mark.parametrize(
    ("url", "body"),
    [("/portfolio/", b"portfolio"), ("/async-portfolio/", b"async portfolio")],
)
def test_users_with_the_scope_see_the_view(client, url, body):
    log_in(client, "company_portfolio_all")
    response = client.get(url)
    assert response.status_code == 200
    assert response.content == body


def test_every_scope_is_required(client):
    log_in(client, "company_portfolio_all")
    assert client.get("/contracts/").status_code == 403
    log_in(client, "company_portfolio_all", "company_contracting_edit_contract")
    assert client.get("/contracts/").status_code == 200


def test_superuser_scope_passes(client, settings):
    settings.EVERREAL_SUPERUSER_SCOPES = ["superadmin_all"]
    log_in(client, "superadmin_all")
    assert client.get("/contracts/").status_code == 200


def test_login_url_and_redirect_instead_of_403(client):
    expected = ("/elsewhere/", "/portfolio-to-login/")
    assert login_redirect(client.get("/portfolio-to-login/")) == expected
    log_in(client, "company_user")
    assert login_redirect(client.get("/portfolio-to-login/")) == expected


def test_async_views_stay_async():
    assert iscoroutinefunction(views_scopes.async_portfolio)
    assert not iscoroutinefunction(views_scopes.portfolio)
    assert views_scopes.portfolio.__name__ == "portfolio"
    assert views_scopes.contracts.required_scopes == (  # type: ignore[attr-defined]
        "company_portfolio_all",
        "company_contracting_edit_contract",
    )


def test_no_scopes_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="scope_required"):

        @scope_required()
        def view(request: HttpRequest) -> HttpResponse:
            return HttpResponse()


def test_permission_names_are_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match=r"without the 'everreal\.' prefix"):
        scope_required("everreal.company_user")
