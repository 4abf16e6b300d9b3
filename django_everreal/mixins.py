"""Class-based view mixin that requires EverReal scopes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import cast

from asgiref.sync import sync_to_async
from django.contrib.auth.mixins import AccessMixin
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from django_everreal.auth import customer_of_object
from django_everreal.auth import scope_permissions


class ScopeRequiredMixin(AccessMixin):
    """Let the view run only for users holding every scope in ``required_scopes``.

    Anonymous users go to the login page with ``next``; logged-in users
    lacking a scope get 403 (``AccessMixin.handle_no_permission``). The check
    is ``user.has_perms(["everreal.<scope>", ...])``. Works for sync and async
    views; list the mixin before ``View`` in the bases.
    """

    required_scopes: Sequence[str] | str = ()

    def get_required_scopes(self) -> Sequence[str] | str:
        """Override to decide the scopes per request."""
        return self.required_scopes

    def get_permission_object(self) -> Any:
        """The object the scopes must cover, e.g. ``self.get_object()``; ``None``: none.

        With an object of an EverReal customer (``auth.customer_of_object``),
        only users of that same customer pass: a scope at one customer
        grants nothing on another's data. Objects of no customer are not
        checked beyond the scopes.
        """
        return None

    def get_required_permissions(self) -> list[str]:
        owner = f"{type(self).__name__}.required_scopes"
        return scope_permissions(self.get_required_scopes(), owner=owner)

    def dispatch(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        perms = self.get_required_permissions()
        if getattr(self, "view_is_async", False):
            # Like View.options: an async view's dispatch hands Django a coroutine to await.
            return cast(
                HttpResponseBase, self._adispatch(perms, request, *args, **kwargs)
            )
        user = request.user
        if not (user.is_authenticated and user.has_perms(perms)):
            return self.handle_no_permission()
        obj = self.get_permission_object()
        if customer_of_object(obj) is not None and not user.has_perms(perms, obj):
            return self.handle_no_permission()
        response: HttpResponseBase = super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response

    async def _adispatch(
        self, perms: list[str], request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        user = await request.auser()
        if not (user.is_authenticated and await user.ahas_perms(perms)):
            return await sync_to_async(self.handle_no_permission)()
        obj = await sync_to_async(self.get_permission_object)()
        if customer_of_object(obj) is not None and not await user.ahas_perms(
            perms, obj
        ):
            return await sync_to_async(self.handle_no_permission)()
        response: HttpResponseBase = await super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        return response
