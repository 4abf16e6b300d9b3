from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from django_everreal.models import Account

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
