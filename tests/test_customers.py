"""Several EverReal customers in one site, each a fake EverReal on its own loopback origin."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from social_django.models import UserSocialAuth

from django_everreal.client import EverRealClient
from django_everreal.exceptions import AccountNotLinked
from django_everreal.exceptions import UnknownCustomer
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Customer
from django_everreal.models import Partner
from django_everreal.models import ServiceAccount
from django_everreal.sync import resync_accounts
from django_everreal.testing.data import FakeClient
from django_everreal.testing.fake import FakeEverReal
from django_everreal.testing.server import FakeEverRealServer

pytestmark = pytest.mark.django_db

BEGIN = reverse("social:begin", args=("everreal",))


def customer_fake(subdomain: str) -> FakeEverReal:
    """A customer's own EverReal: the demo users (the same ids!), its own client."""
    return FakeEverReal(
        clients=[
            FakeClient(
                f"{subdomain}-client",
                f"{subdomain}-secret",
                allow_loopback_redirects=True,
            )
        ]
    )


@pytest.fixture
def home(settings):
    """The customer in settings: a fake on its own port."""
    with FakeEverRealServer(FakeEverReal()) as server:
        settings.SOCIAL_AUTH_EVERREAL_BASE_URL = server.url
        yield server.fake


@pytest.fixture
def beta():
    """The registered customer ``beta``: another fake, on another port."""
    with FakeEverRealServer(customer_fake("beta")) as server:
        customer = Customer(
            subdomain="beta", base_url=server.url, client_id="beta-client"
        )
        customer.set_client_secret("beta-secret")
        customer.save()
        yield server.fake


def log_in(
    client: Client, fake: FakeEverReal, email: str, subdomain: str | None
) -> Any:
    data = {"subdomain": subdomain} if subdomain is not None else {}
    start = client.post(BEGIN, data)
    assert start.status_code == 302, start
    location = fake.authorize_redirect(start["Location"], email, "demo")
    parts = urlsplit(location)
    return client.get(f"{parts.path}?{parts.query}")


def test_the_login_start_names_the_customer(client, home, beta):
    start = client.post(BEGIN, {"subdomain": "beta"})

    authorize = urlsplit(start["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == beta.base_url
    assert parse_qs(authorize.query)["client_id"] == ["beta-client"]


def test_a_subdomain_names_a_customer_in_any_case(client, home, beta):
    start = client.post(BEGIN, {"subdomain": "BETA"})

    assert start["Location"].startswith(beta.base_url)


def test_without_a_subdomain_the_login_goes_to_the_customer_in_settings(
    client, home, beta
):
    start = client.post(BEGIN)

    assert start["Location"].startswith(home.base_url)
    assert parse_qs(urlsplit(start["Location"]).query)["client_id"] == ["demo-client"]


@pytest.mark.parametrize("subdomain", ["nobody", "", "bad/../name", "x" * 500])
def test_an_unknown_customer_is_a_404_page(client, home, beta, subdomain):
    response = client.post(BEGIN, {"subdomain": subdomain or "nobody"})

    assert response.status_code == 404
    assert b"no EverReal login for that customer" in response.content
    assert home.calls() == beta.calls() == []


def test_a_disabled_customer_is_a_404_page(client, home, beta):
    Customer.objects.filter(subdomain="beta").update(enabled=False)

    response = client.post(BEGIN, {"subdomain": "beta"})

    assert response.status_code == 404
    assert beta.calls() == []


def test_one_everreal_id_at_two_customers_is_two_people(home, beta):
    anna_here, anna_there = Client(), Client()

    log_in(anna_here, home, "anna@example.com", None)
    log_in(anna_there, beta, "anna@example.com", "beta")

    everreal_id = home.user("anna@example.com").id
    assert beta.user("anna@example.com").id == everreal_id  # the same id, twice
    accounts = Account.objects.filter(everreal_id=everreal_id)
    assert sorted(a.customer for a in accounts) == ["", "beta"]
    assert len({a.user_id for a in accounts}) == 2
    assert set(UserSocialAuth.objects.values_list("uid", flat=True)) == {
        everreal_id,
        f"beta:{everreal_id}",
    }
    # The companies and the partner too: nothing of one is the other's.
    home_companies = set(
        Company.objects.filter(customer="").values_list("id", flat=True)
    )
    beta_companies = set(
        Company.objects.filter(customer="beta").values_list("id", flat=True)
    )
    assert beta_companies == {f"beta:{key}" for key in home_companies}
    assert {c.everreal_id for c in Company.objects.filter(customer="beta")} == (
        home_companies
    )
    assert Partner.objects.filter(customer="beta").count() == 1
    beta_account = accounts.get(customer="beta")
    assert set(beta_account.companies.values_list("customer", flat=True)) == {"beta"}
    assert beta_account.current_company.customer == "beta"


def test_each_customers_token_endpoint_gets_only_its_logins(home, beta):
    log_in(Client(), beta, "anna@example.com", "beta")

    assert home.calls("token") == []
    token_call = beta.last_call("token")
    assert token_call.body["client_id"] == "beta-client"
    assert token_call.body["client_secret"] == "beta-secret"


def test_a_second_login_at_the_same_customer_finds_the_same_user(home, beta):
    first = log_in(Client(), beta, "anna@example.com", "beta")
    second = log_in(Client(), beta, "anna@example.com", "beta")

    assert first.status_code == second.status_code == 302
    assert Account.objects.filter(customer="beta").count() == 1
    assert get_user_model().objects.count() == 1


def test_mix_up_a_code_of_another_customer_is_redeemed_only_where_the_login_began(
    client, home, beta
):
    """RFC 9700 §4.4: the state of a login begun at one customer, a code from another."""
    start = client.post(BEGIN)  # bound to the customer in settings
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    beta_authorize = beta.authorize_url(
        redirect_uri="http://localhost:8000/auth/complete/everreal/",
        client_id="beta-client",
    )
    beta_code = parse_qs(
        urlsplit(
            beta.authorize_redirect(beta_authorize, "anna@example.com", "demo")
        ).query
    )["code"][0]

    # The callback even names beta: it must not matter.
    response = client.get(
        reverse("social:complete", args=("everreal",)),
        {"code": beta_code, "state": state, "subdomain": "beta", "iss": beta.base_url},
    )

    assert response.status_code == 400
    assert beta.calls("token") == []  # beta's code never went back to beta
    assert home.last_call("token").body["code"] == beta_code
    assert home.last_call("token").status == 403  # unknown code at home
    assert not Account.objects.exists()
    assert "_auth_user_id" not in client.session


def test_the_state_of_a_login_at_one_customer_is_useless_at_another(client, home, beta):
    start = client.post(BEGIN, {"subdomain": "beta"})
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    home_code = parse_qs(
        urlsplit(
            home.authorize_redirect(
                home.authorize_url(
                    redirect_uri="http://localhost:8000/auth/complete/everreal/"
                ),
                "anna@example.com",
                "demo",
            )
        ).query
    )["code"][0]

    response = client.get(
        reverse("social:complete", args=("everreal",)),
        {"code": home_code, "state": state},
    )

    assert response.status_code == 400
    assert home.calls("token") == []
    assert beta.last_call("token").body["client_id"] == "beta-client"
    assert not Account.objects.exists()


def test_a_customer_disabled_during_the_login_is_refused_at_the_callback(
    client, home, beta
):
    start = client.post(BEGIN, {"subdomain": "beta"})
    location = beta.authorize_redirect(start["Location"], "anna@example.com", "demo")
    Customer.objects.filter(subdomain="beta").update(enabled=False)

    parts = urlsplit(location)
    response = client.get(f"{parts.path}?{parts.query}")

    assert response.status_code == 400
    assert beta.calls("token") == [] and home.calls("token") == []
    assert not Account.objects.exists()


def test_a_user_of_one_customer_cannot_link_an_account_of_another(client, home, beta):
    log_in(client, home, "anna@example.com", None)
    user = get_user_model().objects.get()

    response = log_in(client, beta, "tom@example.com", "beta")

    assert response.status_code == 403
    assert b"another customer" in response.content
    assert list(Account.objects.values_list("user", "customer")) == [(user.pk, "")]
    assert UserSocialAuth.objects.count() == 1  # the link was rolled back


def expire_tokens(account: Account) -> None:
    account.access_token_expires_at = timezone.now() - timedelta(seconds=1)
    account.save(update_fields=["access_token_expires_at"])


def test_tokens_refresh_at_their_own_customer(home, beta):
    log_in(Client(), beta, "anna@example.com", "beta")
    account = Account.objects.get(customer="beta")
    expire_tokens(account)
    beta.clear_calls()

    response = EverRealClient.for_user(account.user).get("/accounts/api/userinfo")

    assert response.status_code == 200
    refresh = beta.last_call("token")
    assert refresh.body["grant_type"] == "refresh_token"
    assert refresh.body["client_id"] == "beta-client"
    assert home.calls() == []
    assert beta.last_call("userinfo").status == 200


def test_a_client_calls_only_its_customers_origin(home, beta):
    log_in(Client(), beta, "anna@example.com", "beta")
    client = EverRealClient.for_user(Account.objects.get(customer="beta").user)

    with pytest.raises(ValueError, match="only calls"):
        client.get(home.base_url + "/accounts/api/userinfo")
    assert home.calls() == []


def test_for_user_checks_the_customer_it_is_asked_for(home, beta):
    log_in(Client(), beta, "anna@example.com", "beta")
    user = Account.objects.get(customer="beta").user

    assert EverRealClient.for_user(user, subdomain="beta").customer.subdomain == "beta"
    with pytest.raises(AccountNotLinked):
        EverRealClient.for_user(user, subdomain="")
    with pytest.raises(UnknownCustomer):
        EverRealClient.for_user(user, subdomain="nobody")


def test_an_account_of_a_disabled_customer_has_no_client(client, home, beta):
    log_in(client, beta, "anna@example.com", "beta")
    Customer.objects.filter(subdomain="beta").update(enabled=False)
    beta.clear_calls()

    with pytest.raises(UnknownCustomer):
        EverRealClient.for_user(Account.objects.get().user)
    assert beta.calls() == []


def test_resync_reads_userinfo_at_the_accounts_customer(home, beta):
    log_in(Client(), home, "anna@example.com", None)
    log_in(Client(), beta, "anna@example.com", "beta")
    beta.user("anna@example.com").first_name = "Annabelle"
    home.clear_calls()
    beta.clear_calls()

    results = list(resync_accounts(Account.objects.filter(customer="beta")))

    assert [r.outcome for r in results] == ["synced"]
    assert len(beta.calls("userinfo")) == 1 and home.calls() == []
    beta_user = Account.objects.get(customer="beta").user
    home_user = Account.objects.get(customer="").user
    beta_user.refresh_from_db()
    home_user.refresh_from_db()
    assert (beta_user.first_name, home_user.first_name) == ("Annabelle", "Anna")


def test_a_service_account_belongs_to_its_customer(home, beta):
    from io import StringIO

    call_command(
        "everreal_service_login",
        "reports",
        username="anna@example.com",
        customer="beta",
        password_stdin=True,
        stdin=StringIO("demo\n"),
        stdout=StringIO(),
    )
    service = ServiceAccount.objects.get(name="reports")
    assert service.customer == "beta"
    assert beta.last_call("token").body["grant_type"] == "password"
    expire_tokens(service)  # type: ignore[arg-type]
    home.clear_calls()

    EverRealClient.for_service("reports").get("/accounts/api/userinfo")

    assert beta.last_call("token").body["grant_type"] == "refresh_token"
    assert home.calls() == []


# Scopes as permissions, per customer.


@pytest.fixture
def beta_user(home, beta):
    log_in(Client(), home, "tom@example.com", None)  # some of home's rows
    log_in(Client(), beta, "anna@example.com", "beta")
    return get_user_model().objects.get(everreal_account__customer="beta")


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)


def test_a_scope_at_one_customer_is_a_permission_there(beta_user):
    assert fresh(beta_user).has_perm("everreal.company_user")
    assert fresh(beta_user).has_perm(
        "everreal.company_user", Company.objects.filter(customer="beta").first()
    )


def test_a_scope_at_one_customer_grants_nothing_on_anothers_data(beta_user):
    home_company = Company.objects.filter(customer="").first()
    home_account = Account.objects.get(customer="")

    user = fresh(beta_user)
    assert not user.has_perm("everreal.company_user", home_company)
    assert not user.has_perm("everreal.company_user", home_account)
    assert user.get_all_permissions(home_company) == set()


def test_any_object_names_its_customer_with_everreal_customer(beta_user):
    class Listing:
        def __init__(self, everreal_customer: str) -> None:
            self.everreal_customer = everreal_customer

    user = fresh(beta_user)
    assert user.has_perm("everreal.company_user", Listing("beta"))
    assert not user.has_perm("everreal.company_user", Listing(""))
    assert not user.has_perm("everreal.company_user", object())


def test_a_disabled_customers_scopes_grant_nothing(beta_user):
    Customer.objects.filter(subdomain="beta").update(enabled=False)

    assert not fresh(beta_user).has_perm("everreal.company_user")


def test_the_scope_check_is_one_query_for_a_registered_customer(
    beta_user, django_assert_num_queries
):
    user = fresh(beta_user)
    with django_assert_num_queries(1):
        assert user.has_perm("everreal.company_user")
        assert user.has_perm(
            "everreal.company_user", Company(id="beta:x", customer="beta")
        )


def test_everreal_sync_takes_a_customer(home, beta):
    from io import StringIO

    log_in(Client(), home, "anna@example.com", None)
    log_in(Client(), beta, "tom@example.com", "beta")
    home.clear_calls()
    beta.clear_calls()
    out = StringIO()

    call_command("everreal_sync", customer=["BETA"], stdout=out)

    assert "Synced 1," in out.getvalue()
    assert home.calls() == [] and len(beta.calls("userinfo")) == 1


def test_a_subdomain_is_stored_in_lower_case(home):
    customer = Customer(subdomain=" Gamma ", client_id="gamma-client")
    customer.save()

    assert Customer.objects.get(pk=customer.pk).subdomain == "gamma"


def test_unlinking_removes_the_account_of_its_own_customer(home, beta):
    log_in(Client(), home, "anna@example.com", None)
    log_in(Client(), beta, "anna@example.com", "beta")

    UserSocialAuth.objects.get(uid__startswith="beta:").delete()

    assert list(Account.objects.values_list("customer", flat=True)) == [""]


def test_a_registered_customers_callback_costs_one_statement_more(client, home, beta):
    """The customer's row, read once at the callback; nothing else grows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.test_views import statements

    # Another email at beta: no username to make unique, the same companies.
    beta.user("anna@example.com").email = "anna@beta.example.com"
    counts: dict[str, list[int]] = {}
    for subdomain, fake, email in (
        ("", home, "anna@example.com"),
        ("beta", beta, "anna@beta.example.com"),
    ):
        for _ in range(2):  # a first login, then a repeat one
            start = client.post(BEGIN, {"subdomain": subdomain})
            parts = urlsplit(fake.authorize_redirect(start["Location"], email, "demo"))
            with CaptureQueriesContext(connection) as queries:
                assert client.get(f"{parts.path}?{parts.query}").status_code == 302
            # Not python-social-auth's update of extra_data's auth_time: it
            # comes and goes with the clock's second.
            counted = [
                sql
                for sql in statements(queries)
                if not (
                    sql.startswith("UPDATE") and "social_auth_usersocialauth" in sql
                )
            ]
            counts.setdefault(subdomain, []).append(len(counted))
            client.logout()

    assert [b - a for a, b in zip(counts[""], counts["beta"], strict=True)] == [1, 1]
