"""EverReal ids that differ only in case are different users, companies and partners.

On MariaDB the usual collations ignore case; migration 0004 gives the id
columns a binary one (the test database is made case-insensitive on
purpose, see ``tests/settings.py``). social-auth-app-django's
CVE-2024-32879 was such a match of ``uid``s differing in case.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from social_django.models import UserSocialAuth

from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Membership
from django_everreal.models import Partner
from django_everreal.models import ServiceAccount
from django_everreal.models import SyncLock
from django_everreal.sync import lock_everreal_user
from django_everreal.sync import sync_account
from django_everreal.testing.data import Company as FakeCompany
from django_everreal.testing.data import FakeUser
from django_everreal.testing.data import Partner as FakePartner

pytestmark = pytest.mark.django_db

UPPER, LOWER = "EverReal-User-ABC", "everreal-user-abc"


def userinfo(everreal_id, email, company_id, partner_id):
    return {
        "id": everreal_id,
        "email": email,
        "companies": [{"id": company_id, "name": company_id, "isDefault": True}],
        "currentCompany": {
            "id": company_id,
            "name": company_id,
            "partner": {"id": partner_id, "name": partner_id, "subdomain": "s"},
        },
    }


def test_sync_keeps_ids_apart_that_differ_in_case():
    User = get_user_model()
    upper_user = User.objects.create_user("upper")
    lower_user = User.objects.create_user("lower")
    upper = sync_account(
        upper_user, userinfo(UPPER, "upper@example.com", "Company-X", "Partner-P")
    )
    lower = sync_account(
        lower_user, userinfo(LOWER, "lower@example.com", "company-x", "partner-p")
    )
    assert upper.pk != lower.pk
    assert dict(Account.objects.values_list("everreal_id", "user")) == {
        UPPER: upper_user.pk,
        LOWER: lower_user.pk,
    }
    assert set(SyncLock.objects.values_list("everreal_id", flat=True)) == {UPPER, LOWER}
    assert set(Company.objects.values_list("id", "partner")) == {
        ("Company-X", "Partner-P"),
        ("company-x", "partner-p"),
    }
    assert set(Partner.objects.values_list("id", flat=True)) == {
        "Partner-P",
        "partner-p",
    }
    assert set(Membership.objects.values_list("account__everreal_id", "company")) == {
        (UPPER, "Company-X"),
        (LOWER, "company-x"),
    }
    # Each account's current company is its own, and a re-sync finds its own lock.
    assert Account.objects.get(everreal_id=UPPER).current_company_id == "Company-X"
    assert lock_everreal_user(LOWER).account == lower
    assert Account.objects.filter(everreal_id=UPPER.lower()).get() == lower


def test_logins_of_ids_differing_in_case_are_two_users(
    client, everreal_login, everreal_fake
):
    for everreal_id, email, suffix in (
        (UPPER, "upper@example.com", "X"),
        (LOWER, "lower@example.com", "x"),
    ):
        everreal_fake.add_user(
            FakeUser(
                email=email,
                password="demo",
                id=everreal_id,
                companies=[FakeCompany(f"company-{suffix}", "C", is_default=True)],
                current_company_id=f"company-{suffix}",
                partner=FakePartner(f"partner-{suffix}", "P", "p"),
            )
        )
    user_ids = []
    for email in ("upper@example.com", "lower@example.com", "upper@example.com"):
        assert everreal_login(email).status_code == 302
        user_ids.append(client.session["_auth_user_id"])
        client.logout()
    assert user_ids[0] != user_ids[1]
    assert user_ids[2] == user_ids[0]
    assert get_user_model().objects.count() == 2
    assert dict(UserSocialAuth.objects.values_list("uid", "user")) == {
        UPPER: int(user_ids[0]),
        LOWER: int(user_ids[1]),
    }
    assert dict(Account.objects.values_list("everreal_id", "email")) == {
        UPPER: "upper@example.com",
        LOWER: "lower@example.com",
    }
    assert Company.objects.count() == Partner.objects.count() == 2


ID_COLUMNS = [
    (Partner, "id"),
    (Company, "id"),
    (Company, "partner"),
    (Account, "everreal_id"),
    (Account, "current_company"),
    (Membership, "company"),
    (SyncLock, "everreal_id"),
    (ServiceAccount, "everreal_id"),
    (UserSocialAuth, "uid"),
]


@pytest.mark.mariadb
def test_id_columns_have_a_binary_collation():
    columns = {
        (model._meta.db_table, model._meta.get_field(name).column)
        for model, name in ID_COLUMNS
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME, IS_NULLABLE"
            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
        )
        rows = {(t, c): (coll, null) for t, c, coll, null in cursor.fetchall()}
        # The foreign keys are back after the columns changed.
        cursor.execute(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE"
            " WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL"
        )
        foreign_keys = set(cursor.fetchall())
    assert {rows[column][0] for column in columns} == {"utf8mb4_bin"}
    # Only they: the other text columns keep the table's collation.
    assert rows[("everreal_company", "name")][0] == "utf8mb4_unicode_ci"
    assert rows[("everreal_company", "partner_id")][1] == "YES"
    assert rows[("everreal_account", "everreal_id")][1] == "NO"
    assert {
        ("everreal_company", "partner_id"),
        ("everreal_account", "current_company_id"),
        ("everreal_membership", "company_id"),
    } <= foreign_keys
