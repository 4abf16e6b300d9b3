"""The fake EverReal serving several customers: in-process by origin, as servers, as fixtures."""

from __future__ import annotations

import errno
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from requests.adapters import HTTPAdapter
from social_django.models import UserSocialAuth

from django_everreal.models import Account
from django_everreal.models import Customer
from django_everreal.testing import EverRealCustomers
from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeEverRealError
from django_everreal.testing import customer_clients
from django_everreal.testing import customer_users
from django_everreal.testing import errors
from django_everreal.testing.__main__ import banner
from django_everreal.testing.__main__ import bind_servers
from django_everreal.testing.__main__ import parse_args
from django_everreal.testing.data import demo_users
from django_everreal.testing.login_flow import EverRealLogin
from django_everreal.testing.mock import mocked_fake
from django_everreal.testing.mock import mocked_fakes
from tests.test_testing_server import run_cli

DEMO = "https://demo.everreal.co"
BETA = "https://beta.everreal.co"
TOKEN_PATH = "/accounts/oauth/token"
USERINFO_PATH = "/accounts/api/userinfo"
TIMEOUT = 5


def password_grant(
    origin: str, client: str, email: str = "anna@example.com"
) -> requests.Response:
    return requests.post(
        origin + TOKEN_PATH,
        json={
            "client_id": f"{client}-client",
            "client_secret": f"{client}-secret",
            "grant_type": "password",
            "username": email,
            "password": "demo",
            "scope": "offline_access *",
        },
        timeout=TIMEOUT,
    )


def userinfo(origin: str, access_token: str) -> requests.Response:
    return requests.get(
        origin + USERINFO_PATH,
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=TIMEOUT,
    )


def beta_fake(**options: Any) -> FakeEverReal:
    return FakeEverReal(
        base_url=BETA,
        users=customer_users("beta"),
        clients=customer_clients("beta"),
        **options,
    )


@pytest.fixture
def demo_and_beta() -> Iterator[tuple[FakeEverReal, FakeEverReal]]:
    demo, beta = FakeEverReal(), beta_fake()
    with demo.mock(), beta.mock():
        yield demo, beta


def test_no_mock_is_left_behind():
    """Every test here starts from, and must return to, an unpatched ``requests``."""
    assert mocked_fakes() == []
    assert "responses" not in HTTPAdapter.send.__module__


# In-process: one router, each request to the fake of its origin.


def test_two_fakes_mocked_at_once_each_answer_their_own_origin(demo_and_beta):
    demo, beta = demo_and_beta

    assert password_grant(DEMO, "demo").status_code == 200
    assert password_grant(BETA, "beta").status_code == 200

    assert [call.status for call in demo.calls("token")] == [200]
    assert [call.status for call in beta.calls("token")] == [200]
    assert mocked_fakes() == [demo, beta]


def test_each_fake_knows_only_its_own_client(demo_and_beta):
    demo, beta = demo_and_beta

    assert password_grant(BETA, "demo").status_code == 401
    assert password_grant(DEMO, "beta").status_code == 401
    assert len(beta.calls("token")) == len(demo.calls("token")) == 1


def test_tokens_of_one_customer_are_refused_by_the_other(demo_and_beta):
    demo, beta = demo_and_beta
    at_demo = password_grant(DEMO, "demo").json()["access_token"]
    at_beta = password_grant(BETA, "beta").json()["access_token"]

    assert userinfo(DEMO, at_demo).status_code == 200
    assert userinfo(BETA, at_beta).status_code == 200
    refused = userinfo(BETA, at_demo)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_token"
    assert userinfo(DEMO, at_beta).status_code == 401
    assert demo.verify(at_demo) and beta.verify(at_beta)
    with pytest.raises(FakeEverRealError):
        beta.verify(at_demo)


def test_the_same_user_id_at_two_customers_with_their_own_partner(demo_and_beta):
    at_demo = password_grant(DEMO, "demo").json()["access_token"]
    at_beta = password_grant(BETA, "beta").json()["access_token"]

    here, there = userinfo(DEMO, at_demo).json(), userinfo(BETA, at_beta).json()

    assert here["id"] == there["id"]
    assert here["currentCompany"]["partner"]["subdomain"] == "demo"
    assert there["currentCompany"]["partner"]["subdomain"] == "beta"
    assert here["tokenInfo"]["audience"] != there["tokenInfo"]["audience"]


def test_an_origin_no_fake_serves_is_a_connection_error(demo_and_beta):
    for url in (
        "https://gamma.everreal.co/accounts/api/userinfo",
        "http://demo.everreal.co/accounts/api/userinfo",  # another scheme
        "https://demo.everreal.co:8443/accounts/api/userinfo",  # another port
        "https://demo.everreal.co.example.com/accounts/api/userinfo",
    ):
        with pytest.raises(requests.ConnectionError, match="no fake EverReal"):
            requests.get(url, timeout=TIMEOUT)
    demo, beta = demo_and_beta
    assert demo.calls() == beta.calls() == []


def test_origins_match_as_origins_do():
    fake = FakeEverReal(base_url="https://Beta.EverReal.co/")
    with fake.mock():
        for url in (
            "https://beta.everreal.co/accounts/api/userinfo",
            "HTTPS://BETA.everreal.co:443/accounts/api/userinfo?x=1",
        ):
            assert requests.get(url, timeout=TIMEOUT).status_code == 401
            assert mocked_fake(url) is fake
        assert mocked_fake("https://beta.everreal.co.evil.test/") is None
    assert mocked_fake(BETA) is None


def test_a_fake_with_a_path_serves_only_under_it():
    fake = FakeEverReal(base_url="https://staging.example.com/everreal")
    with fake.mock():
        assert mocked_fake("https://staging.example.com/everreal/accounts") is fake
        assert mocked_fake("https://staging.example.com/everreal") is fake
        assert mocked_fake("https://staging.example.com/everrealx") is None
        assert mocked_fake("https://staging.example.com/") is None


def test_a_base_url_changed_while_mocked_is_followed():
    fake = FakeEverReal()
    with fake.mock():
        fake.base_url = BETA
        assert mocked_fake(BETA) is fake
        assert mocked_fake(DEMO) is None


def test_stopping_one_fake_leaves_the_others_answering():
    demo, beta = FakeEverReal(), beta_fake()
    demo.start_mock()
    beta.start_mock()
    try:
        demo.stop_mock()  # not in the order they started
        assert password_grant(BETA, "beta").status_code == 200
        with pytest.raises(requests.ConnectionError):
            password_grant(DEMO, "demo")
        assert mocked_fakes() == [beta]
        demo.start_mock()  # and back
        assert password_grant(DEMO, "demo").status_code == 200
    finally:
        beta.stop_mock()
        demo.stop_mock()
    test_no_mock_is_left_behind()


def test_of_two_fakes_at_one_origin_the_later_started_answers():
    outer, inner = FakeEverReal(), FakeEverReal()
    with outer.mock():
        with inner.mock():
            password_grant(DEMO, "demo")
            assert len(inner.calls()) == 1 and outer.calls() == []
        password_grant(DEMO, "demo")
        assert len(outer.calls()) == 1


def test_starting_a_fake_twice_is_an_error():
    fake = FakeEverReal()
    with fake.mock():
        with pytest.raises(FakeEverRealError, match="running already"):
            fake.start_mock()
        assert mocked_fakes() == [fake]
    test_no_mock_is_left_behind()


def test_fakes_start_and_stop_from_many_threads():
    count = 12
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fakes = [
        FakeEverReal(
            base_url=f"https://c{n}.everreal.co",
            clients=customer_clients(f"c{n}"),
            private_key=key,
        )
        for n in range(count)
    ]
    failures: list[BaseException] = []
    all_started = threading.Barrier(count)

    def customer(n: int) -> None:
        fake = fakes[n]
        try:
            with fake.mock():
                all_started.wait(timeout=60)  # every fake is served at once here
                grant = password_grant(fake.base_url, f"c{n}")
                assert grant.status_code == 200, grant.text
                assert [call.status for call in fake.calls()] == [200]
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=customer, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert not failures, failures
    test_no_mock_is_left_behind()


def test_customer_data_helpers():
    (client,) = customer_clients("beta")
    assert (client.client_id, client.client_secret) == ("beta-client", "beta-secret")
    assert client.allows_redirect_uri("http://localhost:8000/auth/complete/everreal/")
    assert not client.allows_redirect_uri("https://evil.test/complete/everreal/")

    users, demo = customer_users("beta"), demo_users()
    assert [u.id for u in users] == [u.id for u in demo]
    assert {u.partner.subdomain for u in users if u.partner} == {"beta"}
    assert {u.partner.subdomain for u in demo if u.partner} == {"demo"}


# As servers: the command line's --customer.


@contextmanager
def serving(*argv: str) -> Iterator[list[Any]]:
    """The command's servers for *argv*, bound and serving in this process."""
    served = bind_servers(parse_args(["--quiet", *argv]))
    with ExitStack() as stack:
        for running in served:
            stack.enter_context(running.server)
        yield served


def test_cli_customer_serves_a_second_origin_with_its_own_client():
    with serving("--port", "0", "--customer", "beta") as (main, beta):
        assert beta.subdomain == "beta" and main.subdomain is None
        assert beta.server.url != main.server.url
        assert beta.fake.base_url == beta.server.url

        assert password_grant(beta.server.url, "beta").status_code == 200
        assert password_grant(beta.server.url, "demo").status_code == 401
        assert password_grant(main.server.url, "beta").status_code == 401
        at_main = password_grant(main.server.url, "demo").json()["access_token"]
        at_beta = password_grant(beta.server.url, "beta").json()["access_token"]
        assert userinfo(beta.server.url, at_beta).status_code == 200
        refused = userinfo(beta.server.url, at_main)
        assert refused.status_code == 401
        assert refused.json()["error_description"] == errors.ACCESS_TOKEN_INVALID
        assert (
            userinfo(beta.server.url, at_beta).json()["id"]
            == userinfo(main.server.url, at_main).json()["id"]
        )


def test_cli_banner_names_each_customer():
    with serving("--port", "0", "--customer", "beta", "--customer", "Gamma") as served:
        lines = banner(served, demo_passwords=True)
    main, beta, gamma = served
    first_url = next(line for line in lines if "http://" in line)
    assert first_url == f"Fake EverReal listening on {main.server.url}"
    at = lines.index(f"Customer beta listening on {beta.server.url}")
    assert lines[at + 1 : at + 3] == [
        "  client: beta-client / beta-secret",
        "  users:  the same as above",
    ]
    at = lines.index(f"Customer gamma listening on {gamma.server.url}")
    assert lines[at + 1] == "  client: gamma-client / gamma-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_cli_customer_ports_explicit_then_the_next_free_ones():
    port = free_port()
    with ExitStack() as stack:
        squatter = stack.enter_context(socket.socket())
        try:
            squatter.bind(("127.0.0.1", port + 2))
            squatter.listen()
        except OSError as exc:  # taken by another process: as good
            assert exc.errno == errno.EADDRINUSE
        argv = ["--port", str(port), "--customer", "beta", "--customer", "gamma"]
        try:
            served = stack.enter_context(
                serving(*argv, "--customer", f"delta:{port + 1}")
            )
        except OSError as exc:  # another process took a port meanwhile
            pytest.skip(f"ports in use: {exc}")
        main, beta, gamma, delta = served
        assert main.server.port == port
        assert delta.server.port == port + 1  # its own, before the others chose
        assert beta.server.port > port + 2  # port + 2 is taken
        assert gamma.server.port > beta.server.port
        assert password_grant(delta.server.url, "delta").status_code == 200


def test_cli_refuses_bad_or_repeated_customers(capsys):
    for argv in (["--customer", "be_ta"], ["--customer", "beta:http"]):
        with pytest.raises(SystemExit) as exit:
            parse_args(argv)
        assert exit.value.code == 2
    with pytest.raises(SystemExit):
        parse_args(["--customer", "beta", "--customer", "BETA:9000"])
    assert "beta given twice" in capsys.readouterr().err


def test_cli_customer_over_a_real_process():
    with run_cli("--customer", "beta", "--quiet") as (url, output, _stop):
        lines = output.splitlines()
        # What example_project/demo.py parses: the first http:// line is the main fake.
        first = next(line for line in lines if "http://" in line)
        assert first[first.index("http://") :].split()[0] == url
        beta_line = next(line for line in lines if line.startswith("Customer beta "))
        beta_url = beta_line.split()[-1]
        assert beta_url.startswith("http://127.0.0.1:") and beta_url != url
        assert "  client: beta-client / beta-secret" in lines
        assert password_grant(beta_url, "beta").status_code == 200
        assert password_grant(url, "beta").status_code == 401


# The pytest fixture and the login at a customer.


@pytest.mark.django_db
def test_everreal_customer_registers_and_serves_the_customer(everreal_customer):
    beta = everreal_customer("beta", name="Beta GmbH")

    assert beta.base_url == BETA
    assert mocked_fake(BETA) is beta
    assert everreal_customer["beta"] is beta
    row = Customer.objects.get(subdomain="beta")
    assert row == everreal_customer.customer("beta")
    assert (row.name, row.client_id, row.client_secret) == (
        "Beta GmbH",
        "beta-client",
        "beta-secret",
    )
    assert (row.base_url, row.redirect_uri, row.enabled) == ("", "", True)
    assert row.origin == BETA
    assert password_grant(BETA, "beta").status_code == 200


@pytest.mark.django_db
def test_everreal_login_at_a_registered_customer(
    client, everreal_login, everreal_fake, everreal_customer
):
    beta = everreal_customer("beta")

    response = everreal_login("anna@example.com", subdomain="beta")

    assert response.status_code == 302, response
    everreal_id = beta.user("anna@example.com").id
    account = Account.objects.get()
    assert (account.customer, account.everreal_id) == ("beta", everreal_id)
    assert UserSocialAuth.objects.get().uid == f"beta:{everreal_id}"
    assert [call.status for call in beta.calls("token")] == [200]
    assert beta.last_call("token").body["client_id"] == "beta-client"
    assert everreal_fake.calls() == []
    assert client.session["_auth_user_id"] == str(account.user_id)


@pytest.mark.django_db
def test_everreal_login_without_subdomain_stays_at_the_settings_customer(
    client, everreal_login, everreal_fake, everreal_customer
):
    beta = everreal_customer("beta")

    assert everreal_login.begin().startswith(DEMO)
    assert everreal_login.begin(subdomain="beta").startswith(BETA)
    everreal_login("tom@example.com")

    assert Account.objects.get().customer == ""
    assert len(everreal_fake.calls("token")) == 1
    assert beta.calls("token") == []


@pytest.mark.django_db
def test_two_customers_beside_the_settings_one(everreal_fake, everreal_customer):
    beta, gamma = everreal_customer("beta"), everreal_customer("gamma")

    for subdomain in ("beta", "gamma", None):
        login = EverRealLogin(Client(), everreal_fake)  # another browser each time
        login("anna@example.com", subdomain=subdomain)

    assert sorted(Account.objects.values_list("customer", flat=True)) == [
        "",
        "beta",
        "gamma",
    ]
    assert len(beta.calls("token")) == len(gamma.calls("token")) == 1
    assert len(everreal_fake.calls("token")) == 1


@pytest.mark.django_db
def test_everreal_login_needs_a_started_fake_for_the_customer(
    everreal_login, everreal_fake
):
    customer = Customer(subdomain="nofake", client_id="nofake-client")
    customer.set_client_secret("nofake-secret")
    customer.save()

    with pytest.raises(AssertionError, match=re.escape("nofake.everreal.co")):
        everreal_login("anna@example.com", subdomain="nofake")


@pytest.mark.django_db
def test_everreal_customer_with_an_origin_override(everreal_customer, everreal_login):
    fake = everreal_customer("local", base_url="http://127.0.0.1:8002")

    everreal_login("anna@example.com", subdomain="local")

    assert Customer.objects.get().origin == "http://127.0.0.1:8002"
    assert Account.objects.get().customer == "local"
    assert len(fake.calls("token")) == 1


@pytest.mark.django_db
def test_everreal_customer_refuses_an_origin_served_already(
    everreal_customer, everreal_fake
):
    everreal_customer("beta")
    with pytest.raises(FakeEverRealError, match="exists already"):
        everreal_customer("beta")
    with pytest.raises(FakeEverRealError, match=re.escape(f"answers at {DEMO}")):
        everreal_customer("other", base_url=DEMO)
    assert list(Customer.objects.values_list("subdomain", flat=True)) == ["beta"]
    assert mocked_fakes() == [everreal_fake, everreal_customer["beta"]]


def test_everreal_customer_asks_for_the_database_only_when_used(everreal_customer):
    """No ``django_db`` mark: the fixture may be requested, the database is not."""
    assert mocked_fakes() == []


@pytest.mark.django_db
def test_everreal_customers_stop_every_fake_they_started():
    customers = EverRealCustomers()
    customers("beta")
    customers("gamma")
    assert len(mocked_fakes()) == 2
    customers.stop()
    test_no_mock_is_left_behind()
    with pytest.raises(KeyError):
        customers["beta"]
