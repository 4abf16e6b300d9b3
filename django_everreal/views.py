"""The login callback, wrapped so that a failed login is a clear page, never a 500."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.db import DatabaseError
from django.db import transaction
from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import redirect
from django.shortcuts import render
from django.utils.functional import Promise
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from social_core.exceptions import SocialAuthBaseException
from social_django import views as social_views

from django_everreal import messages as texts
from django_everreal.conf import conf
from django_everreal.exceptions import UnknownCustomer
from django_everreal.middleware import error_response

logger = logging.getLogger("django_everreal")

#: Kept under their old names: sites import them.
MESSAGES_BY_CODE = texts.LOGIN_FAILURES
DEFAULT_MESSAGE = texts.LOGIN_FAILED
DISCONNECT_HEADING = texts.DISCONNECT_HEADING


#: Seconds a client should wait before trying a login again that met a database error.
RETRY_AFTER = 5


@never_cache
def begin(request: HttpRequest, backend: str) -> HttpResponse:
    """social-auth's login start; a database error is a 503 "try again", not a 500.

    ``?subdomain=`` naming no enabled customer is a 404 page.
    """
    try:
        response: HttpResponse = social_views.auth(request, backend)
        return response
    except UnknownCustomer:
        logger.info("EverReal login refused: unknown customer")
        return failure_page(request, MESSAGES_BY_CODE["unknown_customer"], 404)
    except DatabaseError as exc:
        return database_failed(request, exc)


def no_referrer(response: HttpResponse) -> HttpResponse:
    """The callback's URL carries the code and the state: no page may pass it on."""
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@csrf_exempt
def complete(
    request: HttpRequest, backend: str, *args: object, **kwargs: object
) -> HttpResponse:
    """social-auth's callback, with every failure a clear answer.

    The backend runs the pipeline in one transaction (a failure leaves no
    half-made user); EverReal is called before it, outside any transaction.
    """
    try:
        response: HttpResponse = social_views.complete(
            request, backend, *args, **kwargs
        )
    except SocialAuthBaseException as exc:
        # The backend turns every network failure into one of these.
        response = login_failed(request, exc)
    except DatabaseError as exc:
        response = database_failed(request, exc)
    return no_referrer(response)


@never_cache
def disconnect(
    request: HttpRequest, backend: str, association_id: int | None = None
) -> HttpResponse:
    """social-auth's unlinking; refused (e.g. the only way to log in) is a clear 403."""
    try:
        response: HttpResponse = social_views.disconnect(
            request, backend, association_id
        )
        return response
    except SocialAuthBaseException as exc:
        logger.warning("EverReal disconnect refused: %s", getattr(exc, "code", ""))
        return failure_page(
            request,
            MESSAGES_BY_CODE["disconnect_disallowed"],
            403,
            heading=DISCONNECT_HEADING,
        )
    except DatabaseError as exc:
        return database_failed(request, exc)


def database_failed(request: HttpRequest, exc: DatabaseError) -> HttpResponse:
    """A 503 "try again": the login's transaction was rolled back, nothing is lost.

    Lock timeouts, serialisation failures, a dropped connection: each passes
    when the login is tried again.
    """
    logger.warning("EverReal login failed: database error (%s)", type(exc).__name__)
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        # A broken connection is replaced before the session is saved.
        connection.close_if_unusable_or_obsolete()
    response = error_response(
        request,
        503,
        "temporarily_unavailable",
        MESSAGES_BY_CODE["database_error"],
        template="everreal/login_error.html",
    )
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def error_message(exc: SocialAuthBaseException) -> Promise:
    """What to tell the user: EverReal's own reason if known, else the kind of failure."""
    if exc.status_code == 401 and exc.stage == "token_exchange":
        # A bare 401 from the token endpoint: EverReal refused the client itself.
        return MESSAGES_BY_CODE["invalid_setting"]
    return texts.heimdall_message(exc.detail) or MESSAGES_BY_CODE.get(
        exc.code, DEFAULT_MESSAGE
    )


def login_failed(request: HttpRequest, exc: SocialAuthBaseException) -> HttpResponse:
    code = exc.code
    logger.warning(
        "EverReal login failed: %s (%s)",
        code,
        exc.detail or getattr(exc, "provider_code", "") or "",
    )
    status = (
        403
        if code in ("authentication_disallowed", "linked_to_another_customer")
        else 400
    )
    return failure_page(request, error_message(exc), status)


def failure_page(
    request: HttpRequest,
    message: Promise,
    status: int,
    heading: Promise | None = None,
) -> HttpResponse:
    """The error page, or with ``LOGIN_ERROR_URL`` set a redirect there with the message."""
    if conf.LOGIN_ERROR_URL:
        messages.error(request, str(message), fail_silently=True)
        return redirect(conf.LOGIN_ERROR_URL)
    return render(
        request,
        "everreal/login_error.html",
        {"message": message, "heading": heading},
        status=status,
    )
