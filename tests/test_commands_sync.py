from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.management import CommandError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from django_everreal.models import Account
from django_everreal.signals import account_synced

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(client, everreal_login, everreal_fake):
    """Anna, Tom and Lena logged in once; Lena's refresh token has since died."""
    for email in ("anna@example.com", "tom@example.com", "lena.schmidt@example.com"):
        assert everreal_login(email).status_code == 302
        client.logout()
    everreal_fake.revoke_refresh_tokens("lena.schmidt@example.com")
    Account.objects.filter(email="lena.schmidt@example.com").update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    everreal_fake.clear_calls()
    return {a.email: a for a in Account.objects.all()}


def run(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("everreal_sync", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)
    return out.getvalue(), err.getvalue(), None


def test_sync_applies_what_everreal_now_says(linked, everreal_fake):
    tom = everreal_fake.user("tom@example.com")
    tom.scopes = ["company_user", "message_templates_all"]
    tom.first_name = "Thomas"
    out, _, failure = run()
    assert failure is None
    assert "anna@example.com: synced" in out
    assert "tom@example.com: synced" in out
    assert "lena.schmidt@example.com: re-login needed" in out
    assert "Synced 2, re-login needed 1, failed 0." in out
    account = Account.objects.select_related("user").get(email="tom@example.com")
    assert "message_templates_all" in account.scopes
    assert account.user.first_name == "Thomas"
    assert Account.objects.get(email="lena.schmidt@example.com").reauth_required is True


def test_one_failure_does_not_stop_the_rest(linked, everreal_fake):
    everreal_fake.fail_next("userinfo", 403, {"message": "boom"})  # Anna's, the first
    out, err, failure = run()
    assert "anna@example.com: failed: EverReal answered HTTP 403" in err
    assert "tom@example.com: synced" in out
    assert failure == "Synced 1, re-login needed 1, failed 1."
    assert len(everreal_fake.calls("userinfo")) == 2


def test_only_the_named_users(linked, everreal_fake):
    out, _, failure = run("--user", "TOM@example.com")
    assert failure is None
    assert out.splitlines() == [
        "tom@example.com: synced",
        "Synced 1, re-login needed 0, failed 0.",
    ]
    assert len(everreal_fake.calls("userinfo")) == 1


def test_unknown_user(linked):
    _, _, failure = run("--user", "nobody@example.com")
    assert failure == "No linked EverReal account for nobody@example.com."


def test_output_names_no_token(linked, everreal_fake):
    everreal_fake.fail_next("userinfo", 401)
    out, err, _ = run()
    for account in Account.objects.exclude(encrypted_access_token=""):
        assert account.access_token not in out + err
        assert account.refresh_token not in out + err


def test_admin_action(linked, admin_client, everreal_fake):
    everreal_fake.user("anna@example.com").scopes = ["company_user"]
    response = admin_client.post(
        reverse("admin:everreal_account_changelist"),
        {
            "action": "resync",
            "_selected_action": [
                linked["anna@example.com"].pk,
                linked["lena.schmidt@example.com"].pk,
            ],
        },
    )
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Synced 1, re-login needed 1, failed 0."
    ]
    assert Account.objects.get(email="anna@example.com").permission_scopes == {
        "company_user"
    }
    assert len(everreal_fake.calls("userinfo")) == 1


def test_view_only_staff_cannot_resync(linked, client, everreal_fake):
    staff = get_user_model().objects.create_user("viewer", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_account"))
    client.force_login(staff)
    changelist = reverse("admin:everreal_account_changelist")
    assert client.get(changelist).status_code == 200
    assert b'value="resync"' not in client.get(changelist).content
    response = client.post(
        changelist,
        {"action": "resync", "_selected_action": [linked["anna@example.com"].pk]},
    )
    assert response.status_code in (200, 302)
    assert everreal_fake.calls("userinfo") == []


def test_an_answer_about_another_user_changes_nothing(linked, everreal_fake):
    """EverReal's userinfo names Tom where Anna's account asked: refused, nothing moves."""
    rows = {
        a.email: (a.user_id, a.everreal_id, a.encrypted_access_token)
        for a in Account.objects.all()
    }
    tom = everreal_fake.user("tom@example.com").userinfo()
    everreal_fake.fail_next("userinfo", 200, tom)  # Anna's, the first
    _, err, failure = run("--user", "anna@example.com")
    assert "anna@example.com: failed: EverReal answered about another user" in err
    assert failure == "Synced 0, re-login needed 0, failed 1."
    assert {
        a.email: (a.user_id, a.everreal_id, a.encrypted_access_token)
        for a in Account.objects.all()
    } == rows


def test_an_unexpected_error_does_not_stop_the_batch(linked, everreal_fake):
    """A receiver of the site's that breaks on one account: the others are synced."""

    def breaks_on_anna(sender, account, **kwargs):
        if account.email == "anna@example.com":
            raise RuntimeError("a bug in the site's receiver")

    account_synced.connect(breaks_on_anna)
    try:
        out, err, failure = run()
    finally:
        account_synced.disconnect(breaks_on_anna)
    assert "anna@example.com: failed: RuntimeError" in err
    assert "tom@example.com: synced" in out
    assert "lena.schmidt@example.com: re-login needed" in out
    assert failure == "Synced 1, re-login needed 1, failed 1."
