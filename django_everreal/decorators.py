"""View decorators that require EverReal scopes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar
from typing import cast

from asgiref.sync import iscoroutinefunction
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import user_passes_test
from django.core.exceptions import PermissionDenied

from django_everreal.auth import scope_permissions

if TYPE_CHECKING:
    from django.contrib.auth.models import _AnyUser as AnyUser
    from django.utils.functional import _StrOrPromise

View = TypeVar("View", bound=Callable[..., Any])


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
