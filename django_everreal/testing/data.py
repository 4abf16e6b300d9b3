"""The fake's users and clients: built-in demo data, or loaded from a JSON file.

The records themselves are in ``records``, the webhook samples in
``webhook_samples``; this module names them too, as it always has.

A users file is a JSON list of user objects, or an object ``{"users": [...]}``
that may also hold ``"clients": [...]`` (replacing the demo client). A user::

    {
      "email": "anna@example.com",        required
      "password": "demo",                 required
      "id": "…",                          default: derived from the email
      "firstName": "Anna", "lastName": "Becker",
      "isActive": true, "isTenant": false, "language": "de-DE",
      "companies": [{"id": "…", "name": "Muster Hausverwaltung", "isDefault": true}],
      "currentCompany": "…",              a company id; default: the default company
      "partner": {"id": "…", "name": "demo", "subdomain": "demo"},
      "scopes": ["company_user", "company_portfolio_all"]
    }

Company and partner ids default to ids derived from their names. A client::

    {"client_id": "…", "client_secret": "…",
     "redirect_uris": ["https://app.example.com/complete/everreal/"],
     "allow_loopback_redirects": false}

Ids are UUIDv5, so the same file (and the demo data) gives the same ids on
every start, and an app's database survives a restart of the fake.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django_everreal.testing.records import ABSENT
from django_everreal.testing.records import ALL_SCOPES
from django_everreal.testing.records import DEMO_CLIENT_ID
from django_everreal.testing.records import DEMO_CLIENT_SECRET
from django_everreal.testing.records import DEMO_PASSWORD
from django_everreal.testing.records import DEMO_TIMESTAMP
from django_everreal.testing.records import KNOWN_SCOPES
from django_everreal.testing.records import LOOPBACK_HOSTS
from django_everreal.testing.records import NAMESPACE
from django_everreal.testing.records import OFFLINE_ACCESS
from django_everreal.testing.records import FakeClient
from django_everreal.testing.records import FakeCompany
from django_everreal.testing.records import FakePartner
from django_everreal.testing.records import FakeUser
from django_everreal.testing.records import UsersFileError
from django_everreal.testing.records import derived_id
from django_everreal.testing.webhook_samples import DEMO_CHANNEL_ID
from django_everreal.testing.webhook_samples import DEMO_CONTRACT_ID
from django_everreal.testing.webhook_samples import DEMO_LISTING_ID
from django_everreal.testing.webhook_samples import DEMO_PROPERTY_ID
from django_everreal.testing.webhook_samples import DEMO_UNIT_ID
from django_everreal.testing.webhook_samples import webhook_sample


def demo_clients() -> list[FakeClient]:
    return [
        FakeClient(
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            allow_loopback_redirects=True,
        )
    ]


DEMO_PARTNER = FakePartner(
    id=derived_id("partner", "demo"), name="demo", subdomain="demo"
)
DEMO_COMPANY_NAME = "Muster Hausverwaltung GmbH"
DEMO_SECOND_COMPANY_NAME = "Muster Immobilien Service GmbH"

# First name, last name, tenant: the directory the GraphQL users query pages through.
_DIRECTORY = (
    ("Lena", "Schmidt", False),
    ("Jonas", "Weber", False),
    ("Mia", "Fischer", True),
    ("Paul", "Wagner", True),
    ("Emma", "Hoffmann", False),
    ("Felix", "Schulz", True),
    ("Hanna", "Koch", True),
    ("Lukas", "Richter", False),
    ("Sophie", "Wolf", True),
    ("Noah", "Neumann", True),
)


def demo_users() -> list[FakeUser]:
    """Anna (property manager, two companies), Tom (tenant) and ten more, password ``demo``."""
    main = FakeCompany(
        derived_id("company", DEMO_COMPANY_NAME), DEMO_COMPANY_NAME, True
    )
    second = FakeCompany(
        derived_id("company", DEMO_SECOND_COMPANY_NAME), DEMO_SECOND_COMPANY_NAME
    )

    def company(c: FakeCompany) -> FakeCompany:
        return FakeCompany(c.id, c.name, c.is_default)

    def partner() -> FakePartner:
        return FakePartner(DEMO_PARTNER.id, DEMO_PARTNER.name, DEMO_PARTNER.subdomain)

    users = [
        FakeUser(
            email="anna@example.com",
            password=DEMO_PASSWORD,
            first_name="Anna",
            last_name="Becker",
            language="de-DE",
            profile_data={"salutation": "MS", "phoneNumber": "+49 30 1234567"},
            companies=[company(main), company(second)],
            current_company_id=main.id,
            partner=partner(),
            scopes=[
                "company_user",
                "company_portfolio_all",
                "message_templates_all",
                "company_contracting_edit_contract",
            ],
        ),
        FakeUser(
            email="tom@example.com",
            password=DEMO_PASSWORD,
            first_name="Tom",
            last_name="Meyer",
            is_tenant=True,
            language="en-US",
            companies=[company(main)],
            current_company_id=main.id,
            partner=partner(),
            scopes=["company_user"],
        ),
    ]
    for first, last, tenant in _DIRECTORY:
        users.append(
            FakeUser(
                email=f"{first}.{last}@example.com".lower(),
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                is_tenant=tenant,
                companies=[company(main)],
                current_company_id=main.id,
                partner=partner(),
                scopes=["company_user"],
            )
        )
    return users


def customer_clients(subdomain: str) -> list[FakeClient]:
    """The client of another customer's fake: ``<subdomain>-client`` / ``<subdomain>-secret``.

    Loopback redirect URIs are allowed, as for the demo client, so a site
    on ``localhost`` logs in at every customer with its one callback URL.
    """
    return [
        FakeClient(
            client_id=f"{subdomain}-client",
            client_secret=f"{subdomain}-secret",
            allow_loopback_redirects=True,
        )
    ]


def customer_users(subdomain: str) -> list[FakeUser]:
    """The demo users at another customer: the same ids, that customer's partner.

    The same EverReal id at two customers is two people, which is what a
    site serving several customers must keep apart.
    """
    partner = FakePartner(derived_id("partner", subdomain), subdomain, subdomain)
    users = demo_users()
    for user in users:
        user.partner = FakePartner(partner.id, partner.name, partner.subdomain)
    return users


def load_users_file(path: str | Path) -> tuple[list[FakeUser], list[FakeClient] | None]:
    """Read a users file: its users, and its clients or ``None`` to keep the demo client."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsersFileError(f"{path}: {exc}") from exc
    clients = None
    if isinstance(data, Mapping):
        if "clients" in data:
            clients = [
                _client_from_json(item, f"{path}: clients[{i}]")
                for i, item in enumerate(_list(data["clients"], f"{path}: clients"))
            ]
        data = data.get("users")
    items = _list(data, f"{path}: users")
    users = [
        user_from_json(item, f"{path}: users[{i}]") for i, item in enumerate(items)
    ]
    emails = [user.email.lower() for user in users]
    duplicates = sorted({email for email in emails if emails.count(email) > 1})
    if duplicates:
        raise UsersFileError(f"{path}: duplicate emails: {', '.join(duplicates)}")
    return users, clients


def user_from_json(item: Any, where: str = "user") -> FakeUser:
    """A ``FakeUser`` from one object of a users file."""
    if not isinstance(item, Mapping):
        raise UsersFileError(f"{where}: expected an object")
    email = _required(item, "email", where)
    password = _required(item, "password", where)
    companies = [
        FakeCompany(
            id=_string(c, "id", where)
            or derived_id("company", _required(c, "name", where)),
            name=_required(c, "name", where),
            is_default=bool(c.get("isDefault", False)),
        )
        for c in _objects(item.get("companies", []), f"{where}: companies")
    ]
    current = item.get("currentCompany")
    if isinstance(current, Mapping):
        current = current.get("id")
    if current is None:
        current = next(
            (c.id for c in companies if c.is_default),
            companies[0].id if companies else None,
        )
    elif not any(c.id == current for c in companies):
        raise UsersFileError(
            f"{where}: currentCompany {current!r} is not one of its companies"
        )
    partner = None
    partner_json = item.get("partner")
    if partner_json is not None:
        if not isinstance(partner_json, Mapping):
            raise UsersFileError(f"{where}: partner must be an object")
        subdomain = _string(partner_json, "subdomain", where) or "demo"
        partner = FakePartner(
            id=_string(partner_json, "id", where) or derived_id("partner", subdomain),
            name=_string(partner_json, "name", where) or subdomain,
            subdomain=subdomain,
        )
    scopes = item.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise UsersFileError(f"{where}: scopes must be a list of strings")
    if OFFLINE_ACCESS in scopes or ALL_SCOPES in scopes:
        raise UsersFileError(
            f"{where}: scopes are permissions; {OFFLINE_ACCESS} and * are not"
        )
    return FakeUser(
        email=email,
        password=password,
        id=_string(item, "id", where) or "",
        first_name=_string(item, "firstName", where),
        last_name=_string(item, "lastName", where),
        is_active=bool(item.get("isActive", True)),
        is_tenant=bool(item.get("isTenant", False)),
        language=_string(item, "language", where) or "de-DE",
        companies=companies,
        current_company_id=current,
        partner=partner,
        scopes=list(scopes),
    )


def _client_from_json(item: Any, where: str) -> FakeClient:
    if not isinstance(item, Mapping):
        raise UsersFileError(f"{where}: expected an object")
    redirect_uris = item.get("redirect_uris", [])
    if not isinstance(redirect_uris, list) or not all(
        isinstance(u, str) for u in redirect_uris
    ):
        raise UsersFileError(f"{where}: redirect_uris must be a list of strings")
    return FakeClient(
        client_id=_required(item, "client_id", where),
        client_secret=_required(item, "client_secret", where),
        redirect_uris=list(redirect_uris),
        allow_loopback_redirects=bool(item.get("allow_loopback_redirects", False)),
    )


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise UsersFileError(f"{where}: expected a list")
    return value


def _objects(value: Any, where: str) -> list[Mapping[str, Any]]:
    items = _list(value, where)
    if not all(isinstance(item, Mapping) for item in items):
        raise UsersFileError(f"{where}: expected a list of objects")
    return items


def _string(item: Mapping[str, Any], key: str, where: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise UsersFileError(f"{where}: {key!r} must be a string")
    return value


def _required(item: Mapping[str, Any], key: str, where: str) -> str:
    value = _string(item, key, where)
    if not value:
        raise UsersFileError(f"{where}: {key!r} is required")
    return value


__all__ = [
    "ABSENT",
    "ALL_SCOPES",
    "DEMO_CHANNEL_ID",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_CONTRACT_ID",
    "DEMO_LISTING_ID",
    "DEMO_PARTNER",
    "DEMO_PASSWORD",
    "DEMO_PROPERTY_ID",
    "DEMO_TIMESTAMP",
    "DEMO_UNIT_ID",
    "KNOWN_SCOPES",
    "LOOPBACK_HOSTS",
    "NAMESPACE",
    "OFFLINE_ACCESS",
    "Company",
    "FakeClient",
    "FakeCompany",
    "FakePartner",
    "FakeUser",
    "Partner",
    "UsersFileError",
    "customer_clients",
    "customer_users",
    "demo_clients",
    "demo_users",
    "derived_id",
    "load_users_file",
    "user_from_json",
    "webhook_sample",
]

#: Deprecated aliases: the names collided with ``django_everreal.models``.
Partner = FakePartner
Company = FakeCompany
