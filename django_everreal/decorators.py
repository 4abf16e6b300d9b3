"""View decorators: EverReal scopes required, EverReal access tokens as credentials."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar
from typing import cast
from typing import overload

from asgiref.sync import iscoroutinefunction
from asgiref.sync import sync_to_async
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import user_passes_test
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http import HttpResponse
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _

from django_everreal import bearer
from django_everreal.auth import scope_permissions
from django_everreal.exceptions import EverRealUnavailable

if TYPE_CHECKING:
    from django.contrib.auth.models import _AnyUser as AnyUser
    from django.utils.functional import _StrOrPromise

View = TypeVar("View", bound=Callable[..., Any])

logger = logging.getLogger("django_everreal")


def scope_required(
    *scopes: str,
    login_url: _StrOrPromise | None = None,
    redirect_field_name: str = REDIRECT_FIELD_NAME,
    raise_exception: bool = True,
) -> Callable[[View], View]:
    """Let a view run only for users holding every one of *scopes*.

    Anonymous users go to ``login_url`` (default ``LOGIN_URL``) with the
    page in ``next``. Logged-in users lacking a scope get 403, since logging
    in again would not give them the scope; ``raise_exception=False`` sends
    them to the login page instead, as ``permission_required`` does.

    The check is ``user.has_perms(["everreal.<scope>", ...])``, so
    ``ScopeBackend`` (or any other backend) stays the single authority. Sync
    and async views both work.
    """
    perms = scope_permissions(scopes, owner="scope_required()")

    def check(user: AnyUser) -> bool:
        if not user.is_authenticated:
            return False
        if user.has_perms(perms):
            return True
        if raise_exception:
            raise PermissionDenied
        return False

    async def acheck(user: AnyUser) -> bool:
        if not user.is_authenticated:
            return False
        if await user.ahas_perms(perms):
            return True
        if raise_exception:
            raise PermissionDenied
        return False

    def decorator(view: View) -> View:
        # user_passes_test awaits request.auser() and a coroutine test for async views.
        test = (
            cast("Callable[[AnyUser], bool]", acheck)
            if iscoroutinefunction(view)
            else check
        )
        guarded = user_passes_test(test, login_url, redirect_field_name)(view)
        guarded.required_scopes = tuple(scopes)  # type: ignore[attr-defined]
        return guarded

    return decorator


@overload
def everreal_token_required(view: View, /) -> View: ...


@overload
def everreal_token_required(*, realm: str = ...) -> Callable[[View], View]: ...


def everreal_token_required(
    view: View | None = None, /, *, realm: str = "api"
) -> View | Callable[[View], View]:
    """Let a view run only for requests with a valid EverReal access token.

    For APIs of single-page and mobile apps that send ``Authorization: Bearer
    <EverReal access token>`` (``django_everreal.bearer``): the view runs with
    ``request.user`` the linked Django user, the token's scopes as their
    permissions, and ``request.everreal`` calling EverReal with the token.
    Answers, as JSON:

    - no token: 401 ``{"error": "invalid_request"}``, ``WWW-Authenticate:
      Bearer realm="api"``;
    - a refused token: 401 ``{"error": "invalid_token"}``, ``WWW-Authenticate:
      Bearer realm="api", error="invalid_token"`` (RFC 6750);
    - EverReal out of reach: 503 ``{"error": "everreal_unavailable"}``, with
      ``Retry-After`` when known: the token may well be good, so the app should
      retry rather than drop it.

    The view is CSRF-exempt: a bearer token is not sent by browsers on their
    own as a cookie is, so a forged cross-site request cannot carry it. A
    session cookie on the request counts for nothing here.

    With ``scope_required``, put this decorator above it (outermost), so the
    token's user is in place when the scopes are checked::

        @everreal_token_required
        @scope_required("company_portfolio_all")
        def listings(request): ...

    Sync and async views both work (the check runs in a thread for async ones).
    Use it bare or as ``@everreal_token_required(realm="...")``.
    """

    def decorator(view: View) -> View:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_guarded(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> HttpResponse:
                refusal = await sync_to_async(_token_user)(request, realm)
                if refusal is not None:
                    return refusal
                return await view(request, *args, **kwargs)  # type: ignore[no-any-return]

            guarded: Any = async_guarded
        else:

            @functools.wraps(view)
            def sync_guarded(
                request: HttpRequest, *args: Any, **kwargs: Any
            ) -> HttpResponse:
                refusal = _token_user(request, realm)
                if refusal is not None:
                    return refusal
                return view(request, *args, **kwargs)  # type: ignore[no-any-return]

            guarded = sync_guarded
        guarded.csrf_exempt = True
        return cast("View", guarded)

    if view is not None:
        return decorator(view)
    return decorator


def _token_user(request: HttpRequest, realm: str) -> HttpResponse | None:
    """Put the token's user on *request*; else the response refusing it."""
    challenge = f'Bearer realm="{realm}"'
    try:
        token = bearer.bearer_token(request)
        if token is None:
            response = JsonResponse(
                {
                    "error": "invalid_request",
                    "message": str(_("An EverReal access token is required.")),
                },
                status=401,
            )
            response["WWW-Authenticate"] = challenge
            return response
        user, _identity = bearer.authenticate(request, token)
    except bearer.InvalidBearerToken as exc:
        logger.info("EverReal access token refused: %s", exc)
        response = JsonResponse(
            {
                "error": "invalid_token",
                "message": str(_("The EverReal access token is not valid.")),
            },
            status=401,
        )
        response["WWW-Authenticate"] = f'{challenge}, error="invalid_token"'
        return response
    except EverRealUnavailable as exc:
        response = JsonResponse(
            {
                "error": "everreal_unavailable",
                "message": str(
                    _(
                        "EverReal cannot be reached right now. "
                        "Please try again in a moment."
                    )
                ),
            },
            status=503,
        )
        if exc.retry_after is not None:
            response["Retry-After"] = str(math.ceil(exc.retry_after))
        return response
    request.user = user  # type: ignore[assignment]

    async def auser() -> Any:
        return user

    # Async guards (user_passes_test, so scope_required) ask request.auser().
    request.auser = auser
    return None
