"""Whatever EverReal answers, the site answers cleanly: property-based tests.

Token responses, refresh responses and userinfo payloads are generated
(wrong types, nulls, huge and unicode strings, NULs and control characters,
huge numbers, NaN and Infinity, bodies that are not JSON, wrong content
types) and driven through the fake EverReal into the whole login callback,
a refresh, ``everreal_sync`` and ``everreal_service_login``. Each ends in a
clean login or a clean refusal: never a 500 or an escaping exception, no
half-made rows, no token in a response or a log line.

Each example runs in a transaction of its own that is rolled back, with a
fresh test client, and the fake's pending faults cleared: function-scoped
fixtures (the fake, ``caplog``) are shared by the examples of one test.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from social_django.models import UserSocialAuth

from django_everreal import protocol
from django_everreal.client import EverRealClient
from django_everreal.exceptions import EverRealUnavailable
from django_everreal.exceptions import ReauthenticationRequired
from django_everreal.messages import HEIMDALL_MESSAGES
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Partner
from django_everreal.models import ServiceAccount
from django_everreal.testing import FakeUser
from django_everreal.testing.login_flow import EverRealLogin
from django_everreal.tokens import TokenStore
from django_everreal.views import DEFAULT_MESSAGE
from django_everreal.views import MESSAGES_BY_CODE

pytestmark = pytest.mark.django_db

HYPOTHESIS = settings(
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NOT_UNDERSTOOD = "EverReal sent an answer this site does not understand."
#: What a refused login may say, as the page shows it: every message the callback knows.
REFUSALS = {
    escape(str(message))
    for message in [
        *MESSAGES_BY_CODE.values(),
        *HEIMDALL_MESSAGES.values(),
        DEFAULT_MESSAGE,
    ]
}
#: Every generated token carries one: found in a page or a log, it leaked.
MARKER = re.compile(r"tok[0-9a-f]{32}")
ROBOT_PASSWORD = "Robot-Pa55word-7f3a"

# -- strategies -------------------------------------------------------------------

NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "\x1b[31m",
    "\t\n\r",
    "\u2028",
    "\u202e",
    "Infinity",
    "-Infinity",
    "NaN",
    "1E20",
    "1e308",
    "251606444101",
    "9" * 400,
    "null",
    "true",
    "ä€🙂",
    "<script>alert(1)</script>",
    "x" * 151,
    "n" * 300,
    "e" * 250 + "@example.com",
]
strings = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=20),
    # Every code point, surrogates and controls included.
    st.text(st.characters(codec=None, exclude_categories=()), max_size=20),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.sampled_from([251606444101, 10**20, 2**63, -(2**63), 1e308, -1e308]),
)
leaves = st.one_of(st.none(), st.booleans(), numbers, strings)
junk = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(strings, children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def token_values(draw: st.DrawFn) -> Any:
    """A token as EverReal might send one: a good one, a string with junk in it, not a string."""
    marker = "tok" + draw(st.uuids()).hex
    return draw(
        st.one_of(
            st.just(f"eyJ.{marker}.sig"),
            st.just(f"eyJ.{marker}.sig"),
            st.just(f"{marker}-_~+/="),
            st.builds(lambda s: f"{marker}{s}", strings),
            st.builds(lambda s: f"{s}{marker}", strings),
            st.sampled_from([True, False, 1, 0, [marker], {"token": marker}, ""]),
            st.none(),
            junk,
        )
    )


expires_values = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**6),
    numbers,
    st.sampled_from(
        ["3600", " 60 ", "1E20", "inf", "-inf", "nan", "1e308", "-5", "3600.5"]
    ),
    strings,
    junk,
)
token_objects = st.fixed_dictionaries(
    {"access_token": token_values()},
    optional={
        "refresh_token": token_values(),
        "expires_in": expires_values,
        "token_type": st.one_of(st.just("Bearer"), junk),
        "scope": junk,
        "error": st.one_of(st.sampled_from(["invalid_grant", "server_error"]), junk),
    },
)


@st.composite
def nearly_good_tokens(draw: st.DrawFn) -> dict[str, Any]:
    """A good token response with one field replaced: the edge of what is accepted."""
    marker = draw(st.uuids()).hex
    field, value = draw(
        st.one_of(
            st.tuples(st.just("access_token"), token_values()),
            st.tuples(st.just("refresh_token"), token_values()),
            st.tuples(st.just("expires_in"), expires_values),
            st.tuples(st.just("token_type"), st.one_of(strings, junk)),
        )
    )
    return {
        "access_token": f"eyJ.tok{marker}.a",
        "refresh_token": f"eyJ.tok{marker}.r",
        "expires_in": 3600,
        "token_type": "Bearer",
        field: value,
    }


#: Bodies that are not JSON objects: other JSON, no JSON, nesting too deep to parse.
odd_bodies = st.one_of(
    st.lists(junk, max_size=3),
    numbers,
    st.booleans(),
    st.sampled_from(
        [
            "",
            "<html><body>Bad Gateway</body></html>",
            "{",
            '{"access_token": ',
            "NaN",
            "[" * 5000,
            "[" * 5000 + "]" * 5000,
        ]
    ),
    st.binary(max_size=40),
)
content_types = st.sampled_from(
    [
        (),
        (("Content-Type", "text/html; charset=utf-8"),),
        (("Content-Type", "application/json; charset=latin-1"),),
        (("Content-Type", "application/xml"),),
    ]
)
#: (status, body, headers) of a token endpoint's answer.
token_answers = st.tuples(
    st.sampled_from([200] * 12 + [400, 401, 403, 429, 500, 503]),
    st.one_of(token_objects, token_objects, nearly_good_tokens(), odd_bodies),
    content_types,
)
#: Fields of EverReal's user replaced: mostly with strings, the database's troubles.
userinfo_overrides = st.fixed_dictionaries(
    {},
    optional=dict.fromkeys(
        (
            "email",
            "firstName",
            "lastName",
            "isActive",
            "isTenant",
            "profilePhoto",
            "profileData",
            "companies",
            "currentCompany",
            "tokenInfo",
            "access_token",
            "refresh_token",
            "expires_in",
            "token_type",
        ),
        st.one_of(strings, strings, junk),
    ),
)
nested_strings = st.fixed_dictionaries(
    {
        "companies": st.lists(
            st.fixed_dictionaries(
                {"id": strings, "name": strings}, optional={"isDefault": junk}
            ),
            max_size=3,
        ),
        "currentCompany": st.fixed_dictionaries(
            {"id": strings, "name": strings},
            optional={
                "partner": st.fixed_dictionaries(
                    {"id": strings, "name": strings, "subdomain": strings}
                )
            },
        ),
        "tokenInfo": st.fixed_dictionaries({"scope": st.lists(strings, max_size=4)}),
        "profileData": st.fixed_dictionaries({"language": strings}),
    }
)
#: A userinfo answer: EverReal's user with fields replaced, or no userinfo at all.
userinfo_answers = st.one_of(
    userinfo_overrides,
    userinfo_overrides,
    nested_strings,
    nested_strings,
    st.builds(lambda fields, id_: {**fields, "id": id_}, userinfo_overrides, junk),
    odd_bodies,
)


# -- helpers ----------------------------------------------------------------------


@contextmanager
def rolled_back() -> Iterator[None]:
    """One example's rows, gone when it ends: the next one starts from nothing."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def userinfo_body(fake: Any, answer: Any, email: str = "anna@example.com") -> Any:
    if isinstance(answer, dict):
        return {**fake.user(email).userinfo(), **answer}
    return answer


def valid_token_answer(status: int, body: Any) -> bool:
    """This test's own reading of a usable token response, independent of ``protocol``."""
    if status != 200 or not isinstance(body, dict) or "error" in body:
        return False

    def token(value: Any) -> bool:
        return (
            isinstance(value, str)
            and re.fullmatch(r"[!-~]{1,16384}", value) is not None
        )

    def seconds(value: Any) -> bool:
        if value is None:
            return True
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return False
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        )

    token_type = body.get("token_type")
    return (
        token(body.get("access_token"))
        and (body.get("refresh_token") is None or token(body["refresh_token"]))
        and seconds(body.get("expires_in"))
        and (token_type is None or (isinstance(token_type, str) and token(token_type)))
        and (not isinstance(token_type, str) or len(token_type) <= 64)
    )


def markers(*values: Any) -> set[str]:
    return set(MARKER.findall(json.dumps(values, default=repr)))


def assert_no_leak(found: set[str], *texts: str) -> None:
    for text in texts:
        for marker in found:
            assert marker not in text


def assert_fits_and_clean(row: Any) -> None:
    """Every text field of *row* fits its column and holds no NUL nor surrogate."""
    for field in row._meta.concrete_fields:
        value = getattr(row, field.attname)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str):
                assert protocol.clean_text(item) is not None, field.name
                if field.max_length:
                    assert len(item) <= field.max_length, field.name


def nothing_created(client: Client) -> None:
    assert get_user_model().objects.count() == 0
    assert UserSocialAuth.objects.count() == 0
    assert Account.objects.count() == 0
    assert Company.objects.count() == 0
    assert Partner.objects.count() == 0
    assert "_auth_user_id" not in client.session


def linked_account(fake: Any, *, due: bool) -> Account:
    user = get_user_model().objects.create_user("anna", email="anna@example.com")
    account = Account(user=user, everreal_id=fake.user("anna@example.com").id)
    tokens = fake.issue_tokens("anna@example.com")
    account.set_tokens(tokens["access_token"], tokens["refresh_token"], 3600)
    if due:
        account.access_token_expires_at = timezone.now() - timedelta(minutes=1)
    account.save()
    return account


TOKEN_COLUMNS = ("encrypted_access_token", "encrypted_refresh_token", "reauth_required")


def stored_tokens(account: Account) -> tuple[Any, ...]:
    return Account.objects.values_list(*TOKEN_COLUMNS).get(pk=account.pk)


# -- at login ---------------------------------------------------------------------


def login_with(
    fake: Any, caplog: Any, token_answer: tuple[int, Any, Any], userinfo: Any
) -> None:
    """One whole login (begin, EverReal's form, the callback) with crafted answers."""
    status, body, headers = token_answer
    fake.reset()
    caplog.clear()
    client = Client()
    with rolled_back():
        location = fake.authorize_redirect(
            EverRealLogin(client, fake).begin(), "anna@example.com", "demo"
        )
        fake.fail_next("token", status, body, headers=headers)
        answer = userinfo_body(fake, userinfo)
        fake.fail_next("userinfo", 200, answer)
        response = EverRealLogin(client, fake).complete(location)

        assert isinstance(response, HttpResponse)
        content = response.content.decode()
        event(f"login answered {response.status_code}")
        assert_no_leak(markers(body), content, caplog.text)
        assert response.status_code in (302, 400, 403), content
        if response.status_code == 302:
            account = Account.objects.select_related("user").get()
            assert account.access_token == body["access_token"]
            assert valid_token_answer(status, body)
            assert_fits_and_clean(account)
            assert_fits_and_clean(account.user)
            assert_fits_and_clean(UserSocialAuth.objects.get())
            json.dumps(UserSocialAuth.objects.get().extra_data, allow_nan=False)
        else:
            assert any(message in content for message in REFUSALS), content
            nothing_created(client)
            if valid_token_answer(status, body) and userinfo == {}:
                pytest.fail(f"A usable answer was refused: {content}")


def far_future_jwt(exp: Any) -> str:
    """An unsigned JWT expiring at *exp*: for answers without ``expires_in``."""
    return jwt.encode({"exp": exp, "sub": "tok" + "4" * 32}, "", algorithm="none")


FAR_FUTURE = [
    {
        "access_token": far_future_jwt(exp),
        "refresh_token": "eyJ.tok" + "5" * 32,
        "token_type": "Bearer",
    }
    for exp in (251606444101, 10**30, 1e300)
]
GOOD_TOKENS = {
    "access_token": "eyJ.tok" + "0" * 32 + ".sig",
    "refresh_token": "eyJ.tok" + "1" * 32 + ".sig",
    "expires_in": 3600,
    "token_type": "Bearer",
}


@given(token_answer=token_answers)
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": True}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": 1}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": ["x"]}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": {"a": 1}}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": ""}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": "tok\x00"}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "access_token": "tök€n"}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "expires_in": 251606444101}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "expires_in": "1E20"}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "token_type": math.inf}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "token_type": math.nan}, ()))
@example(token_answer=(200, "[" * 5000, ()))
@example(token_answer=(200, FAR_FUTURE[0], ()))
@example(token_answer=(200, FAR_FUTURE[1], ()))
@example(token_answer=(200, FAR_FUTURE[2], ()))
@settings(HYPOTHESIS, max_examples=250)
def test_login_with_hostile_token_responses(everreal_fake, caplog, token_answer):
    caplog.set_level(logging.DEBUG)
    login_with(everreal_fake, caplog, token_answer, {})


@given(userinfo=userinfo_answers)
@example(userinfo={"email": "a\x00@example.com"})
@example(userinfo={"email": "e" * 300 + "@example.com"})
@example(userinfo={"firstName": "F" * 151, "lastName": "L" * 300})
@example(userinfo={"firstName": "An\x00na"})
@example(userinfo={"id": "d3952cca\x00"})
@example(userinfo={"tokenInfo": {"scope": ["company_user\x00", "x\ud800"]}})
@example(userinfo={"companies": [{"id": "c\x00", "name": "n\x00"}]})
@example(userinfo={"currentCompany": {"id": "c1", "partner": {"id": "p\x00"}}})
@example(userinfo={"refresh_token": True, "expires_in": "1E20"})
@example(userinfo={"token_type": math.inf})
@settings(HYPOTHESIS, max_examples=250)
def test_login_with_hostile_userinfo(everreal_fake, caplog, userinfo):
    caplog.set_level(logging.DEBUG)
    login_with(everreal_fake, caplog, (200, GOOD_TOKENS, ()), userinfo)


# -- at refresh -------------------------------------------------------------------


@given(token_answer=token_answers)
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": True}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": ""}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "access_token": "tök€n"}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "expires_in": 251606444101}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "expires_in": "1E20"}, ()))
@example(token_answer=(200, {"access_token": "eyJ.tok" + "2" * 32}, ()))
@example(token_answer=(200, "[" * 5000 + "]" * 5000, ()))
@example(token_answer=(200, FAR_FUTURE[0], ()))
@example(token_answer=(200, FAR_FUTURE[1], ()))
@example(token_answer=(200, FAR_FUTURE[2], ()))
@settings(HYPOTHESIS, max_examples=250)
def test_refresh_with_hostile_answers(everreal_fake, caplog, token_answer):
    caplog.set_level(logging.DEBUG)
    status, body, headers = token_answer
    everreal_fake.reset()
    caplog.clear()
    with rolled_back():
        account = linked_account(everreal_fake, due=True)
        before = stored_tokens(account)
        everreal_fake.fail_next("token", status, body, headers=headers)
        try:
            token = TokenStore(account).refresh()
        except ReauthenticationRequired as exc:
            event("refresh: re-login needed")
            assert status == 401 or (
                isinstance(body, dict) and body.get("error") == "invalid_grant"
            )
            assert stored_tokens(account)[:2] == before[:2]
            assert_no_leak(markers(body), str(exc), caplog.text)
        except EverRealUnavailable as exc:
            event(f"refresh: {type(exc).__name__}")
            assert not valid_token_answer(status, body)
            assert stored_tokens(account) == before
            assert_no_leak(markers(body), str(exc), caplog.text)
        else:
            event("refresh: refreshed")
            assert valid_token_answer(status, body)
            stored = Account.objects.get(pk=account.pk)
            assert token == stored.access_token == body["access_token"]
            if body.get("refresh_token") is not None:
                assert stored.refresh_token == body["refresh_token"]
            expires = stored.access_token_expires_at
            assert expires is None or expires <= timezone.now() + timedelta(
                seconds=protocol.MAX_EXPIRES_IN
            )
            assert_no_leak(markers(body), caplog.text)


# -- in everreal_sync -------------------------------------------------------------


@given(
    refresh=st.one_of(st.none(), token_answers),
    userinfo=userinfo_answers,
)
@example(refresh=None, userinfo={"email": "a\x00@example.com", "firstName": "x" * 200})
@example(refresh=(200, {**GOOD_TOKENS, "expires_in": "1E20"}, ()), userinfo={})
@example(refresh=(200, {**GOOD_TOKENS, "refresh_token": True}, ()), userinfo={})
@example(refresh=None, userinfo="[" * 5000)
@settings(HYPOTHESIS, max_examples=150)
def test_everreal_sync_with_hostile_answers(everreal_fake, caplog, refresh, userinfo):
    caplog.set_level(logging.DEBUG)
    everreal_fake.reset()
    caplog.clear()
    with rolled_back():
        account = linked_account(everreal_fake, due=refresh is not None)
        synced_fields = ("email", "scopes", "current_company", "userinfo_digest")
        before = Account.objects.values(*synced_fields).get(pk=account.pk)
        if refresh is not None:
            status, body, headers = refresh
            everreal_fake.fail_next("token", status, body, headers=headers)
        everreal_fake.fail_next("userinfo", 200, userinfo_body(everreal_fake, userinfo))
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command("everreal_sync", stdout=out, stderr=err)
        except CommandError as exc:
            failure = str(exc)
        else:
            failure = ""
        output = out.getvalue() + err.getvalue() + failure
        event(failure or "synced")
        assert_no_leak(markers(refresh), output, caplog.text)
        stored = Account.objects.select_related("user").get(pk=account.pk)
        if ": synced" in output:
            assert_fits_and_clean(stored)
            assert_fits_and_clean(stored.user)
        else:
            if ": re-login needed" in output:
                status, body, _ = refresh
                assert status == 401 or body.get("error") == "invalid_grant"
            else:
                assert ": failed" in output and failure
            assert Account.objects.values(*synced_fields).get(pk=account.pk) == before


# -- in everreal_service_login ----------------------------------------------------


@given(token_answer=token_answers)
@example(token_answer=(200, {**GOOD_TOKENS, "refresh_token": 1}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "expires_in": 251606444101}, ()))
@example(token_answer=(200, {**GOOD_TOKENS, "access_token": "tök€n"}, ()))
@example(token_answer=(200, FAR_FUTURE[0], ()))
@example(token_answer=(200, FAR_FUTURE[1], ()))
@example(token_answer=(200, FAR_FUTURE[2], ()))
@settings(HYPOTHESIS, max_examples=100)
def test_service_login_with_hostile_answers(everreal_fake, caplog, token_answer):
    caplog.set_level(logging.DEBUG)
    status, body, headers = token_answer
    everreal_fake.reset()
    caplog.clear()
    if everreal_fake.find_user("robot@example.com") is None:
        everreal_fake.add_user(
            FakeUser(email="robot@example.com", password=ROBOT_PASSWORD)
        )
    with rolled_back():
        everreal_fake.fail_next("token", status, body, headers=headers)
        out, err = io.StringIO(), io.StringIO()
        try:
            call_command(
                "everreal_service_login",
                "reports",
                "--username",
                "robot@example.com",
                "--password-stdin",
                stdin=io.StringIO(f"{ROBOT_PASSWORD}\n"),
                stdout=out,
                stderr=err,
            )
        except CommandError as exc:
            event("service login refused")
            assert ServiceAccount.objects.count() == 0
            failure = str(exc)
        else:
            assert valid_token_answer(status, body)
            service = ServiceAccount.objects.get()
            assert service.access_token == body["access_token"]
            assert_fits_and_clean(service)
            failure = ""
        assert_no_leak(
            markers(body), out.getvalue(), err.getvalue(), failure, caplog.text
        )


# -- over a real socket -----------------------------------------------------------


def test_a_token_beyond_latin1_over_a_real_socket(everreal_server, settings, caplog):
    """``responses`` hides it: only ``http.client`` fails to encode such a header."""
    caplog.set_level(logging.DEBUG)
    settings.SOCIAL_AUTH_EVERREAL_BASE_URL = everreal_server.url
    fake = everreal_server.fake
    hostile = {**GOOD_TOKENS, "access_token": "tök€n-" + "3" * 32}

    client = Client()
    location = fake.authorize_redirect(
        EverRealLogin(client, fake).begin(), "anna@example.com", "demo"
    )
    fake.fail_next("token", 200, hostile)
    response = EverRealLogin(client, fake).complete(location)
    assert isinstance(response, HttpResponse)
    assert response.status_code == 400
    assert NOT_UNDERSTOOD in response.content.decode()
    nothing_created(client)
    assert fake.calls("userinfo") == []

    account = linked_account(fake, due=True)
    before = stored_tokens(account)
    fake.fail_next("token", 200, hostile)
    with pytest.raises(EverRealUnavailable):
        EverRealClient(account).userinfo()
    assert stored_tokens(account) == before
    assert "3" * 32 not in caplog.text


# -- where tokens are stored --------------------------------------------------------


@pytest.mark.parametrize(
    ("access_token", "expires_in"),
    [
        ("eyJ.a.b", 251606444101),
        ("eyJ.a.b", 10**20),
        ("eyJ.a.b", -5),
        (far_future_jwt(251606444101), None),
        (far_future_jwt(10**30), None),
        (far_future_jwt(1e300), None),
    ],
)
def test_set_tokens_never_overflows(access_token, expires_in):
    """Whoever calls it: a lifetime past the year 9999 is cut to ``MAX_EXPIRES_IN``."""
    account = Account()
    account.set_tokens(access_token, None, expires_in)
    assert account.access_token_expires_at is not None
    lifetime = account.access_token_expires_at - account.tokens_refreshed_at
    assert timedelta(0) <= lifetime <= timedelta(seconds=protocol.MAX_EXPIRES_IN)
