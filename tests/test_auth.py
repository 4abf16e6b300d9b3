from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.context_processors import PermWrapper
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import Group
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http import HttpResponse
from django.template import Context
from django.template import Template
from django.test import RequestFactory
from django.test import override_settings
from django.views import View

from django_everreal.auth import ScopeBackend
from django_everreal.auth import scope_permissions
from tests.everreal_accounts import make_account
from tests.everreal_accounts import make_user

pytestmark = pytest.mark.django_db

ONLY_SCOPES = override_settings(
    AUTHENTICATION_BACKENDS=["django_everreal.auth.ScopeBackend"]
)
PORTFOLIO = "everreal.company_portfolio_all"


def fresh(user):
    """The same user as a new object, as the next request would load it."""
    return get_user_model().objects.get(pk=user.pk)


def test_granted_scope_is_a_permission():
    account = make_account(
        scopes=["offline_access", "company_portfolio_all", "company_user"]
    )
    user = account.user
    assert user.has_perm(PORTFOLIO)
    assert user.has_perms([PORTFOLIO, "everreal.company_user"])
    assert not user.has_perm("everreal.company_admin")
    assert not user.has_perm("company_portfolio_all")
    assert not user.has_perm("other.company_portfolio_all")


def test_all_permissions_list_the_granted_scopes():
    account = make_account(
        scopes=["offline_access", "*", "company_user", "company_admin"]
    )
    assert ScopeBackend().get_all_permissions(account.user) == {
        "everreal.company_user",
        "everreal.company_admin",
    }
    assert account.user.get_all_permissions() >= {"everreal.company_user"}


def test_offline_access_and_star_grant_nothing():
    account = make_account(scopes=["offline_access", "*"])
    user = account.user
    assert not user.has_perm("everreal.offline_access")
    assert not user.has_perm("everreal.*")
    assert not user.has_perm(PORTFOLIO)
    assert not user.has_module_perms("everreal")


def test_module_perms_follow_the_scopes():
    assert make_account(scopes=["company_user"]).user.has_module_perms("everreal")
    assert not make_account(scopes=[]).user.has_module_perms("everreal")
    assert not ScopeBackend().has_module_perms(
        make_account(scopes=["company_user"]).user, "auth"
    )


def test_superuser_scopes_grant_every_everreal_permission(settings):
    settings.EVERREAL_SUPERUSER_SCOPES = ["superadmin_all"]
    user = make_account(scopes=["superadmin_all"]).user
    assert user.has_perm(PORTFOLIO)
    assert user.has_perm("everreal.anything_at_all")
    assert user.has_module_perms("everreal")
    assert not user.has_perm("auth.add_user")


def test_superuser_scopes_are_empty_by_default():
    user = make_account(scopes=["superadmin_all"]).user
    assert user.has_perm("everreal.superadmin_all")
    assert not user.has_perm(PORTFOLIO)


def test_scopes_never_grant_django_model_permissions(settings):
    settings.EVERREAL_SUPERUSER_SCOPES = ["superadmin_all"]
    user = make_account(scopes=["superadmin_all", "change_account"]).user
    assert not user.has_perm("everreal.change_account")
    assert not user.has_perm("everreal.view_company")
    assert "everreal.change_account" not in user.get_all_permissions()


def test_inactive_django_user_gets_nothing():
    account = make_account(
        user=make_user(is_active=False), scopes=["company_portfolio_all"]
    )
    assert not account.user.has_perm(PORTFOLIO)
    assert ScopeBackend().get_all_permissions(account.user) == set()


def test_inactive_account_gets_nothing():
    account = make_account(scopes=["company_portfolio_all"], is_active=False)
    assert not account.user.has_perm(PORTFOLIO)
    assert not account.user.has_module_perms("everreal")


def test_account_needing_reauthentication_keeps_its_scopes():
    account = make_account(scopes=["company_portfolio_all"], reauth_required=True)
    assert account.user.has_perm(PORTFOLIO)


def test_user_without_account_gets_nothing_and_is_cached(django_assert_num_queries):
    user = make_user()
    backend = ScopeBackend()
    with django_assert_num_queries(1):
        assert not backend.has_perm(user, PORTFOLIO)
        assert backend.get_all_permissions(user) == set()
    with django_assert_num_queries(0):
        assert not backend.has_perm(user, PORTFOLIO)


def test_anonymous_user_gets_nothing_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert not ScopeBackend().has_perm(AnonymousUser(), PORTFOLIO)
        assert not AnonymousUser().has_perm(PORTFOLIO)


def test_permissions_are_cached_per_user_object(django_assert_num_queries):
    user = fresh(make_account(scopes=["company_portfolio_all", "company_user"]).user)
    with ONLY_SCOPES:
        with django_assert_num_queries(1):
            for _ in range(5):
                assert user.has_perm(PORTFOLIO)
                assert not user.has_perm("everreal.company_admin")
            assert user.has_module_perms("everreal")
            assert user.get_all_permissions() == {PORTFOLIO, "everreal.company_user"}
        with django_assert_num_queries(0):
            assert user.has_perms([PORTFOLIO, "everreal.company_user"])


def test_other_apps_permissions_cost_no_query(django_assert_num_queries):
    user = fresh(make_account(scopes=["company_user"]).user)
    with django_assert_num_queries(0):
        assert not ScopeBackend().has_perm(user, "auth.add_user")
        assert not ScopeBackend().has_module_perms(user, "auth")


def test_account_loaded_with_the_user_costs_no_query(django_assert_num_queries):
    account = make_account(scopes=["company_user"])
    user = (
        get_user_model()
        .objects.select_related("everreal_account")
        .get(pk=account.user.pk)
    )
    with django_assert_num_queries(0):
        assert ScopeBackend().has_perm(user, "everreal.company_user")


def test_scope_changes_show_on_the_next_request():
    account = make_account(scopes=["company_user"])
    user = fresh(account.user)
    assert not user.has_perm(PORTFOLIO)
    account.scopes = ["company_portfolio_all"]
    account.save()
    assert not user.has_perm(PORTFOLIO)
    assert fresh(user).has_perm(PORTFOLIO)


def test_object_permissions_are_left_to_other_backends():
    user = make_account(scopes=["company_user"]).user
    assert not ScopeBackend().has_perm(user, "everreal.company_user", obj=user)
    assert ScopeBackend().get_all_permissions(user, obj=user) == set()


def test_backend_never_authenticates():
    backend: BaseBackend = ScopeBackend()
    assert backend.authenticate(None, username="anna", password="demo") is None


def test_get_scopes_is_the_extension_point():
    class FixedScopes(ScopeBackend):
        def get_scopes(self, user_obj: AbstractBaseUser) -> frozenset[str]:
            return frozenset({"message_templates_all"})

    user = make_user()
    assert FixedScopes().has_perm(user, "everreal.message_templates_all")
    assert not ScopeBackend().has_perm(fresh(user), "everreal.message_templates_all")


def test_template_perms_work_unchanged():
    template = Template(
        "{% if perms.everreal %}module{% endif %}"
        "{% if perms.everreal.company_portfolio_all %} portfolio{% endif %}"
        "{% if perms.everreal.company_admin %} admin{% endif %}"
    )
    user = make_account(scopes=["company_portfolio_all"]).user
    assert template.render(Context({"perms": PermWrapper(user)})) == "module portfolio"
    assert template.render(Context({"perms": PermWrapper(make_user())})) == ""


def test_permission_required_decorator_works_unchanged(rf: RequestFactory) -> None:
    @permission_required(PORTFOLIO, raise_exception=True)
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    request = rf.get("/")
    request.user = make_account(scopes=["company_portfolio_all"]).user
    assert view(request).status_code == 200
    request.user = make_account(scopes=["company_user"]).user
    with pytest.raises(PermissionDenied):
        view(request)


def test_permission_required_mixin_works_unchanged(rf: RequestFactory) -> None:
    class PortfolioView(PermissionRequiredMixin, View):
        permission_required = PORTFOLIO
        raise_exception = True

        def get(self, request: HttpRequest) -> HttpResponse:
            return HttpResponse("ok")

    request = rf.get("/")
    request.user = make_account(scopes=["company_portfolio_all"]).user
    assert PortfolioView.as_view()(request).status_code == 200
    request.user = make_account(scopes=[]).user
    with pytest.raises(PermissionDenied):
        PortfolioView.as_view()(request)


def test_async_permission_checks():
    user = fresh(make_account(scopes=["company_portfolio_all"]).user)

    async def check() -> tuple[bool, bool]:
        return await user.ahas_perm(PORTFOLIO), await user.ahas_perm(
            "everreal.company_admin"
        )

    assert async_to_sync(check)() == (True, False)


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ((), "needs at least one EverReal scope"),
        (("everreal.company_user",), r"without the 'everreal\.' prefix"),
        (("",), "takes EverReal scope names"),
    ],
)
def test_scope_permissions_reject_misuse(scopes, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        scope_permissions(scopes, owner="guard")


def test_scope_permissions_take_one_string_as_one_scope():
    assert scope_permissions("company_user", owner="guard") == ["everreal.company_user"]


# What a request's permission checks cost with the README's backends
# (tests.settings: EverRealOAuth2, ScopeBackend, ModelBackend); see
# benchmarks/results/permissions.txt.

CHECKS = 1000


@pytest.fixture
def staff_member():
    """A fresh user object holding company_user, in a group granted auth.view_user."""
    account = make_account(scopes=["offline_access", "company_user"])
    group = Group.objects.create(name="staff")
    group.permissions.add(
        Permission.objects.get(content_type__app_label="auth", codename="view_user")
    )
    account.user.groups.add(group)
    return fresh(account.user)


def test_a_held_scope_costs_one_query_per_request(
    staff_member, django_assert_num_queries
):
    """ScopeBackend answers before ModelBackend is asked: its one query, once."""
    with django_assert_num_queries(1):
        assert all(
            staff_member.has_perm("everreal.company_user") for _ in range(CHECKS)
        )


def test_a_scope_not_held_costs_three_queries_per_request(
    staff_member, django_assert_num_queries
):
    """Django asks every backend: ScopeBackend's one query and ModelBackend's two, once."""
    with django_assert_num_queries(3):
        assert not any(
            staff_member.has_perm("everreal.company_admin") for _ in range(CHECKS)
        )


def test_other_apps_permissions_cost_only_model_backends_queries(
    staff_member, django_assert_num_queries
):
    with django_assert_num_queries(2):
        assert all(staff_member.has_perm("auth.view_user") for _ in range(CHECKS))
        assert not any(staff_member.has_perm("auth.delete_user") for _ in range(CHECKS))


def test_async_checks_cost_one_query_per_request(
    staff_member, django_assert_num_queries
):
    async def check() -> tuple[bool, bool]:
        granted = [
            await staff_member.ahas_perm("everreal.company_user") for _ in range(CHECKS)
        ]
        return all(granted), await staff_member.ahas_module_perms("everreal")

    with ONLY_SCOPES, django_assert_num_queries(1):
        assert async_to_sync(check)() == (True, True)


def test_async_checks_answer_as_the_sync_ones(settings):
    """Superuser scopes, model permissions, modules: the same answers either way."""
    settings.EVERREAL_SUPERUSER_SCOPES = ["superadmin_all"]
    users = [
        make_account(scopes=["superadmin_all"]).user,
        make_account(scopes=["company_user"]).user,
        make_account(scopes=["company_user"], is_active=False).user,
        make_user(),
    ]
    perms = [
        "everreal.anything_at_all",
        "everreal.company_user",
        "everreal.company_admin",
        "everreal.change_account",
        "auth.add_user",
    ]

    async def answers(user: Any) -> list[bool]:
        granted = [await user.ahas_perm(perm) for perm in perms]
        return [*granted, await user.ahas_module_perms("everreal")]

    for user in users:
        expected = [fresh(user).has_perm(perm) for perm in perms]
        expected.append(fresh(user).has_module_perms("everreal"))
        assert async_to_sync(answers)(fresh(user)) == expected
    assert async_to_sync(answers)(fresh(users[0])) == [
        True,
        True,
        True,
        False,
        False,
        True,
    ]
