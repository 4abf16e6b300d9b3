"""Demo data and users files of the fake EverReal."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from django_everreal.testing import DEMO_CLIENT_ID
from django_everreal.testing import FakeEverReal
from django_everreal.testing import UsersFileError
from django_everreal.testing.data import derived_id

TIMEOUT = 5


def test_demo_ids_are_stable_uuids():
    first, second = FakeEverReal(), FakeEverReal()
    assert [u.id for u in first.users] == [u.id for u in second.users]
    anna = first.user("anna@example.com")
    # Apps keep these ids in their databases: they must never change.
    assert anna.id == "d3952cca-b301-5a48-b37b-04482b910405"
    assert anna.id == derived_id("user", "anna@example.com")
    assert uuid.UUID(anna.id).version == 5
    assert anna.companies[0].id == first.user("tom@example.com").companies[0].id


def test_demo_users():
    fake = FakeEverReal()
    anna, tom = fake.user("anna@example.com"), fake.user("tom@example.com")
    assert anna.password == tom.password == "demo"
    assert not anna.is_tenant and tom.is_tenant
    assert len(anna.companies) == 2
    assert sum(c.is_default for c in anna.companies) == 1
    assert anna.current_company is not None and anna.partner is not None
    assert {
        "company_user",
        "company_portfolio_all",
        "message_templates_all",
        "company_contracting_edit_contract",
    } <= set(anna.scopes)
    assert tom.scopes == ["company_user"]
    assert len(fake.users) >= 12
    assert len({u.email for u in fake.users}) == len(fake.users)


def test_demo_client_accepts_loopback_redirects_only():
    client = FakeEverReal().client(DEMO_CLIENT_ID)
    assert client.client_secret == "demo-secret"
    assert client.allows_redirect_uri("http://localhost:8000/complete/everreal/")
    assert client.allows_redirect_uri("http://127.0.0.1:1234/any/path")
    assert not client.allows_redirect_uri("https://localhost:8000/")
    assert not client.allows_redirect_uri("http://example.com/")
    assert not client.allows_redirect_uri("http://user@localhost:8000/")
    assert not client.allows_redirect_uri("http://localhost:99999/")


def write(tmp_path, data):
    path = tmp_path / "users.json"
    path.write_text(json.dumps(data))
    return path


USER = {
    "email": "eva@acme.test",
    "password": "s3cret",
    "firstName": "Eva",
    "isTenant": True,
    "language": "en-US",
    "companies": [
        {"id": "c1", "name": "Acme", "isDefault": True},
        {"name": "Acme Two"},
    ],
    "currentCompany": "c1",
    "partner": {"id": "p1", "name": "Acme", "subdomain": "acme"},
    "scopes": ["company_user", "acme_special"],
}


def test_users_file_replaces_the_users(tmp_path):
    fake = FakeEverReal(users_file=write(tmp_path, [USER]))
    assert [u.email for u in fake.users] == ["eva@acme.test"]
    eva = fake.user("eva@acme.test")
    assert eva.id == derived_id("user", "eva@acme.test")
    assert eva.companies[1].id == derived_id("company", "Acme Two")
    assert eva.current_company is not None and eva.current_company.name == "Acme"
    assert fake.client(DEMO_CLIENT_ID).client_id == DEMO_CLIENT_ID
    with fake.mock():
        response = requests.post(
            "https://demo.everreal.co/accounts/oauth/token",
            json={
                "grant_type": "password",
                "username": "eva@acme.test",
                "password": "s3cret",
                "scope": "offline_access acme_special",
                "client_id": "demo-client",
                "client_secret": "demo-secret",
            },
            timeout=TIMEOUT,
        )
        assert response.status_code == 200
        info = requests.get(
            "https://demo.everreal.co/accounts/api/userinfo",
            headers={"Authorization": f"Bearer {response.json()['access_token']}"},
            timeout=TIMEOUT,
        ).json()
    assert info["tokenInfo"]["scope"] == ["offline_access", "acme_special"]
    assert info["currentCompany"]["partner"] == {
        "id": "p1",
        "name": "Acme",
        "subdomain": "acme",
    }
    assert info["profileData"]["language"] == "en-US"
    assert info["isTenant"] is True


def test_users_file_object_form_with_clients(tmp_path):
    path = write(
        tmp_path,
        {
            "users": [{**USER, "id": "u-1"}],
            "clients": [
                {
                    "client_id": "app",
                    "client_secret": "x",
                    "redirect_uris": ["https://app.test/cb"],
                }
            ],
        },
    )
    fake = FakeEverReal(users_file=path)
    assert fake.user("u-1").email == "eva@acme.test"
    assert [c.client_id for c in fake.clients] == ["app"]
    assert fake.client("app").allows_redirect_uri("https://app.test/cb")
    assert not fake.client("app").allows_redirect_uri("http://localhost:8000/cb")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"people": []}, "expected a list"),
        ([{"email": "a@b.c"}], "'password' is required"),
        ([{**USER, "currentCompany": "nope"}], "is not one of its companies"),
        ([{**USER, "scopes": ["*"]}], "scopes"),
        ([USER, USER], "duplicate emails"),
        ([{**USER, "firstName": 3}], "'firstName' must be a string"),
        (["eva@acme.test"], r"users\[0\]: expected an object"),
        ([{**USER, "companies": ["Acme"]}], "companies: expected a list of objects"),
        ([{**USER, "companies": {"name": "Acme"}}], "companies: expected a list"),
        ([{**USER, "partner": "acme"}], "partner must be an object"),
        ([{**USER, "scopes": "company_user"}], "scopes must be a list of strings"),
        ([{**USER, "scopes": [1]}], "scopes must be a list of strings"),
        ([{**USER, "scopes": ["offline_access"]}], "scopes are permissions"),
        ({"users": [USER], "clients": {}}, "clients: expected a list"),
        ({"users": [USER], "clients": ["app"]}, r"clients\[0\]: expected an object"),
        (
            {"users": [USER], "clients": [{"client_id": "app"}]},
            "'client_secret' is required",
        ),
        (
            {
                "users": [USER],
                "clients": [
                    {"client_id": "a", "client_secret": "b", "redirect_uris": "x"}
                ],
            },
            "redirect_uris must be a list of strings",
        ),
    ],
)
def test_bad_users_files_say_what_is_wrong(tmp_path, data, message):
    with pytest.raises(UsersFileError, match=message):
        FakeEverReal(users_file=write(tmp_path, data))


def test_unreadable_users_file(tmp_path):
    (tmp_path / "users.json").write_text("{nope")
    with pytest.raises(UsersFileError, match=r"users\.json"):
        FakeEverReal(users_file=tmp_path / "users.json")


def test_users_file_defaults_for_what_a_user_leaves_out(tmp_path):
    companies = [{"id": "c1", "name": "One"}, {"id": "c2", "name": "Two"}]
    path = write(
        tmp_path,
        [
            {"email": "min@acme.test", "password": "pw"},
            {"email": "first@acme.test", "password": "pw", "companies": companies},
            {
                "email": "default@acme.test",
                "password": "pw",
                "companies": [companies[0], {**companies[1], "isDefault": True}],
            },
            {
                "email": "object@acme.test",
                "password": "pw",
                "companies": companies,
                "currentCompany": {"id": "c2", "name": "Two"},
            },
            {
                "email": "partner@acme.test",
                "password": "pw",
                "partner": {},
            },
        ],
    )
    fake = FakeEverReal(users_file=path)
    minimal = fake.user("min@acme.test")
    assert minimal.companies == [] and minimal.current_company_id is None
    assert minimal.partner is None and minimal.scopes == []
    assert minimal.is_active and not minimal.is_tenant
    assert minimal.language == "de-DE"
    assert fake.user("first@acme.test").current_company_id == "c1"
    assert fake.user("default@acme.test").current_company_id == "c2"
    assert fake.user("object@acme.test").current_company_id == "c2"
    partner = fake.user("partner@acme.test").partner
    assert partner is not None
    assert (partner.subdomain, partner.name) == ("demo", "demo")
    assert partner.id == derived_id("partner", "demo")
