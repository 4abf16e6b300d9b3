"""What the database must hold after the logins: EverReal's view of each user, once."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count
from social_django.models import UserSocialAuth

from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Membership
from django_everreal.models import Partner
from django_everreal.testing.data import FakeUser
from django_everreal.testing.oauth import granted_scopes

#: Examples shown per kind of problem.
EXAMPLES = 5


def database_problems(
    users: Sequence[FakeUser], scope: Sequence[str], users_before: int
) -> list[str]:
    """Everything in the database that differs from what the fake reports for *users*.

    *scope* is what the site asks EverReal for at login; *users_before* the
    number of Django users before the logins.
    """
    problems: list[str] = []
    expected_ids = {user.id for user in users}

    new_users = get_user_model().objects.count() - users_before
    if new_users != len(users):
        problems.append(
            f"{new_users} Django users made for {len(users)} EverReal users"
        )
    linked = {
        "UserSocialAuth": Counter(
            UserSocialAuth.objects.filter(provider="everreal").values_list(
                "uid", flat=True
            )
        ),
        "Account": Counter(Account.objects.values_list("everreal_id", flat=True)),
    }
    for name, counts in linked.items():
        duplicated = sorted(uid for uid, count in counts.items() if count > 1)
        missing = sorted(expected_ids - set(counts))
        unknown = sorted(set(counts) - expected_ids)
        for what, ids in (
            ("duplicated", duplicated),
            ("missing", missing),
            ("unexpected", unknown),
        ):
            if ids:
                problems.append(f"{name} {what} for {len(ids)} users: {ids[:EXAMPLES]}")
    duplicate_memberships = (
        Membership.objects.values("account", "company")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    if duplicate_memberships:
        problems.append(f"{duplicate_memberships} duplicated memberships")

    social_users = dict(
        UserSocialAuth.objects.filter(provider="everreal").values_list("uid", "user_id")
    )
    accounts = {
        account.everreal_id: account
        for account in Account.objects.prefetch_related("memberships")
    }
    wrong: list[str] = []
    companies: dict[str, tuple[str, str | None]] = {}
    partners: dict[str, dict[str, Any]] = {}
    for user in users:
        payload = user.userinfo()
        current = payload["currentCompany"]
        for company in payload["companies"]:
            name, partner_id = companies.get(company["id"], (company["name"], None))
            companies[company["id"]] = (name, partner_id)
        if current["partner"] is not None:
            partners[current["partner"]["id"]] = current["partner"]
            companies[current["id"]] = (current["name"], current["partner"]["id"])
        account = accounts.get(user.id)
        if account is None:
            continue  # counted above
        expected = {
            "user": social_users.get(user.id),
            "email": user.email,
            "current company": current["id"],
            "scopes": sorted(set(granted_scopes(user, scope))),
            "memberships": sorted(
                (company["id"], company["isDefault"])
                for company in payload["companies"]
            ),
        }
        actual = {
            "user": account.user_id,
            "email": account.email,
            "current company": account.current_company_id,
            "scopes": sorted(account.scopes),
            "memberships": sorted(
                (m.company_id, m.is_default) for m in account.memberships.all()
            ),
        }
        for key, value in expected.items():
            if actual[key] != value:
                wrong.append(f"{user.email} {key}: {actual[key]!r}, expected {value!r}")
    if wrong:
        problems.append(
            f"{len(wrong)} differences from the fake, e.g.:\n  "
            + "\n  ".join(wrong[:EXAMPLES])
        )

    stored = {c.id: (c.name, c.partner_id) for c in Company.objects.all()}
    for company_id, (name, partner_id) in sorted(companies.items()):
        if company_id not in stored:
            problems.append(f"company {name} missing")
        elif stored[company_id][0] != name or (
            partner_id is not None and stored[company_id][1] != partner_id
        ):
            problems.append(
                f"company {company_id}: {stored[company_id]!r}, expected {(name, partner_id)!r}"
            )
    for partner_id, partner in sorted(partners.items()):
        row = Partner.objects.filter(id=partner_id).values("name", "subdomain").first()
        if row != {"name": partner["name"], "subdomain": partner["subdomain"]}:
            problems.append(f"partner {partner_id}: {row!r}, expected {partner!r}")
    return problems


_LOGIN_FAILED = re.compile(r"EverReal login failed: (\S+)")
_EXCEPTION = re.compile(r"^([\w.]+(?:Error|Exception|Deadlock\w*)): (.{0,100})", re.M)


def log_summary(log: str) -> str:
    """The site's failed logins by code and its exceptions by kind, from gunicorn's log."""
    lines = []
    for code, count in Counter(_LOGIN_FAILED.findall(log)).most_common():
        lines.append(f"  {count} x failed login: {code}")
    for (kind, message), count in Counter(_EXCEPTION.findall(log)).most_common(10):
        lines.append(f"  {count} x {kind}: {message}")
    return "\n".join(lines) or "  (nothing)"
