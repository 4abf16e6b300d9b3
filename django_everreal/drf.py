"""Django REST framework: EverReal scopes as a permission, EverReal tokens as credentials.

Needs ``djangorestframework`` (the ``drf`` extra); nothing else in the package
imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from rest_framework import exceptions  # type: ignore[import-untyped]
from rest_framework.authentication import BaseAuthentication  # type: ignore[import-untyped]
from rest_framework.permissions import BasePermission  # type: ignore[import-untyped]
from rest_framework.request import Request  # type: ignore[import-untyped]

from django_everreal import bearer
from django_everreal import messages as texts
from django_everreal.auth import customer_of_object
from django_everreal.auth import scope_permissions
from django_everreal.bearer import TokenIdentity
from django_everreal.exceptions import EverRealUnavailable

logger = logging.getLogger("django_everreal")


class HasEverRealScopes(BasePermission):  # type: ignore[misc]
    """Allow users holding every scope in the view's ``required_scopes``.

    Unauthenticated requests fail as DRF fails them (401 when the first
    authentication class sends a ``WWW-Authenticate`` challenge, else 403);
    authenticated users lacking a scope get 403. The check is
    ``user.has_perms(["everreal.<scope>", ...])``, and for an object of an
    EverReal customer ``user.has_perms(perms, obj)``: a scope at one
    customer grants nothing on another's data.
    """

    message = texts.SCOPES_MISSING

    def get_required_scopes(self, request: Request, view: Any) -> Sequence[str] | str:
        """Override to vary the scopes, e.g. by ``request.method``."""
        scopes: Sequence[str] | str = getattr(view, "required_scopes", ())
        return scopes

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        perms = self._permissions(request, view)
        return bool(user and user.is_authenticated and user.has_perms(perms))

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        """An object of an EverReal customer only for users of that customer.

        Objects of no customer (``auth.customer_of_object``) pass on the
        scopes ``has_permission`` checked.
        """
        if customer_of_object(obj) is None:
            return True
        return bool(request.user.has_perms(self._permissions(request, view), obj))

    def _permissions(self, request: Request, view: Any) -> list[str]:
        owner = f"{type(view).__name__}.required_scopes"
        return scope_permissions(self.get_required_scopes(request, view), owner=owner)


class EverRealUnavailableError(exceptions.APIException):  # type: ignore[misc]
    status_code = 503
    default_detail = texts.UNREACHABLE
    default_code = "everreal_unavailable"


class EverRealTokenAuthentication(BaseAuthentication):  # type: ignore[misc]
    """``Authorization: Bearer <EverReal access token>``, checked by EverReal's userinfo, cached.

    See ``django_everreal.bearer``. ``request.user`` is the linked Django
    user (created and synced on first sight), ``request.auth`` a
    ``TokenIdentity``, the token's scopes are the permissions
    (``HasEverRealScopes``), and ``request.everreal`` calls EverReal with the
    token itself. A bad token is a 401 with ``WWW-Authenticate: Bearer
    error="invalid_token"`` (RFC 6750); EverReal out of reach is a 503.
    Requests without a Bearer header are left to the next authentication class.
    """

    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, TokenIdentity] | None:
        try:
            token = bearer.bearer_token(request._request)
            if token is None:
                return None
            return bearer.authenticate(request._request, token)
        except bearer.InvalidBearerToken as exc:
            request._request.everreal_token_error = "invalid_token"  # noqa: S105
            logger.info("EverReal access token refused: %s", exc)
            raise exceptions.AuthenticationFailed(texts.TOKEN_INVALID) from None
        except EverRealUnavailable as exc:
            raise EverRealUnavailableError() from exc

    def authenticate_header(self, request: Request) -> str:
        error = getattr(request._request, "everreal_token_error", None)
        challenge = f'Bearer realm="{self.www_authenticate_realm}"'
        return f'{challenge}, error="{error}"' if error else challenge
