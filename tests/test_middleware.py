from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from asgiref.sync import iscoroutinefunction
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.http import HttpRequest
from django.http import HttpResponse
from django.test import AsyncClient
from django.test import Client
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import path
from django.utils import timezone

from django_everreal.middleware import EverRealMiddleware
from django_everreal.models import Account
from tests import urls_client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_client")]

MIDDLEWARE = "django_everreal.middleware.EverRealMiddleware"


@login_required
def page(request: HttpRequest) -> HttpResponse:
    """A logged-in user's page that does not call EverReal."""
    return HttpResponse(str(request.user.pk))


async def async_page(request: HttpRequest) -> HttpResponse:
    # Not request.auser(): python-social-auth's backends have no aget_user.
    user_id = await sync_to_async(lambda: request.user.pk)()
    return HttpResponse(str(user_id))


# The URLs of ``pytest.mark.urls(__name__)``: the client tests' and these pages.
urlpatterns = [
    *urls_client.urlpatterns,
    path("page/", page),
    path("async-page/", async_page),
]

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def anna(everreal_login, everreal_fake):
    everreal_login("anna@example.com")
    everreal_fake.clear_calls()
    return Account.objects.get(email="anna@example.com")


def make_due(account):
    Account.objects.filter(pk=account.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )


def test_anonymous_users_get_none_without_a_query(
    client, everreal_fake, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert client.get("/userinfo/").json() == {"linked": False}
    assert everreal_fake.calls() == []


def test_users_without_account_get_none(client):
    client.force_login(get_user_model().objects.create_user("local"))
    assert client.get("/userinfo/").json() == {"linked": False}


def test_linked_users_get_their_client(client, anna, everreal_fake):
    response = client.get("/userinfo/")
    assert response.json() == {"linked": True, "email": "anna@example.com"}
    call = everreal_fake.last_call("userinfo")
    assert call.headers["Authorization"] == f"Bearer {anna.access_token}"


def queries_of(get, url, content):
    """The queries of one GET of *url*, which must answer 200 with *content*."""
    with CaptureQueriesContext(connection) as captured:
        response = get(url)
    assert response.status_code == 200
    assert response.content == content
    return len(captured)


@pytest.fixture
def without_middleware(settings):
    """Takes EverRealMiddleware out of ``MIDDLEWARE``: the stack to compare with."""

    def remove():
        assert MIDDLEWARE in settings.MIDDLEWARE
        settings.MIDDLEWARE = [
            name for name in settings.MIDDLEWARE if name != MIDDLEWARE
        ]

    return remove


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "content"),
    [("/page/", None), ("/untouched/", b"no EverReal here")],
    ids=["user", "untouched"],
)
def test_views_not_using_it_cost_no_extra_query(
    client, anna, without_middleware, url, content
):
    content = content or str(anna.user_id).encode()
    client.get(url)  # the first request's one-off lookups, outside the count
    with_it = queries_of(client.get, url, content)
    without_middleware()
    plain = Client()  # its handler loads the new MIDDLEWARE
    plain.cookies = client.cookies
    assert queries_of(plain.get, url, content) == with_it


@pytest.mark.urls(__name__)
def test_async_views_not_using_it_cost_no_extra_query(client, anna, without_middleware):
    def queries():
        async_client = AsyncClient()  # its handler loads the current MIDDLEWARE
        async_client.cookies = client.cookies
        get = async_to_sync(async_client.get)
        return queries_of(get, "/async-page/", str(anna.user_id).encode())

    queries()  # the first request's one-off lookups, outside the count
    with_it = queries()
    without_middleware()
    assert queries() == with_it


def test_the_client_is_built_once_per_request(client, anna, django_assert_num_queries):
    # Session, user, account: the account is looked up once and kept.
    with django_assert_num_queries(3):
        assert client.get("/userinfo/").json()["linked"] is True


def test_dead_refresh_token_sends_pages_to_login(client, anna, everreal_fake):
    everreal_fake.revoke_refresh_tokens("anna@example.com")
    make_due(anna)
    response = client.get("/userinfo/?page=2")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/userinfo/%3Fpage%3D2"
    anna.refresh_from_db()
    assert anna.reauth_required is True


@pytest.mark.parametrize(
    "headers",
    [JSON, {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}],
    ids=["accept", "xhr"],
)
def test_dead_refresh_token_gives_api_requests_401(
    client, anna, everreal_fake, headers
):
    everreal_fake.revoke_refresh_tokens("anna@example.com")
    make_due(anna)
    response = client.get("/userinfo/", **headers)
    assert response.status_code == 401
    assert response.json()["error"] == "reauthentication_required"
    assert response.json()["login_url"] == "/login/"


def test_json_posts_are_api_requests(client, anna, everreal_fake):
    everreal_fake.revoke_refresh_tokens("anna@example.com")
    make_due(anna)
    response = client.post("/userinfo/", {}, content_type="application/json")
    assert response.status_code == 401


def test_unavailable_page(client, anna, everreal_fake):
    make_due(anna)
    everreal_fake.fail_next("token", 503, headers=[("Retry-After", "30")])
    response = client.get("/userinfo/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    assert b"EverReal cannot be reached right now" in response.content
    assert anna.refresh_token not in response.content.decode()


def test_unavailable_json(client, anna, everreal_fake, settings):
    settings.EVERREAL_RETRY_BACKOFF = 0  # the retries, without their real pauses
    everreal_fake.drop_next("userinfo", times=3)
    response = client.get("/userinfo/", **JSON)
    assert response.status_code == 503
    assert response.json()["error"] == "everreal_unavailable"
    assert "Retry-After" not in response


HTML_PAGE = "<html><body>Maintenance</body></html>"


@pytest.mark.parametrize(
    "fault",
    [
        lambda fake: fake.fail_next("graphql", 500, times=3),
        lambda fake: fake.fail_next("graphql", 502, HTML_PAGE, times=3),
        lambda fake: fake.fail_next("graphql", 200, HTML_PAGE),
        lambda fake: fake.fail_next("graphql", 200, {"no": "data"}),
        lambda fake: fake.drop_next("graphql", times=3),
    ],
    ids=["500", "502-html", "200-html", "200-no-data", "reset"],
)
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_no_everreal_answer_makes_a_500(
    client, anna, everreal_fake, settings, fault, accept
):
    settings.EVERREAL_RETRY_BACKOFF = 0
    fault(everreal_fake)
    response = client.get("/directory/", HTTP_ACCEPT=accept)
    assert response.status_code == 503
    if accept == "application/json":
        assert response.json()["error"] == "everreal_unavailable"
    else:
        assert b"EverReal cannot be reached right now" in response.content
    # The next request goes through.
    assert client.get("/directory/", **JSON).json()["emails"]


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_graphql_errors_are_a_502(client, anna, everreal_fake, accept):
    everreal_fake.fail_next(
        "graphql", 200, {"errors": [{"message": "Cannot query field"}], "data": None}
    )
    response = client.get("/directory/", HTTP_ACCEPT=accept)
    assert response.status_code == 502
    if accept == "application/json":
        assert response.json()["error"] == "everreal_error"
    else:
        assert b"EverReal could not answer this request." in response.content


def test_other_exceptions_pass_through():
    middleware = EverRealMiddleware(lambda request: HttpResponse())
    request = RequestFactory().get("/")
    assert middleware.process_exception(request, ValueError("boom")) is None


def test_needs_the_authentication_middleware():
    middleware = EverRealMiddleware(lambda request: HttpResponse())
    with pytest.raises(ImproperlyConfigured, match="AuthenticationMiddleware"):
        middleware(RequestFactory().get("/"))


def test_async_stacks_stay_async():
    async def get_response(request):
        return HttpResponse()

    assert iscoroutinefunction(EverRealMiddleware(get_response))
    assert not iscoroutinefunction(EverRealMiddleware(lambda request: HttpResponse()))


def test_async_views_await_the_client(client, anna, everreal_fake):
    async_client = AsyncClient()
    async_client.cookies = client.cookies
    response = async_to_sync(async_client.get)("/async-userinfo/")
    assert response.json() == {"linked": True, "email": "anna@example.com"}
    assert len(everreal_fake.calls("userinfo")) == 1


def test_async_views_of_anonymous_users(everreal_fake):
    response = async_to_sync(AsyncClient().get)("/async-userinfo/")
    assert response.json() == {"linked": False}
