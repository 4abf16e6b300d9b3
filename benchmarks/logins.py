"""The logins the benchmark times: ``sync_account`` and a naive hand-written sync.

Import after ``django.setup()``: this module imports the models.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.color import no_style
from django.db import connection
from django.db import transaction
from django.utils import timezone

from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Membership
from django_everreal.models import Partner
from django_everreal.sync import sync_account

SCOPES = [
    "company_portfolio_all",
    "company_user",
    "message_templates_all",
    "offline_access",
]


def make_payload(tag: str, n: int) -> dict[str, Any]:
    """A userinfo payload (as in ``tests/samples/userinfo.json``) with *n* companies.

    Every id starts with *tag*, so each login of a round writes rows of its own.
    The first company is the current and default one, with a partner.
    """
    companies = [
        {"id": f"{tag}-c{i:04d}", "name": f"Company {i} of {tag}", "isDefault": i == 0}
        for i in range(n)
    ]
    first = companies[0]
    return {
        "id": f"{tag}-user",
        "email": f"{tag}@example.com",
        "isActive": True,
        "firstName": "Bench",
        "lastName": tag,
        "profilePhoto": None,
        "profileData": {"language": "de-DE"},
        "isTenant": False,
        "companies": companies,
        "currentCompany": {
            "id": first["id"],
            "name": first["name"],
            "partner": {
                "id": f"{tag}-partner",
                "name": f"Partner of {tag}",
                "subdomain": "bench",
            },
            "isDefault": True,
        },
        "tokenInfo": {"scope": SCOPES},
    }


def make_user(payload: dict[str, Any]) -> AbstractBaseUser:
    """The Django user social-auth's pipeline has made by the time the sync runs."""
    return get_user_model().objects.create_user(
        username=payload["id"],
        email=payload["email"],
        first_name=payload["firstName"],
        last_name=payload["lastName"],
    )


def sync(user: AbstractBaseUser, payload: dict[str, Any]) -> Account:
    """The app's sync, as the login pipeline calls it (the tokens left out)."""
    return sync_account(user, payload)


def naive_sync(user: AbstractBaseUser, payload: dict[str, Any]) -> Account:
    """The same sync written by hand: one ``*_or_create`` per row, in one transaction."""
    owner: Any = user
    current = payload["currentCompany"]
    with transaction.atomic():
        data = current["partner"]
        partner, _ = Partner.objects.get_or_create(
            id=data["id"],
            defaults={"name": data["name"], "subdomain": data["subdomain"]},
        )
        for entry in payload["companies"]:
            defaults: dict[str, Any] = {"name": entry["name"]}
            if entry["id"] == current["id"]:
                defaults["partner"] = partner
            Company.objects.update_or_create(id=entry["id"], defaults=defaults)
        account, _ = Account.objects.update_or_create(
            everreal_id=str(payload["id"]),
            defaults={
                "user": owner,
                "email": payload["email"],
                "is_tenant": payload["isTenant"] is True,
                "is_active": payload["isActive"] is not False,
                "language": payload["profileData"]["language"],
                "profile_photo": payload["profilePhoto"] or "",
                "current_company_id": current["id"],
                "scopes": sorted(payload["tokenInfo"]["scope"]),
                "synced_at": timezone.now(),
            },
        )
        ids = [entry["id"] for entry in payload["companies"]]
        Membership.objects.filter(account=account).exclude(company_id__in=ids).delete()
        for entry in payload["companies"]:
            Membership.objects.update_or_create(
                account=account,
                company_id=entry["id"],
                defaults={"is_default": entry["isDefault"] is True},
            )
    return account


def check(payload: dict[str, Any]) -> None:
    """Fail unless the login stored the payload's account, companies and memberships."""
    account = Account.objects.select_related("current_company").get(
        everreal_id=payload["id"]
    )
    wanted = {entry["id"]: entry["isDefault"] for entry in payload["companies"]}
    stored = dict(account.memberships.values_list("company_id", "is_default"))
    current = account.current_company
    if (
        stored != wanted
        or Company.objects.filter(id__in=wanted).count() != len(wanted)
        or current is None
        or current.id != payload["currentCompany"]["id"]
        or current.partner_id != payload["currentCompany"]["partner"]["id"]
        or account.email != payload["email"]
    ):
        raise RuntimeError(f"the login did not store {payload['id']} as sent")


def wipe() -> None:
    """Empty the tables the logins write to (outside any timed section)."""
    tables = [
        model._meta.db_table
        for model in (Membership, Account, Company, Partner, get_user_model())
    ]
    statements = connection.ops.sql_flush(no_style(), tables, allow_cascade=True)
    connection.ops.execute_sql_flush(statements)
