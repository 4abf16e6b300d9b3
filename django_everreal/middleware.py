"""``request.everreal``: the EverReal client of the logged-in user, built on first use."""

from __future__ import annotations

import math
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from asgiref.sync import markcoroutinefunction
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.http import HttpResponse
from django.http import JsonResponse
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.functional import cached_property

from django_everreal import messages as texts
from django_everreal.client import EverRealClient
from django_everreal.exceptions import AccountNotLinked
from django_everreal.exceptions import EverRealUnavailable
from django_everreal.exceptions import GraphQLError
from django_everreal.exceptions import ReauthenticationRequired

#: Kept under their old names: sites import them.
REAUTHENTICATION_REQUIRED = texts.REAUTHENTICATION_REQUIRED
UNAVAILABLE = texts.UNREACHABLE
REFUSED = texts.REFUSED


class EverRealRequest(HttpRequest):
    """What the middleware adds to a request, mixed into the request's own class."""

    @cached_property
    def everreal(self) -> EverRealClient | None:
        """The client of the logged-in user's EverReal account, or ``None``.

        Looked up on first use, so views that never call EverReal cost no query.
        In async views use ``await request.aeverreal()``.
        """
        try:
            return EverRealClient.for_user(self.user)
        except AccountNotLinked:
            return None

    async def aeverreal(self) -> EverRealClient | None:
        """``request.everreal`` for async views: the lookup runs in a thread."""
        if "everreal" in self.__dict__:
            client: EverRealClient | None = self.__dict__["everreal"]
            return client
        return await sync_to_async(lambda: self.everreal)()


_request_classes: dict[type[HttpRequest], type[HttpRequest]] = {}


def _everreal_request_class(request_class: type[HttpRequest]) -> type[HttpRequest]:
    """*request_class* with ``everreal``, made once per class."""
    if issubclass(request_class, EverRealRequest):
        return request_class
    found = _request_classes.get(request_class)
    if found is None:
        found = _request_classes.setdefault(
            request_class,
            type(request_class.__name__, (EverRealRequest, request_class), {}),
        )
    return found


class EverRealMiddleware:
    """Sets ``request.everreal`` (lazily) and answers EverReal's failures.

    ``ReauthenticationRequired`` from a view becomes a redirect to
    ``LOGIN_URL`` (with ``next``) for pages and a 401 JSON answer with the
    ``login_url`` for API requests; ``EverRealUnavailable`` becomes a 503
    page (``everreal/unavailable.html``) or a 503 JSON answer, with
    ``Retry-After`` when EverReal said when; a ``GraphQLError`` no view
    handled becomes a 502 page or JSON answer.

    Place it after ``django.contrib.auth.middleware.AuthenticationMiddleware``:
    it needs ``request.user``.
    """

    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponse]
        | Callable[[HttpRequest], Awaitable[HttpResponse]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        self.prepare(request)
        try:
            return self.get_response(request)
        finally:
            self.close(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.prepare(request)
        try:
            response: HttpResponse = await self.get_response(request)  # type: ignore[misc]
        finally:
            self.close(request)
        return response

    @staticmethod
    def prepare(request: HttpRequest) -> None:
        if not hasattr(request, "user"):
            raise ImproperlyConfigured(
                "EverRealMiddleware needs request.user: put it after "
                "'django.contrib.auth.middleware.AuthenticationMiddleware' in MIDDLEWARE."
            )
        request.__class__ = _everreal_request_class(type(request))

    @staticmethod
    def close(request: HttpRequest) -> None:
        """Release the client's connections once the response is made."""
        client = request.__dict__.get("everreal")
        if client is not None:
            client.close()

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if isinstance(exception, ReauthenticationRequired):
            if wants_json(request):
                return JsonResponse(
                    {
                        "error": "reauthentication_required",
                        "message": str(REAUTHENTICATION_REQUIRED),
                        "login_url": resolve_url(settings.LOGIN_URL),
                    },
                    status=401,
                )
            return redirect_to_login(request.get_full_path())
        if isinstance(exception, EverRealUnavailable):
            response = error_response(request, 503, "everreal_unavailable", UNAVAILABLE)
            if exception.retry_after is not None:
                response["Retry-After"] = str(math.ceil(exception.retry_after))
            return response
        if isinstance(exception, GraphQLError):
            return error_response(request, 502, "everreal_error", REFUSED)
        return None


def error_response(
    request: HttpRequest,
    status: int,
    code: str,
    message: Promise,
    template: str = "everreal/unavailable.html",
) -> HttpResponse:
    """A failure as JSON for code (``{"error": code, ...}``), as *template* for people."""
    if wants_json(request):
        return JsonResponse({"error": code, "message": str(message)}, status=status)
    return HttpResponse(
        render_to_string(template, {"message": message}, request=request),
        status=status,
    )


def wants_json(request: HttpRequest) -> bool:
    """Whether the request comes from code (XHR, fetch, an API client), not a page."""
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return True
    content_type = request.content_type or ""
    if content_type == "application/json" or content_type.endswith("+json"):
        return True
    preferred = request.get_preferred_type(["text/html", "application/json"])
    return preferred == "application/json"
