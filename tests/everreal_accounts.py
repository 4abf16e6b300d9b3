"""Users with linked EverReal accounts, for the permission and admin tests."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import count
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.http.response import HttpResponseBase
from django.test import Client

from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Membership
from django_everreal.models import Partner

_serial = count(1)


def make_user(*, is_active: bool = True, **fields: Any) -> User:
    number = next(_serial)
    fields.setdefault("username", f"user{number}")
    fields.setdefault("email", f"user{number}@example.com")
    user: User = get_user_model().objects.create_user(is_active=is_active, **fields)
    return user


def make_account(
    user: User | None = None,
    *,
    scopes: Iterable[str] = (),
    companies: Iterable[Company] = (),
    **fields: Any,
) -> Account:
    """An account for *user* (a new one by default) holding *scopes*."""
    user = user or make_user()
    company_list = list(companies)
    fields.setdefault("everreal_id", f"er-{user.pk}")
    fields.setdefault("email", user.email)
    fields.setdefault("current_company", company_list[0] if company_list else None)
    account = Account.objects.create(user=user, scopes=list(scopes), **fields)
    for position, company in enumerate(company_list):
        Membership.objects.create(
            account=account, company=company, is_default=position == 0
        )
    return account


def make_company(name: str, partner: Partner | None = None) -> Company:
    return Company.objects.create(id=f"company-{name}", name=name, partner=partner)


def make_partner(name: str) -> Partner:
    return Partner.objects.create(id=f"partner-{name}", name=name, subdomain=name)


MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def log_in(client: Client, *scopes: str) -> None:
    """Log a new user holding *scopes* in to the test client."""
    client.force_login(make_account(scopes=scopes).user, backend=MODEL_BACKEND)


def login_redirect(response: HttpResponseBase) -> tuple[str, str]:
    """Where a redirect to the login page goes, and the ``next`` it carries."""
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    return location.path, parse_qs(location.query)["next"][0]


def log_in_at_beta_with_companies(client: Client) -> tuple[Company, Company]:
    """Log in a user of customer ``beta`` holding ``company_user``; (beta's company, another's)."""
    from django_everreal.models import Customer

    Customer.objects.create(subdomain="beta", client_id="beta-client")
    own = Company.objects.create(id="beta:c1", customer="beta")
    other = Company.objects.create(id="c1")
    account = make_account(scopes=["company_user"], customer="beta")
    client.force_login(
        account.user, backend="django.contrib.auth.backends.ModelBackend"
    )
    return own, other
