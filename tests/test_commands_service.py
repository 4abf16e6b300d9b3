from __future__ import annotations

import io
import logging
from unittest import mock

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from django_everreal.models import ServiceAccount
from django_everreal.testing import FakeUser

PASSWORD = "Robot-Pa55word-7f3a"

pytestmark = pytest.mark.django_db


@pytest.fixture
def robot(everreal_fake):
    return everreal_fake.add_user(
        FakeUser(email="robot@example.com", password=PASSWORD)
    )


def service_login(name="reports", username="robot@example.com", password=PASSWORD):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "everreal_service_login",
        name,
        "--username",
        username,
        "--password-stdin",
        stdin=io.StringIO(f"{password}\n"),
        stdout=out,
        stderr=err,
    )
    return out.getvalue() + err.getvalue()


def raw_rows():
    """Every column of every service account row, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ServiceAccount._meta.db_table}")  # noqa: S608
        return " ".join(str(value) for row in cursor.fetchall() for value in row)


def test_success_stores_encrypted_tokens(everreal_fake, robot, caplog):
    caplog.set_level(logging.DEBUG)
    output = service_login()

    account = ServiceAccount.objects.get(name="reports")
    assert account.username == "robot@example.com"
    assert account.everreal_id == robot.id
    assert not account.reauth_required
    assert account.access_token_expires_at is not None
    everreal_fake.verify(account.access_token)
    assert (
        jwt.decode(account.refresh_token, options={"verify_signature": False})["sub"]
        == robot.id
    )
    rows = raw_rows()
    assert account.access_token not in rows
    assert account.refresh_token not in rows
    assert "reports" in output
    assert "50 refresh tokens" in output
    for text in (output, rows, caplog.text):
        assert PASSWORD not in text


def test_exactly_one_password_grant(everreal_fake, robot):
    service_login()
    [call] = everreal_fake.calls("token")
    assert call.is_json
    assert call.body == {
        "username": "robot@example.com",
        "password": PASSWORD,
        "client_id": "demo-client",
        "client_secret": "demo-secret",
        "scope": "offline_access *",
        "grant_type": "password",
    }


@override_settings(SOCIAL_AUTH_EVERREAL_TOKEN_REQUEST_FORMAT="form")
def test_form_body_when_configured(everreal_fake, robot):
    service_login()
    [call] = everreal_fake.calls("token")
    assert call.is_form
    assert call.body["grant_type"] == "password"


def test_wrong_password(everreal_fake, robot, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CommandError) as exc_info:
        service_login(password="wrong-" + PASSWORD)
    message = str(exc_info.value)
    assert "The email address or password is wrong." in message
    assert "heimdall.validation.password.invalid" in message
    assert PASSWORD not in message
    assert PASSWORD not in caplog.text
    assert not ServiceAccount.objects.exists()
    assert len(everreal_fake.calls("token")) == 1


def test_unknown_user(everreal_fake):
    with pytest.raises(CommandError, match="EverReal does not know this user"):
        service_login(username="nobody@example.com")
    assert not ServiceAccount.objects.exists()


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (401, None, "client credentials"),
        (503, {"error": "server_error"}, "try again later"),
        (400, "<html>oops</html>", "refused the login"),
    ],
)
def test_other_refusals(everreal_fake, robot, status, body, words):
    everreal_fake.fail_next("token", status, body)
    with pytest.raises(CommandError, match=words):
        service_login()
    assert not ServiceAccount.objects.exists()
    assert len(everreal_fake.calls("token")) == 1


def test_network_error(everreal_fake, robot):
    everreal_fake.drop_next("token")
    with pytest.raises(CommandError, match="could not be reached"):
        service_login()
    assert len(everreal_fake.calls("token")) == 1


def test_repeated_login_updates_the_same_row(everreal_fake, robot):
    service_login()
    first = ServiceAccount.objects.get()
    first.reauth_required = True
    first.save()

    service_login()
    [second] = ServiceAccount.objects.all()
    assert second.pk == first.pk
    assert not second.reauth_required
    assert second.access_token != first.access_token
    assert len(everreal_fake.calls("token")) == 2


def test_password_is_asked_for_without_stdin(everreal_fake, robot):
    with mock.patch("getpass.getpass", return_value=PASSWORD) as getpass:
        call_command(
            "everreal_service_login",
            "reports",
            "--username",
            "robot@example.com",
            stdout=io.StringIO(),
        )
    getpass.assert_called_once()
    assert PASSWORD not in getpass.call_args.args[0]
    assert ServiceAccount.objects.filter(name="reports").exists()


def test_empty_password(everreal_fake, robot):
    with pytest.raises(CommandError, match="No password"):
        service_login(password="")
    assert everreal_fake.calls("token") == []


def test_invalid_name(everreal_fake, robot):
    with pytest.raises(CommandError, match="not a valid name"):
        service_login(name="no spaces please")
    assert everreal_fake.calls("token") == []


def test_the_service_account_refreshes_and_says_what_to_run_when_dead(
    everreal_fake, robot
):
    from datetime import timedelta

    from django.utils import timezone

    from django_everreal.client import EverRealClient
    from django_everreal.exceptions import ReauthenticationRequired

    service_login()
    ServiceAccount.objects.update(
        access_token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    client = EverRealClient.for_service("reports")
    assert client.userinfo()["email"] == "robot@example.com"
    grants = [c.body["grant_type"] for c in everreal_fake.calls("token")]
    assert grants == ["password", "refresh_token"]

    everreal_fake.revoke_refresh_tokens("robot@example.com")
    ServiceAccount.objects.update(
        access_token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ReauthenticationRequired) as caught:
        EverRealClient.for_service("reports").userinfo()
    assert (
        "manage.py everreal_service_login reports --username robot@example.com"
        in str(caught.value)
    )
    assert ServiceAccount.objects.get().reauth_required is True
