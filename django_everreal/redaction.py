"""Keep EverReal tokens, codes and passwords out of logs and error reports.

Two halves:

* ``RedactSecretsFilter``, a ``logging.Filter`` that rewrites a record's
  message, arguments and formatted traceback before any handler sees them.
  The app puts it on the loggers whose records may carry EverReal secrets
  (``django_everreal``, python-social-auth's ``social`` and runserver's
  ``django.server``, see ``install_log_redaction``). A filter on a logger does
  not see records that merely propagate through it, so to cover every logger
  put the filter on your handlers as well::

      LOGGING = {
          "version": 1,
          "filters": {
              "redact_secrets": {"()": "django_everreal.redaction.RedactSecretsFilter"},
          },
          "handlers": {
              "console": {
                  "class": "logging.StreamHandler",
                  "filters": ["redact_secrets"],
              },
          },
          "root": {"handlers": ["console"], "level": "INFO"},
      }

* ``EverRealExceptionReporterFilter`` and ``EverRealExceptionReporter`` for
  Django's error pages and error e-mails::

      DEFAULT_EXCEPTION_REPORTER_FILTER = "django_everreal.redaction.EverRealExceptionReporterFilter"
      DEFAULT_EXCEPTION_REPORTER = "django_everreal.redaction.EverRealExceptionReporter"

  The filter hides settings, POST values and frame variables that are or hold
  secrets, with ``DEBUG = True`` too; the reporter also hides GET values
  (Django shows those unfiltered), such as the ``code`` and ``state`` of the
  login callback, and every value it knows to be secret wherever it appears.

The filter also escapes control characters (CR, LF and the other C0 and C1
controls) in each record's message and arguments, so that a value from the
wire, such as EverReal's ``error_description``, cannot forge log lines.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from functools import lru_cache
from itertools import islice
from types import FrameType
from types import TracebackType
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.http import QueryDict
from django.template.defaultfilters import pprint
from django.utils.datastructures import MultiValueDict
from django.utils.safestring import SafeString
from django.utils.safestring import mark_safe
from django.views.debug import ExceptionReporter
from django.views.debug import SafeExceptionReporterFilter

#: What a secret is replaced with: Django's own marker, so reports look alike.
REDACTED = SafeExceptionReporterFilter.cleansed_substitute

#: Parameter and key names whose values are secrets wherever they appear.
SECRET_NAMES = (
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "code_verifier",
    "password",
    "client_secret",
    "accessToken",
    "refreshToken",
    "idToken",
    "codeVerifier",
    "clientSecret",
)

#: In error reports the login callback's ``state``, and anything called a
#: ``token``, are hidden as well.
REPORT_SECRET_NAMES = (*SECRET_NAMES, "state", "token")

#: Header names whose whole value is a secret.
SECRET_HEADERS = (
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
    "HTTP_AUTHORIZATION",
    "HTTP_COOKIE",
)

# Frame variables with these names are secrets whatever their value looks
# like, when it is text or a container (an int ``code`` is a status code).
_SECRET_LOCALS = frozenset(
    {name.lower() for name in REPORT_SECRET_NAMES}
    | {"secret", "verifier", "tokens", "token_response", "credentials"}
)
_SECRET_LOCAL_TYPES = (str, bytes, Mapping, list, tuple, set, frozenset)

# Values worth replacing literally wherever they show in a report: long enough
# not to hit ordinary text, and made of characters HTML escaping leaves alone,
# so the text and the HTML report hold them the same.
_LITERAL = re.compile(r"[^\s<>&'\"]{8,}")
# Names whose values are collected for that: ``code`` as a local or a key is
# mostly an error code, which the report should keep; the callback's code is
# taken from the request.
_COLLECTED_NAMES = frozenset(_SECRET_LOCALS - {"code"})

#: The secret in a webhook receiver's URL: ``.../webhooks/<secret>/``.
_WEBHOOK_PATH = r"(?P<head>/webhooks/)[A-Za-z0-9_-]{16,}"

_JWT = r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
_BEARER = r"(?<![A-Za-z0-9])(?P<scheme>Bearer)\s+[A-Za-z0-9\-._~+/]+=*"


def _heads(alternatives: str) -> tuple[str, str]:
    """Where a value named like a secret starts: after ``'name':`` or ``('name',``."""
    key = rf"(?P<q>[\"'])(?:{alternatives})(?P=q)"
    return rf"{key}\s*:", rf"(?<!\w)\(\s*{key}\s*,"


# The cheap first look. Each rule needs, in the text it runs on: a secret
# name followed by a quote, or by "="; a header name followed by a quote, or
# by ":" or "=" after blanks; "Bearer" and a blank; "eyJ"; or "/webhooks/".
# Names and headers are looked for in the lowered text by the word they end
# with, with ``str.find``: far cheaper than a regular expression on every
# log line.
_NAME_ENDINGS = ("token", "code", "verifier", "password", "secret", "state")
_HEADER_ENDINGS = ("authorization", "cookie")
# Letters IGNORECASE takes for an ASCII one that ``str.lower`` does not make
# that letter: the capital I with a dot lowers to two characters, the dotless
# i and the long s stay as they are. (The Kelvin sign lowers to "k".)
_LOOKALIKES = {"\u0130": "i", "\u0131": "i", "\u017f": "s"}
_FOLD = str.maketrans(_LOOKALIKES)
#: A word, the characters one of which must come after it (None: a blank),
#: and whether blanks may come in between.
_Look = tuple[str, str | None, bool]


def _folded(text: str) -> str:
    """*text* lowered, every letter the rules take for an ASCII one made that letter."""
    if not text.isascii() and any(char in text for char in _LOOKALIKES):
        text = text.translate(_FOLD)
    return text.lower()


def _found(low: str, looks: tuple[_Look, ...]) -> bool:
    """Whether the lowered text *low* has a word of *looks* with what must follow it."""
    for word, nexts, blanks in looks:
        start = low.find(word)
        while start != -1:
            end = start + len(word)
            if nexts is None:
                if low[end : end + 1].isspace():
                    return True
            else:
                after = low[end:].lstrip()[:1] if blanks else low[end : end + 1]
                if after and after in nexts:
                    return True
            start = low.find(word, start + 1)
    return False


def _ending(name: str, endings: tuple[str, ...]) -> str:
    """The word *name* is looked for by: the ending it has, or itself."""
    folded = _folded(name)
    return next((end for end in endings if folded.endswith(end)), folded)


class _Rules:
    """The redaction rules for a set of secret names, each with its cheap look."""

    def __init__(self, names: tuple[str, ...]) -> None:
        name_words = dict.fromkeys(_ending(name, _NAME_ENDINGS) for name in names)
        header_words = dict.fromkeys(
            _ending(name, _HEADER_ENDINGS) for name in SECRET_HEADERS
        )
        self.looks: dict[str, tuple[_Look, ...]] = {
            "quoted_header": tuple((word, "\"'", False) for word in header_words),
            "header": tuple((word, ":=", True) for word in header_words),
            "quoted_name": tuple((word, "\"'", False) for word in name_words),
            "name": tuple((word, "=", False) for word in name_words),
            "bearer": (("bearer", None, False),),
        }
        # All of them at once, a word looked for once.
        self.any_look = (
            *((word, "\"':=", True) for word in header_words),
            *((word, "\"'=", False) for word in name_words),
            ("bearer", None, False),
        )
        self.words = tuple(word for word, _, _ in self.any_look)
        self.rules = _patterns(names)

    def needed(self, look: str, text: str, low: str) -> bool:
        """Whether the rules of *look* may match *text* (lowered: *low*)."""
        if look == "jwt":
            return "eyJ" in text
        if look == "webhook":
            return "/webhooks/" in text
        return _found(low, self.looks[look])

    def may_match(self, text: str) -> bool:
        """Whether a rule may match *text*: when not, ``redact`` leaves it alone."""
        if "eyJ" in text or "/webhooks/" in text:
            return True
        low = text.lower() if text.isascii() else _folded(text)
        for i, word in enumerate(self.words):  # the common case: none of them
            if word in low:
                return _found(low, self.any_look[i:])
        return False

    def redact(self, text: str) -> str:
        if not self.may_match(text):
            return text
        low = _folded(text)
        for pattern, replacement, look in self.rules:
            # A rule's look runs on the text as the rules before it left it.
            if self.needed(look, text, low):
                text, count = pattern.subn(replacement, text)
                if count:
                    low = _folded(text)
        return text


def _patterns(names: tuple[str, ...]) -> list[tuple[re.Pattern[str], str, str]]:
    """The redaction rules for *names*, in order.

    Each is a pattern, its replacement, and the cheap look
    (``_Rules.needed``) without which the pattern cannot match.
    """
    alternatives = "|".join(re.escape(name) for name in names)
    headers = "|".join(re.escape(name) for name in SECRET_HEADERS)
    return [
        # Headers in a dict's repr or JSON: {"Authorization": "Bearer ..."}.
        (
            re.compile(
                rf"(?P<head>(?P<q>[\"'])(?:{headers})(?P=q)\s*:\s*(?P<vq>[\"']))"
                r"(?:\\.|(?!(?P=vq)).)*(?P=vq)",
                re.IGNORECASE,
            ),
            rf"\g<head>{REDACTED}\g<vq>",
            "quoted_header",
        ),
        # Headers as lines: "Authorization: Basic ...", "Cookie=...".
        (
            re.compile(
                rf"(?P<head>(?<![A-Za-z0-9_-])(?:{headers})\s*[:=]\s*)(?=[^\s\"'])"
                r"(?:(?!\\[rn])[^\r\n<>])+",
                re.IGNORECASE,
            ),
            rf"\g<head>{REDACTED}",
            "header",
        ),
        # Python reprs with lists or tuples of values: a QueryDict's
        # 'code': ['...'], dict(request.GET.lists()), ('state', ['...']).
        *(
            (
                re.compile(
                    rf"(?P<head>{head}\s*)(?P<open>[\[(])"
                    r"(?:\s*b?(?P<iq>[\"'])(?:\\.|(?!(?P=iq)).)*(?P=iq)\s*,?)+"
                    r"\s*(?P<close>[\])])",
                    re.IGNORECASE,
                ),
                rf"\g<head>\g<open>'{REDACTED}'\g<close>",
                "quoted_name",
            )
            for head in _heads(alternatives)
        ),
        # JSON and Python reprs: "access_token": "...", 'password': '...',
        # b'...', and pairs from items(): ('state', '...').
        *(
            (
                re.compile(
                    rf"(?P<head>{head}\s*b?(?P<vq>[\"']))(?:\\.|(?!(?P=vq)).)*(?P=vq)",
                    re.IGNORECASE,
                ),
                rf"\g<head>{REDACTED}\g<vq>",
                "quoted_name",
            )
            for head in _heads(alternatives)
        ),
        # Query strings, form bodies and keyword arguments: code=..., password='...'.
        (
            re.compile(
                rf"(?P<head>(?<![A-Za-z0-9_])(?:{alternatives})=(?P<vq>[\"']?))"
                r"[^&\s'\"#<>]+",
                re.IGNORECASE,
            ),
            rf"\g<head>{REDACTED}",
            "name",
        ),
        (re.compile(_BEARER, re.IGNORECASE), rf"\g<scheme> {REDACTED}", "bearer"),
        (re.compile(_JWT), REDACTED, "jwt"),
        (re.compile(_WEBHOOK_PATH), rf"\g<head>{REDACTED}", "webhook"),
    ]


@lru_cache(maxsize=4)
def _rules(names: tuple[str, ...]) -> _Rules:
    return _Rules(names)


_DEFAULT_RULES = _rules(SECRET_NAMES)


def redact(text: str, names: tuple[str, ...] = SECRET_NAMES) -> str:
    """*text* with tokens, codes, passwords and secret headers replaced.

    Redacting twice gives the same text as redacting once.
    """
    rules = _DEFAULT_RULES if names is SECRET_NAMES else _rules(names)
    return rules.redact(text)


# C0 and C1 controls, DEL, and Unicode's line and paragraph separators: each
# can end a log line, or rewrite one on a terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_ESCAPES = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    return _CONTROL_ESCAPES.get(char) or repr(char)[1:-1]


def escape_controls(text: str) -> str:
    """*text* with control characters written as escapes: ``\\r``, ``\\n``, ``\\x1b``.

    The result is one line. Backslashes are left alone, so escaping twice
    gives the same text as escaping once.
    """
    return _CONTROL.sub(_escape_control, text)


def _redact_value(value: Any) -> Any:
    """A log argument with its secrets redacted and its controls escaped.

    Itself when there is nothing to change; otherwise its (changed) text.
    """
    if isinstance(value, str):
        return escape_controls(redact(value))
    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value)
    cleaned = escape_controls(redact(text))
    return value if cleaned == text else cleaned


def _plain(text: str) -> bool:
    """Whether *text* needs neither redacting nor escaping: the common case, looked at cheaply."""
    return (text.isprintable() or not _CONTROL.search(text)) and not (
        _DEFAULT_RULES.may_match(text)
    )


class RedactSecretsFilter(logging.Filter):
    """Redacts secrets from log records; lets every record through.

    It runs for each record of the loggers it is on, so it has to be cheap
    and must never raise: a broken log line is better than a lost one, and
    much better than a request that fails because of logging.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Not contextlib.suppress: on every log line, its context manager is
        # a cost the try statement does not have.
        try:
            redact_record(record)
        except Exception:
            return True
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Redact *record* in place: arguments, message, traceback and stack.

    The message and the arguments also get their control characters escaped,
    so the message is one line; the traceback and the stack keep theirs.
    A record whose message and arguments hold nothing to redact or escape,
    most of them, is left as it is.
    """
    if not _plain_message(record):
        _redact_message(record)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    elif record.exc_info:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        redacted = redact(text)
        if redacted != text:
            record.exc_text = redacted
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _plain_message(record: logging.LogRecord) -> bool:
    """Whether ``_redact_message`` would leave *record*'s message and arguments as they are.

    The message is looked at once formatted, as a secret may only show then
    ("access_tok%s" % "en=..."); an argument is plain when its text is in
    that plain message, or plain itself (it may not show whole: ``%.4s``,
    ``%d``, a mapping's unused key).
    """
    try:
        message = record.getMessage()
    except Exception:
        return False
    if not _plain(message):
        return False
    args = record.args
    if not args:
        return True
    values: Iterable[object] = ()
    if isinstance(args, Mapping):
        values = args.values()
    elif isinstance(args, tuple):
        msg = record.msg
        if isinstance(msg, str) and msg.count("%") == msg.count("%s"):
            # Only bare "%s": each argument's str() is in the message whole.
            # The text of a str is what is redacted, which str() of a
            # subclass of str need not give.
            return all(
                type(value) is str or not isinstance(value, str) or _plain(value)
                for value in args
            )
        values = args
    for value in values:
        if value is None or isinstance(value, (int, float)):
            continue
        text = value if isinstance(value, str) else str(value)
        if text not in message and not _plain(text):
            return False
    return True


def _redact_message(record: logging.LogRecord) -> None:
    """Redact and escape *record*'s arguments, then its message."""
    if isinstance(record.args, Mapping):
        record.args = {key: _redact_value(v) for key, v in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_redact_value(v) for v in record.args)
    try:
        message = record.getMessage()
    except Exception:
        record.msg = _redact_value(record.msg)
    else:
        redacted = escape_controls(redact(message))
        if redacted != message:
            # The message is only redacted whole: redacting the format string
            # alone could eat its placeholders ("Bearer %s").
            record.msg, record.args = redacted, None


#: The loggers whose own records may carry EverReal secrets.
DEFAULT_LOGGERS = ("django_everreal", "social", "django.server")


def install_log_redaction(logger_names: Iterable[str] = DEFAULT_LOGGERS) -> None:
    """Put a ``RedactSecretsFilter`` on *logger_names* and their existing children.

    Called when the app is ready; calling it again adds no second filter.
    Loggers created later under these names get none: the app logs through
    ``django_everreal`` itself, and the handler-level filter covers the rest.
    """
    names = tuple(logger_names)
    existing = [
        name
        for name, logger in list(logging.root.manager.loggerDict.items())
        if isinstance(logger, logging.Logger)
        and any(name.startswith(f"{parent}.") for parent in names)
    ]
    for name in (*names, *existing):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretsFilter) for f in logger.filters):
            logger.addFilter(RedactSecretsFilter())


class _Redacted:
    """Stands in for a frame variable whose text had secrets; shows the redacted text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _is_secret_name(name: object) -> bool:
    return isinstance(name, str) and name.lower() in _SECRET_LOCALS


def _literals(values: Iterable[object]) -> set[str]:
    """The texts among *values* worth replacing wherever they appear."""
    return {
        value
        for value in values
        if isinstance(value, str) and _LITERAL.fullmatch(value)
    }


def request_secrets(request: HttpRequest | None) -> set[str]:
    """This request's single-use values and the client secret, to hide anywhere.

    The login callback's ``code`` and ``state`` (and any other parameter named
    like a secret) from the query and the form, and
    ``SOCIAL_AUTH_EVERREAL_SECRET``.
    """
    found: set[str] = set()
    with contextlib.suppress(Exception):
        found |= _literals([getattr(settings, "SOCIAL_AUTH_EVERREAL_SECRET", "")])
    if request is None:
        return found
    for source in ("GET", "POST"):
        with contextlib.suppress(Exception):
            params = getattr(request, source, None)
            if isinstance(params, MultiValueDict):
                for name, values in params.lists():
                    if _is_secret_name(name):
                        found |= _literals(values)
    return found


class _Collector:
    """Collects the values held under secret names, looking at a bounded number of values.

    A report is made once per error, but a frame may hold huge or deeply
    nested data: past the budget the rest is not looked into (it is still
    redacted by name and by look).
    """

    def __init__(self, budget: int = 5000) -> None:
        self.found: set[str] = set()
        self.budget = budget

    def collect(self, value: Any, depth: int = 0) -> None:
        if depth > 4 or self.budget <= 0:
            return
        items: Iterable[tuple[Any, Any]]
        if isinstance(value, MultiValueDict):
            items = value.lists()
        elif isinstance(value, Mapping):
            items = value.items()
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in islice(value, 200):
                self.budget -= 1
                self.collect(item, depth + 1)
            return
        else:
            return
        for key, item in islice(items, 200):
            self.budget -= 1
            if isinstance(key, str) and key.lower() in _COLLECTED_NAMES:
                # A secret, or a list of them; a mapping is looked into by its keys.
                values = item if isinstance(item, (list, tuple)) else [item]
                self.found |= _literals(values)
            self.collect(item, depth + 1)


def frame_secrets(frames: Iterable[FrameType]) -> set[str]:
    """The values of secret-named variables and keys in *frames*, to hide anywhere."""
    collector = _Collector()
    for frame in frames:
        with contextlib.suppress(Exception):
            for name, value in frame.f_locals.items():
                collector.collect({name: value})
    return collector.found


def _callers(frame: FrameType | None) -> Iterator[FrameType]:
    while frame is not None:
        yield frame
        frame = frame.f_back


def _traceback_frames(
    exc_value: BaseException | None, tb: TracebackType | None
) -> Iterator[FrameType]:
    """The frames of *tb* and of the exceptions chained to *exc_value*."""
    seen: set[int] = set()
    pending: list[tuple[BaseException | None, TracebackType | None]] = [(exc_value, tb)]
    while pending:
        exc, current = pending.pop()
        if exc is not None:
            if id(exc) in seen:
                continue
            seen.add(id(exc))
            pending.extend(
                (chained, chained.__traceback__)
                for chained in (exc.__cause__, exc.__context__)
                if chained is not None
            )
        while current is not None:
            yield current.tb_frame
            current = current.tb_next


def redact_report_text(text: str, literals: Iterable[str] = ()) -> str:
    """*text* of an error report with secrets by name and by look, and *literals*, hidden."""
    text = redact(text, REPORT_SECRET_NAMES)
    for literal in sorted(literals, key=len, reverse=True):
        text = text.replace(literal, REDACTED)
    return text


class EverRealExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus EverReal's secrets by name and by look, with DEBUG on too.

    Settings, POST and GET values named like ``code``, ``state``,
    ``access_token``, ``refresh_token``, ``token``, ``password``,
    ``client_secret`` or ``code_verifier`` are hidden. Frame variables with
    such names are hidden when they hold text or a container; any other frame
    variable is shown with the secrets in its text hidden: JWTs, ``Bearer``
    credentials, values under such names in dicts, lists, tuples and
    QueryDicts, and, wherever they appear, the values of this request's
    ``code`` and ``state``, of secret-named variables in the calling frames,
    and the client secret.

    Unlike Django's filter it is active with ``DEBUG = True`` as well, so
    ``sensitive_variables`` and ``sensitive_post_parameters`` work there too:
    the tokens are live credentials of real EverReal users on any machine.
    """

    secret_names = frozenset(name.lower() for name in REPORT_SECRET_NAMES)

    def is_active(self, request: HttpRequest | None) -> bool:
        return True

    def is_secret_name(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.secret_names

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        if self.is_secret_name(key):
            return self.cleansed_substitute
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return redact(cleansed, REPORT_SECRET_NAMES)
        return cleansed

    def _cleansed_query_dict(self, params: QueryDict) -> QueryDict:
        params = params.copy()
        for name in list(params):
            if self.is_secret_name(name):
                params.setlist(
                    name, [self.cleansed_substitute] * len(params.getlist(name))
                )
            else:
                params.setlist(
                    name,
                    [redact(str(v), REPORT_SECRET_NAMES) for v in params.getlist(name)],
                )
        return params

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        cleansed = super().get_post_parameters(request)
        if isinstance(cleansed, QueryDict):
            return self._cleansed_query_dict(cleansed)
        return cleansed

    def get_safe_get_parameters(self, request: HttpRequest | None) -> Any:
        """``request.GET`` as an error report may show it."""
        if request is None or not hasattr(request, "GET"):
            return QueryDict()
        return self._cleansed_query_dict(request.GET)

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> Any:
        literals = request_secrets(request) | frame_secrets(_callers(tb_frame))
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if isinstance(value, str) and value == self.cleansed_substitute:
                cleansed.append((name, value))
            elif _is_secret_name(name) and isinstance(value, _SECRET_LOCAL_TYPES):
                cleansed.append((name, self.cleansed_substitute))
            else:
                cleansed.append((name, self._cleansed_variable(value, literals)))
        return cleansed

    def _cleansed_variable(self, value: Any, literals: Iterable[str] = ()) -> Any:
        text = pprint(value)
        redacted = redact_report_text(text, literals)
        return value if redacted == text else _Redacted(redacted)


class EverRealExceptionReporter(ExceptionReporter):
    """Django's reporter with GET values, the URL and the exception text cleansed.

    The rendered report goes through ``redact`` once more, and every value
    known to be secret (the request's ``code`` and ``state``, the client
    secret, secret-named variables of the traceback's frames) is replaced
    wherever it appears, so a secret that reached the report some other way
    does not show either.
    """

    def secret_literals(self) -> set[str]:
        return request_secrets(self.request) | frame_secrets(
            _traceback_frames(self.exc_value, self.tb)
        )

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().get_traceback_data()
        get_parameters = getattr(self.filter, "get_safe_get_parameters", None)
        if self.request is not None:
            if get_parameters is not None:
                data["request_GET_items"] = get_parameters(self.request).items()
            if "request_insecure_uri" in data:
                data["request_insecure_uri"] = redact(
                    str(data["request_insecure_uri"]), REPORT_SECRET_NAMES
                )
        for key in ("exception_value", "exception_notes"):
            if isinstance(data.get(key), str):
                data[key] = redact(data[key], REPORT_SECRET_NAMES)
        return data

    def get_traceback_html(self) -> SafeString:
        # Redaction only replaces text without markup by asterisks: the page
        # stays as safe as it was.
        html = redact_report_text(super().get_traceback_html(), self.secret_literals())
        return mark_safe(html)  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        text = redact_report_text(super().get_traceback_text(), self.secret_literals())
        return mark_safe(text)  # noqa: S308
