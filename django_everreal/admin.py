"""Admin for the EverReal side of linked users.

Everything here mirrors EverReal as of the last sync, so it is read-only;
tokens are never shown, not even encrypted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from django.contrib import admin
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from django_everreal import sync
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Membership
from django_everreal.models import Partner

if TYPE_CHECKING:
    AccountModelAdmin = admin.ModelAdmin[Account]
    CompanyModelAdmin = admin.ModelAdmin[Company]
    PartnerModelAdmin = admin.ModelAdmin[Partner]
    MembershipTabularInline = admin.TabularInline[Membership, Any]
    CompanyTabularInline = admin.TabularInline[Company, Partner]
    AccountStackedInline = admin.StackedInline[Account, Any]
else:
    AccountModelAdmin = CompanyModelAdmin = PartnerModelAdmin = admin.ModelAdmin
    MembershipTabularInline = CompanyTabularInline = admin.TabularInline
    AccountStackedInline = admin.StackedInline

#: Never rendered by any admin here; listed so that no field list can pick them up.
TOKEN_FIELDS = ("encrypted_access_token", "encrypted_refresh_token")

ACCOUNT_FIELDS = (
    "user",
    "everreal_id",
    "email",
    "current_company",
    "partner",
    "scope_list",
    "is_tenant",
    "is_active",
    "language",
    "profile_photo",
    "synced_at",
    "token_state",
    "access_token_expires_at",
    "tokens_refreshed_at",
    "reauth_required",
)


def token_state(account: Account) -> str:
    """Re-login needed, refresh due, or valid until when: what an operator acts on."""
    due = account.access_token_due()
    if account.reauth_required or (due and not account.has_refresh_token):
        return gettext("re-login needed")
    expires_at = account.access_token_expires_at
    if due or expires_at is None:
        return gettext("refresh due")
    valid_until = date_format(timezone.localtime(expires_at), "SHORT_DATETIME_FORMAT")
    # Translators: the state of an account's access token; time is a date and time.
    return gettext("valid until %(time)s") % {"time": valid_until}


def scope_list(account: Account) -> str:
    return ", ".join(sorted(str(scope) for scope in account.scopes or ()))


def admin_change_link(obj: Any) -> str:
    """A link to *obj*'s admin page, or its name when it has none."""
    opts = obj._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(obj)
    return format_html('<a href="{}">{}</a>', url, obj)


class ReadOnlyAdminMixin:
    """EverReal data is written by login and sync, never typed in."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class MembershipInline(ReadOnlyAdminMixin, MembershipTabularInline):
    model = Membership
    extra = 0
    can_delete = False
    show_change_link = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AccountMembershipInline(MembershipInline):
    """The companies of an account."""

    fk_name = "account"
    fields = readonly_fields = ("company", "is_default")
    verbose_name = _("company")
    verbose_name_plural = _("companies")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("company")


class CompanyMembershipInline(MembershipInline):
    """The members of a company."""

    fk_name = "company"
    fields = readonly_fields = ("account", "account_user", "is_default")
    verbose_name = _("member")
    verbose_name_plural = _("members")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Membership]:
        return super().get_queryset(request).select_related("account__user")

    @admin.display(description=_("user"))
    def account_user(self, membership: Membership) -> str:
        return str(membership.account.user)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdminMixin, AccountModelAdmin):
    list_display = (
        "email",
        "name",
        "current_company",
        "partner",
        "company_count",
        "scope_list",
        "token_state",
        "synced_at",
        "is_active",
    )
    list_select_related = ("user", "current_company__partner")
    list_filter = (
        "companies",
        "current_company__partner",
        "is_tenant",
        "is_active",
        "reauth_required",
    )
    search_fields = ("email", "everreal_id", "companies__name", "user__email")
    fieldsets = (
        (
            None,
            {"fields": ("user", "everreal_id", "email", "language", "profile_photo")},
        ),
        (
            _("Access"),
            {
                "fields": (
                    "current_company",
                    "partner",
                    "scope_list",
                    "is_tenant",
                    "is_active",
                )
            },
        ),
        (
            _("Tokens"),
            {
                "fields": (
                    "token_state",
                    "access_token_expires_at",
                    "tokens_refreshed_at",
                    "reauth_required",
                    "synced_at",
                )
            },
        ),
    )
    readonly_fields = ACCOUNT_FIELDS
    exclude = TOKEN_FIELDS
    inlines = (AccountMembershipInline,)
    view_on_site = False
    actions = ("resync",)

    # It calls EverReal and writes: not for view-only staff.
    @admin.action(
        description=_("Re-sync selected accounts from EverReal"), permissions=["change"]
    )
    def resync(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        """The same re-sync as ``manage.py everreal_sync``, for the selected accounts."""
        tally = sync.ResyncTally()
        for result in sync.resync_accounts(queryset.select_related("user")):
            if tally.add(result).outcome == sync.FAILED:
                self.message_user(
                    request,
                    # Translators: account is an email address or EverReal id; reason says why.
                    gettext("%(account)s: re-sync failed: %(reason)s")
                    % {"account": result.account, "reason": result.detail},
                    messages.ERROR,
                )
        level = messages.SUCCESS if tally.all_synced else messages.WARNING
        self.message_user(request, tally.summary(), level)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return (
            super()
            .get_queryset(request)
            .select_related("user", "current_company__partner")
            .annotate(company_count=Count("companies", distinct=True))
        )

    @admin.display(description=_("name"))
    def name(self, account: Account) -> str:
        full_name: str = getattr(account.user, "get_full_name", lambda: "")()
        return full_name or str(account.user)

    @admin.display(description=_("partner"), ordering="current_company__partner__name")
    def partner(self, account: Account) -> str:
        company = account.current_company
        return str(company.partner) if company and company.partner else ""

    @admin.display(description=_("companies"), ordering="company_count")
    def company_count(self, account: Account) -> int:
        count: int = getattr(account, "company_count", 0)
        return count

    @admin.display(description=_("scopes"))
    def scope_list(self, account: Account) -> str:
        return scope_list(account)

    # Translators: column showing whether the account's tokens are valid.
    @admin.display(description=_("token"), ordering="access_token_expires_at")
    def token_state(self, account: Account) -> str:
        return token_state(account)


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdminMixin, CompanyModelAdmin):
    list_display = ("name", "id", "partner", "member_count")
    list_select_related = ("partner",)
    list_filter = ("partner",)
    search_fields = ("name", "id", "partner__name")
    fields = readonly_fields = ("id", "name", "partner")
    inlines = (CompanyMembershipInline,)
    view_on_site = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Company]:
        return (
            super()
            .get_queryset(request)
            .select_related("partner")
            .annotate(member_count=Count("memberships", distinct=True))
        )

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, company: Company) -> int:
        count: int = getattr(company, "member_count", 0)
        return count


class PartnerCompanyInline(ReadOnlyAdminMixin, CompanyTabularInline):
    model = Company
    extra = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = ("name", "id")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(ReadOnlyAdminMixin, PartnerModelAdmin):
    list_display = ("name", "subdomain", "id", "company_count")
    search_fields = ("name", "subdomain", "id")
    fields = readonly_fields = ("id", "name", "subdomain")
    inlines = (PartnerCompanyInline,)
    view_on_site = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return (
            super()
            .get_queryset(request)
            .annotate(company_count=Count("companies", distinct=True))
        )

    @admin.display(description=_("companies"), ordering="company_count")
    def company_count(self, partner: Partner) -> int:
        count: int = getattr(partner, "company_count", 0)
        return count


class AccountInline(AccountStackedInline):
    """The EverReal account on the Django user's admin page."""

    model = Account
    fk_name = "user"
    can_delete = False
    extra = 0
    verbose_name = verbose_name_plural = _("EverReal account")
    fields = readonly_fields = (
        "account_link",
        "everreal_id",
        "email",
        "current_company",
        "scope_list",
        "is_active",
        "token_state",
        "synced_at",
    )
    exclude = TOKEN_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return super().get_queryset(request).select_related("current_company")

    @admin.display(description=_("account"))
    def account_link(self, account: Account) -> str:
        return admin_change_link(account)

    @admin.display(description=_("scopes"))
    def scope_list(self, account: Account) -> str:
        return scope_list(account)

    @admin.display(description=_("token"))
    def token_state(self, account: Account) -> str:
        return token_state(account)


def add_account_inline(site: admin.AdminSite = admin.site) -> None:
    """Show the EverReal account on the user admin registered on *site*.

    A no-op when the user model is not registered, or already shows it; a
    user admin registered after this module loads needs ``AccountInline``
    added by hand.
    """
    user_model = get_user_model()
    user_admin = site._registry.get(user_model)
    if user_admin is None or AccountInline in user_admin.inlines:
        return
    admin_class = type(user_admin)
    extended = type(
        admin_class.__name__,
        (admin_class,),
        {
            "__module__": admin_class.__module__,
            "inlines": [*admin_class.inlines, AccountInline],
        },
    )
    site.unregister(user_model)
    site.register(user_model, extended)


add_account_inline()
