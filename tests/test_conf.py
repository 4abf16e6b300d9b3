from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_everreal.conf import SETTINGS
from django_everreal.conf import conf
from django_everreal.conf import setting_value


def test_origin_from_subdomain():
    assert conf.origin == "https://demo.everreal.co"


@override_settings(SOCIAL_AUTH_EVERREAL_SUBDOMAIN="Acme")
def test_origin_is_read_at_use():
    assert conf.origin == "https://acme.everreal.co"


@pytest.mark.parametrize(
    "subdomain", ["", "-acme", "acme-", "ac.me", "acme/x", "a" * 64, "ac me", "évier"]
)
def test_subdomain_must_be_a_dns_label(subdomain):
    with (
        override_settings(SOCIAL_AUTH_EVERREAL_SUBDOMAIN=subdomain),
        pytest.raises(ImproperlyConfigured, match="SOCIAL_AUTH_EVERREAL_SUBDOMAIN"),
    ):
        conf.origin


@override_settings(SOCIAL_AUTH_EVERREAL_BASE_URL="http://127.0.0.1:8001/")
def test_base_url_wins():
    assert conf.origin == "http://127.0.0.1:8001"


@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8001",
        "ftp://host",
        "https://host/path",
        "https://host?x=1",
        "https://u:p@host",
    ],
)
def test_base_url_must_be_an_origin(url):
    with (
        override_settings(SOCIAL_AUTH_EVERREAL_BASE_URL=url),
        pytest.raises(ImproperlyConfigured, match="SOCIAL_AUTH_EVERREAL_BASE_URL"),
    ):
        conf.origin


def test_default_scope():
    assert conf.SCOPE == ["offline_access", "*"]


@override_settings(SOCIAL_AUTH_EVERREAL_SCOPE=["company_user", "*"])
def test_extra_scopes_are_added_once():
    assert conf.SCOPE == ["offline_access", "*", "company_user"]


@override_settings(SOCIAL_AUTH_EVERREAL_SCOPE="company_user message_templates_all")
def test_scope_as_string():
    assert conf.SCOPE == [
        "offline_access",
        "*",
        "company_user",
        "message_templates_all",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("superadmin_all", {"superadmin_all"}),
        ("superadmin_all  company_admin", {"superadmin_all", "company_admin"}),
        (["superadmin_all"], {"superadmin_all"}),
        (("superadmin_all", "company_admin"), {"superadmin_all", "company_admin"}),
        (None, set()),
        ("", set()),
    ],
)
def test_superuser_scopes_from_a_string_or_a_list(settings, value, expected):
    settings.EVERREAL_SUPERUSER_SCOPES = value
    assert set(conf.SUPERUSER_SCOPES) == expected


def test_superuser_scopes_default_to_none(settings):
    del settings.EVERREAL_SUPERUSER_SCOPES
    assert not conf.SUPERUSER_SCOPES


def test_a_string_grants_no_single_letters(settings):
    settings.EVERREAL_SUPERUSER_SCOPES = "superadmin_all"
    assert "s" not in conf.SUPERUSER_SCOPES


def test_defaults_come_from_the_table(settings):
    for name in ("EVERREAL_TIMEOUT", "EVERREAL_RETRIES", "EVERREAL_TOKEN_CACHE"):
        if hasattr(settings, name):
            delattr(settings, name)
    assert setting_value("EVERREAL_TIMEOUT") == SETTINGS["EVERREAL_TIMEOUT"].default
    assert (conf.TIMEOUT, conf.RETRIES, conf.TOKEN_CACHE) == (10.0, 2, "default")


@pytest.mark.parametrize(
    "name",
    [
        name
        for name, setting in SETTINGS.items()
        if setting.nullable and setting.kind in {"str", "strings"}
    ],
)
def test_none_reads_as_the_default(settings, name):
    setattr(settings, name, None)
    assert setting_value(name) == SETTINGS[name].default
