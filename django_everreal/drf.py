"""Django REST framework permission that requires EverReal scopes.

Needs ``djangorestframework`` (the ``drf`` extra); nothing else in the package
imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission  # type: ignore[import-untyped]
from rest_framework.request import Request  # type: ignore[import-untyped]

from django_everreal.auth import customer_of_object
from django_everreal.auth import scope_permissions


class HasEverRealScopes(BasePermission):  # type: ignore[misc]
    """Allow users holding every scope in the view's ``required_scopes``.

    Unauthenticated requests fail as DRF fails them (401 when the first
    authentication class sends a ``WWW-Authenticate`` challenge, else 403);
    authenticated users lacking a scope get 403. The check is
    ``user.has_perms(["everreal.<scope>", ...])``, and for an object of an
    EverReal customer ``user.has_perms(perms, obj)``: a scope at one
    customer grants nothing on another's data.
    """

    message = _("You do not have the EverReal scopes this action requires.")

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
