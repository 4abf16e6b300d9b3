from __future__ import annotations

from collections.abc import Iterator

import pytest
from asgiref.sync import iscoroutinefunction
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.http import HttpResponse
from django.test import Client

from django_everreal.decorators import everreal_token_required
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


# everreal_token_required: EverReal access tokens as credentials of plain views.


def bearer(fake: object, email: str = "anna@example.com") -> dict[str, str]:
    token = fake.issue_tokens(email)["access_token"]  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def token_cache() -> Iterator[None]:
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.mark.usefixtures("token_cache")
@pytest.mark.parametrize("url", ["/token/", "/async-token/"])
def test_a_valid_token_runs_the_view_as_its_user(client, everreal_fake, url):
    response = client.get(url, headers=bearer(everreal_fake))

    assert response.status_code == 200
    assert response.json() == {"user": "anna@example.com", "company_user": True}


@pytest.mark.usefixtures("token_cache")
@pytest.mark.parametrize("url", ["/token/", "/async-token/"])
def test_without_a_token_it_is_a_401_invalid_request(client, everreal_fake, url):
    log_in(client, "company_user")  # a session counts for nothing here

    response = client.get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["error"] == "invalid_request"


@pytest.mark.usefixtures("token_cache")
@pytest.mark.parametrize("url", ["/token/", "/async-token/"])
@pytest.mark.parametrize("token", ["not-a-token-of-everreal", "x" * 20000, ""])
def test_a_bad_token_is_a_401_invalid_token(client, everreal_fake, url, token):
    response = client.get(url, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    assert response.json()["error"] == "invalid_token"


@pytest.mark.usefixtures("token_cache")
@pytest.mark.parametrize("url", ["/token/", "/async-token/"])
def test_everreal_out_of_reach_is_a_503(client, everreal_fake, url):
    headers = bearer(everreal_fake)
    everreal_fake.fail_next("userinfo", 500)

    response = client.get(url, headers=headers)

    assert response.status_code == 503
    assert response.json()["error"] == "everreal_unavailable"


def test_a_known_retry_after_is_passed_on(rf, monkeypatch):
    from django_everreal import bearer as bearer_module
    from django_everreal.exceptions import EverRealUnavailable

    def unavailable(request: HttpRequest, token: str) -> None:
        raise EverRealUnavailable("busy", retry_after=4.2)

    monkeypatch.setattr(bearer_module, "authenticate", unavailable)
    request = rf.get("/", headers={"Authorization": "Bearer abc"})

    response = views_scopes.token_view(request)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"


@pytest.mark.usefixtures("token_cache")
def test_token_views_need_no_csrf_token(everreal_fake):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/token/", headers=bearer(everreal_fake))

    assert response.status_code == 200


@pytest.mark.usefixtures("token_cache")
@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/token-portfolio/", b"token portfolio"),
        ("/async-token-portfolio/", b"async token portfolio"),
    ],
)
def test_with_scope_required_the_tokens_scopes_count(client, everreal_fake, url, body):
    response = client.get(url, headers=bearer(everreal_fake))
    assert response.status_code == 200
    assert response.content == body

    lacking = client.get(url, headers=bearer(everreal_fake, "tom@example.com"))
    assert lacking.status_code == 403


def test_the_realm_is_the_decorators(client):
    response = client.get("/token-portfolio/")

    assert response["WWW-Authenticate"] == 'Bearer realm="listings"'


def test_token_views_keep_their_kind_and_name():
    assert iscoroutinefunction(views_scopes.async_token_view)
    assert not iscoroutinefunction(views_scopes.token_view)
    assert views_scopes.token_view.__name__ == "token_view"
    assert views_scopes.token_view.csrf_exempt  # type: ignore[attr-defined]

    @everreal_token_required()
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert view.__name__ == "view"
