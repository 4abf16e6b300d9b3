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
  secrets; the reporter also hides GET values (Django shows those unfiltered),
  such as the ``code`` and ``state`` of the login callback.
"""

from __future__ import annotations

import contextlib
import logging
import re
import traceback
from collections.abc import Iterable
from collections.abc import Mapping
from functools import lru_cache
from types import FrameType
from typing import Any

from django.http import HttpRequest
from django.http import QueryDict
from django.template.defaultfilters import pprint
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
)

#: In error reports the login callback's ``state`` is hidden as well.
REPORT_SECRET_NAMES = (*SECRET_NAMES, "state")

#: Header names whose whole value is a secret.
SECRET_HEADERS = (
    "Authorization",
    "Proxy-Authorization",
    "Cookie",
    "Set-Cookie",
    "HTTP_AUTHORIZATION",
    "HTTP_COOKIE",
)

# Locals with these names are secrets whatever their value looks like; not
# ``code``, which as a local is mostly an error or status code.
_SECRET_LOCALS = frozenset(SECRET_NAMES) - {"code"}

# A cheap first look: text without any of these needs no regular expressions.
_TRIGGER = re.compile(
    r"eyJ|bearer|token|code|password|secret|authorization|cookie|state",
    re.IGNORECASE,
)

_JWT = r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"
_BEARER = r"(?<![A-Za-z0-9])(?P<scheme>Bearer)\s+[A-Za-z0-9\-._~+/]+=*"


@lru_cache(maxsize=4)
def _patterns(names: tuple[str, ...]) -> list[tuple[re.Pattern[str], str]]:
    """The redaction rules for *names*: (pattern, replacement) pairs, in order."""
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
        ),
        # Headers as lines: "Authorization: Basic ...", "Cookie=...".
        (
            re.compile(
                rf"(?P<head>(?<![A-Za-z0-9_-])(?:{headers})\s*[:=]\s*)(?=[^\s\"'])"
                r"[^\r\n<>]+",
                re.IGNORECASE,
            ),
            rf"\g<head>{REDACTED}",
        ),
        # JSON and Python reprs: "access_token": "...", 'password': '...'.
        (
            re.compile(
                rf"(?P<head>(?P<q>[\"'])(?:{alternatives})(?P=q)\s*:\s*"
                r"(?P<vq>[\"']))(?:\\.|(?!(?P=vq)).)*(?P=vq)",
                re.IGNORECASE,
            ),
            rf"\g<head>{REDACTED}\g<vq>",
        ),
        # Query strings, form bodies and keyword arguments: code=..., password='...'.
        (
            re.compile(
                rf"(?P<head>(?<![A-Za-z0-9_])(?:{alternatives})=(?P<vq>[\"']?))"
                r"[^&\s'\"#<>]+",
                re.IGNORECASE,
            ),
            rf"\g<head>{REDACTED}",
        ),
        (re.compile(_BEARER, re.IGNORECASE), rf"\g<scheme> {REDACTED}"),
        (re.compile(_JWT), REDACTED),
    ]


def redact(text: str, names: tuple[str, ...] = SECRET_NAMES) -> str:
    """*text* with tokens, codes, passwords and secret headers replaced.

    Redacting twice gives the same text as redacting once.
    """
    if not _TRIGGER.search(text):
        return text
    for pattern, replacement in _patterns(names):
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    """A log argument with its secrets redacted; itself when it holds none."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (int, float)):
        return value
    text = str(value)
    redacted = redact(text)
    return value if redacted == text else redacted


class RedactSecretsFilter(logging.Filter):
    """Redacts secrets from log records; lets every record through.

    It runs for each record of the loggers it is on, so it has to be cheap
    and must never raise: a broken log line is better than a lost one, and
    much better than a request that fails because of logging.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        with contextlib.suppress(Exception):
            redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Redact *record* in place: arguments, message, traceback and stack."""
    if isinstance(record.args, Mapping):
        record.args = {key: _redact_value(v) for key, v in record.args.items()}
    elif isinstance(record.args, tuple):
        record.args = tuple(_redact_value(v) for v in record.args)
    try:
        message = record.getMessage()
    except Exception:
        record.msg = _redact_value(record.msg)
    else:
        redacted = redact(message)
        if redacted != message:
            # The message is only redacted whole: redacting the format string
            # alone could eat its placeholders ("Bearer %s").
            record.msg, record.args = redacted, None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    elif record.exc_info:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        redacted = redact(text)
        if redacted != text:
            record.exc_text = redacted
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


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


class EverRealExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus EverReal's secrets by name and by look.

    Settings, POST and GET values named like ``code``, ``state``,
    ``access_token``, ``refresh_token``, ``password``, ``client_secret`` or
    ``code_verifier`` are hidden; so is any frame variable or value whose text
    holds a token, a ``Bearer`` credential or such a parameter. Unlike
    Django's own cleansing, this part works with ``DEBUG = True`` too: the
    tokens are live credentials of real EverReal users on any machine.
    """

    secret_names = frozenset(REPORT_SECRET_NAMES)

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
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if isinstance(value, str) and value == self.cleansed_substitute:
                cleansed.append((name, value))
            elif name in _SECRET_LOCALS and isinstance(value, (str, bytes)):
                cleansed.append((name, self.cleansed_substitute))
            else:
                cleansed.append((name, self._cleansed_variable(value)))
        return cleansed

    def _cleansed_variable(self, value: Any) -> Any:
        text = pprint(value)
        redacted = redact(text, REPORT_SECRET_NAMES)
        return value if redacted == text else _Redacted(redacted)


class EverRealExceptionReporter(ExceptionReporter):
    """Django's reporter with GET values, the URL and the exception text cleansed.

    The rendered report goes through ``redact`` once more, so a token that
    reached it some other way does not show either.
    """

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
        # Redaction only replaces text by asterisks: the page stays as safe as it was.
        return mark_safe(redact(super().get_traceback_html(), REPORT_SECRET_NAMES))  # noqa: S308

    def get_traceback_text(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_text(), REPORT_SECRET_NAMES))  # noqa: S308
