"""Django Ninja: EverReal access tokens as credentials.

Needs ``django-ninja`` (the ``ninja`` extra); nothing else in the package
imports it.

Ninja answers a request no auth class accepted with its own 401, built by the
exception handler of ``ninja.errors.AuthenticationError``, which sends no
``WWW-Authenticate`` header; an auth class cannot add one, because returning
``None`` is what lets Ninja try the next auth class. ``add_bearer_challenge``
registers a handler for that exception which makes the same 401 and adds the
RFC 6750 challenge: ``Bearer realm="api"``, with ``error="invalid_token"`` when
a token was presented and refused.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING
from typing import Any

from django.http import HttpRequest
from django.http import HttpResponse
from ninja.errors import AuthenticationError
from ninja.errors import HttpError
from ninja.security import HttpBearer

from django_everreal import bearer
from django_everreal import protocol
from django_everreal.exceptions import EverRealUnavailable

if TYPE_CHECKING:
    from ninja import NinjaAPI

logger = logging.getLogger("django_everreal")

#: Set on the request when a presented token was refused, for the challenge.
ERROR_ATTRIBUTE = "everreal_token_error"


class EverRealUnavailableError(HttpError):
    """A 503: EverReal could not check the token; ``retry_after`` in seconds when known."""

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__(
            503, "EverReal cannot be reached right now. Please try again in a moment."
        )
        self.retry_after = retry_after


class EverRealBearer(HttpBearer):
    """``Authorization: Bearer <EverReal access token>``, checked by EverReal's userinfo, cached.

    See ``django_everreal.bearer``. The operation's ``request.auth`` and
    ``request.user`` are the linked Django user (created and synced on first
    sight), the token's scopes are the user's permissions
    (``request.user.has_perm("everreal.company_user")``), and
    ``request.everreal`` calls EverReal with the token itself. A refused token
    is left to the next auth class (Ninja's 401 when none accepts it); EverReal
    out of reach is a 503, not a 401, so that apps retry instead of logging
    their user out.
    """

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:
        token = token.strip()
        try:
            if (
                not token
                or len(token) > protocol.MAX_TOKEN_LENGTH
                or not protocol.TOKEN_PATTERN.fullmatch(token)
            ):
                raise bearer.InvalidBearerToken("malformed")
            user, _identity = bearer.authenticate(request, token)
        except bearer.InvalidBearerToken as exc:
            setattr(request, ERROR_ATTRIBUTE, "invalid_token")
            logger.info("EverReal access token refused: %s", exc)
            return None
        except EverRealUnavailable as exc:
            raise EverRealUnavailableError(exc.retry_after) from exc
        request.user = user  # type: ignore[assignment]
        return user


def add_bearer_challenge(api: NinjaAPI, realm: str = "api") -> None:
    """Make *api*'s 401s carry ``WWW-Authenticate: Bearer realm=...`` (RFC 6750).

    With ``error="invalid_token"`` when ``EverRealBearer`` refused a token; and
    a 503 of ``EverRealBearer`` carries ``Retry-After`` when EverReal said when.
    Call it once after making the ``NinjaAPI``.
    """

    def challenge(request: HttpRequest, exc: Any) -> HttpResponse:
        response = api.create_response(
            request, {"detail": str(exc)}, status=exc.status_code
        )
        if exc.status_code == 401:
            value = f'Bearer realm="{realm}"'
            error = getattr(request, ERROR_ATTRIBUTE, None)
            if error:
                value += f', error="{error}"'
            response["WWW-Authenticate"] = value
        return response

    def unavailable(request: HttpRequest, exc: Any) -> HttpResponse:
        response = api.create_response(
            request, {"detail": str(exc)}, status=exc.status_code
        )
        if exc.retry_after is not None:
            response["Retry-After"] = str(math.ceil(exc.retry_after))
        return response

    api.add_exception_handler(AuthenticationError, challenge)
    api.add_exception_handler(EverRealUnavailableError, unavailable)
