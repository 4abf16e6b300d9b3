"""Error reports of a login that breaks inside the real callback, with DEBUG on."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlsplit

import django
import pytest
from django.core import mail
from django.test import Client
from django.utils.log import AdminEmailHandler
from django.views.debug import get_default_exception_reporter_filter

from django_everreal.redaction import EverRealExceptionReporter
from django_everreal.signals import account_synced
from django_everreal.testing import FakeEverReal
from django_everreal.testing.login_flow import EverRealLogin

CLIENT_SECRET = "demo-secret"  # the fake's client secret


class PipelineBroke(Exception):
    pass


def failing_step(*args: Any, **kwargs: Any) -> None:
    """A pipeline step that breaks, with the whole pipeline's kwargs in its frame."""
    raise PipelineBroke("the pipeline broke")


def failing_receiver(sender: object, **kwargs: Any) -> None:
    raise PipelineBroke("an account_synced receiver broke")


@pytest.fixture
def app_reporter(settings: Any) -> Iterator[None]:
    """DEBUG on, with the README's reporter settings."""
    settings.DEBUG = True
    settings.DEFAULT_EXCEPTION_REPORTER_FILTER = (
        "django_everreal.redaction.EverRealExceptionReporterFilter"
    )
    settings.DEFAULT_EXCEPTION_REPORTER = (
        "django_everreal.redaction.EverRealExceptionReporter"
    )
    # Django caches the filter the setting names.
    get_default_exception_reporter_filter.cache_clear()  # type: ignore[attr-defined]
    yield
    get_default_exception_reporter_filter.cache_clear()  # type: ignore[attr-defined]


@pytest.fixture(params=["pipeline_step", "signal_receiver"])
def failure(request: pytest.FixtureRequest, settings: Any) -> Iterator[tuple[str, str]]:
    """A failure inside the callback: a pipeline step set in the settings, or a receiver."""
    if request.param == "pipeline_step":
        settings.SOCIAL_AUTH_PIPELINE = [
            *settings.SOCIAL_AUTH_PIPELINE,
            "tests.test_error_reports.failing_step",
        ]
        yield "failing_step", "the pipeline broke"
    else:
        account_synced.connect(failing_receiver)
        try:
            yield "failing_receiver", "an account_synced receiver broke"
        finally:
            account_synced.disconnect(failing_receiver)


@pytest.fixture
def failed_login(
    db: None,
    client: Client,
    everreal_fake: FakeEverReal,
    everreal_login: EverRealLogin,
    app_reporter: None,
    failure: tuple[str, str],
) -> tuple[Any, dict[str, str]]:
    """The callback's 500 with DEBUG on, and every secret of that login."""
    tokens: list[str] = []
    handle = everreal_fake.handle

    def recording_handle(request: Any) -> Any:
        response = handle(request)
        if request.path.rstrip("/") == "/accounts/oauth/token":
            body = json.loads(response.body)
            tokens.extend([body["access_token"], body["refresh_token"]])
        return response

    everreal_fake.handle = recording_handle  # type: ignore[method-assign]
    authorize = everreal_login.begin()
    [state] = parse_qs(urlsplit(authorize).query)["state"]
    transaction = client.session[f"everreal_oauth2_state_{state}"]
    callback = everreal_fake.authorize_redirect(authorize, "anna@example.com", "demo")
    [code] = parse_qs(urlsplit(callback).query)["code"]

    client.raise_request_exception = False
    response = everreal_login.complete(callback)
    assert response.status_code == 500
    [access_token, refresh_token] = tokens
    secrets = {
        "code": code,
        "state": state,
        "code_verifier": transaction["code_verifier"],
        "access_token": access_token,
        "refresh_token": refresh_token,
        "client_secret": CLIENT_SECRET,
    }
    return response, secrets


def assert_clean(output: str, secrets: dict[str, str]) -> None:
    leaked = [name for name, value in secrets.items() if value in output]
    assert leaked == []


def test_debug_page_of_the_callback_hides_every_secret(failed_login, failure):
    response, secrets = failed_login
    page = response.content.decode()
    function, message = failure
    # The page is the full technical 500 page, with the frames' variables.
    assert function in page
    assert message in page
    assert "do_complete" in page  # the frame holding the callback's QueryDict
    assert "Local vars" in page
    assert "lang" not in secrets
    assert_clean(page, secrets)


def test_reports_of_the_callback_hide_every_secret(failed_login, failure):
    response, secrets = failed_login
    reporter = EverRealExceptionReporter(response.wsgi_request, *response.exc_info)
    text = reporter.get_traceback_text()
    html = reporter.get_traceback_html()
    function, message = failure
    for output in (text, html):
        assert function in output
        assert message in output
        assert_clean(output, secrets)
    # The callback's query shows, without its values.
    assert "/auth/complete/everreal/?code=********************" in text


def test_admin_email_of_the_callback_hides_every_secret(failed_login, settings):
    response, secrets = failed_login
    # Plain addresses from Django 6.0 on, (name, address) pairs before.
    settings.ADMINS = (
        ["admin@example.com"]
        if django.VERSION >= (6, 0)
        else [("Admin", "admin@example.com")]
    )
    handler = AdminEmailHandler(include_html=True)
    record = logging.LogRecord(
        "django.request",
        logging.ERROR,
        __file__,
        1,
        "Internal Server Error: %s",
        (response.wsgi_request.path,),
        response.exc_info,
    )
    record.request = response.wsgi_request
    record.status_code = 500
    handler.emit(record)
    [email] = mail.outbox
    [(html, _)] = email.alternatives
    body, html = str(email.body), str(html)
    assert "PipelineBroke at /auth/complete/everreal/" in body
    assert "\nGET:\ncode = '********************'\n" in body
    assert "Local Vars" in html
    for output in (str(email.subject), body, html):
        assert_clean(output, secrets)


def test_login_failure_from_the_wire_is_one_log_line(db, client, caplog):
    """EverReal's error_description cannot forge log lines."""
    caplog.set_level(logging.INFO, logger="django_everreal")
    forged = "Nope.\r\n2030-01-01 INFO admin logged in\x1b[2J\x85"
    response = client.get(
        "/auth/complete/everreal/?error=access_denied"
        f"&error_description={quote(forged)}&state=s"
    )
    assert response.status_code == 400
    [record] = [r for r in caplog.records if "login failed" in r.getMessage()]
    line = logging.Formatter("%(levelname)s %(message)s").format(record)
    assert line == (
        "WARNING EverReal login failed: authorization_declined "
        "(Nope.\\r\\n2030-01-01 INFO admin logged in\\x1b[2J\\x85)"
    )
    assert len(caplog.text.splitlines()) == len(caplog.records)
