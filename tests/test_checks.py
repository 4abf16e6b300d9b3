from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from django_everreal.checks import check_settings


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


@override_settings(SOCIAL_AUTH_EVERREAL_SUBDOMAIN="", SOCIAL_AUTH_EVERREAL_BASE_URL="ftp://x")
def test_invalid_base_url():
    assert ids() == ["everreal.E003"]


@override_settings(
    SOCIAL_AUTH_EVERREAL_SUBDOMAIN="", SOCIAL_AUTH_EVERREAL_BASE_URL="http://127.0.0.1:8001/"
)
def test_base_url_replaces_subdomain():
    assert ids() == []


@override_settings(SOCIAL_AUTH_EVERREAL_KEY="")
def test_checks_are_registered():
    with pytest.raises(SystemCheckError, match=r"everreal\.E001"):
        call_command("check")
