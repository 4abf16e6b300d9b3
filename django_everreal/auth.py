"""EverReal scopes as Django permissions: ``user.has_perm("everreal.<scope>")``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from asgiref.sync import sync_to_async
from django.apps import apps
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists
from django.db.models import OuterRef
from django.db.models import QuerySet
from django.http import HttpRequest

from django_everreal.conf import conf
from django_everreal.models import SETTINGS_CUSTOMER
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Customer
from django_everreal.models import Partner
from django_everreal.models import ServiceAccount

CUSTOMER_MODELS = (Account, Company, Partner, ServiceAccount)
#: Where the account loaded for the scope check is kept on the user object.
ACCOUNT_ATTRIBUTE = "_everreal_scope_account"

APP_LABEL = "everreal"
PERMISSION_PREFIX = f"{APP_LABEL}."

AnyUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class GrantedScopes:
    """What a user may do, worked out once per user object."""

    scopes: frozenset[str] = frozenset()
    everything: bool = False
    #: The key of the customer the scopes were granted at (``Account.customer``).
    customer: str | None = None

    @property
    def permissions(self) -> set[str]:
        return {PERMISSION_PREFIX + scope for scope in self.scopes}

    def allows(self, scope: str) -> bool:
        return self.everything or scope in self.scopes

    def covers(self, obj: Any) -> bool:
        """Whether *obj* belongs to the customer the scopes were granted at."""
        customer = customer_of_object(obj)
        return customer is not None and customer == self.customer


NOTHING = GrantedScopes()


def customer_of_object(obj: Any) -> str | None:
    """The key of the EverReal customer *obj* belongs to; ``None`` when it has none.

    This app's models know theirs; any other object says so with an
    ``everreal_customer`` attribute (the customer's subdomain, ``""`` for the
    one in settings).
    """
    customer = getattr(obj, "everreal_customer", None)
    if customer is None and isinstance(obj, Customer):
        customer = obj.key
    elif customer is None and isinstance(obj, CUSTOMER_MODELS):
        customer = obj.customer
    return customer if isinstance(customer, str) else None


def scope_permissions(scopes: Iterable[str] | str, *, owner: str) -> list[str]:
    """``["everreal.<scope>", ...]`` for *scopes*; *owner* names the guard in errors.

    A bare string counts as one scope, not as a sequence of letters. Guarding
    nothing is a mistake, not an open door, so it raises.
    """
    names: list[object] = [scopes] if isinstance(scopes, str) else list(scopes)
    if not names:
        raise ImproperlyConfigured(
            f"{owner} needs at least one EverReal scope to require."
        )
    permissions = []
    for name in names:
        if not isinstance(name, str) or not name or name.startswith(PERMISSION_PREFIX):
            raise ImproperlyConfigured(
                f"{owner} takes EverReal scope names such as 'company_user', "
                f"without the {PERMISSION_PREFIX!r} prefix; got {name!r}."
            )
        permissions.append(PERMISSION_PREFIX + name)
    return permissions


@cache
def model_permission_codenames() -> frozenset[str]:
    """``add_account``, ``view_company`` and the like: never granted by a scope.

    Who administers the EverReal tables in Django is Django's decision, so
    neither a scope nor a superuser scope grants these.
    """
    codenames: set[str] = set()
    for model in apps.get_app_config(APP_LABEL).get_models():
        opts = model._meta
        codenames.update(
            f"{action}_{opts.model_name}" for action in opts.default_permissions
        )
        codenames.update(codename for codename, _name in opts.permissions)
    return frozenset(codenames)


@cache
def account_query() -> QuerySet[Account]:
    """The accounts with what the scope check reads, and whether their customer is on.

    Built once: resolving the subquery costs about as much as running the
    whole query. Each use filters a copy; this one never runs.
    """
    return Account.objects.only("is_active", "scopes", "customer").annotate(
        customer_enabled=Exists(
            Customer.objects.filter(subdomain=OuterRef("customer"), enabled=True)
        )
    )


class ScopeBackend(BaseBackend):
    """Grant ``everreal.<scope>`` for each scope the user's account holds.

    Only active Django users with an active EverReal account hold scopes;
    ``offline_access`` and ``*`` grant nothing (see
    ``Account.permission_scopes``), and any scope listed in
    ``EVERREAL_SUPERUSER_SCOPES`` grants every ``everreal.*`` permission
    except Django's own model permissions on this app's tables
    (``everreal.change_account`` and the like), which stay with Django's
    permission system so that an EverReal role never reaches the admin.

    An account marked ``reauth_required`` keeps its scopes: that flag says the
    stored refresh token died, not that EverReal withdrew anything, and API
    calls already fail with ``ReauthenticationRequired`` until the user logs in
    again. Deactivation in EverReal arrives as ``is_active = False`` on the
    next sync and does revoke.

    Several customers: a user's scopes are those of their one account, at
    its customer, and a disabled customer's scopes grant nothing. Without an
    object, ``has_perm`` answers for that customer; with one
    (``has_perm("everreal.x", obj)``), only for objects of that same
    customer (``customer_of_object``): a scope granted at customer A grants
    nothing on B's data. An object of no customer gets ``False``, as
    ``ModelBackend`` answers for objects.

    The result is cached on the user object, as ``ModelBackend`` does, so a
    request costs at most one query however many checks it makes, sync or
    async (``ahas_perm``). The backend never authenticates anyone.
    """

    cache_attribute = "_everreal_scope_cache"

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        return None

    def get_scopes(self, user_obj: AbstractBaseUser) -> frozenset[str]:
        """The scopes *user_obj* holds; override to source them elsewhere.

        Called only for active, authenticated users, at most once per user
        object.
        """
        account = self._get_account(user_obj)
        if account is None or not self.account_counts(account):
            return frozenset()
        return account.permission_scopes

    @staticmethod
    def account_counts(account: Account) -> bool:
        """Active in EverReal, and of an enabled customer."""
        if not account.is_active:
            return False
        if account.customer == SETTINGS_CUSTOMER:
            return True
        enabled = getattr(account, "customer_enabled", None)
        if enabled is None:
            enabled = Customer.objects.filter(
                subdomain=account.customer, enabled=True
            ).exists()
        return bool(enabled)

    def get_granted_scopes(self, user_obj: AnyUser) -> GrantedScopes:
        if isinstance(user_obj, AnonymousUser) or not user_obj.is_active:
            return NOTHING
        cached: GrantedScopes | None = getattr(user_obj, self.cache_attribute, None)
        if cached is None:
            scopes = self.get_scopes(user_obj) - model_permission_codenames()
            cached = GrantedScopes(
                scopes,
                everything=bool(scopes & conf.SUPERUSER_SCOPES),
                customer=self._customer_key(user_obj) if scopes else None,
            )
            setattr(user_obj, self.cache_attribute, cached)
        return cached

    def get_user_permissions(self, user_obj: AnyUser, obj: Any = None) -> set[str]:
        granted = self.get_granted_scopes(user_obj)
        if obj is not None and not granted.covers(obj):
            return set()
        return granted.permissions

    def get_all_permissions(self, user_obj: AnyUser, obj: Any = None) -> set[str]:
        return self.get_user_permissions(user_obj, obj)

    def has_perm(self, user_obj: AnyUser, perm: str, obj: Any = None) -> bool:
        if not perm.startswith(PERMISSION_PREFIX):
            return False
        scope = perm.removeprefix(PERMISSION_PREFIX)
        if scope in model_permission_codenames():
            return False
        granted = self.get_granted_scopes(user_obj)
        if obj is not None and not granted.covers(obj):
            return False
        return granted.allows(scope)

    def has_module_perms(self, user_obj: AnyUser, app_label: str) -> bool:
        if app_label != APP_LABEL:
            return False
        granted = self.get_granted_scopes(user_obj)
        return granted.everything or bool(granted.scopes)

    # Django's async checks (``await user.ahas_perm()``) otherwise fall back on
    # BaseBackend's, which answer from get_all_permissions() through two
    # threads per check: without the superuser scopes, and never for modules.

    async def ahas_perm(self, user_obj: AnyUser, perm: str, obj: Any = None) -> bool:
        """``has_perm``'s answer; off the event loop only for the account's one query."""
        if not self._needs_query(user_obj, perm):
            return self.has_perm(user_obj, perm, obj)
        return await sync_to_async(self.has_perm)(user_obj, perm, obj)

    async def ahas_module_perms(self, user_obj: AnyUser, app_label: str) -> bool:
        """``has_module_perms``'s answer, as ``ahas_perm`` gives ``has_perm``'s."""
        if app_label != APP_LABEL or not self._needs_query(user_obj, PERMISSION_PREFIX):
            return self.has_module_perms(user_obj, app_label)
        return await sync_to_async(self.has_module_perms)(user_obj, app_label)

    def _needs_query(self, user_obj: AnyUser, perm: str) -> bool:
        """Whether answering for *perm* may read the database (the first check only)."""
        if not perm.startswith(PERMISSION_PREFIX):
            return False
        if perm.removeprefix(PERMISSION_PREFIX) in model_permission_codenames():
            return False
        if isinstance(user_obj, AnonymousUser) or not user_obj.is_active:
            return False
        return getattr(user_obj, self.cache_attribute, None) is None

    @staticmethod
    def _get_account(user_obj: AbstractBaseUser) -> Account | None:
        """The user's account, reusing one already loaded with the user."""
        relation = Account._meta.get_field("user").remote_field
        if relation.is_cached(user_obj):
            cached = relation.get_cached_value(user_obj)
            return cached if isinstance(cached, Account) else None
        if ACCOUNT_ATTRIBUTE in user_obj.__dict__:
            found: Account | None = user_obj.__dict__[ACCOUNT_ATTRIBUTE]
            return found
        try:
            found = account_query().get(user_id=user_obj.pk)
        except Account.DoesNotExist:
            found = None
        user_obj.__dict__[ACCOUNT_ATTRIBUTE] = found
        return found

    def _customer_key(self, user_obj: AbstractBaseUser) -> str | None:
        account = self._get_account(user_obj)
        return None if account is None else account.customer
