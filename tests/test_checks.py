from __future__ import annotations

import io

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_everreal.checks import check_settings
from django_everreal.redaction import EverRealExceptionReporter
from django_everreal.redaction import EverRealExceptionReporterFilter


def ids() -> list[str]:
    return [message.id or "" for message in check_settings()]


def test_configured_settings_pass():
    assert ids() == []


@override_settings(SOCIAL_AUTH_EVERREAL_KEY="", SOCIAL_AUTH_EVERREAL_SECRET="")
def test_missing_credentials():
    [message] = check_settings()
    assert message.id == "everreal.E001"
    assert "SOCIAL_AUTH_EVERREAL_KEY" in message.msg
    assert "SOCIAL_AUTH_EVERREAL_SECRET" in message.msg


@override_settings(SOCIAL_AUTH_EVERREAL_SUBDOMAIN="evil.com/x")
def test_invalid_subdomain():
    assert ids() == ["everreal.E002"]


@override_settings(SOCIAL_AUTH_EVERREAL_SUBDOMAIN="")
def test_missing_subdomain():
    assert ids() == ["everreal.E002"]


@override_settings(
    SOCIAL_AUTH_EVERREAL_SUBDOMAIN="", SOCIAL_AUTH_EVERREAL_BASE_URL="ftp://x"
)
def test_invalid_base_url():
    assert ids() == ["everreal.E003"]


@override_settings(
    SOCIAL_AUTH_EVERREAL_SUBDOMAIN="",
    SOCIAL_AUTH_EVERREAL_BASE_URL="http://127.0.0.1:8001/",
)
def test_base_url_replaces_subdomain():
    assert ids() == []


@pytest.mark.django_db
@override_settings(SOCIAL_AUTH_EVERREAL_KEY="")
def test_checks_are_registered():
    with pytest.raises(SystemCheckError, match=r"everreal\.E001"):
        call_command("check")


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "/auth/complete/everreal/",
        "localhost:8000/cb",
        "ftp://x/cb",
        "https://x/cb#f",
    ],
)
def test_redirect_uri_must_be_absolute(uri):
    with override_settings(SOCIAL_AUTH_EVERREAL_REDIRECT_URI=uri):
        assert ids() == ["everreal.E004"]


@override_settings(SOCIAL_AUTH_EVERREAL_TOKEN_REQUEST_FORMAT="xml")
def test_token_request_format():
    assert ids() == ["everreal.E005"]


@override_settings(
    AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"]
)
def test_backends_missing():
    assert ids() == ["everreal.E006", "everreal.W001"]


def test_pipeline_step_missing(settings):
    settings.SOCIAL_AUTH_PIPELINE = [
        step for step in settings.SOCIAL_AUTH_PIPELINE if "django_everreal" not in step
    ]
    assert ids() == ["everreal.W002"]


def test_default_pipeline_lacks_the_step(settings):
    del settings.SOCIAL_AUTH_PIPELINE
    assert ids() == ["everreal.W002"]


def test_associate_by_email_warns(settings):
    settings.SOCIAL_AUTH_PIPELINE = [
        *settings.SOCIAL_AUTH_PIPELINE,
        "social_core.pipeline.social_auth.associate_by_email",
    ]
    assert ids() == ["everreal.W003"]


@pytest.mark.parametrize("value", ["Strict", "strict"])
def test_samesite_strict(value):
    with override_settings(SESSION_COOKIE_SAMESITE=value):
        assert ids() == ["everreal.E007"]


@override_settings(SESSION_COOKIE_SAMESITE="Lax")
def test_samesite_lax_is_fine():
    assert ids() == []


class ReporterFilterSubclass(EverRealExceptionReporterFilter):
    pass


class ReporterSubclass(EverRealExceptionReporter):
    pass


APP_FILTER = "django_everreal.redaction.EverRealExceptionReporterFilter"
APP_REPORTER = "django_everreal.redaction.EverRealExceptionReporter"


@override_settings(DEBUG=True)
def test_debug_without_the_apps_reporter_filter_warns():
    [message] = check_settings()
    assert message.id == "everreal.W004"
    assert isinstance(message, checks.Warning)
    assert "DEFAULT_EXCEPTION_REPORTER_FILTER" in message.msg
    assert message.hint is not None
    assert f"DEFAULT_EXCEPTION_REPORTER_FILTER = '{APP_FILTER}'" in message.hint
    assert f"DEFAULT_EXCEPTION_REPORTER = '{APP_REPORTER}'" in message.hint


@override_settings(DEBUG=True, DEFAULT_EXCEPTION_REPORTER_FILTER=APP_FILTER)
def test_debug_without_the_apps_reporter_warns():
    """Django's reporter shows the callback's query unfiltered, whatever the filter."""
    [message] = check_settings()
    assert message.id == "everreal.W004"
    assert "DEFAULT_EXCEPTION_REPORTER " in message.msg
    assert "DEFAULT_EXCEPTION_REPORTER_FILTER" not in message.msg


@override_settings(DEBUG=False)
def test_no_warning_without_debug():
    assert ids() == []


@override_settings(
    DEBUG=True,
    DEFAULT_EXCEPTION_REPORTER_FILTER=APP_FILTER,
    DEFAULT_EXCEPTION_REPORTER=APP_REPORTER,
)
def test_no_warning_with_the_apps_reporter_filter():
    assert ids() == []


@override_settings(
    DEBUG=True,
    DEFAULT_EXCEPTION_REPORTER_FILTER="tests.test_checks.ReporterFilterSubclass",
    DEFAULT_EXCEPTION_REPORTER="tests.test_checks.ReporterSubclass",
)
def test_no_warning_with_subclasses():
    assert ids() == []


@override_settings(
    DEBUG=True,
    DEFAULT_EXCEPTION_REPORTER_FILTER="tests.test_checks.NoSuchFilter",
    DEFAULT_EXCEPTION_REPORTER=APP_REPORTER,
)
def test_unimportable_filter_warns():
    assert ids() == ["everreal.W004"]


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_reporter_check_is_registered():
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "everreal.W004" in out.getvalue()
