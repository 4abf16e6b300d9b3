"""Admin for the EverReal side of linked users, and for the customer registry.

Accounts, companies and partners mirror EverReal as of the last sync, so they
are read-only; tokens are never shown, not even encrypted. The registry of
customers is edited here; their client secrets can be written, never read.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from django_everreal import sync
from django_everreal import tasks
from django_everreal.conf import conf
from django_everreal.crypto import TokenDecryptionError
from django_everreal.models import SETTINGS_CUSTOMER
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Customer
from django_everreal.models import Membership
from django_everreal.models import Partner
from django_everreal.models import ServiceAccount
from django_everreal.models import TokenFields
from django_everreal.models import WebhookEvent
from django_everreal.models import WebhookSubscription

if TYPE_CHECKING:
    AccountModelAdmin = admin.ModelAdmin[Account]
    CompanyModelAdmin = admin.ModelAdmin[Company]
    PartnerModelAdmin = admin.ModelAdmin[Partner]
    CustomerModelAdmin = admin.ModelAdmin[Customer]
    ServiceAccountModelAdmin = admin.ModelAdmin[ServiceAccount]
    WebhookSubscriptionModelAdmin = admin.ModelAdmin[WebhookSubscription]
    WebhookEventModelAdmin = admin.ModelAdmin[WebhookEvent]
    MembershipTabularInline = admin.TabularInline[Membership, Any]
    CompanyTabularInline = admin.TabularInline[Company, Partner]
    AccountStackedInline = admin.StackedInline[Account, Any]
    CustomerModelForm = forms.ModelForm[Customer]
    from django.contrib.admin.options import _FieldsetSpec
else:
    AccountModelAdmin = CompanyModelAdmin = PartnerModelAdmin = admin.ModelAdmin
    CustomerModelAdmin = ServiceAccountModelAdmin = admin.ModelAdmin
    WebhookSubscriptionModelAdmin = WebhookEventModelAdmin = admin.ModelAdmin
    MembershipTabularInline = CompanyTabularInline = admin.TabularInline
    AccountStackedInline = admin.StackedInline
    CustomerModelForm = forms.ModelForm

#: Never rendered by any admin here; listed so that no field list can pick them up.
TOKEN_FIELDS = ("encrypted_access_token", "encrypted_refresh_token")
#: A webhook subscription's secret, hashed: never rendered either.
WEBHOOK_SECRET_FIELDS = ("token_hash",)
#: Characters of an event's last error in the event list.
SHORT_ERROR_LENGTH = 80

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


def token_state(account: TokenFields) -> str:
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


class ReadOnlyInlineMixin:
    """Rows shown on another model's page, never added, edited or removed there."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def is_own_admin_view(model_admin: admin.ModelAdmin[Any], request: HttpRequest) -> bool:
    """Whether *request* is for one of *model_admin*'s own pages (list, change, delete).

    Unknown (no resolved URL) counts as its own: the safe side.
    """
    match = getattr(request, "resolver_match", None)
    if match is None or not match.url_name:
        return True
    opts = model_admin.model._meta
    return str(match.url_name).startswith(f"{opts.app_label}_{opts.model_name}_")


class ReadOnlyAdminMixin:
    """EverReal data is written by login, sync and commands, never typed in.

    No add, no edit, no delete: a row deleted or edited here would disagree
    with EverReal until the next sync, or break what a command manages. The
    change permission is still asked of the actions that use it (re-sync,
    process again); a change page shows the row without a save button.

    Deleting is refused on the model's own pages only. Deleting a Django user
    in its admin cascades to the user's account: Django asks every registered
    admin of what a deletion takes along, and a refusal there would make
    users undeletable.
    """

    #: Whether a row may be deleted on the model's own pages: this site's own
    #: configuration may be, a mirror of EverReal's data may not.
    deletable = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """The real permission for the actions (``obj`` is ``None``); never for a row."""
        if obj is not None:
            return False
        return bool(super().has_change_permission(request))  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if not self.deletable and is_own_admin_view(self, request):  # type: ignore[arg-type]
            return False
        # Django drops "Delete selected" from the actions of whoever may not delete.
        return bool(super().has_delete_permission(request, obj))  # type: ignore[misc]


#: The filter value of the settings' customer, whose rows carry ``""``: no
#: subdomain can be a lone hyphen.
SETTINGS_CUSTOMER_PARAM = "-"


def customer_label(key: str) -> str:
    """A row's ``customer`` as the admin shows it: the subdomain, or "settings"."""
    # Translators: the customer configured in the SOCIAL_AUTH_EVERREAL_* settings.
    return key if key != SETTINGS_CUSTOMER else gettext("(settings)")


class CustomerFilter(admin.SimpleListFilter):
    """Rows by EverReal customer; hidden while all rows belong to one."""

    title = _("EverReal customer")
    parameter_name = "customer"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        keys = list(
            model_admin.model._default_manager.order_by("customer")
            .values_list("customer", flat=True)
            .distinct()
        )
        if len(keys) < 2:
            return []
        return [(key or SETTINGS_CUSTOMER_PARAM, customer_label(key)) for key in keys]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        key = SETTINGS_CUSTOMER if value == SETTINGS_CUSTOMER_PARAM else value
        return queryset.filter(customer=key)


class CustomerColumnMixin:
    """A customer column while the site has registered customers; noise before."""

    list_display: Any

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))  # type: ignore[misc]
        if Customer._default_manager.exists():
            columns.insert(1, "customer_column")
        return columns

    @admin.display(description=_("EverReal customer"), ordering="customer")
    def customer_column(self, obj: Any) -> str:
        return customer_label(obj.customer)


class MembershipInline(ReadOnlyInlineMixin, MembershipTabularInline):
    model = Membership
    extra = 0
    can_delete = False
    show_change_link = False


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
class AccountAdmin(CustomerColumnMixin, ReadOnlyAdminMixin, AccountModelAdmin):
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
        CustomerFilter,
        "companies",
        "current_company__partner",
        "is_tenant",
        "is_active",
        "reauth_required",
    )
    search_fields = (
        "email",
        "everreal_id",
        "companies__name",
        "user__email",
        "=customer",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "user",
                    "customer_column",
                    "everreal_id",
                    "email",
                    "language",
                    "profile_photo",
                )
            },
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
    readonly_fields = (*ACCOUNT_FIELDS, "customer_column")
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
class CompanyAdmin(CustomerColumnMixin, ReadOnlyAdminMixin, CompanyModelAdmin):
    list_display = ("name", "id", "partner", "member_count")
    list_select_related = ("partner",)
    list_filter = (CustomerFilter, "partner")
    search_fields = ("name", "id", "partner__name", "=customer")
    fields = readonly_fields = ("id", "customer_column", "name", "partner")
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


class PartnerCompanyInline(ReadOnlyInlineMixin, CompanyTabularInline):
    model = Company
    extra = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = ("name", "id")


@admin.register(Partner)
class PartnerAdmin(CustomerColumnMixin, ReadOnlyAdminMixin, PartnerModelAdmin):
    list_display = ("name", "subdomain", "id", "company_count")
    list_filter = (CustomerFilter,)
    search_fields = ("name", "subdomain", "id", "=customer")
    fields = readonly_fields = ("id", "customer_column", "name", "subdomain")
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


@admin.register(ServiceAccount)
class ServiceAccountAdmin(
    CustomerColumnMixin, ReadOnlyAdminMixin, ServiceAccountModelAdmin
):
    """Service accounts get their tokens from ``manage.py everreal_service_login``.

    This site's own configuration, so one that is no longer needed may be
    deleted here; not while it has webhook subscriptions, whose registrations
    at EverReal only ``manage.py everreal_webhooks sync`` can remove (Django's
    delete page then names the subscriptions it may not delete).
    """

    deletable = True

    list_display = ("name", "username", "everreal_id", "token_state", "created_at")
    list_filter = (CustomerFilter, "reauth_required")
    search_fields = ("name", "username", "everreal_id", "=customer")
    fields = readonly_fields = (
        "name",
        "customer_column",
        "username",
        "everreal_id",
        "token_state",
        "access_token_expires_at",
        "tokens_refreshed_at",
        "reauth_required",
        "created_at",
    )
    exclude = TOKEN_FIELDS
    view_on_site = False

    @admin.display(description=_("token"), ordering="access_token_expires_at")
    def token_state(self, service_account: ServiceAccount) -> str:
        return token_state(service_account)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(
    CustomerColumnMixin, ReadOnlyAdminMixin, WebhookSubscriptionModelAdmin
):
    """EverReal's registrations, as ``manage.py everreal_webhooks sync`` made them.

    Neither changed nor deleted here: ``sync`` reconciles them with EverReal
    and ``EVERREAL_WEBHOOKS``, and a row deleted here alone would leave
    EverReal delivering to a URL that answers 404.
    """

    list_display = (
        "service_account",
        "event_type",
        "everreal_id",
        "company_id",
        "created_at",
    )
    list_select_related = ("service_account",)
    list_filter = (CustomerFilter, "event_type", "service_account")
    search_fields = (
        "event_type",
        "everreal_id",
        "company_id",
        "service_account__name",
        "=customer",
    )
    fields = readonly_fields = (
        "service_account",
        "customer_column",
        "event_type",
        "everreal_id",
        "company_id",
        "created_at",
    )
    exclude = WEBHOOK_SECRET_FIELDS
    view_on_site = False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Never, not even along with its service account: EverReal would keep delivering."""
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(
    CustomerColumnMixin, ReadOnlyAdminMixin, WebhookEventModelAdmin
):
    """EverReal's deliveries and how their processing went; processed again on demand."""

    list_display = (
        "received_at",
        "event_type",
        "status",
        "attempts",
        "processed_at",
        "short_error",
    )
    list_filter = ("status", "event_type", CustomerFilter)
    search_fields = ("uuid", "event_type")
    fields = readonly_fields = (
        "uuid",
        "event_type",
        "customer_column",
        "subscription",
        "subdomain",
        "language",
        "created_at",
        "received_at",
        "status",
        "attempts",
        "lease_until",
        "processed_at",
        "last_error",
        "data_json",
    )
    view_on_site = False
    # An event is never edited; the change permission runs "Process again".
    actions = ("process_again",)

    # It queues work and resets the attempts: not for view-only staff.
    @admin.action(
        description=_("Process selected events again"), permissions=["change"]
    )
    def process_again(
        self, request: HttpRequest, queryset: QuerySet[WebhookEvent]
    ) -> None:
        """Reset the events to pending, with fresh attempts, and queue them."""
        selected = queryset.count()
        queued = tasks.process_again(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d event queued to be processed again.",
                "%(count)d events queued to be processed again.",
                queued,
            )
            % {"count": queued},
            messages.SUCCESS,
        )
        if queued < selected:
            busy = selected - queued
            self.message_user(
                request,
                ngettext(
                    "%(count)d event is being processed right now; it was left alone.",
                    "%(count)d events are being processed right now; they were left alone.",
                    busy,
                )
                % {"count": busy},
                messages.WARNING,
            )

    @admin.display(description=_("last error"))
    def short_error(self, event: WebhookEvent) -> str:
        return Truncator(event.last_error).chars(SHORT_ERROR_LENGTH)

    @admin.display(description=_("data"))
    def data_json(self, event: WebhookEvent) -> str:
        text = json.dumps(event.data, indent=2, sort_keys=True, ensure_ascii=False)
        return format_html('<pre class="everreal-json">{}</pre>', text)


class CustomerForm(CustomerModelForm):
    """The registry's form: the client secret is written here, never shown."""

    client_secret = forms.CharField(
        label=_("client secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    # Declared for Django 6's default scheme, asked for now: https when none is typed.
    redirect_uri = forms.URLField(
        label=_("redirect URI"),
        max_length=2000,
        required=False,
        assume_scheme="https",
        help_text=Customer._meta.get_field("redirect_uri").help_text,
    )

    class Meta:
        model = Customer
        fields = (
            "subdomain",
            "name",
            "base_url",
            "client_id",
            "redirect_uri",
            "enabled",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stored_subdomain = self.instance.subdomain
        secret = self.fields["client_secret"]
        if self.instance._state.adding:
            secret.required = True
            secret.help_text = _("The client secret EverReal issued for this customer.")
        else:
            secret.help_text = _(
                "Leave empty to keep the stored secret; it is never shown."
            )

    def clean_subdomain(self) -> str:
        """A row with the settings' subdomain would never be used: settings win."""
        subdomain = str(self.cleaned_data["subdomain"]).strip().lower()
        if conf.SUBDOMAIN and subdomain == conf.SUBDOMAIN.lower():
            raise ValidationError(
                _(
                    "This is the customer configured in settings "
                    "(SOCIAL_AUTH_EVERREAL_SUBDOMAIN)."
                )
            )
        return subdomain

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]
        if not self.instance._state.adding:
            # Customer.clean() normalises the subdomain; once created it keys the
            # customer's rows and stays exactly as it is.
            self.instance.subdomain = self._stored_subdomain
        secret = self.cleaned_data.get("client_secret")
        if secret:
            self.instance.set_client_secret(secret)

    def _update_errors(self, errors: ValidationError) -> None:
        """Model errors of a field not on the form (the read-only subdomain) go on top.

        Django raises ``ValueError`` for them otherwise: a 500 instead of a message.
        """
        if hasattr(errors, "error_dict"):
            moved: dict[str, list[ValidationError]] = {}
            for field, field_errors in errors.error_dict.items():
                key = field if field in self.fields else NON_FIELD_ERRORS
                moved.setdefault(key, []).extend(field_errors)
            errors = ValidationError(moved)
        super()._update_errors(errors)  # type: ignore[misc]


@admin.register(Customer)
class CustomerAdmin(CustomerModelAdmin):
    """The customers the site is registered with, besides the one in settings."""

    form = CustomerForm
    list_display = ("subdomain", "name", "origin", "client_id", "enabled")
    list_filter = ("enabled",)
    search_fields = ("subdomain", "name", "client_id", "base_url")
    exclude = ("encrypted_client_secret",)
    view_on_site = False

    def get_fieldsets(
        self, request: HttpRequest, obj: Customer | None = None
    ) -> _FieldsetSpec:
        """The secret's input for those who may write it; its state for the others.

        A view-only page shows every field read-only, read from the model: the
        ``client_secret`` property there would be the decrypted secret.
        """
        writable = (
            self.has_add_permission(request)
            if obj is None
            else self.has_change_permission(request, obj)
        )
        client = (
            "client_id",
            *(["client_secret"] if writable else []),
            *(["client_secret_state"] if obj is not None else []),
            "redirect_uri",
        )
        times: _FieldsetSpec = (
            [(None, {"fields": ("created_at", "updated_at")})] if obj else []
        )
        return [
            (None, {"fields": ("subdomain", "name", "enabled")}),
            (_("OAuth client"), {"fields": client}),
            (_("Staging"), {"fields": ("base_url",), "classes": ("collapse",)}),
            *times,
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: Customer | None = None
    ) -> tuple[str, ...]:
        """The subdomain keys the customer's accounts, companies and partners."""
        if obj is None:
            return ("client_secret_state",)
        return ("subdomain", "client_secret_state", "created_at", "updated_at")

    @admin.display(description=_("origin"))
    def origin(self, customer: Customer) -> str:
        try:
            return customer.origin
        except ImproperlyConfigured:
            return gettext("invalid")

    @admin.display(description=_("client secret"))
    def client_secret_state(self, customer: Customer) -> str:
        if not customer.encrypted_client_secret:
            return gettext("missing")
        try:
            customer.client_secret  # noqa: B018 (decrypts)
        except (TokenDecryptionError, ImproperlyConfigured):
            # A key change that dropped the old key, or broken EVERREAL_TOKEN_KEYS.
            return gettext("stored, but cannot be decrypted with the configured keys")
        return gettext("stored")


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
