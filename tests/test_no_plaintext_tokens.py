"""A secrets scan: after a login, a refresh and a service login, no secret is stored or logged."""

from __future__ import annotations

import io
import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone

from django_everreal.models import Account
from django_everreal.models import ServiceAccount
from django_everreal.testing import FakeUser
from django_everreal.tokens import TokenStore

LOGIN_PASSWORD = "Anna-Login-Pw-91c2"
SERVICE_PASSWORD = "Robot-Service-Pw-5d7e"
LOGGERS = ("", "requests", "urllib3", "social", "django_everreal", "django")


@pytest.fixture
def issued_tokens(everreal_fake, monkeypatch):
    """Every access and refresh token the fake hands out in a token response."""
    tokens: list[str] = []
    handle = everreal_fake.handle

    def recording_handle(request):
        response = handle(request)
        if request.path.rstrip("/") == "/accounts/oauth/token":
            try:
                body = json.loads(response.body)
            except ValueError:
                body = None
            if isinstance(body, dict):
                tokens.extend(
                    body[key]
                    for key in ("access_token", "refresh_token")
                    if isinstance(body.get(key), str)
                )
        return response

    monkeypatch.setattr(everreal_fake, "handle", recording_handle)
    return tokens


def database_text():
    """Every value of every row of every table, as text."""
    parts = []
    for model in apps.get_models(include_auto_created=True):
        for row in model._default_manager.all():
            for field in model._meta.concrete_fields:
                value = field.value_from_object(row)
                if isinstance(value, (dict, list)):
                    value = json.dumps(value)
                parts.append(str(value))
    for session in Session.objects.all():
        parts.append(repr(SessionStore().decode(session.session_data)))
    return "\n".join(parts)


def logged_text(caplog):
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.__dict__))
    return "\n".join(parts)


@pytest.mark.django_db
def test_no_secret_in_database_or_logs(
    everreal_fake, everreal_login, issued_tokens, caplog
):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    everreal_fake.user("anna@example.com").password = LOGIN_PASSWORD
    everreal_fake.add_user(
        FakeUser(email="robot@example.com", password=SERVICE_PASSWORD)
    )

    # A browser login through the fake, keeping the authorization code.
    callback = everreal_fake.authorize_redirect(
        everreal_login.begin(), "anna@example.com", LOGIN_PASSWORD
    )
    [code] = parse_qs(urlsplit(callback).query)["code"]
    response = everreal_login.complete(callback)
    assert response.status_code == 302, response
    account = Account.objects.get(email="anna@example.com")

    # A refresh.
    account.access_token_expires_at = timezone.now() - timedelta(minutes=5)
    account.save()
    TokenStore(account).refresh()

    # A service account.
    call_command(
        "everreal_service_login",
        "reports",
        "--username",
        "robot@example.com",
        "--password-stdin",
        stdin=io.StringIO(f"{SERVICE_PASSWORD}\n"),
        stdout=io.StringIO(),
    )
    assert ServiceAccount.objects.filter(name="reports").exists()

    # The login, the refresh and the service login each got tokens.
    assert len(issued_tokens) >= 6
    assert len(everreal_fake.calls("token")) == 3
    account.refresh_from_db()
    assert account.access_token in issued_tokens

    secrets = {
        *issued_tokens,
        code,
        LOGIN_PASSWORD,
        SERVICE_PASSWORD,
        "demo-secret",  # the client secret
    }
    stored = database_text()
    logged = logged_text(caplog)
    assert "anna@example.com" in stored  # the scan does see the data
    for secret in secrets:
        assert secret not in stored
        assert secret not in logged

    for holder in (account, ServiceAccount.objects.get(name="reports")):
        for shown in (repr(holder), str(holder)):
            for secret in secrets:
                assert secret not in shown
