from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from django_everreal.checks import check_registry
from django_everreal.checks import check_setting_types
from django_everreal.checks import check_settings
from django_everreal.conf import SETTINGS
from django_everreal.models import Customer
from django_everreal.redaction import EverRealExceptionReporter
from django_everreal.redaction import EverRealExceptionReporterFilter

ROOT = Path(__file__).resolve().parent.parent


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


# A site without a customer in settings: the registry alone.

NO_SETTINGS_CUSTOMER = {
    "SOCIAL_AUTH_EVERREAL_KEY": "",
    "SOCIAL_AUTH_EVERREAL_SECRET": "",
    "SOCIAL_AUTH_EVERREAL_SUBDOMAIN": "",
}


@pytest.mark.parametrize(
    "redirect_uri", ["", "http://localhost:8000/auth/complete/everreal/"]
)
def test_registry_alone_needs_no_settings_customer(redirect_uri):
    with override_settings(
        **NO_SETTINGS_CUSTOMER, SOCIAL_AUTH_EVERREAL_REDIRECT_URI=redirect_uri
    ):
        assert ids() == []


@pytest.mark.parametrize(
    "named",
    [
        {"SOCIAL_AUTH_EVERREAL_SUBDOMAIN": "acme"},
        {"SOCIAL_AUTH_EVERREAL_BASE_URL": "http://127.0.0.1:8001"},
        {"SOCIAL_AUTH_EVERREAL_KEY": "client"},
        {"SOCIAL_AUTH_EVERREAL_SECRET": "secret"},
    ],
)
def test_half_a_settings_customer_is_an_error(named):
    with override_settings(**{**NO_SETTINGS_CUSTOMER, **named}):
        assert "everreal.E001" in ids()


@override_settings(**NO_SETTINGS_CUSTOMER, SOCIAL_AUTH_EVERREAL_REDIRECT_URI="/cb")
def test_registry_default_redirect_uri_is_still_checked():
    assert ids() == ["everreal.E004"]


# The redirect URI must reach the login callback.


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("http://localhost:8000/nowhere/", "does not route"),
        ("http://localhost:8000/auth/login/everreal/", "social:begin"),
        ("http://localhost:8000/auth/complete/other/", "backend 'other'"),
        ("http://localhost:8000/auth/complete/everreal", "does not route"),
    ],
)
def test_redirect_uri_not_routed_to_the_callback(uri, words):
    with override_settings(SOCIAL_AUTH_EVERREAL_REDIRECT_URI=uri):
        [message] = check_settings()
    assert message.id == "everreal.W005"
    assert isinstance(message, checks.Warning)
    assert words in message.msg
    assert message.hint is not None
    assert "/auth/complete/everreal/" in message.hint


@override_settings(
    SOCIAL_AUTH_EVERREAL_REDIRECT_URI="https://www.example.com/app/auth/complete/everreal/",
    FORCE_SCRIPT_NAME="/app",
)
def test_redirect_uri_under_a_script_prefix():
    assert ids() == []


@override_settings(
    SOCIAL_AUTH_EVERREAL_REDIRECT_URI="http://localhost:8000/x/", ROOT_URLCONF=__name__
)
def test_hint_without_the_apps_urls():
    [message] = check_settings()
    assert message.id == "everreal.W005"
    assert message.hint is not None
    assert "include('django_everreal.urls')" in message.hint


urlpatterns: list[object] = []


# The customer registry: checked only when Django passes databases.

DATABASES = ["default"]


def registry_ids(databases: list[str] | None = DATABASES) -> list[str]:
    return [message.id or "" for message in check_registry(databases=databases)]


def make_customer(subdomain: str = "acme", **fields: object) -> Customer:
    secret = fields.pop("secret", "acme-secret")
    customer = Customer(subdomain=subdomain, client_id=f"{subdomain}-client", **fields)
    if secret:
        customer.set_client_secret(str(secret))
    customer.save()
    return customer


@pytest.mark.django_db
def test_a_good_customer_passes():
    make_customer()
    make_customer(
        "beta", redirect_uri="https://beta.example.com/auth/complete/everreal/"
    )
    assert registry_ids() == []


@pytest.mark.django_db
def test_without_databases_nothing_is_queried():
    make_customer("bad.sub", secret="", base_url="ftp://x", redirect_uri="https://x/y/")
    assert registry_ids() != []
    with CaptureQueriesContext(connection) as queries:
        assert registry_ids(None) == []
        assert registry_ids([]) == []
        assert [
            m.id for m in checks.run_checks() if (m.id or "").startswith("everreal.")
        ] == []
    assert len(queries) == 0


@pytest.mark.django_db
def test_other_apps_checks_skip_the_registry():
    make_customer(secret="")
    assert (
        check_registry(app_configs=[apps.get_app_config("auth")], databases=DATABASES)
        == []
    )
    assert [
        m.id
        for m in check_registry(
            app_configs=[apps.get_app_config("everreal")], databases=DATABASES
        )
    ] == ["everreal.W007"]


@pytest.mark.django_db
def test_no_table_yet_is_no_crash(monkeypatch):
    make_customer(secret="")
    monkeypatch.setattr(Customer._meta, "db_table", "everreal_not_migrated_yet")
    assert registry_ids() == []
    monkeypatch.undo()
    # The failed query left the test's transaction usable (a savepoint on PostgreSQL).
    assert Customer.objects.count() == 1


@pytest.mark.django_db
@override_settings(**NO_SETTINGS_CUSTOMER)
def test_no_table_yet_is_not_no_customer(monkeypatch):
    monkeypatch.setattr(Customer._meta, "db_table", "everreal_not_migrated_yet")
    assert registry_ids() == []


@pytest.mark.django_db
@override_settings(SOCIAL_AUTH_EVERREAL_SUBDOMAIN="Demo")
def test_row_with_the_settings_subdomain():
    customer = make_customer("demo")
    [message] = check_registry(databases=DATABASES)
    assert message.id == "everreal.W006"
    assert message.obj == customer
    assert "'demo'" in message.msg
    assert message.hint
    Customer.objects.update(subdomain="other")
    assert registry_ids() == []


@pytest.mark.django_db
def test_row_without_a_client_secret():
    make_customer(secret="")
    [message] = check_registry(databases=DATABASES)
    assert message.id == "everreal.W007"
    assert "no client secret" in message.msg
    assert message.hint


@pytest.mark.django_db
def test_row_with_an_undecryptable_client_secret(settings):
    customer = make_customer()
    settings.EVERREAL_TOKEN_KEYS = [Fernet.generate_key().decode()]
    [message] = check_registry(databases=DATABASES)
    assert message.id == "everreal.W007"
    assert "cannot decrypt" in message.msg
    assert customer.encrypted_client_secret not in message.msg
    assert "acme-secret" not in f"{message.msg} {message.hint}"


@pytest.mark.django_db
def test_broken_token_keys_are_left_to_e008(settings):
    make_customer()
    settings.EVERREAL_TOKEN_KEYS = ["not-a-key"]
    assert registry_ids() == []


@pytest.mark.django_db
@pytest.mark.parametrize("subdomain", ["bad.sub", "-acme", "Acme", ""])
def test_row_with_a_bad_subdomain(subdomain):
    # Written past save(), which lower-cases: as raw SQL or a data migration might.
    Customer.objects.filter(pk=make_customer().pk).update(subdomain=subdomain)
    assert registry_ids() == ["everreal.W008"]


@pytest.mark.django_db
@pytest.mark.parametrize("base_url", ["ftp://x", "https://x.example/path", "x"])
def test_row_with_a_bad_origin(base_url):
    make_customer(base_url=base_url)
    [message] = check_registry(databases=DATABASES)
    assert message.id == "everreal.W009"
    assert base_url in message.msg


@pytest.mark.django_db
def test_row_with_a_good_origin():
    make_customer(base_url="http://127.0.0.1:8002")
    assert registry_ids() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "uri",
    [
        "https://acme.example.com/auth/complete/other/",
        "https://acme.example.com/elsewhere/",
        "/auth/complete/everreal/",
    ],
)
def test_row_with_a_redirect_uri_off_the_callback(uri):
    make_customer(redirect_uri=uri)
    [message] = check_registry(databases=DATABASES)
    assert message.id == "everreal.W010"
    assert uri in message.msg
    assert "SOCIAL_AUTH_EVERREAL_REDIRECT_URI" not in message.msg


@pytest.mark.django_db
def test_row_falls_back_to_the_setting(settings):
    make_customer()
    settings.SOCIAL_AUTH_EVERREAL_REDIRECT_URI = "http://localhost:8000/elsewhere/"
    [message] = check_registry(databases=DATABASES)
    assert message.id == "everreal.W010"
    assert "SOCIAL_AUTH_EVERREAL_REDIRECT_URI" in message.msg
    settings.SOCIAL_AUTH_EVERREAL_REDIRECT_URI = ""
    [message] = check_registry(databases=DATABASES)
    assert message.id == "everreal.W010"
    assert "no redirect URI" in message.msg


@pytest.mark.django_db
def test_disabled_rows_are_not_checked():
    make_customer("bad.sub", secret="", enabled=False)
    assert registry_ids() == []


@pytest.mark.django_db
@override_settings(**NO_SETTINGS_CUSTOMER)
def test_no_customer_anywhere():
    assert registry_ids() == ["everreal.W011"]
    make_customer(enabled=False)
    assert registry_ids() == ["everreal.W011"]
    make_customer("beta")
    assert registry_ids() == []


@pytest.mark.django_db
def test_settings_customer_alone_is_enough():
    assert registry_ids() == []


@pytest.mark.django_db
def test_registry_check_is_registered():
    make_customer(secret="")
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "everreal.W007" not in out.getvalue()
    call_command("check", "--database", "default", stdout=out, stderr=out)
    assert "everreal.W007" in out.getvalue()


# Webhooks.


def test_webhooks_well_configured_pass(settings):
    settings.EVERREAL_WEBHOOKS = {"hooks": ["LISTING_CREATED"], "other": "UNIT_DELETED"}
    assert ids() == []


@pytest.mark.parametrize(
    "value",
    [["LISTING_CREATED"], {"hooks": [1]}, {"hooks": [""]}, {"hooks": None}, "hooks"],
)
def test_webhooks_of_the_wrong_shape(settings, value):
    settings.EVERREAL_WEBHOOKS = value
    assert ids() == ["everreal.E009"]


def test_webhooks_need_an_origin_to_be_delivered_to(settings):
    settings.EVERREAL_WEBHOOKS = {"hooks": ["LISTING_CREATED"]}
    settings.EVERREAL_WEBHOOK_BASE_URL = "https://www.example.com/path"
    assert ids() == ["everreal.E010"]


def test_webhooks_need_the_task_framework(settings, monkeypatch):
    settings.EVERREAL_WEBHOOKS = {"hooks": ["LISTING_CREATED"]}
    monkeypatch.setattr("django_everreal.checks.find_spec", lambda name: None)
    assert ids() == ["everreal.E011"]


# The type and range of every setting.


def test_every_setting_conf_reads_is_in_the_table():
    """The table is what the check checks: a setting read beside it would go unchecked."""
    source = (ROOT / "django_everreal" / "conf.py").read_text()
    read = set(re.findall(r'"((?:SOCIAL_AUTH_EVERREAL|EVERREAL)_[A-Z_]+)"', source))
    assert read == set(SETTINGS)


def test_the_readme_states_the_type_the_check_checks():
    """That each setting is documented at all, tests/test_readme.py checks."""
    readme = (ROOT / "README.rst").read_text()
    documented_types = {
        "str": "``str``",
        "int": "``int``",
        "float": "``float``",
        "bool": "``bool``",
        "strings": "``list[str]``",
        "dict": "``dict[",
    }
    for setting in SETTINGS.values():
        heading = f"``{setting.name}``\n{'-' * (len(setting.name) + 4)}\n"
        if heading not in readme:
            continue
        section = readme.split(heading, 1)[1].split("\n\n``", 1)[0]
        assert f"Type: {documented_types[setting.kind]}" in section, setting.name


def test_the_defaults_pass(settings):
    for setting in SETTINGS.values():
        setattr(settings, setting.name, setting.default)
    settings.SOCIAL_AUTH_EVERREAL_KEY = "demo-client"
    settings.SOCIAL_AUTH_EVERREAL_SECRET = "demo-secret"
    settings.SOCIAL_AUTH_EVERREAL_SUBDOMAIN = "demo"
    settings.SOCIAL_AUTH_EVERREAL_REDIRECT_URI = (
        "http://localhost:8000/auth/complete/everreal/"
    )
    assert check_setting_types() == {}
    assert ids() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EVERREAL_TIMEOUT", "ten"),
        ("EVERREAL_TIMEOUT", "10"),
        ("EVERREAL_TIMEOUT", None),
        ("EVERREAL_TIMEOUT", float("nan")),
        ("EVERREAL_DEADLINE", float("inf")),
        ("EVERREAL_RETRIES", 1.5),
        ("EVERREAL_WEBHOOK_MAX_BODY", "1 MiB"),
        ("EVERREAL_TOKEN_LOCK_WAIT", [5]),
    ],
)
def test_a_wrong_number(settings, name, value):
    setattr(settings, name, value)
    [message] = check_settings()
    assert message.id == "everreal.E013"
    assert message.msg.startswith(f"{name} must be ")
    assert message.hint


@pytest.mark.parametrize("value", [True, False])
def test_a_bool_is_not_a_number(settings, value):
    settings.EVERREAL_RETRIES = value
    [message] = check_settings()
    assert message.id == "everreal.E013"
    assert message.msg == f"EVERREAL_RETRIES must be an integer, not bool {value}."


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("EVERREAL_REFRESH_LEEWAY", -1, "at least 0"),
        ("EVERREAL_RETRY_BACKOFF", -0.5, "at least 0"),
        ("EVERREAL_TIMEOUT", 0, "greater than 0"),
        ("EVERREAL_DEADLINE", -20.0, "greater than 0"),
        ("EVERREAL_WEBHOOK_MAX_ATTEMPTS", 0, "at least 1"),
        ("EVERREAL_TOKEN_CACHE_TIMEOUT", -300, "at least 0"),
    ],
)
def test_a_number_out_of_range(settings, name, value, expected):
    setattr(settings, name, value)
    [message] = check_settings()
    assert message.id == "everreal.E014"
    assert message.msg == f"{name} must be {expected}; got {value!r}."


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EVERREAL_REFRESH_LEEWAY", 0),
        ("EVERREAL_RETRIES", 0),
        ("EVERREAL_REFRESH_COOLDOWN", 0),
        ("EVERREAL_TIMEOUT", 0.1),
        ("EVERREAL_DEADLINE", 20),
        ("EVERREAL_WEBHOOK_LEASE", 1),
    ],
)
def test_numbers_at_their_bounds_pass(settings, name, value):
    setattr(settings, name, value)
    assert ids() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("EVERREAL_SUPERUSER_SCOPES", "superadmin_all"),
        ("EVERREAL_SUPERUSER_SCOPES", ("superadmin_all", "company_admin")),
        ("EVERREAL_SUPERUSER_SCOPES", {"superadmin_all"}),
        ("SOCIAL_AUTH_EVERREAL_SCOPE", "company_user message_templates_all"),
        ("SOCIAL_AUTH_EVERREAL_SCOPE", None),
        ("EVERREAL_TOKEN_AUDIENCES", "mobile-app"),
    ],
)
def test_a_string_or_a_list_of_strings_passes(settings, name, value):
    setattr(settings, name, value)
    assert ids() == []


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("EVERREAL_SUPERUSER_SCOPES", ["superadmin_all", 1], "(1: int)"),
        ("SOCIAL_AUTH_EVERREAL_SCOPE", [b"company_user"], "(0: bytes)"),
        ("EVERREAL_TOKEN_AUDIENCES", [None, "app"], "(0: NoneType)"),
    ],
)
def test_a_list_of_non_strings(settings, name, value, problem):
    setattr(settings, name, value)
    [message] = check_settings()
    assert message.id == "everreal.E015"
    assert message.msg.startswith(f"{name} must be a list of strings")
    assert message.msg.endswith(f"holds items that are not strings {problem}.")


@pytest.mark.parametrize("value", [5, {"superadmin_all": True}, b"superadmin_all"])
def test_not_a_list_at_all(settings, value):
    settings.EVERREAL_SUPERUSER_SCOPES = value
    [message] = check_settings()
    assert message.id == "everreal.E015"
    assert f"it is {type(value).__name__}." in message.msg


@pytest.mark.parametrize(
    "name",
    [
        "SOCIAL_AUTH_EVERREAL_KEY",
        "SOCIAL_AUTH_EVERREAL_REDIRECT_URI",
        "EVERREAL_WEBHOOK_BASE_URL",
        "EVERREAL_TOKEN_CACHE",
        "EVERREAL_TOKEN_CUSTOMER_HEADER",
    ],
)
def test_a_string_of_the_wrong_type(settings, name):
    setattr(settings, name, 12345)
    # A check of the value itself (E001, E004) does not repeat the type error.
    assert ids() == ["everreal.E012"]


def test_a_secret_of_the_wrong_type_is_not_shown(settings):
    settings.SOCIAL_AUTH_EVERREAL_SECRET = b"demo-secret"
    [message] = check_settings()
    assert message.id == "everreal.E012"
    assert "demo-secret" not in f"{message.msg} {message.hint}"
    assert "not bytes" in message.msg


def test_none_means_the_default_where_conf_reads_it_so(settings):
    settings.SOCIAL_AUTH_EVERREAL_BASE_URL = None
    settings.EVERREAL_WEBHOOK_BASE_URL = None
    settings.EVERREAL_TOKEN_AUDIENCES = None
    assert ids() == []


@pytest.mark.parametrize("value", ["no", 0, None])
def test_a_wrong_boolean(settings, value):
    settings.EVERREAL_TOKEN_CREATE_USERS = value
    [message] = check_settings()
    assert message.id == "everreal.E016"
    assert message.msg.startswith("EVERREAL_TOKEN_CREATE_USERS must be True or False")


def test_settings_with_a_check_of_their_own_are_reported_once(settings):
    settings.SOCIAL_AUTH_EVERREAL_TOKEN_REQUEST_FORMAT = 5
    settings.EVERREAL_TOKEN_KEYS = "not-a-list"
    settings.EVERREAL_WEBHOOKS = ["LISTING_CREATED"]
    assert sorted(ids()) == ["everreal.E005", "everreal.E008", "everreal.E009"]


def test_each_wrong_setting_is_reported(settings):
    settings.EVERREAL_TIMEOUT = "ten"
    settings.EVERREAL_SUPERUSER_SCOPES = [1]
    settings.EVERREAL_RETRIES = -1
    messages = check_settings()
    assert sorted(message.id or "" for message in messages) == [
        "everreal.E013",
        "everreal.E014",
        "everreal.E015",
    ]
    assert all(isinstance(message, checks.Error) for message in messages)


def test_the_type_check_runs_with_manage_py_check(settings):
    settings.EVERREAL_TIMEOUT = "ten"
    with pytest.raises(SystemCheckError, match=r"everreal\.E013"):
        call_command("check")
