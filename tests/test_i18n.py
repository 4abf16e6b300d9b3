"""The app speaks German: every user-facing string is in the shipped, compiled catalog."""

from __future__ import annotations

import ast
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import models
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils import translation
from django.utils.functional import Promise

import django_everreal
from django_everreal import sync
from django_everreal.admin import TOKEN_FIELDS
from django_everreal.admin import AccountInline
from django_everreal.admin import token_state
from django_everreal.messages import HEIMDALL_MESSAGES
from django_everreal.middleware import REAUTHENTICATION_REQUIRED
from django_everreal.middleware import UNAVAILABLE
from django_everreal.models import Account
from django_everreal.views import DEFAULT_MESSAGE
from django_everreal.views import MESSAGES_BY_CODE
from tests.everreal_accounts import make_account
from tests.everreal_accounts import make_company
from tests.everreal_accounts import make_partner
from tests.everreal_accounts import make_user

PACKAGE = Path(django_everreal.__file__).parent
LC_MESSAGES = PACKAGE / "locale" / "de" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de"}


@pytest.fixture(autouse=True)
def _no_language_left_active() -> Iterator[None]:
    """LocaleMiddleware activates the request's language in this thread; undo it."""
    yield
    translation.deactivate()


@pytest.fixture
def locale_middleware() -> Iterator[None]:
    """``LocaleMiddleware`` after the sessions, as the docs place it.

    Set up before any request of the test client: the client keeps the
    middleware it loaded on its first request.
    """
    middleware = list(settings.MIDDLEWARE)
    sessions = middleware.index("django.contrib.sessions.middleware.SessionMiddleware")
    middleware.insert(sessions + 1, "django.middleware.locale.LocaleMiddleware")
    with override_settings(MIDDLEWARE=middleware):
        yield


def msgid(text: Promise | str) -> str:
    """The English source of a lazy translation."""
    with translation.override(None):
        return str(text)


def german(text: Promise | str) -> str:
    with translation.override("de"):
        return str(text)


# -- the .po file and its compiled .mo -------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgstr: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    plural_msgstrs: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> str:
        """The entry's key in a .mo file."""
        key = self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"
        return key if self.msgid_plural is None else f"{key}\x00{self.msgid_plural}"

    @property
    def translations(self) -> list[str]:
        if self.msgid_plural is None:
            return [self.msgstr]
        return [self.plural_msgstrs[n] for n in sorted(self.plural_msgstrs)]


def read_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header first (a small parser for gettext's format)."""
    entries: list[Entry] = []
    entry = Entry()
    target: tuple[str, int] | None = None
    started = False

    def finish() -> None:
        nonlocal entry, target, started
        if started:
            entries.append(entry)
        entry, target, started = Entry(), None, False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#~"):
            entry.obsolete = True
            line = line[2:].strip()
            if not line:
                continue
        elif line.startswith("#,"):
            if started:
                finish()
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        elif line.startswith("#") or not line:
            if started and not line:
                finish()
            continue
        if line.startswith('"'):
            assert target is not None, f"stray string in {path}: {raw!r}"
            value: str = ast.literal_eval(line)
        else:
            keyword, _, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            if keyword == "msgid" and started and target != ("msgctxt", 0):
                finish()
            started = True
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            target = ("msgstr[]", int(match[1])) if match else (keyword, 0)
        name, index = target
        if name == "msgstr[]":
            entry.plural_msgstrs[index] = entry.plural_msgstrs.get(index, "") + value
        elif name == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + value
        elif name == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + value
        else:
            setattr(entry, name, getattr(entry, name) + value)
    finish()
    return entries


def read_mo(path: Path) -> dict[str, str]:
    """Every key and translation of a compiled .mo file."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _revision, count, originals, translations = struct.unpack(order + "4I", data[4:20])

    def strings(table: int) -> list[str]:
        found = []
        for n in range(count):
            length, offset = struct.unpack(
                order + "2I", data[table + 8 * n : table + 8 * n + 8]
            )
            found.append(data[offset : offset + length].decode("utf-8"))
        return found

    return dict(zip(strings(originals), strings(translations), strict=True))


@pytest.fixture(scope="module")
def po_entries() -> list[Entry]:
    entries = read_po(PO)
    assert entries[0].msgid == "", "the .po file has no header"
    return entries


@pytest.fixture(scope="module")
def catalog(po_entries: list[Entry]) -> dict[str, str]:
    """msgid -> German, from the .po file."""
    return {e.msgid: e.msgstr for e in po_entries[1:] if e.msgctxt is None}


def test_po_has_no_fuzzy_empty_or_obsolete_entry(po_entries):
    assert len(po_entries) > 50
    header = po_entries[0]
    assert "fuzzy" not in header.flags
    assert "Language: de\n" in header.msgstr
    assert "Content-Type: text/plain; charset=UTF-8\n" in header.msgstr
    for entry in po_entries[1:]:
        assert "fuzzy" not in entry.flags, entry.msgid
        assert not entry.obsolete, entry.msgid
        assert all(t.strip() for t in entry.translations), entry.msgid


def test_po_placeholders_match(po_entries):
    placeholder = re.compile(r"%\(\w+\)[sd]")
    for entry in po_entries[1:]:
        wanted = sorted(placeholder.findall(entry.msgid))
        assert "python-format" in entry.flags or not wanted, entry.msgid
        for translated in entry.translations:
            assert sorted(placeholder.findall(translated)) == wanted, entry.msgid


def test_mo_is_compiled_from_the_po(po_entries):
    """The shipped .mo holds exactly the .po's translations: recompile after editing."""
    compiled = read_mo(MO)
    expected = {e.key: "\x00".join(e.translations) for e in po_entries}
    # msgfmt leaves the POT-Creation-Date out of the header (reproducible builds).
    expected[""] = "".join(
        line
        for line in expected[""].splitlines(keepends=True)
        if not line.startswith("POT-Creation-Date:")
    )
    assert compiled == expected


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs GNU gettext")
def test_po_passes_msgfmt_check(tmp_path):
    msgfmt = shutil.which("msgfmt")
    assert msgfmt is not None
    result = subprocess.run(
        [msgfmt, "--check", "-o", str(tmp_path / "django.mo"), str(PO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert read_mo(tmp_path / "django.mo") == read_mo(MO)


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext")
def test_po_is_up_to_date_with_the_source(tmp_path, monkeypatch, po_entries):
    """makemessages on a copy of the package finds no string the .po lacks."""
    copy = tmp_path / "django_everreal"
    shutil.copytree(
        PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "testing")
    )
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["de"], verbosity=0)
    fresh = read_po(copy / "locale" / "de" / "LC_MESSAGES" / "django.po")
    assert {e.key: e.translations for e in fresh[1:]} == {
        e.key: e.translations for e in po_entries[1:]
    }
    assert not any("fuzzy" in e.flags or e.obsolete for e in fresh[1:])


# -- every user-facing string of the package is in the catalog -------------------


def lazy_strings() -> list[Any]:
    """The user-facing strings defined at import time: messages, labels, titles."""
    from django_everreal.drf import HasEverRealScopes

    found: list[Any] = [
        apps.get_app_config("everreal").verbose_name,
        DEFAULT_MESSAGE,
        REAUTHENTICATION_REQUIRED,
        UNAVAILABLE,
        HasEverRealScopes.message,
        *MESSAGES_BY_CODE.values(),
        *HEIMDALL_MESSAGES.values(),
    ]
    for model in apps.get_app_config("everreal").get_models():
        found += [model._meta.verbose_name, model._meta.verbose_name_plural]
        for model_field in model._meta.get_fields():
            if (
                isinstance(model_field, models.Field)
                and not model_field.auto_created
                and model_field.name
                not in {*TOKEN_FIELDS, "encrypted_client_secret", "token_hash"}
            ):
                found.append(model_field.verbose_name)
    model_admins = [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label == "everreal"
    ]
    inlines: list[Any] = [AccountInline]
    for model_admin in model_admins:
        inlines += model_admin.inlines
        for title, _options in getattr(model_admin, "fieldsets", None) or ():
            if title is not None:
                found.append(title)
        for action in getattr(type(model_admin), "actions", ()) or ():
            found.append(getattr(type(model_admin), action).short_description)
    owners: list[Any] = [*(type(m) for m in model_admins), *inlines]
    for owner in owners:
        names = [*getattr(owner, "list_display", ()), *owner.readonly_fields]
        for name in names:
            attribute = getattr(owner, name, None)
            if callable(attribute):
                found.append(attribute.short_description)
    for inline in inlines:
        # None: the model's own verbose names, already collected.
        found += [
            name
            for name in (inline.verbose_name, inline.verbose_name_plural)
            if name is not None
        ]
    return found


def test_every_label_and_message_is_lazy_and_translated(catalog):
    strings = lazy_strings()
    assert len(strings) > 80
    for text in strings:
        assert isinstance(text, Promise), f"not marked for translation: {text!r}"
        source = msgid(text)
        assert source in catalog, f"missing from the German catalog: {source!r}"
        assert german(text) == catalog[source]


def test_only_hidden_fields_lack_a_translated_label():
    plain = {
        f"{model.__name__}.{model_field.name}"
        for model in apps.get_app_config("everreal").get_models()
        for model_field in model._meta.get_fields()
        if isinstance(model_field, models.Field)
        and not isinstance(model_field.verbose_name, Promise)
    }
    assert plain == {
        f"{model}.{name}"
        for model in ("Account", "ServiceAccount")
        for name in ("encrypted_access_token", "encrypted_refresh_token")
    } | {
        "Membership.id",
        "Account.id",
        "ServiceAccount.id",
        "Customer.id",
        "Customer.encrypted_client_secret",
        "WebhookSubscription.id",
        "WebhookSubscription.token_hash",
        "WebhookEvent.id",
    }


def test_every_template_string_is_translated(catalog):
    templates = sorted((PACKAGE / "templates").rglob("*.html"))
    assert templates
    tag = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.*?)\1""")
    for template in templates:
        source = template.read_text(encoding="utf-8")
        assert "blocktrans" not in source, "teach this test blocktranslate"
        for _quote, text in tag.findall(source):
            assert catalog.get(text), f"{template.name}: {text!r} is not translated"


@pytest.mark.django_db
def test_runtime_strings_are_german():
    user = make_user()
    account = make_account(user, everreal_id="er-de", reauth_required=True)
    tally = sync.ResyncTally()
    tally.add(sync.ResyncResult(account, sync.SYNCED))
    tally.add(sync.ResyncResult(account, sync.FAILED, "x"))
    with translation.override("de"):
        assert token_state(account) == "Neuanmeldung nötig"
        assert tally.summary() == (
            "Synchronisiert: 1, Neuanmeldung nötig: 0, fehlgeschlagen: 1."
        )
    assert token_state(account) == "re-login needed"


def test_every_heimdall_message_has_its_own_german():
    for code, text in HEIMDALL_MESSAGES.items():
        english, translated = msgid(text), german(text)
        assert translated, code
        assert translated != english, f"{code}: {english!r} is not translated"


# -- the pages, in German and in English -----------------------------------------


@pytest.mark.django_db
def test_failed_login_page_in_german(
    locale_middleware, client, everreal_login, everreal_fake
):
    client.defaults.update(GERMAN)
    response = everreal_login.complete(
        everreal_fake.cancel_redirect(everreal_login.begin())
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "<title>Anmeldung bei EverReal fehlgeschlagen</title>" in html
    assert "Sie haben die Anmeldung bei EverReal abgebrochen." in html
    assert "Zurück zur Startseite" in html
    assert "You cancelled" not in html


@pytest.mark.django_db
def test_failed_login_page_in_english(
    locale_middleware, client, everreal_login, everreal_fake
):
    response = everreal_login.complete(
        everreal_fake.cancel_redirect(everreal_login.begin())
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "<title>EverReal login failed</title>" in html
    assert "You cancelled the EverReal login." in html
    assert "Back to the home page" in html
    assert "abgebrochen" not in html


@pytest.fixture
def anna(locale_middleware, everreal_login, everreal_fake):
    """Anna's access token is due and EverReal's token endpoint answers 503."""
    everreal_login("anna@example.com")
    account = Account.objects.get(email="anna@example.com")
    Account.objects.filter(pk=account.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    everreal_fake.fail_next("token", 503)
    return account


@pytest.mark.django_db
@pytest.mark.urls("tests.urls_client")
def test_unavailable_page_in_german(client, anna):
    response = client.get("/userinfo/", **GERMAN)
    assert response.status_code == 503
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "<title>EverReal ist nicht verfügbar</title>" in html
    assert (
        "EverReal ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."
        in html
    )
    assert "Erneut versuchen" in html
    assert "cannot be reached" not in html


@pytest.mark.django_db
@pytest.mark.urls("tests.urls_client")
def test_unavailable_json_in_german(client, anna):
    response = client.get("/userinfo/", HTTP_ACCEPT="application/json", **GERMAN)
    assert response.status_code == 503
    assert response.json()["message"] == (
        "EverReal ist gerade nicht erreichbar. Bitte versuchen Sie es gleich noch einmal."
    )


@pytest.fixture
def linked_account() -> Account:
    acme = make_partner("acme")
    account = make_account(
        make_user(first_name="Anna", last_name="Schmidt", email="anna@example.com"),
        scopes=["offline_access", "company_user"],
        companies=[make_company("Nordhaus", acme)],
        synced_at=timezone.now(),
    )
    account.set_tokens("access", "refresh", 3600)
    account.save()
    return account


GERMAN_CHANGELIST = [
    "EverReal-Konten",
    "<span>Berechtigungen (Scopes)</span>",
    "Aktuelles Unternehmen",
    "Zuletzt synchronisiert",
    "In EverReal aktiv",
    "Nach Mieter",
    "Nach Neuanmeldung nötig",
    "Ausgewählte Konten erneut von EverReal synchronisieren",
    '<td class="field-token_state">gültig bis ',
]
ENGLISH_CHANGELIST = [
    "EverReal accounts",
    "<span>Scopes</span>",
    "Current company",
    "Last synced",
    "Active in EverReal",
    "By tenant",
    "By re-login needed",
    "Re-sync selected accounts from EverReal",
    '<td class="field-token_state">valid until ',
]


@pytest.mark.django_db
def test_admin_changelist_in_german(locale_middleware, admin_client, linked_account):
    response = admin_client.get(reverse("admin:everreal_account_changelist"), **GERMAN)
    assert response.status_code == 200
    html = response.content.decode()
    for text in GERMAN_CHANGELIST:
        assert text in html
    for text in ENGLISH_CHANGELIST:
        assert text not in html


@pytest.mark.django_db
def test_admin_changelist_in_english(locale_middleware, admin_client, linked_account):
    response = admin_client.get(reverse("admin:everreal_account_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ENGLISH_CHANGELIST:
        assert text in html
    for text in GERMAN_CHANGELIST:
        assert text not in html
