"""The login callback, wrapped so that a failed login is a clear page, never a 500."""

from __future__ import annotations

import logging

import requests
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest
from django.http import HttpResponse
from django.shortcuts import redirect
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from social_core.exceptions import SocialAuthBaseException
from social_django import views as social_views

from django_everreal.conf import conf
from django_everreal.exceptions import heimdall_message

logger = logging.getLogger("django_everreal")

MESSAGES_BY_CODE: dict[str, Promise] = {
    "authorization_declined": _("You cancelled the EverReal login."),
    "missing_parameter": _("The EverReal login was interrupted. Please log in again."),
    "session_context_missing": _(
        "Your login session expired or was already used. Please log in again."
    ),
    "state_mismatch": _(
        "Your login session expired or was already used. Please log in again."
    ),
    "authentication_disallowed": _(
        "Your EverReal account may not log in to this site."
    ),
    "connection_failed": _(
        "EverReal cannot be reached right now. Please try again in a moment."
    ),
    "timeout": _("EverReal did not answer in time. Please try again in a moment."),
    "unavailable": _(
        "EverReal is unavailable right now. Please try again in a moment."
    ),
    "rate_limited": _("EverReal is busy right now. Please try again in a moment."),
    "malformed_response": _("EverReal sent an answer this site does not understand."),
    "missing_claim": _("EverReal sent an answer this site does not understand."),
    "invalid_setting": _(
        "This site's EverReal login is misconfigured. Please tell the site's administrators."
    ),
    "missing_setting": _(
        "This site's EverReal login is misconfigured. Please tell the site's administrators."
    ),
}
DEFAULT_MESSAGE = _("The EverReal login failed. Please try again.")


@never_cache
@csrf_exempt
def complete(
    request: HttpRequest, backend: str, *args: object, **kwargs: object
) -> HttpResponse:
    """social-auth's callback in one transaction: a failure leaves no half-made user."""
    try:
        with transaction.atomic():
            response: HttpResponse = social_views.complete(
                request, backend, *args, **kwargs
            )
            return response
    except SocialAuthBaseException as exc:
        return login_failed(request, exc)
    except requests.RequestException as exc:
        return login_failed(request, exc)


def error_message(exc: Exception) -> Promise:
    """What to tell the user: EverReal's own reason if known, else the kind of failure."""
    if isinstance(exc, SocialAuthBaseException):
        if exc.status_code == 401 and exc.stage == "token_exchange":
            # A bare 401 from the token endpoint: EverReal refused the client itself.
            return MESSAGES_BY_CODE["invalid_setting"]
        return heimdall_message(exc.detail) or MESSAGES_BY_CODE.get(
            exc.code, DEFAULT_MESSAGE
        )
    if isinstance(exc, requests.Timeout):
        return MESSAGES_BY_CODE["timeout"]
    return MESSAGES_BY_CODE["connection_failed"]


def login_failed(request: HttpRequest, exc: Exception) -> HttpResponse:
    code = getattr(exc, "code", type(exc).__name__)
    logger.warning(
        "EverReal login failed: %s (%s)",
        code,
        getattr(exc, "detail", "") or getattr(exc, "provider_code", "") or "",
    )
    message = error_message(exc)
    if conf.LOGIN_ERROR_URL:
        messages.error(request, str(message), fail_silently=True)
        return redirect(conf.LOGIN_ERROR_URL)
    status = 403 if code == "authentication_disallowed" else 400
    return render(
        request, "everreal/login_error.html", {"message": message}, status=status
    )
