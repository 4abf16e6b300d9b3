"""Apply EverReal's userinfo to the models: one code path for login and re-sync."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from django_everreal import protocol
from django_everreal.backends import text
from django_everreal.backends import validate_userinfo
from django_everreal.exceptions import EverRealError
from django_everreal.exceptions import InvalidUserInfo
from django_everreal.exceptions import ReauthenticationRequired
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Membership
from django_everreal.models import Partner
from django_everreal.signals import account_synced

ID_MAX_LENGTH = 64
NAME_MAX_LENGTH = 255


# The names cover the frames below too (``set_tokens``, ``crypto.encrypt``):
# Django applies the nearest decorated caller's names to every frame under it.
@sensitive_variables("tokens", "access_token", "refresh_token", "value")
def sync_account(
    user: AbstractBaseUser, payload: Any, tokens: dict[str, Any] | None = None
) -> Account:
    """Upsert the user's Account, companies and memberships from *payload*.

    *tokens* is a token response (``access_token``, ``refresh_token``,
    ``expires_in``) to store with the account, as at login. Everything is
    written in one transaction, with a fixed number of queries however many
    companies the user has.
    """
    validate_userinfo(payload)
    with transaction.atomic():
        account, created = _apply(user, payload, tokens)
    account_synced.send(
        sender=Account, account=account, payload=payload, created=created
    )
    return account


@sensitive_variables("tokens", "access_token", "refresh_token", "value")
def _apply(
    user: AbstractBaseUser, payload: dict[str, Any], tokens: dict[str, Any] | None
) -> tuple[Account, bool]:
    everreal_id = str(payload["id"])
    current = _object(payload.get("currentCompany"))
    current_id = _id(current.get("id"))
    partner = _upsert_partner(_object(current.get("partner")))

    companies = {}
    for entry in _objects(payload.get("companies")):
        company_id = _id(entry.get("id"))
        if company_id:
            companies[company_id] = entry
    _upsert_companies(companies, current_id, current, partner)

    # An EverReal user is linked to one Django user; drop a stale link of this user.
    owner: Any = user  # any AUTH_USER_MODEL
    Account.objects.filter(user=owner).exclude(everreal_id=everreal_id).delete()
    account, created = Account.objects.select_for_update().get_or_create(
        everreal_id=everreal_id, defaults={"user": owner}
    )
    account.user = owner
    account.email = text(payload.get("email"))[:254]
    account.is_tenant = payload.get("isTenant") is True
    account.is_active = payload.get("isActive") is not False
    account.language = text(_object(payload.get("profileData")).get("language"))[:35]
    account.profile_photo = _url(payload.get("profilePhoto"))
    account.current_company_id = current_id
    account.scopes = _scopes(payload)
    account.synced_at = timezone.now()
    if tokens and tokens.get("access_token"):
        account.set_tokens(
            str(tokens["access_token"]),
            tokens.get("refresh_token") or None,
            protocol.parse_expires_in(tokens.get("expires_in")),
        )
        account.reauth_required = False
    account.save()

    _sync_memberships(account, companies, current_id)
    _update_user(user, account.email, payload)
    return account, created


def _upsert_partner(data: dict[str, Any]) -> Partner | None:
    partner_id = _id(data.get("id"))
    if not partner_id:
        return None
    partner = Partner(
        id=partner_id,
        name=text(data.get("name"))[:NAME_MAX_LENGTH],
        subdomain=text(data.get("subdomain"))[:63],
    )
    Partner.objects.bulk_create(
        [partner],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["name", "subdomain"],
    )
    return partner


def _upsert_companies(
    companies: dict[str, dict[str, Any]],
    current_id: str | None,
    current: dict[str, Any],
    partner: Partner | None,
) -> None:
    """Two bulk upserts: the current company (whose partner EverReal names) and the rest."""
    others = [
        Company(id=company_id, name=text(entry.get("name"))[:NAME_MAX_LENGTH])
        for company_id, entry in sorted(companies.items())
        if company_id != current_id
    ]
    if others:
        Company.objects.bulk_create(
            others, update_conflicts=True, unique_fields=["id"], update_fields=["name"]
        )
    if current_id:
        name = text(current.get("name")) or text(
            companies.get(current_id, {}).get("name")
        )
        Company.objects.bulk_create(
            [Company(id=current_id, name=name[:NAME_MAX_LENGTH], partner=partner)],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["name", "partner"] if partner else ["name"],
        )


def _sync_memberships(
    account: Account, companies: dict[str, dict[str, Any]], current_id: str | None
) -> None:
    """Make the account's memberships exactly the companies EverReal reports."""
    if current_id and current_id not in companies:
        companies = {**companies, current_id: {"isDefault": False}}
    Membership.objects.filter(account=account).exclude(
        company_id__in=list(companies)
    ).delete()
    if companies:
        Membership.objects.bulk_create(
            [
                Membership(
                    account=account,
                    company_id=company_id,
                    is_default=entry.get("isDefault") is True,
                )
                for company_id, entry in sorted(companies.items())
            ],
            update_conflicts=True,
            unique_fields=["account", "company"],
            update_fields=["is_default"],
        )


def _update_user(user: AbstractBaseUser, email: str, payload: dict[str, Any]) -> None:
    """Copy the names and email EverReal knows onto the user model, where it has them."""
    values = {
        "first_name": text(payload.get("firstName")),
        "last_name": text(payload.get("lastName")),
        user.get_email_field_name(): email,
    }
    changed = []
    field_names = {field.name for field in user._meta.get_fields()}
    for name, value in values.items():
        if value and name in field_names and getattr(user, name) != value:
            max_length = getattr(user._meta.get_field(name), "max_length", None)
            setattr(user, name, value[:max_length] if max_length else value)
            changed.append(name)
    if changed:
        user.save(update_fields=changed)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    return (
        [item for item in value if isinstance(item, dict)]
        if isinstance(value, list)
        else []
    )


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    value = str(value).strip()
    return value if value and len(value) <= ID_MAX_LENGTH else None


def _url(value: Any) -> str:
    value = text(value)
    return (
        value
        if value.startswith(("https://", "http://")) and len(value) <= 2000
        else ""
    )


def _scopes(payload: dict[str, Any]) -> list[str]:
    scope = _object(payload.get("tokenInfo")).get("scope")
    if isinstance(scope, str):
        scope = scope.split()
    if not isinstance(scope, list):
        return []
    return sorted({s for s in scope if isinstance(s, str) and s})


@dataclass(frozen=True)
class ResyncResult:
    """How the re-sync of one account went: ``synced``, ``reauth_required`` or ``failed``."""

    account: Account
    outcome: str
    detail: str = ""


def resync_accounts(accounts: Iterable[Account]) -> Iterator[ResyncResult]:
    """Re-read each account's userinfo with its stored tokens and sync it as at login.

    One account's failure does not stop the others; the manage command and
    the admin action both report what this yields.
    """
    from django_everreal.client import EverRealClient

    for account in accounts:
        try:
            with EverRealClient(account) as client:
                payload = client.userinfo()
            sync_account(account.user, payload)
        except ReauthenticationRequired:
            yield ResyncResult(account, REAUTH_REQUIRED)
        except (
            EverRealError,
            InvalidUserInfo,
            requests.RequestException,
            ValueError,
        ) as exc:
            yield ResyncResult(account, FAILED, _failure(exc))
        else:
            yield ResyncResult(account, SYNCED)


SYNCED = "synced"
REAUTH_REQUIRED = "reauth_required"
FAILED = "failed"


class ResyncTally:
    """Counts of a re-sync run, and the sentence that sums them up."""

    def __init__(self) -> None:
        self.counts = {SYNCED: 0, REAUTH_REQUIRED: 0, FAILED: 0}

    def add(self, result: ResyncResult) -> ResyncResult:
        self.counts[result.outcome] += 1
        return result

    @property
    def all_synced(self) -> bool:
        return not (self.counts[FAILED] or self.counts[REAUTH_REQUIRED])

    def summary(self) -> str:
        return gettext(
            # Translators: counts of accounts after a re-sync from EverReal.
            "Synced %(synced)d, re-login needed %(reauth)d, failed %(failed)d."
        ) % {
            "synced": self.counts[SYNCED],
            "reauth": self.counts[REAUTH_REQUIRED],
            "failed": self.counts[FAILED],
        }


def _failure(exc: Exception) -> str:
    """A short reason that names no token."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        # Translators: status is an HTTP status code such as 500.
        return gettext("EverReal answered HTTP %(status)s") % {
            "status": exc.response.status_code
        }
    if isinstance(exc, InvalidUserInfo):
        return gettext("EverReal's userinfo has no id")
    if isinstance(exc, ValueError) and not isinstance(exc, EverRealError):
        return gettext("EverReal's userinfo is not JSON")
    return str(exc) or type(exc).__name__
