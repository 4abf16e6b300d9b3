"""The fake's records: partners, companies, users and clients, and the scope names.

A leaf module (no other module of the fake imported), so the state, the
token registry, the demo data and the users file can all build on it.
Ids are UUIDv5 (``derived_id``), the same on every start.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import field
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
class FakePartner:
    """An EverReal customer, the owner of a subdomain."""

    id: str
    name: str
    subdomain: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "subdomain": self.subdomain}


@dataclass
class FakeCompany:
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
    companies: list[FakeCompany] = field(default_factory=list)
    current_company_id: str | None = None
    partner: FakePartner | None = None
    scopes: list[str] = field(default_factory=list)
    #: Userinfo keys to replace (or drop, with ``ABSENT``), for payloads the
    #: fields cannot express, e.g. ``{"companies": None}``.
    overrides: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = derived_id("user", self.email)

    @property
    def current_company(self) -> FakeCompany | None:
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
