from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_everreal.exceptions import EverRealUnavailable
from django_everreal.exceptions import ReauthenticationRequired
from django_everreal.models import Account
from django_everreal.signals import reauthentication_required
from django_everreal.signals import tokens_refreshed
from django_everreal.tokens import TokenStore
from tests.everreal_accounts import make_account

ROOT = Path(__file__).resolve().parent.parent


def refreshes(fake):
    return [
        call
        for call in fake.calls("token")
        if call.body.get("grant_type") == "refresh_token"
    ]


def linked_account(fake, *, due=True, email="anna@example.com"):
    account = make_account(everreal_id=fake.user(email).id, email=email)
    tokens = fake.issue_tokens(email)
    account.set_tokens(tokens["access_token"], tokens["refresh_token"], 3600)
    if due:
        account.access_token_expires_at = timezone.now() - timedelta(seconds=1)
    account.save()
    return account


@pytest.mark.django_db
def test_a_valid_token_is_used_as_it_is(everreal_fake):
    account = linked_account(everreal_fake, due=False)
    assert TokenStore(account).access_token() == account.access_token
    assert everreal_fake.calls("token") == []


@pytest.mark.django_db
def test_a_token_inside_the_leeway_is_refreshed(everreal_fake):
    account = linked_account(everreal_fake, due=False)
    account.access_token_expires_at = timezone.now() + timedelta(seconds=30)
    account.save()
    old = account.access_token
    with override_settings(EVERREAL_REFRESH_LEEWAY=10):
        assert TokenStore(account).access_token() == old
    assert TokenStore(account).access_token() != old
    assert len(refreshes(everreal_fake)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("rotate", [True, False])
def test_refresh_with_and_without_rotation(everreal_fake, rotate):
    everreal_fake.rotate_refresh_tokens = rotate
    account = linked_account(everreal_fake)
    old_refresh = account.refresh_token
    received = []
    tokens_refreshed.connect(lambda **kw: received.append(kw["holder"].pk), weak=False)
    try:
        token = TokenStore(account).access_token()
    finally:
        tokens_refreshed.receivers.clear()
    stored = Account.objects.get(pk=account.pk)
    assert everreal_fake.verify(token)["sub"] == account.everreal_id
    assert stored.access_token == token
    assert (stored.refresh_token != old_refresh) is rotate
    assert stored.access_token_due() is False
    assert received == [account.pk]
    body = refreshes(everreal_fake)[0].body
    assert body["refresh_token"] == old_refresh
    assert body["client_id"] == "demo-client"


@pytest.mark.django_db
def test_the_docs_refresh_response_is_accepted(everreal_fake):
    """No refresh_token and expires_in as a string: keep the old refresh token."""
    account = linked_account(everreal_fake)
    old_refresh = account.refresh_token
    new_access = everreal_fake.issue_tokens("anna@example.com")["access_token"]
    everreal_fake.fail_next(
        "token", 200, {"access_token": new_access, "expires_in": "3600"}
    )
    assert TokenStore(account).access_token() == new_access
    stored = Account.objects.get(pk=account.pk)
    assert stored.refresh_token == old_refresh
    remaining = stored.access_token_expires_at - timezone.now()
    assert timedelta(seconds=3500) < remaining <= timedelta(seconds=3600)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, {"error": "invalid_grant", "error_description": "heimdall.x"}),
        (400, {"error": "invalid_grant"}),
        (401, ""),
    ],
)
def test_a_dead_refresh_token_needs_a_new_login(everreal_fake, status, body):
    account = linked_account(everreal_fake)
    everreal_fake.fail_next("token", status, body)
    signalled = []
    reauthentication_required.connect(
        lambda **kw: signalled.append(kw["holder"]), weak=False
    )
    try:
        with pytest.raises(ReauthenticationRequired):
            TokenStore(account).access_token()
    finally:
        reauthentication_required.receivers.clear()
    stored = Account.objects.get(pk=account.pk)
    assert stored.reauth_required is True
    assert [h.pk for h in signalled] == [account.pk]
    # Known dead: the next call does not ask EverReal again.
    with pytest.raises(ReauthenticationRequired):
        TokenStore(stored).access_token()
    assert len(everreal_fake.calls("token")) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("fault", ["timeout", "reset", "500", "503", "429"])
def test_transient_failures_keep_the_tokens(everreal_fake, fault):
    account = linked_account(everreal_fake)
    before = Account.objects.values().get(pk=account.pk)
    if fault == "timeout":
        everreal_fake.delay_next("token", 60)
    elif fault == "reset":
        everreal_fake.drop_next("token")
    elif fault == "429":
        everreal_fake.fail_next(
            "token", 429, {"error": "too_many_requests"}, headers=[("Retry-After", "7")]
        )
    else:
        everreal_fake.fail_next("token", int(fault), "<html>unavailable</html>")
    with pytest.raises(EverRealUnavailable) as caught:
        TokenStore(account).access_token()
    after = dict(Account.objects.values().get(pk=account.pk))
    assert after.pop("refresh_failed_at") is not None
    assert after == {k: v for k, v in before.items() if k != "refresh_failed_at"}
    if fault == "429":
        assert caught.value.retry_after == 7
    # Once the pause after the failure is over, the next call tries again and succeeds.
    with override_settings(EVERREAL_REFRESH_COOLDOWN=0):
        assert everreal_fake.verify(TokenStore(account).access_token())
    account = Account.objects.get(pk=account.pk)
    assert (account.reauth_required, account.refresh_failed_at) == (False, None)


@pytest.mark.django_db
def test_a_rejected_token_is_refreshed_once(everreal_fake):
    account = linked_account(everreal_fake, due=False)
    rejected = account.access_token
    first = TokenStore(account).refresh(rejected=rejected)
    assert first != rejected
    # A second caller that saw the same 401 uses the first caller's token.
    assert (
        TokenStore(Account.objects.get(pk=account.pk)).refresh(rejected=rejected)
        == first
    )
    assert len(refreshes(everreal_fake)) == 1


@pytest.mark.django_db
def test_no_refresh_token_means_a_new_login(everreal_fake):
    account = linked_account(everreal_fake)
    account.encrypted_refresh_token = ""
    account.save()
    with pytest.raises(ReauthenticationRequired):
        TokenStore(account).access_token()
    assert everreal_fake.calls("token") == []


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
def test_sixteen_threads_refresh_once(everreal_server):
    fake = everreal_server.fake
    account = linked_account(fake)
    # A slow token endpoint keeps the first refresh in flight while the others arrive.
    fake.delay_next("token", 0.5)
    barrier = threading.Barrier(16, timeout=30)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def worker():
        try:
            holder = Account.objects.get(pk=account.pk)
            barrier.wait()
            tokens.append(TokenStore(holder).access_token())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    with override_settings(SOCIAL_AUTH_EVERREAL_BASE_URL=everreal_server.url):
        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    assert len(tokens) == 16
    assert len(set(tokens)) == 1
    assert len(refreshes(fake)) == 1
    assert Account.objects.get(pk=account.pk).access_token == tokens[0]


WORKER = """
import hashlib, sys, threading
import django
django.setup()
from django.conf import settings
from django.db import connection
settings.SOCIAL_AUTH_EVERREAL_BASE_URL = sys.argv[1]
from django_everreal.models import Account
from django_everreal.tokens import TokenStore
ready = threading.Semaphore(0)
go = threading.Event()
results = []
def caller():
    try:
        try:
            holder = Account.objects.get(pk=int(sys.argv[2]))
        finally:
            ready.release()
        go.wait(60)
        token = TokenStore(holder).access_token()
        results.append(hashlib.sha256(token.encode()).hexdigest())
    except Exception as exc:
        results.append(type(exc).__name__)
    finally:
        connection.close()
threads = [threading.Thread(target=caller) for _ in range(int(sys.argv[3]))]
for thread in threads:
    thread.start()
for thread in threads:
    ready.acquire(timeout=60)
print("ready", flush=True)
sys.stdin.readline()
go.set()
for thread in threads:
    thread.join(60)
print("\\n".join(results), flush=True)
"""


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("threads", [1, 8])
def test_four_processes_refresh_once(everreal_server, threads):
    """Processes (and threads in each), all released at once: one refresh, one token."""
    fake = everreal_server.fake
    account = linked_account(fake)
    fake.delay_next("token", 0.5)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "EVERREAL_TEST_DATABASE": os.environ["EVERREAL_TEST_DATABASE"],
        "EVERREAL_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
    }
    command = [sys.executable, "-c", WORKER, everreal_server.url]
    processes = [
        subprocess.Popen(
            [*command, str(account.pk), str(threads)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        results = [process.communicate(timeout=60)[0].split() for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [process.returncode for process in processes] == [0, 0, 0, 0]
    assert len(refreshes(fake)) == 1
    stored = Account.objects.get(pk=account.pk).access_token
    assert results == [[hashlib.sha256(stored.encode()).hexdigest()] * threads] * 4


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
def test_callers_do_not_pile_up_behind_a_hanging_token_endpoint(everreal_server):
    """K requests of one user, the token endpoint hanging: one refresh, all end in time.

    The first caller's refresh times out; the others, queued on the row lock,
    then fail fast (the pause after a failed refresh) instead of each
    holding the lock for another timeout.
    """
    fake = everreal_server.fake
    account = linked_account(fake)
    callers = 4
    fake.delay_next("token", 30, times=callers)
    barrier = threading.Barrier(callers, timeout=30)
    outcomes: list[str] = []
    durations: list[float] = []

    def worker():
        try:
            holder = Account.objects.get(pk=account.pk)
            barrier.wait()
            started = time.monotonic()
            try:
                TokenStore(holder).access_token()
            except EverRealUnavailable:
                outcomes.append("unavailable")
            durations.append(time.monotonic() - started)
        finally:
            connection.close()

    with override_settings(
        SOCIAL_AUTH_EVERREAL_BASE_URL=everreal_server.url,
        EVERREAL_TIMEOUT=1,
        EVERREAL_DEADLINE=3,
    ):
        threads = [threading.Thread(target=worker) for _ in range(callers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert outcomes == ["unavailable"] * callers
    assert len(refreshes(fake)) == 1
    # Each ends within its deadline (with room for scheduling), none after another timeout.
    assert max(durations) < 3 + 1
    account.refresh_from_db()
    assert account.reauth_required is False


@pytest.mark.rowlocks
@pytest.mark.django_db(transaction=True)
def test_waiting_for_a_row_locked_elsewhere_ends_by_the_deadline(everreal_fake):
    """Another session holds the token row far longer than the caller's deadline.

    The wait ends by the deadline (PostgreSQL's ``lock_timeout``, MariaDB's
    ``innodb_lock_wait_timeout``, which is whole seconds), not after the
    database's own lock timeout (50 s on MariaDB); the connection's own
    setting comes back after it.
    """
    from django.db import transaction

    from django_everreal.transport import Deadline

    account = linked_account(everreal_fake)
    locked = threading.Event()
    release = threading.Event()

    def hold_the_row():
        try:
            with transaction.atomic():
                Account.objects.select_for_update().get(pk=account.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    def setting():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SHOW lock_timeout")
            else:
                cursor.execute("SELECT @@SESSION.innodb_lock_wait_timeout")
            return cursor.fetchone()[0]

    before = setting()
    thread = threading.Thread(target=hold_the_row)
    thread.start()
    try:
        assert locked.wait(10)
        started = time.monotonic()
        with pytest.raises(EverRealUnavailable, match="still running"):
            TokenStore(account).refresh(deadline=Deadline(1.5))
        waited = time.monotonic() - started
    finally:
        release.set()
        thread.join(30)
    assert 0.5 < waited < 1.5 + 1
    assert setting() == before
    assert refreshes(everreal_fake) == []


@pytest.mark.django_db
def test_a_refresh_refused_as_inactive_revokes_the_scopes(everreal_fake):
    """EverReal deactivated the user: the account's scopes grant nothing from now on."""
    account = linked_account(everreal_fake)
    account.scopes = ["company_portfolio_all"]
    account.save()
    assert account.user.has_perm("everreal.company_portfolio_all")
    everreal_fake.user("anna@example.com").is_active = False
    with pytest.raises(ReauthenticationRequired):
        TokenStore(account).access_token()
    account = Account.objects.select_related("user").get(pk=account.pk)
    assert (account.reauth_required, account.is_active) == (True, False)
    assert (
        not get_user_model()
        .objects.get(pk=account.user_id)
        .has_perm("everreal.company_portfolio_all")
    )


@pytest.mark.django_db
def test_a_failed_refresh_inside_the_leeway_uses_the_token_still_valid(
    everreal_fake, caplog
):
    account = linked_account(everreal_fake, due=False)
    account.access_token_expires_at = timezone.now() + timedelta(seconds=30)
    account.save()
    old = account.access_token
    everreal_fake.fail_next("token", 503, "<html>unavailable</html>")

    with override_settings(EVERREAL_REFRESH_LEEWAY=60):
        assert TokenStore(account).access_token() == old

    assert "EverReal token refresh failed" in caplog.text
    assert old not in caplog.text
    stored = Account.objects.get(pk=account.pk)
    assert stored.refresh_failed_at is not None and not stored.reauth_required
    assert stored.access_token == old


@pytest.mark.django_db
def test_a_refresh_sees_a_new_login_needed_that_another_process_noted(
    everreal_fake,
):
    account = linked_account(everreal_fake)
    # Another process found the refresh token dead meanwhile.
    Account.objects.filter(pk=account.pk).update(reauth_required=True)

    with pytest.raises(ReauthenticationRequired):
        TokenStore(account).refresh()

    assert everreal_fake.calls("token") == []
    assert account.reauth_required  # the holder learns it too


@pytest.mark.django_db
def test_where_rows_cannot_be_locked_a_refresh_waits_for_this_process_only_so_long(
    everreal_fake,
):
    from django_everreal import tokens
    from django_everreal.transport import Deadline

    if connection.features.has_select_for_update:
        pytest.skip("the database locks the row itself")
    account = linked_account(everreal_fake)
    lock = tokens._process_locks[(Account._meta.label, account.pk)]
    assert lock.acquire(timeout=1)  # another thread's refresh, still running
    try:
        with pytest.raises(EverRealUnavailable, match="still running"):
            TokenStore(account).refresh(deadline=Deadline(0.05))
    finally:
        lock.release()

    assert refreshes(everreal_fake) == []
    assert everreal_fake.verify(TokenStore(account).refresh())  # once it is free
    assert len(refreshes(everreal_fake)) == 1
