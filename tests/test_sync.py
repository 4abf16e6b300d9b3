from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from django_everreal.exceptions import InvalidUserInfo
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Membership
from django_everreal.models import Partner
from django_everreal.signals import account_synced
from django_everreal.sync import sync_account

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def payload():
    return json.loads((SAMPLES / "userinfo.json").read_text())


@pytest.fixture
def user():
    return get_user_model().objects.create_user("someone")


def companies(n, default=0):
    return [
        {"id": f"company-{i:04d}", "name": f"Company {i}", "isDefault": i == default}
        for i in range(n)
    ]


def test_docs_sample(user, payload):
    account = sync_account(user, payload)
    assert account.everreal_id == "76dccab0-652e-4543-802c-7c701c098ad3"
    assert account.email == ""
    assert account.language == "en-US"
    assert account.is_tenant is False
    assert account.is_active is True
    assert account.current_company_id == "76dccab0-652e-4543-802c-7c701c0b3bb3"
    assert account.current_company.name == "automation-reporting-qa"
    partner = account.current_company.partner
    assert (partner.id, partner.name, partner.subdomain) == (
        "76dccab0-652e-4543-802c-7c701c046579",
        "test-documentation",
        "test-documentation",
    )
    assert account.scopes == sorted(payload["tokenInfo"]["scope"])
    assert account.synced_at is not None
    [membership] = account.memberships.all()
    assert membership.is_default is True


def test_tokens_are_stored_encrypted(user, payload):
    tokens = json.loads((SAMPLES / "token-response.json").read_text())
    account = sync_account(user, payload, tokens=tokens)
    account.refresh_from_db()
    assert account.access_token == tokens["access_token"]
    assert account.refresh_token == tokens["refresh_token"]
    assert tokens["access_token"] not in account.encrypted_access_token
    assert account.access_token_expires_at is not None
    assert account.access_token_due() is False


def test_names_and_email_go_to_the_user(user, payload):
    payload.update(firstName="Anna", lastName="Becker", email="anna@example.com")
    sync_account(user, payload)
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email) == (
        "Anna",
        "Becker",
        "anna@example.com",
    )


@pytest.mark.parametrize(
    "field",
    [
        "email",
        "isActive",
        "firstName",
        "lastName",
        "profilePhoto",
        "profileData",
        "isTenant",
        "companies",
        "currentCompany",
        "tokenInfo",
    ],
)
def test_any_field_may_be_null_or_missing(user, payload, field):
    nulled = {**payload, field: None}
    account = sync_account(user, nulled)
    assert account.pk
    missing = {k: v for k, v in payload.items() if k != field}
    assert sync_account(user, missing).pk == account.pk


def test_nulls_inside_nested_objects(user, payload):
    payload["currentCompany"] = {"id": None, "name": None, "partner": None}
    payload["companies"] = [
        None,
        {"id": None},
        {"name": "no id"},
        {"id": "c1", "name": None},
    ]
    payload["tokenInfo"] = {"scope": [None, 1, "company_user"]}
    payload["profileData"] = {"language": None}
    account = sync_account(user, payload)
    assert account.current_company is None
    assert list(account.companies.values_list("id", flat=True)) == ["c1"]
    assert account.scopes == ["company_user"]
    assert Partner.objects.count() == 0


def test_only_the_id_is_needed(user):
    account = sync_account(user, {"id": "only-id"})
    assert (account.everreal_id, account.scopes, account.is_active) == (
        "only-id",
        [],
        True,
    )


def test_inactive_flag_is_kept(user, payload):
    payload["isActive"] = False
    assert sync_account(user, payload).is_active is False


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        "text",
        42,
        {},
        {"id": None},
        {"id": ""},
        {"id": True},
        {"id": "x" * 65},
    ],
)
def test_payload_must_be_an_object_with_an_id(user, bad):
    with pytest.raises(InvalidUserInfo, match="id"):
        sync_account(user, bad)
    assert Account.objects.count() == 0


def test_resync_removes_memberships_and_scopes(user, payload):
    payload["companies"] = companies(3)
    payload["currentCompany"] = {"id": "company-0001", "name": "Company 1"}
    account = sync_account(user, payload)
    assert account.companies.count() == 3

    payload["companies"] = companies(1)
    payload["currentCompany"] = None
    payload["tokenInfo"]["scope"] = ["company_user"]
    account = sync_account(user, payload)
    assert list(account.companies.values_list("id", flat=True)) == ["company-0000"]
    assert account.scopes == ["company_user"]
    assert account.current_company is None
    # Companies stay: other accounts may still belong to them.
    assert Company.objects.count() == 3


def test_default_flag_follows_everreal(user, payload):
    payload["companies"] = companies(2, default=0)
    account = sync_account(user, payload)
    payload["companies"] = companies(2, default=1)
    sync_account(user, payload)
    defaults = dict(
        account.memberships.filter(company__id__startswith="company-").values_list(
            "company_id", "is_default"
        )
    )
    assert defaults == {"company-0000": False, "company-0001": True}


def test_current_company_not_listed_still_a_membership(user, payload):
    payload["companies"] = []
    account = sync_account(user, payload)
    assert list(account.companies.values_list("id", flat=True)) == [
        payload["currentCompany"]["id"]
    ]


def test_linked_by_everreal_id_not_email(payload):
    User = get_user_model()
    first, second = (
        User.objects.create_user("first"),
        User.objects.create_user("second"),
    )
    payload["email"] = "same@example.com"
    sync_account(first, payload)
    other = {**copy.deepcopy(payload), "id": "another-everreal-user"}
    sync_account(second, other)
    assert dict(Account.objects.values_list("everreal_id", "user__username")) == {
        payload["id"]: "first",
        "another-everreal-user": "second",
    }


def login_payloads(n, payload):
    """A user in *n* companies and a current one, under a partner of their own."""
    return {
        **copy.deepcopy(payload),
        "id": f"everreal-{n}",
        "companies": [
            {"id": f"n{n}-company-{i:04d}", "name": f"Company {i}", "isDefault": i == 0}
            for i in range(n)
        ],
        "currentCompany": {
            "id": f"n{n}-current",
            "name": "Current",
            "partner": {"id": f"partner-{n}", "name": f"P{n}", "subdomain": f"p{n}"},
        },
    }


def sync_queries(n, payload):
    """Queries of a first login, an unchanged re-login and a changed one, for *n* companies."""
    user = get_user_model().objects.create_user(f"user-{n}")
    body = login_payloads(n, payload)
    counts = []
    for change in (False, False, True):
        if change:
            # Half the companies (at least one) gone, the current one
            # renamed, a scope more.
            body["companies"] = body["companies"][: n // 2]
            body["currentCompany"]["name"] = "Renamed"
            body["tokenInfo"]["scope"].append("company_admin")
        with CaptureQueriesContext(connection) as queries:
            sync_account(user, body, tokens={"access_token": "a", "expires_in": 60})
        counts.append(len(queries))
    account = Account.objects.get(user=user)
    assert sorted(account.companies.values_list("id", flat=True)) == sorted(
        [f"n{n}-current"] + [company["id"] for company in body["companies"]]
    )
    assert account.current_company.name == "Renamed"
    assert "company_admin" in account.scopes
    return counts


def test_query_count_does_not_grow_with_companies(payload):
    """The same statements for 1 and 1000 companies: no batches, no per-row writes."""
    assert sync_queries(1, payload) == sync_queries(1000, payload)


def test_unchanged_relogin_writes_only_the_account(user, payload):
    sync_account(user, payload, tokens={"access_token": "first", "expires_in": 60})
    with CaptureQueriesContext(connection) as queries:
        account = sync_account(
            user, payload, tokens={"access_token": "second", "expires_in": 60}
        )
    writes = [
        query["sql"]
        for query in queries
        if not query["sql"].startswith(("SELECT", "SAVEPOINT", "RELEASE"))
    ]
    # The lock row, then the account's tokens and sync time.
    assert len(writes) == 2, writes
    assert "everreal_synclock" in writes[0]
    assert writes[1].startswith(
        f"UPDATE {connection.ops.quote_name('everreal_account')}"
    )
    assert account.access_token == "second"


def test_failure_leaves_no_partial_rows(user, payload):
    def explode(**kwargs):
        raise RuntimeError("database write failed")

    payload["companies"] = companies(2)
    post_save.connect(explode, sender=Account)
    try:
        with pytest.raises(RuntimeError):
            sync_account(user, payload)
    finally:
        post_save.disconnect(explode, sender=Account)
    assert (
        Partner.objects.count(),
        Company.objects.count(),
        Account.objects.count(),
    ) == (0, 0, 0)


def test_signal_is_sent(user, payload):
    received = []

    def receiver(sender, account, payload, created, **kwargs):
        received.append((account.everreal_id, created))

    account_synced.connect(receiver)
    try:
        sync_account(user, payload)
        sync_account(user, payload)
    finally:
        account_synced.disconnect(receiver)
    assert received == [(payload["id"], True), (payload["id"], False)]


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
def test_the_lock_rereads_what_its_last_holder_committed(payload):
    """A login that read before it locked still finds the account the holder made.

    As under ``ATOMIC_REQUESTS``, the waiting login's transaction reads
    (the session, the user) before it asks for the lock. Under MariaDB's
    default REPEATABLE READ its re-read after the wait would see the
    snapshot of that first read, without the account the holder committed
    meanwhile, and the login would make a second Django user: READ COMMITTED
    is required (see ``tests/settings.py``).
    """
    from django.db import transaction

    from django_everreal.sync import lock_everreal_user

    user = get_user_model().objects.create_user("first")
    holding = threading.Event()
    waiter_has_read = threading.Event()
    errors: list[BaseException] = []

    def holder():
        try:
            with transaction.atomic():
                held = lock_everreal_user(payload["id"])
                holding.set()
                waiter_has_read.wait(10)
                sync_account(user, payload, lock=held)
        except BaseException as exc:
            errors.append(exc)
            holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert holding.wait(10)
        with transaction.atomic():
            assert Account.objects.count() == 0
            waiter_has_read.set()
            held = lock_everreal_user(payload["id"])
            assert held.account is not None
            assert held.account.user_id == user.pk
    finally:
        waiter_has_read.set()
        thread.join(30)
    assert errors == []


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_logins_of_one_company(payload):
    """Two users of one company log in at once: no duplicate, no IntegrityError.

    The first sync holds its transaction open until the second is seen
    waiting on a row lock, so the two really overlap.
    """
    from django.db import close_old_connections
    from django.db import transaction

    User = get_user_model()
    users = [User.objects.create_user("first"), User.objects.create_user("second")]
    first_written = threading.Event()
    errors: list[BaseException] = []

    def body(i):
        return {
            **copy.deepcopy(payload),
            "id": f"everreal-{i}",
            "companies": companies(3),
        }

    def second_is_waiting() -> bool:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # pg_locks is live; pg_stat_activity is a snapshot per transaction.
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            else:
                # A cache, filled again only once no one read it for 0.1 s.
                cursor.execute(
                    "SELECT count(*) FROM information_schema.INNODB_TRX"
                    " WHERE trx_state = 'LOCK WAIT'"
                )
            return cursor.fetchone()[0] > 0

    poll = 0.01 if connection.vendor == "postgresql" else 0.2

    def first():
        try:
            with transaction.atomic():
                sync_account(users[0], body(0))
                first_written.set()
                for _ in range(int(10 / poll)):
                    if second_is_waiting():
                        break
                    threading.Event().wait(poll)
                else:
                    raise AssertionError("the second login never waited on the first")
        except BaseException as exc:
            errors.append(exc)
            first_written.set()
        finally:
            close_old_connections()
            connection.close()

    def second():
        try:
            first_written.wait(10)
            sync_account(users[1], body(1))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert Company.objects.count() == 4
    assert Partner.objects.count() == 1
    assert Membership.objects.count() == 8


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
def test_logins_sharing_companies_never_deadlock(payload):
    """Users in the same new companies, each current in another one, sync at once.

    Every sync of a round inserts the same 3000 company rows. Written in
    each user's own order (as before: their other companies, then their
    current one; or half of them in reverse), two syncs wait for each
    other's rows and the database aborts one as a deadlock; in one global
    order they only queue.
    """
    threads_per_round, rounds, shared_companies = 6, 6, 3000
    User = get_user_model()
    users = [User.objects.create_user(f"user-{i}") for i in range(threads_per_round)]
    errors: list[BaseException] = []

    def body(round_, i):
        shared = [
            {"id": f"r{round_}-c{k:04d}", "name": f"C{k}", "isDefault": False}
            for k in range(shared_companies)
        ]
        return {
            **copy.deepcopy(payload),
            "id": f"everreal-{i}",
            "companies": shared,
            "currentCompany": {
                **shared[i * 50],
                # Partners of their own: a shared partner row would queue
                # the syncs by luck, before they reach the companies.
                "partner": {"id": f"p{i}", "name": f"P{i}", "subdomain": f"p{i}"},
            },
        }

    def sync_at_once(barrier, round_, i):
        try:
            barrier.wait(10)
            sync_account(users[i], body(round_, i))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    for round_ in range(rounds):
        barrier = threading.Barrier(threads_per_round)
        threads = [
            threading.Thread(target=sync_at_once, args=(barrier, round_, i))
            for i in range(threads_per_round)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert Membership.objects.count() == threads_per_round * shared_companies
    assert set(Account.objects.values_list("current_company_id", flat=True)) == {
        f"r{rounds - 1}-c{i * 50:04d}" for i in range(threads_per_round)
    }


def test_a_renamed_partner_is_renamed_at_the_next_sync(user, payload):
    sync_account(user, payload)
    partner = copy.deepcopy(payload["currentCompany"]["partner"])
    payload["currentCompany"]["partner"] = {
        **partner,
        "name": "Neuer Name GmbH",
        "subdomain": "neuer-name",
    }

    sync_account(user, payload)

    renamed = Partner.objects.get()
    assert renamed.id == partner["id"]
    assert (renamed.name, renamed.subdomain) == ("Neuer Name GmbH", "neuer-name")


def whole_login_queries(client, everreal_fake, everreal_login, n):
    """The callback's queries of a first and a repeat login of a user in *n* companies.

    The repeat comes as if later: python-social-auth rewrites ``extra_data``
    only when its ``auth_time`` (the clock's second) changed, so it is made
    older first, and both logins write it.
    """
    from social_django.models import UserSocialAuth

    from django_everreal.testing.records import FakeCompany
    from django_everreal.testing.records import FakePartner
    from django_everreal.testing.records import FakeUser

    email = f"n{n}@example.com"
    fake_user = everreal_fake.add_user(
        FakeUser(
            email=email,
            password="demo",
            companies=[
                FakeCompany(f"n{n}-c{i:04d}", f"Company {i}", i == 0) for i in range(n)
            ],
            current_company_id=f"n{n}-c0000",
            partner=FakePartner(f"n{n}-partner", f"Partner {n}", "demo"),
            scopes=["company_user", "company_portfolio_all"],
        )
    )
    counts = []
    for _ in ("first", "repeat"):
        for social in UserSocialAuth.objects.all():
            social.extra_data = {**social.extra_data, "auth_time": 0}
            social.save(update_fields=["extra_data"])
        location = everreal_fake.authorize_redirect(
            everreal_login.begin(), email, "demo"
        )
        with CaptureQueriesContext(connection) as queries:
            assert everreal_login.complete(location).status_code == 302
        counts.append(len(queries))
        client.logout()
    account = Account.objects.get(everreal_id=fake_user.id)
    assert account.companies.count() == n
    assert account.access_token
    return counts


def test_a_whole_login_costs_the_same_queries_for_1_and_100_companies(
    client, everreal_fake, everreal_login
):
    """The callback, pipeline, session and all: the companies add no query.

    What ``python3 dev.py bench login`` reports per login, first and repeat.
    """
    one = whole_login_queries(client, everreal_fake, everreal_login, 1)
    hundred = whole_login_queries(client, everreal_fake, everreal_login, 100)

    assert one == hundred
