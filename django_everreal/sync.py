"""Apply EverReal's userinfo to the models: one code path for login and re-sync."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections
from django.db import router
from django.db import transaction
from django.db.models import Count
from django.db.models import Field
from django.db.models import Model
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from django_everreal import protocol
from django_everreal.exceptions import AccountMismatch
from django_everreal.exceptions import EverRealBadResponse
from django_everreal.exceptions import EverRealError
from django_everreal.exceptions import InvalidUserInfo
from django_everreal.exceptions import LinkedToAnotherCustomer
from django_everreal.exceptions import ReauthenticationRequired
from django_everreal.models import TOKEN_FIELD_NAMES
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Membership
from django_everreal.models import Partner
from django_everreal.models import SyncLock
from django_everreal.protocol import SETTINGS_CUSTOMER
from django_everreal.protocol import CompanyData
from django_everreal.protocol import UserInfo
from django_everreal.protocol import qualify
from django_everreal.signals import account_synced

logger = logging.getLogger("django_everreal")


@dataclass(frozen=True)
class HeldLock:
    """The lock on one EverReal user's rows, and their account as it was once locked."""

    customer: str
    everreal_id: str
    account: Account | None


def lock_everreal_user(everreal_id: str, customer: str = SETTINGS_CUSTOMER) -> HeldLock:
    """Wait until no other login or re-sync of this EverReal user runs, then hold it.

    Call it inside a transaction; the lock lasts until that transaction ends.
    It is the first row a login locks: only this user's own logins, re-syncs
    and refreshes ever wait on it, so it cannot close a cycle with the
    partner and company rows that logins of different users share.
    """
    SyncLock.objects.bulk_create(
        [
            SyncLock(
                everreal_id=qualify(customer, everreal_id), locked_at=timezone.now()
            )
        ],
        update_conflicts=True,
        unique_fields=_conflict_target(SyncLock, ["everreal_id"]),
        update_fields=["locked_at"],
    )
    account = (
        Account.objects.annotate(membership_count=Count("memberships"))
        .filter(customer=customer, everreal_id=everreal_id)
        .order_by()
        .first()
    )
    if account is not None and account.everreal_id != everreal_id:
        # A case-insensitive collation matched another user's id: never
        # theirs (migration 0004 makes the ids case-sensitive on MySQL).
        account = None
    return HeldLock(customer, everreal_id, account)


def _conflict_target(model: type[Model], names: list[str]) -> list[str] | None:
    """``unique_fields`` of an upsert; MySQL and MariaDB take none (ON DUPLICATE KEY)."""
    connection = connections[router.db_for_write(model)]
    return names if connection.features.supports_update_conflicts_with_target else None


# The names cover the frames below too (``set_tokens``, ``crypto.encrypt``):
# Django applies the nearest decorated caller's names to every frame under it.
@sensitive_variables("tokens", "access_token", "refresh_token", "value")
def sync_account(
    user: AbstractBaseUser,
    payload: Any,
    tokens: dict[str, Any] | None = None,
    *,
    lock: HeldLock | None = None,
    new_user: bool = False,
    account: Account | None = None,
    customer: str = SETTINGS_CUSTOMER,
) -> Account:
    """Make the user's Account, companies and memberships what *payload* says.

    *tokens* is a token response (``access_token``, ``refresh_token``,
    ``expires_in``) to store with the account, as at login. *lock* is the
    caller's ``lock_everreal_user`` of this user, held in the caller's
    transaction; without it the lock is taken here. *new_user* says that
    *user* was just created, so no other account can be linked to it.
    *account* is the account a re-sync asked EverReal about: a payload about
    another EverReal user raises ``AccountMismatch`` and writes nothing.
    *customer* is the key of the customer that answered (``""``: the one in
    settings; an *account* brings its own). A user linked to an account of
    another customer raises ``LinkedToAnotherCustomer``.

    Rows are written in one transaction, in one global order (this user's
    lock, then the partner, then the companies sorted by id, then the
    account and its memberships), and only where something changed; the
    number of queries does not grow with the number of companies.
    """
    if account is not None:
        customer = account.customer
    info = UserInfo.parse(payload, customer)
    if account is not None and info.everreal_id != account.everreal_id:
        raise AccountMismatch(
            f"EverReal answered for another user than the account {account.pk} "
            "it was asked about; nothing was changed."
        )
    # Inside the login's transaction (it holds the lock) a failure rolls that
    # back whole; other callers get a savepoint of their own.
    with transaction.atomic(savepoint=lock is None):
        if lock is None or (lock.customer, lock.everreal_id) != (
            customer,
            info.everreal_id,
        ):
            lock = lock_everreal_user(info.everreal_id, customer)
        account, created = _apply(user, info, lock.account, tokens, new_user)
    account_synced.send(
        sender=Account, account=account, payload=payload, created=created
    )
    return account


@sensitive_variables("tokens", "access_token", "refresh_token", "value")
def _apply(
    user: AbstractBaseUser,
    info: UserInfo,
    account: Account | None,
    tokens: dict[str, Any] | None,
    new_user: bool,
) -> tuple[Account, bool]:
    owner: Any = user  # any AUTH_USER_MODEL
    digest = info.digest
    created = account is None
    if account is None:
        account = Account(
            customer=info.customer, everreal_id=info.everreal_id, user=owner
        )
    unchanged = (
        not created
        and account.userinfo_digest == digest
        and getattr(account, "membership_count", None) == len(info.companies)
    )
    if not unchanged:
        _sync_partner_and_companies(info)
    if (account.user_id != owner.pk or created) and not new_user:
        # An EverReal user is linked to one Django user, and a Django user to
        # one customer: drop a stale link at the same customer, refuse another's.
        others = Account.objects.filter(user=owner).exclude(
            customer=info.customer, everreal_id=info.everreal_id
        )
        if others.exclude(customer=info.customer).exists():
            raise LinkedToAnotherCustomer(
                "This user is linked to an EverReal account of another customer."
            )
        others.delete()

    changed = ["synced_at"]
    if account.user_id != owner.pk:
        account.user = owner
        changed.append("user")
    values = {
        "email": info.email,
        "is_tenant": info.is_tenant,
        "is_active": info.is_active,
        "language": info.language,
        "profile_photo": info.profile_photo,
        "current_company_id": info.current_id,
        "scopes": info.scopes,
        "userinfo_digest": digest,
    }
    for name, value in values.items():
        if getattr(account, name) != value:
            setattr(account, name, value)
            changed.append(name)
    account.synced_at = timezone.now()
    if tokens and tokens.get("access_token"):
        account.set_tokens(
            str(tokens["access_token"]),
            tokens.get("refresh_token") or None,
            protocol.parse_expires_in(tokens.get("expires_in")),
        )
        changed += TOKEN_FIELD_NAMES
    if created:
        account.save(force_insert=True)
    else:
        account.save(update_fields=changed)

    if not unchanged:
        _sync_memberships(account, info.companies, created)
    _update_user(user, info)
    return account, created


def _sync_partner_and_companies(info: UserInfo) -> None:
    """Insert what is missing and update what changed: partner first, companies by id.

    Rows are read first without locks, so logins that find nothing to change
    (most do: the companies exist once their first user logged in) take no
    lock on shared rows at all.
    """
    stored = {
        row[0]: row
        for row in Company.objects.filter(id__in=_one_parameter(list(info.companies)))
        .order_by()
        .values_list("id", "name", "partner_id", "partner__name", "partner__subdomain")
    }
    partner = info.partner
    if partner is not None:
        current = stored.get(info.current_id or "")
        if current is None or current[2] != partner.id:
            # A company new here or moved: the first login that sees it writes
            # the partner, whose row comes first in every login's lock order.
            Partner.objects.bulk_create(
                [
                    Partner(
                        id=partner.id,
                        customer=info.customer,
                        name=partner.name,
                        subdomain=partner.subdomain,
                    )
                ],
                update_conflicts=True,
                unique_fields=_conflict_target(Partner, ["id"]),
                update_fields=["name", "subdomain"],
            )
        elif current[3:] != (partner.name, partner.subdomain):
            Partner.objects.filter(id=partner.id).update(
                name=partner.name, subdomain=partner.subdomain
            )

    missing = []
    for company_id, data in info.companies.items():  # sorted by id
        row = stored.get(company_id)
        if row is None:
            missing.append((company_id, info.customer, data.name, data.partner_id))
            continue
        partner_id = row[2] if data.partner_id is None else data.partner_id
        if (row[1], row[2]) != (data.name, partner_id):
            # One row at a time, in id order: the order every login locks companies in.
            Company.objects.filter(id=company_id).update(
                name=data.name, partner_id=partner_id
            )
    _insert_missing(Company, ["id", "customer", "name", "partner"], missing)


def _sync_memberships(
    account: Account, companies: dict[str, CompanyData], created: bool
) -> None:
    """Make the account's memberships exactly the companies EverReal reports."""
    stored = (
        {}
        if created
        else dict(
            Membership.objects.filter(account=account).values_list(
                "company_id", "is_default"
            )
        )
    )
    gone = [company_id for company_id in stored if company_id not in companies]
    if gone:
        Membership.objects.filter(account=account, company_id__in=gone).delete()
    _insert_missing(
        Membership,
        ["account", "company", "is_default"],
        [
            (account.pk, company_id, data.is_default)
            for company_id, data in companies.items()
            if company_id not in stored
        ],
    )
    for is_default in (True, False):
        flipped = [
            company_id
            for company_id, data in companies.items()
            if company_id in stored
            and data.is_default is is_default
            and stored[company_id] is not is_default
        ]
        if flipped:
            Membership.objects.filter(account=account, company_id__in=flipped).update(
                is_default=is_default
            )


def _insert_missing(
    model: type[Model], field_names: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert *rows* in their order, skipping rows another login inserted first.

    One statement however many rows, and no model instances: the rows go as
    one JSON parameter (where Django would split them into batches of 999
    parameters on SQLite, and bind each value on its own).
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in field_names]
    column_names = [
        connection.ops.quote_name(str(field.column))
        for field in fields
        if isinstance(field, Field)
    ]
    columns = ", ".join(column_names)
    if connection.vendor not in ("postgresql", "sqlite", "mysql"):
        attnames = [str(getattr(field, "attname", field.name)) for field in fields]
        model._default_manager.bulk_create(
            [model(**dict(zip(attnames, row, strict=True))) for row in rows],
            ignore_conflicts=True,
        )
        return
    quote = connection.ops.quote_name
    conflict = "ON CONFLICT DO NOTHING"
    if connection.vendor == "mysql":
        # Not INSERT IGNORE: that would also turn a missing foreign key or a
        # too-long value into a warning and a silently dropped row. A no-op
        # ON DUPLICATE KEY UPDATE skips duplicates only; waiting for a row
        # another login is inserting, it asks for the exclusive lock at once.
        definitions = ", ".join(
            f"c{index} {field.db_type(connection)} PATH '$[{index}]'"
            for index, field in enumerate(fields)
        )
        values = ", ".join(f"c{index}" for index in range(len(fields)))
        source = (
            f"SELECT {values} FROM JSON_TABLE(%s, '$[*]' COLUMNS ("  # noqa: S608
            f"ordinality FOR ORDINALITY, {definitions})) AS rows_ ORDER BY ordinality"
        )
        conflict = f"ON DUPLICATE KEY UPDATE {column_names[0]} = {column_names[0]}"
    elif connection.vendor == "postgresql":
        values = ", ".join(
            f"(value ->> {index})::{field.db_type(connection)}"
            for index, field in enumerate(fields)
        )
        source = (
            f"SELECT {values} FROM json_array_elements(%s::json) "  # noqa: S608
            "WITH ORDINALITY ORDER BY ordinality"
        )
    else:
        values = ", ".join(
            f"json_extract(value, '$[{index}]')" for index in range(len(fields))
        )
        source = f"SELECT {values} FROM json_each(%s) WHERE true ORDER BY key"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
            f"{source} {conflict}",
            [json.dumps(rows)],
        )


def _one_parameter(values: list[str]) -> Any:
    """*values* for an ``__in`` lookup, bound as one JSON parameter where the database can."""
    vendor = connections[router.db_for_read(Company)].vendor
    if vendor == "postgresql":
        return RawSQL("SELECT json_array_elements_text(%s::json)", [json.dumps(values)])
    if vendor == "sqlite":
        return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])
    if vendor == "mysql":
        return RawSQL(  # varchar(128): models.KEY_MAX_LENGTH
            "SELECT value FROM JSON_TABLE(%s, '$[*]' COLUMNS ("
            "value varchar(128) PATH '$')) AS ids",
            [json.dumps(values)],
        )
    return values


def _update_user(user: AbstractBaseUser, info: UserInfo) -> None:
    """Copy the names and email EverReal knows onto the user model, where it has them."""
    values = {
        "first_name": info.first_name,
        "last_name": info.last_name,
        user.get_email_field_name(): info.email,
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


#: How the re-sync of one account went.
SYNCED = "synced"
REAUTH_REQUIRED = "reauth_required"
FAILED = "failed"


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
            sync_account(account.user, payload, account=account)
        except ReauthenticationRequired:
            yield ResyncResult(account, REAUTH_REQUIRED)
        except (
            EverRealError,
            InvalidUserInfo,
            requests.RequestException,
            ValueError,
        ) as exc:
            yield ResyncResult(account, FAILED, _failure(exc))
        except Exception as exc:
            # Whatever one account's answer did, the others are still synced.
            logger.exception("EverReal re-sync of account %s failed.", account.pk)
            yield ResyncResult(account, FAILED, type(exc).__name__)
        else:
            yield ResyncResult(account, SYNCED)


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
    if isinstance(exc, EverRealBadResponse) and exc.status not in (None, 200):
        # Translators: status is an HTTP status code such as 500.
        return gettext("EverReal answered HTTP %(status)s") % {"status": exc.status}
    if isinstance(exc, InvalidUserInfo):
        return gettext("EverReal's userinfo has no id")
    if isinstance(exc, AccountMismatch):
        return gettext("EverReal answered about another user")
    if isinstance(exc, EverRealBadResponse):
        return gettext("EverReal sent an answer this site does not understand.")
    return str(exc) or type(exc).__name__
