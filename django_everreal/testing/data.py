"""The fake's users and clients: built-in demo data, or loaded from a JSON file.

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
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://demo.everreal.co/")

DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret"  # noqa: S105
DEMO_PASSWORD = "demo"  # noqa: S105
DEMO_TIMESTAMP = "2021-07-19T14:21:50.215Z"

#: Scopes EverReal documents; a user's own scopes are known too.
KNOWN_SCOPES = (
    "company_user",
    "company_admin",
    "company_portfolio_all",
    "company_contracting_edit_contract",
    "message_templates_all",
    "email_templates_all",
    "superadmin_all",
)
OFFLINE_ACCESS = "offline_access"
ALL_SCOPES = "*"

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})


class UsersFileError(ValueError):
    """A users file that cannot be loaded; the message says where and why."""


def derived_id(kind: str, name: str) -> str:
    """A stable id for a thing identified by *name*, e.g. a user by email."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name.lower()}"))


@dataclass
class Partner:
    """An EverReal customer, the owner of a subdomain."""

    id: str
    name: str
    subdomain: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "subdomain": self.subdomain}


@dataclass
class Company:
    id: str
    name: str
    is_default: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "isDefault": self.is_default}


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


#: Put as a value in ``FakeUser.overrides`` to leave a key out of userinfo.
ABSENT: Any = _Absent()


@dataclass
class FakeUser:
    """A user of the fake; tests may change any field and see it in the next userinfo."""

    email: str
    password: str
    id: str = ""
    first_name: str | None = None
    last_name: str | None = None
    is_active: bool = True
    is_tenant: bool = False
    language: str | None = "de-DE"
    profile_photo: str | None = None
    profile_data: dict[str, Any] | None = field(default_factory=dict)
    are_terms_accepted: bool = True
    created_at: str | None = DEMO_TIMESTAMP
    updated_at: str | None = DEMO_TIMESTAMP
    companies: list[Company] = field(default_factory=list)
    current_company_id: str | None = None
    partner: Partner | None = None
    scopes: list[str] = field(default_factory=list)
    #: Userinfo keys to replace (or drop, with ``ABSENT``), for payloads the
    #: fields cannot express, e.g. ``{"companies": None}``.
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = derived_id("user", self.email)

    @property
    def current_company(self) -> Company | None:
        for company in self.companies:
            if company.id == self.current_company_id:
                return company
        return None

    def userinfo(self) -> dict[str, Any]:
        """The userinfo payload without ``tokenInfo``, key for key as EverReal sends it."""
        current = self.current_company
        current_json = None
        if current is not None:
            current_json = {
                **current.as_json(),
                "partner": self.partner.as_json() if self.partner else None,
            }
        profile_data = None
        if self.profile_data is not None:
            profile_data = {"language": self.language, **self.profile_data}
        payload: dict[str, Any] = {
            "id": self.id,
            "email": self.email,
            "isActive": self.is_active,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "profilePhoto": self.profile_photo,
            "profileData": profile_data,
            "isTenant": self.is_tenant,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "areTermsAccepted": self.are_terms_accepted,
            "companies": [company.as_json() for company in self.companies],
            "currentCompany": current_json,
        }
        for key, value in self.overrides.items():
            if value is ABSENT:
                payload.pop(key, None)
            else:
                payload[key] = value
        return payload


@dataclass
class FakeClient:
    """An OAuth client registered with the fake."""

    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)
    #: Accept any ``http://localhost:PORT/...`` or ``http://127.0.0.1:PORT/...``.
    allow_loopback_redirects: bool = False
    #: ``tokenInfo.audience`` in userinfo.
    audience: str = ""

    def __post_init__(self) -> None:
        if not self.audience:
            # What the API of a site checks a bearer token against: its client id.
            self.audience = self.client_id

    def allows_redirect_uri(self, uri: str) -> bool:
        if uri in self.redirect_uris:
            return True
        if not self.allow_loopback_redirects:
            return False
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018 -- raises on a malformed port
        except ValueError:
            return False
        return (
            parts.scheme == "http"
            and parts.hostname in LOOPBACK_HOSTS
            and parts.username is None
            and parts.password is None
            and not parts.fragment
        )


def demo_clients() -> list[FakeClient]:
    return [
        FakeClient(
            client_id=DEMO_CLIENT_ID,
            client_secret=DEMO_CLIENT_SECRET,
            allow_loopback_redirects=True,
        )
    ]


DEMO_PARTNER = Partner(id=derived_id("partner", "demo"), name="demo", subdomain="demo")
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
    main = Company(derived_id("company", DEMO_COMPANY_NAME), DEMO_COMPANY_NAME, True)
    second = Company(
        derived_id("company", DEMO_SECOND_COMPANY_NAME), DEMO_SECOND_COMPANY_NAME
    )

    def company(c: Company) -> Company:
        return Company(c.id, c.name, c.is_default)

    def partner() -> Partner:
        return Partner(DEMO_PARTNER.id, DEMO_PARTNER.name, DEMO_PARTNER.subdomain)

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
    partner = Partner(derived_id("partner", subdomain), subdomain, subdomain)
    users = demo_users()
    for user in users:
        user.partner = Partner(partner.id, partner.name, partner.subdomain)
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
        Company(
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
        partner = Partner(
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


# Webhook deliveries: sample ``data`` per event type, shaped as EverReal's
# docs print them, with ids of the demo data, so a receiver under test gets
# what EverReal would send without the test spelling it out.

DEMO_LISTING_ID = derived_id("listing", "Villenallee 21, WE 03")
DEMO_PROPERTY_ID = derived_id("property", "Villenallee 21")
DEMO_UNIT_ID = derived_id("unit", "Villenallee 21, WE 03")
DEMO_CONTRACT_ID = derived_id("contract", "Villenallee 21, WE 03")
DEMO_CHANNEL_ID = derived_id("channel", "ImmobilienScout24")


def _demo_listing() -> dict[str, Any]:
    return {
        "id": DEMO_LISTING_ID,
        "property": {
            "id": DEMO_PROPERTY_ID,
            "objectId": "1001",
            "type": "BUILDING",
            "address": {
                "zip": "40211",
                "city": "Düsseldorf",
                "streetNumber": "21",
                "streetName": "Villenallee",
                "placeId": "ChIJ-demo-villenallee-21",
                "location": {"lat": 51.2277, "lng": 6.7735},
            },
        },
        "unit": {
            "id": DEMO_UNIT_ID,
            "objectId": "1001-03",
            "name": "WE 03, 2. OG links",
            "type": "APARTMENT",
        },
    }


def _contract_flow(status: str) -> dict[str, Any]:
    tom = derived_id("user", "tom@example.com")
    return {
        "id": DEMO_CONTRACT_ID,
        "metadata": {
            "unitId": DEMO_UNIT_ID,
            "listingId": DEMO_LISTING_ID,
            "candidateId": tom,
        },
        "contractData": {"rent": {"coldRent": 980, "currency": "EUR"}},
        "status": status,
        "contractFlowType": "DIGITAL",
        "contractFile": {
            "name": "Mietvertrag.pdf",
            "resourcePath": f"contracts/{DEMO_CONTRACT_ID}/Mietvertrag.pdf",
            "order": 0,
            "size": 184320,
            "type": "application/pdf",
        },
    }


def _sample_candidate_applied() -> dict[str, Any]:
    return {
        "id": derived_id("user", "tom@example.com"),
        "candidateSource": "EVERREAL",
        "email": "tom@example.com",
        "firstName": "Tom",
        "lastName": "Meyer",
        "listing": _demo_listing(),
    }


def _sample_published() -> dict[str, Any]:
    # EverReal's page for this event could not be read: the listing's shape
    # as in the candidate events, plus the channel it went to.
    return {
        **_demo_listing(),
        "channel": {"id": DEMO_CHANNEL_ID, "name": "ImmobilienScout24"},
    }


def _sample_contract_signed() -> dict[str, Any]:
    data = _contract_flow("SIGNED")
    data["auditTrailFile"] = {
        "name": "Audit-Trail.pdf",
        "resourcePath": f"contracts/{DEMO_CONTRACT_ID}/Audit-Trail.pdf",
        "order": 1,
        "size": 40960,
        "type": "application/pdf",
    }
    return data


def _sample_contract_started() -> dict[str, Any]:
    return {
        **_contract_flow("CREATED"),
        "contractTemplateId": derived_id("contract-template", "Wohnraummietvertrag"),
    }


def _sample_property() -> dict[str, Any]:
    # Not documented: the property of the listing events.
    listing = _demo_listing()
    return {**listing["property"], "updatedAt": DEMO_TIMESTAMP}


def _sample_invited_viewing() -> dict[str, Any]:
    return {
        "invitationId": derived_id("invitation", "Villenallee 21, WE 03"),
        "listing": _demo_listing(),
        "candidate": {
            "id": derived_id("user", "tom@example.com"),
            "email": "tom@example.com",
        },
    }


_WEBHOOK_SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "LISTING_CREATED": _demo_listing,
    "LISTING_UPDATED": _demo_listing,
    "LISTING_PUBLISHED_TO_CHANNEL": _sample_published,
    "LISTING_UNPUBLISHED_FROM_CHANNEL": _sample_published,
    "LISTING_CANDIDATE_APPLIED": _sample_candidate_applied,
    "LISTING_CANDIDATE_SCHEDULE_INVITED_VIEWING": _sample_invited_viewing,
    "LISTING_CONTRACT_FLOW_STARTED": _sample_contract_started,
    "LISTING_CONTRACT_FLOW_SIGNED": _sample_contract_signed,
    "PROPERTY_CREATED": _sample_property,
    "PROPERTY_UPDATED": _sample_property,
}


def webhook_sample(event_type: str) -> dict[str, Any]:
    """Sample ``data`` of an event type, fresh on each call (tests may change it).

    Types without a sample get ``{"id": ...}``: EverReal adds event types,
    and a receiver must take those too.
    """
    sample = _WEBHOOK_SAMPLES.get(event_type)
    if sample is None:
        return {"id": derived_id("event-object", event_type)}
    return sample()
