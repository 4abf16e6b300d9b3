from __future__ import annotations

import io
import json
import logging
import logging.config
import random
import re
import sys
from datetime import timedelta

import pytest
from django.template.defaultfilters import pprint
from django.test import RequestFactory
from django.test import override_settings
from django.utils import timezone
from django.views.debug import ExceptionReporter
from django.views.debug import get_default_exception_reporter_filter
from django.views.decorators.debug import sensitive_variables

from django_everreal import redaction
from django_everreal.exceptions import EverRealUnavailable
from django_everreal.redaction import REDACTED
from django_everreal.redaction import EverRealExceptionReporter
from django_everreal.redaction import EverRealExceptionReporterFilter
from django_everreal.redaction import RedactSecretsFilter
from django_everreal.redaction import install_log_redaction
from django_everreal.redaction import redact
from django_everreal.tokens import TokenStore
from tests.everreal_accounts import make_account

JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJ1c2VyLTEiLCJqdGkiOiJhYmMifQ"
    ".c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
)
SECRET = "opaque-Secret-42"


def filtered(msg, *args, exc_info=None):
    record = logging.LogRecord(
        "django_everreal", logging.INFO, __file__, 1, msg, args or None, exc_info
    )
    assert RedactSecretsFilter().filter(record) is True
    return record


@pytest.mark.parametrize(
    "text",
    [
        f"token {JWT}",
        f"Authorization: Bearer {SECRET}",
        f"Authorization: Basic {SECRET}",
        f"Cookie: sessionid={SECRET}; accept-language=de-DE",
        f"{{'Authorization': 'Bearer {SECRET}', 'Accept': 'application/json'}}",
        f"{{'HTTP_COOKIE': '{SECRET}'}}",
        f"GET /auth/complete/everreal/?code={SECRET}&state=s HTTP/1.1",
        f"grant_type=refresh_token&refresh_token={SECRET}&client_id=demo-client",
        f"client_id=demo-client&client_secret={SECRET}",
        f"username=anna%40example.com&password={SECRET}&grant_type=password",
        f"code_verifier={SECRET}",
        f'{{"access_token": "{SECRET}", "expires_in": 3600}}',
        f'{{"refresh_token":"{SECRET}"}}',
        f"{{'password': '{SECRET}'}}",
        f"{{'client_secret': \"{SECRET}\"}}",
        f"password='{SECRET}'",
    ],
)
def test_redacts_each_kind(text):
    redacted = redact(text)
    assert SECRET not in redacted
    assert "c2lnbmF0dXJl" not in redacted
    assert REDACTED in redacted
    assert redact(redacted) == redacted


@pytest.mark.parametrize(
    "text",
    [
        "EverReal login failed: invalid_grant (heimdall.validation.code.invalid)",
        '"POST /accounts/oauth/token HTTP/1.1" 200 512',
        "status_code=200 error_code=5",
        "grant_type=refresh_token",
        "",
    ],
)
def test_leaves_harmless_text_alone(text):
    assert redact(text) == text


def test_keeps_the_shape_of_what_it_redacts():
    assert redact(f"/cb/?code={SECRET}&state=xyz") == f"/cb/?code={REDACTED}&state=xyz"
    assert (
        redact(f'{{"access_token": "{SECRET}", "token_type": "Bearer"}}')
        == f'{{"access_token": "{REDACTED}", "token_type": "Bearer"}}'
    )
    assert (
        redact(f"Authorization: Bearer {JWT}\nnext")
        == f"Authorization: {REDACTED}\nnext"
    )


def test_filter_redacts_formatted_message_and_args():
    record = filtered("refresh with %s for %s", JWT, "anna@example.com")
    assert JWT not in record.getMessage()
    assert "anna@example.com" in record.getMessage()
    assert all(JWT not in str(arg) for arg in record.args or ())


def test_filter_redacts_secrets_that_only_appear_once_formatted():
    record = filtered("Authorization: Bearer %s", SECRET)
    assert SECRET not in record.getMessage()
    assert record.getMessage() == f"Authorization: {REDACTED}"


def test_filter_redacts_mapping_args_and_objects():
    record = filtered("%(body)s", {"body": {"access_token": SECRET}})
    assert SECRET not in record.getMessage()


def test_filter_redacts_tracebacks():
    try:
        raise ValueError(f"bad answer {JWT}")
    except ValueError:
        record = filtered("failed", exc_info=sys.exc_info())
    assert JWT not in logging.Formatter().format(record)


def test_filter_never_raises_and_is_idempotent():
    record = filtered("%s %s", "only one")  # a broken format string
    assert record.msg == "%s %s"
    once = filtered("%s", f"code={SECRET}")
    message = once.getMessage()
    assert RedactSecretsFilter().filter(once) is True
    assert once.getMessage() == message


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("a\r\nb", "a\\r\\nb"),
        ("a\nb\tc", "a\\nb\\tc"),
        ("a\x00\x1b[2Jb\x7f", "a\\x00\\x1b[2Jb\\x7f"),
        ("a\x85b\x9bc", "a\\x85b\\x9bc"),
        ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),
    ],
)
def test_filter_escapes_control_characters(value, escaped):
    record = filtered("EverReal login failed: %s (%s)", "access_denied", value)
    assert record.getMessage() == f"EverReal login failed: access_denied ({escaped})"
    mapping = filtered("%(detail)s", {"detail": value})
    assert mapping.getMessage() == escaped
    assert filtered(f"said {value}").getMessage() == f"said {escaped}"
    assert filtered("%s", ValueError(value)).getMessage() == escaped


def test_escaping_keeps_redaction_and_is_idempotent():
    record = filtered("%s", f"Authorization: Bearer {SECRET}\r\nX-Next: 1")
    message = record.getMessage()
    assert message == f"Authorization: {REDACTED}\\r\\nX-Next: 1"
    assert RedactSecretsFilter().filter(record) is True
    assert record.getMessage() == message
    # Tracebacks keep their lines.
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        record = filtered("failed", exc_info=sys.exc_info())
    assert "first\nsecond" in logging.Formatter().format(record)


def test_the_apps_loggers_are_redacted(caplog):
    caplog.set_level(logging.DEBUG)
    logging.getLogger("django_everreal").warning("token %s", JWT)
    logging.getLogger("social").debug(
        "everreal: response %s", {"refresh_token": SECRET}
    )
    logging.getLogger("django.server").info(
        '"%s" %s %s', f"GET /cb/?code={SECRET} HTTP/1.1", 200, 0
    )
    assert len(caplog.records) == 3
    assert JWT not in caplog.text
    assert SECRET not in caplog.text


def test_install_is_idempotent():
    install_log_redaction()
    install_log_redaction()
    for name in ("django_everreal", "social", "django.server"):
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, RedactSecretsFilter) for f in filters) == 1


def test_handler_filter_from_logging_settings():
    """The documented LOGGING entry protects every logger a handler serves."""
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "redact_secrets": {
                    "()": "django_everreal.redaction.RedactSecretsFilter"
                }
            },
            "handlers": {
                "test": {
                    "class": "logging.StreamHandler",
                    "stream": stream,
                    "filters": ["redact_secrets"],
                }
            },
            "loggers": {
                "tests.redaction.elsewhere": {"handlers": ["test"], "propagate": False}
            },
        }
    )
    logger = logging.getLogger("tests.redaction.elsewhere.child")
    logger.warning("sent %s", f"Bearer {SECRET}")
    try:
        assert "Bearer" in stream.getvalue()
        assert SECRET not in stream.getvalue()
    finally:
        parent = logging.getLogger("tests.redaction.elsewhere")
        for handler in parent.handlers:
            parent.removeHandler(handler)


# The cheap look that lets plain records and texts through untouched.


class Shown:
    """An argument that is neither text nor a number: the filter looks at its str()."""

    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text


class Tagged(str):
    """A subclass of str, as Django's SafeString; its text is what is redacted."""

    def __str__(self):
        return "tagged"


def every_rule(text, names):
    """*text* with every rule applied, without the cheap look first."""
    for pattern, replacement, _ in redaction._patterns(names):
        text = pattern.sub(replacement, text)
    return text


FRAGMENTS = (
    *("access_token", "Refresh_Token", "accessToken", "code", "CODE_VERIFIER"),
    *("password", "client_secret", "state", "token", "id_token", "tokens"),
    *("Authorization", "HTTP_COOKIE", "Set-Cookie", "Bearer", "bearer"),
    *("=", ":", " ", "  ", "\t", "\u2003", "'", '"', "(", "[", ",", "{", "}"),
    *("]", ")", "b", "&", "?", "/", "%", "\n", "\x1b", "_", "-", "\\"),
    *("eyJ", JWT, SECRET, "/webhooks/", "abcdefghijklmnopqrstuvwxyz0123"),
    *("pa\u017f\u017fword", "author\u0130zation", "author\u0131zation", "tok\u212aen"),
    *("ä", "Müller", "\u0130", "\u0131", "\u017f", "\u212a"),
    *("'Authorization'", '"Set-Cookie"', "'access_token'", '"code"', "('state', "),
    *(": '", ': "', ": ['", "='", ": b'", "webhooks/"),
)


def random_texts(count, seed):
    rng = random.Random(seed)  # noqa: S311 -- repeatable test data
    for _ in range(count):
        yield "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 8)))


@pytest.mark.parametrize(
    "names", [redaction.SECRET_NAMES, redaction.REPORT_SECRET_NAMES]
)
def test_the_cheap_look_never_skips_a_rule_that_matches(names):
    """``redact`` gives what running every rule gives, on texts made to be tricky."""
    for text in random_texts(4000, seed=len(names)):
        assert redact(text, names) == every_rule(text, names), text


def test_the_cheap_look_folds_every_letter_the_rules_ignore_the_case_of():
    """Any character IGNORECASE matches to an ASCII letter, folded, is that letter."""
    letter = re.compile("[a-z]", re.IGNORECASE)
    for point in range(0x80, sys.maxunicode + 1):
        char = chr(point)
        if letter.fullmatch(char):
            folded = redaction._folded(char)
            assert folded.isascii(), hex(point)
            assert re.fullmatch(folded, char, re.IGNORECASE), hex(point)


@pytest.mark.parametrize(
    "text",
    [
        f"pa\u017f\u017fword={SECRET}",
        f"AUTHOR\u0130ZATION: Basic {SECRET}",
        f"{{'author\u0131zation': '{SECRET}'}}",
        f"Bearer\u2003{SECRET}",
        f"Cookie \t: {SECRET}",
    ],
)
def test_redacts_what_only_the_rules_case_and_blanks_match(text):
    assert SECRET not in redact(text)


def test_a_plain_record_is_left_as_it_is():
    args = ("anna@example.com", 12, {"city": "Berlin"})
    record = filtered("Synced %s: %d companies, %s", *args)
    assert record.msg == "Synced %s: %d companies, %s"
    assert record.args is not None
    assert tuple(record.args) == args
    assert record.args[2] is args[2]


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("%s=%s", ("code", SECRET)),
        ("%s%s", ("access_tok", f"en={SECRET}")),
        ("GET /cb/?access_tok%s", (f"en={SECRET}",)),
        ("%s %s", ("Authorization: Bearer", SECRET)),
        ("Bear%s", (f"er {SECRET}",)),
        ("%(key)s=%(value)s", {"key": "password", "value": SECRET}),
        ("%s: %s", ("{'refresh_token'", f"'{SECRET}'}}")),
    ],
)
def test_filter_redacts_secrets_made_by_formatting_plain_parts(msg, args):
    """Neither the format string nor any argument holds a secret alone."""
    record = filtered(msg, *args) if isinstance(args, tuple) else filtered(msg, args)
    assert SECRET not in record.getMessage()
    assert SECRET not in repr(record.args)


VALUES = [
    pytest.param(f"Bearer {SECRET}", id="str"),
    pytest.param(Tagged(f"Bearer {SECRET}"), id="str-subclass"),
    pytest.param(f"password={SECRET}".encode(), id="bytes"),
    pytest.param({"access_token": SECRET}, id="dict"),
    pytest.param([f"code={SECRET}"], id="list"),
    pytest.param((JWT,), id="tuple"),
    pytest.param(ValueError(f"token {JWT}"), id="exception"),
    pytest.param(Shown(f"client_secret={SECRET}"), id="object"),
    pytest.param("ok\r\nforged line", id="controls"),
]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("msg", ["%s", "x %r", "%.3s", "%-5s|"])
def test_filter_redacts_args_of_every_type_however_formatted(msg, value):
    """Whether the argument shows whole, in part (``%.3s``) or as its repr.

    A second argument keeps a lone dict from becoming the mapping of ``%(name)s``.
    """
    record = filtered(f"{msg} %s", value, "end")
    for text in (record.getMessage(), repr(record.args)):
        assert SECRET not in text
        assert "c2lnbmF0dXJl" not in text
        assert "\r" not in text
        assert "\n" not in text


@pytest.mark.parametrize("value", VALUES)
def test_filter_redacts_mapping_values_the_message_leaves_out(value):
    record = filtered("%(user)s logged in", {"user": "anna", "other": value})
    assert record.getMessage() == "anna logged in"
    assert SECRET not in repr(record.args)
    assert "c2lnbmF0dXJl" not in repr(record.args)
    assert "\r\n" not in repr(record.args["other"])


@pytest.mark.parametrize(
    "msg",
    [
        Shown(f"Authorization: Bearer {SECRET}"),
        ValueError(f"token {JWT}"),
        {"access_token": SECRET},
        f"password={SECRET}".encode(),
    ],
    ids=["object", "exception", "dict", "bytes"],
)
def test_filter_redacts_a_message_that_is_not_text(msg):
    record = filtered(msg)
    assert SECRET not in record.getMessage()
    assert "c2lnbmF0dXJl" not in record.getMessage()


def test_filter_redacts_a_non_text_format_with_args():
    record = filtered(Shown("Authorization: Bearer %s"), SECRET)
    assert record.getMessage() == f"Authorization: {REDACTED}"


def test_filter_redacts_tracebacks_and_stacks_of_plain_messages():
    try:
        raise ValueError(f"refresh_token={SECRET}")
    except ValueError:
        record = filtered("EverReal sync failed", exc_info=sys.exc_info())
    assert record.getMessage() == "EverReal sync failed"
    assert SECRET not in logging.Formatter().format(record)

    record = logging.LogRecord(
        "django_everreal", logging.ERROR, __file__, 1, "plain", None, None
    )
    record.exc_text = f"Traceback ...\nValueError: Bearer {SECRET}"
    record.stack_info = f"Stack (most recent call last):\n  code={SECRET}"
    assert RedactSecretsFilter().filter(record) is True
    assert SECRET not in logging.Formatter().format(record)


RECORD_FRAGMENTS = (*FRAGMENTS, "%s", "%s", "%r", "%d", "%%", "%.4s", "%(a)s")
RECORD_VALUES = (
    *FRAGMENTS,
    SECRET,
    f"en={SECRET}",
    "code",
    12,
    None,
    3.5,
    {"a": "b"},
    {"access_token": SECRET},
    Shown("tok"),
    Shown(f"en={SECRET}"),
    Tagged("plain"),
    Tagged(f"Bearer {SECRET}"),
)


def test_the_filters_shortcut_gives_what_full_redaction_gives():
    """A record left alone is one full redaction would have left alone too."""
    rng = random.Random(9)  # noqa: S311 -- repeatable test data
    for _ in range(3000):
        msg = "".join(rng.choice(RECORD_FRAGMENTS) for _ in range(rng.randint(1, 6)))
        args: tuple[object, ...]
        if "%(a)s" in msg and rng.random() < 0.8:
            args = ({"a": rng.choice(RECORD_VALUES), "b": rng.choice(RECORD_VALUES)},)
        else:
            args = tuple(
                rng.choice(RECORD_VALUES)
                for _ in range(msg.count("%") - 2 * msg.count("%%"))
            )
        record = filtered(msg, *args)
        expected = logging.LogRecord(
            "django_everreal", logging.INFO, __file__, 1, msg, args or None, None
        )
        redaction._redact_message(expected)
        assert (record.msg, record.args) == (expected.msg, expected.args), (msg, args)


# Django's error reports.


def reset_default_filter():
    """Django caches the filter the setting names; override_settings does not reset it."""
    get_default_exception_reporter_filter.cache_clear()  # type: ignore[attr-defined]


@pytest.fixture
def reporter_filter():
    reset_default_filter()
    with override_settings(
        DEFAULT_EXCEPTION_REPORTER_FILTER="django_everreal.redaction.EverRealExceptionReporterFilter"
    ):
        yield
    reset_default_filter()


@pytest.fixture
def failed_refresh(db, everreal_fake):
    """An exception raised inside ``TokenStore.request_refresh``, with tokens in its frames."""
    tokens = everreal_fake.issue_tokens("anna@example.com")
    account = make_account()
    account.set_tokens(tokens["access_token"], tokens["refresh_token"], 3600)
    account.access_token_expires_at = timezone.now() - timedelta(minutes=1)
    account.save()
    everreal_fake.fail_next("token", 502, {"error": "bad_gateway"})
    return refresh_error(TokenStore(account)), tokens


def refresh_error(store):
    """The traceback starts here: a frame that holds no token itself."""
    try:
        store.refresh()
    except EverRealUnavailable:
        return sys.exc_info()
    pytest.fail("The refresh did not fail.")


def report(request, exc_info, reporter=ExceptionReporter):
    instance = reporter(request, *exc_info)
    return instance.get_traceback_text(), instance.get_traceback_html()


def secrets_of(tokens):
    return [tokens["access_token"], tokens["refresh_token"], "demo-secret"]


def test_report_hides_tokens_with_djangos_filter(failed_refresh):
    """The package's own token-holding functions are marked ``sensitive_variables``."""
    exc_info, tokens = failed_refresh
    reset_default_filter()
    text, html = report(RequestFactory().post("/sync/"), exc_info)
    assert "request_refresh" in text
    for secret in secrets_of(tokens):
        assert secret not in text
        assert secret not in html


@override_settings(DEBUG=True)
def test_report_hides_tokens_with_everreal_filter_even_in_debug(
    reporter_filter, failed_refresh
):
    exc_info, tokens = failed_refresh
    text, html = report(RequestFactory().post("/sync/"), exc_info)
    assert "request_refresh" in text
    for secret in secrets_of(tokens):
        assert secret not in text
        assert secret not in html


def test_report_of_the_login_callback(reporter_filter):
    request = RequestFactory().get(
        f"/auth/complete/everreal/?code={SECRET}&state=state-{SECRET}&lang=de",
        HTTP_AUTHORIZATION=f"Bearer {JWT}",
        HTTP_COOKIE=f"sessionid=session-{SECRET}",
    )

    def callback(request, token_response):
        raise RuntimeError("the pipeline broke")

    try:
        callback(
            request, json.loads(f'{{"access_token": "{JWT}", "expires_in": 3600}}')
        )
    except RuntimeError:
        exc_info = sys.exc_info()
    text, html = report(request, exc_info, EverRealExceptionReporter)
    for output in (text, html):
        assert SECRET not in output
        assert JWT not in output
        assert "lang" in output
        assert "the pipeline broke" in output


@override_settings(
    SOCIAL_AUTH_EVERREAL_SECRET=SECRET,
    EVERREAL_TOKEN_KEYS=[SECRET],
    EVERREAL_EXTRA={"password": SECRET, "nested": {"code": SECRET}},
)
def test_report_hides_settings(reporter_filter):
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        text, html = report(None, sys.exc_info())
    assert "EVERREAL_EXTRA" in text
    assert SECRET not in text
    assert SECRET not in html


def test_report_hides_post_values(reporter_filter):
    request = RequestFactory().post(
        "/login/", {"password": SECRET, "code_verifier": SECRET, "next": "/home/"}
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        text, _ = report(request, sys.exc_info())
    assert SECRET not in text
    assert "/home/" in text


def callback_frame_variables(request, token_response):
    """A frame holding the callback's values in every shape; raises."""
    state = request.GET["state"]
    query = request.GET
    lists = dict(request.GET.lists())
    pairs = list(request.GET.items())
    nested = {"outer": [("code", [request.GET["code"]])], "jwt": (JWT,)}
    token = token_response["access_token"]
    copied = f"{token_response['refresh_token']}"
    verifier_bytes = {"code_verifier": f"verifier-{SECRET}".encode()}
    summary = {"where": "callback", "lang": request.GET["lang"]}
    shapes = (state, query, lists, pairs, nested, token, copied, verifier_bytes)
    raise RuntimeError(f"broke with {len(shapes)} shapes and {summary['where']}")


TOKEN_RESPONSE = {
    "access_token": f"access-{SECRET}",
    "refresh_token": f"refresh-{SECRET}",
    "expires_in": 3600,
}


def callback_request():
    return RequestFactory().get(
        f"/auth/complete/everreal/?code=code-{SECRET}&state=state-{SECRET}&lang=de"
    )


def callback_failure(request):
    try:
        callback_frame_variables(request, dict(TOKEN_RESPONSE))
    except RuntimeError:
        return sys.exc_info()
    pytest.fail("The callback did not fail.")


@override_settings(DEBUG=True)
def test_frame_variables_hide_secrets_whatever_their_repr():
    """List-valued reprs, a local named state, pairs, bytes, copies: none shows."""
    request = callback_request()
    _, _, tb = callback_failure(request)
    while tb.tb_next is not None:
        tb = tb.tb_next
    variables = dict(
        EverRealExceptionReporterFilter().get_traceback_frame_variables(
            request, tb.tb_frame
        )
    )
    assert set(variables) >= {"state", "query", "lists", "pairs", "copied", "summary"}
    shown = "\n".join(f"{name}={pprint(value)}" for name, value in variables.items())
    assert SECRET not in shown
    assert JWT not in shown
    assert variables["state"] == REDACTED
    assert variables["token"] == REDACTED
    assert f"'code': ['{REDACTED}']" in pprint(variables["lists"])
    assert "'lang': ['de']" in pprint(variables["lists"])
    assert variables["summary"] == {"where": "callback", "lang": "de"}


@override_settings(DEBUG=True)
def test_report_hides_secrets_whatever_their_repr(reporter_filter):
    request = callback_request()
    text, html = report(request, callback_failure(request), EverRealExceptionReporter)
    assert "callback_frame_variables" in html
    assert "summary" in html
    for output in (text, html):
        assert SECRET not in output
        assert JWT not in output


@sensitive_variables()
def sensitive_function(value):
    opaque = value
    raise RuntimeError(f"broke with {len(opaque)} characters")


@override_settings(DEBUG=True)
def test_sensitive_variables_are_honoured_in_debug(reporter_filter):
    """Django's own filter ignores ``sensitive_variables`` with DEBUG on; the app's does not."""
    try:
        sensitive_function(f"plain-{SECRET.lower()}")
    except RuntimeError:
        exc_info = sys.exc_info()
    _, html = report(None, exc_info)
    assert "sensitive_function" in html
    assert SECRET.lower() not in html
