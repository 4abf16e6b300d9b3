from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from django_everreal.admin import AccountInline
from django_everreal.admin import add_account_inline
from django_everreal.models import Account
from django_everreal.models import Company
from django_everreal.models import Customer
from django_everreal.models import Membership
from django_everreal.models import Partner
from django_everreal.models import ServiceAccount
from django_everreal.models import WebhookEvent
from django_everreal.models import WebhookSubscription
from django_everreal.webhooks import token_hash
from tests.everreal_accounts import make_account
from tests.everreal_accounts import make_company
from tests.everreal_accounts import make_partner
from tests.everreal_accounts import make_user

pytestmark = pytest.mark.django_db

PLAIN_TOKENS = ("plain-access-SECRET", "plain-refresh-SECRET")
FERNET_PREFIX = "gAAAAA"


@pytest.fixture
def acme() -> Partner:
    return make_partner("acme")


@pytest.fixture
def account(acme: Partner) -> Account:
    """Anna: valid tokens, two companies, the first one current."""
    user = make_user(first_name="Anna", last_name="Schmidt", email="anna@example.com")
    account = make_account(
        user,
        scopes=["offline_access", "company_portfolio_all", "company_user"],
        companies=[make_company("Nordhaus", acme), make_company("Suedhaus", acme)],
        everreal_id="76dccab0-anna",
        synced_at=timezone.now(),
    )
    account.set_tokens(*PLAIN_TOKENS, 3600)
    account.save()
    return account


def changelist(client: Client, **params: str) -> list[Account]:
    response = client.get(reverse("admin:everreal_account_changelist"), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def token_cell(state: str) -> str:
    return f'<td class="field-token_state">{state}'


def test_changelist_shows_linked_users(admin_client, account):
    response = admin_client.get(reverse("admin:everreal_account_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("anna@example.com", "Anna Schmidt", "Nordhaus", "acme"):
        assert text in html
    assert '<td class="field-company_count">2</td>' in html
    assert "company_portfolio_all, company_user, offline_access" in html
    assert token_cell("valid until") in html


def test_token_state_shows_the_three_states(admin_client, account):
    due = make_account(scopes=["company_user"])
    due.set_tokens("a", "r", 10)
    due.save()
    dead = make_account(scopes=["company_user"])
    dead.set_tokens("a", "r", 3600)
    dead.reauth_required = True  # EverReal refused the refresh token later
    dead.save()
    make_account(scopes=["company_user"])  # never logged in: no tokens at all

    html = admin_client.get(
        reverse("admin:everreal_account_changelist")
    ).content.decode()

    assert html.count(token_cell("valid until")) == 1
    assert html.count(token_cell("refresh due")) == 1
    assert html.count(token_cell("re-login needed")) == 2


#: Every list of rows the app's admin shows: its own models', and the user
#: admin's, which it extends with the EverReal account.
CHANGELISTS = (
    "everreal_account",
    "everreal_company",
    "everreal_partner",
    "everreal_customer",
    "everreal_serviceaccount",
    "everreal_webhooksubscription",
    "everreal_webhookevent",
    "auth_user",
)
#: More rows than a page shows (ModelAdmin.list_per_page is 100).
MANY = 150


def add_linked_rows(first: int, count: int) -> None:
    """*count* rows of every listed model, numbered from *first*, as logins and sync leave them.

    Two customers throughout (the settings' and ``beta``), so the customer
    column and filter show at every size; the tokens' three states in turn.
    """
    numbers = range(first, first + count)
    customer = {n: "" if n % 2 else "beta" for n in numbers}
    Customer.objects.bulk_create(
        Customer(subdomain=f"sub{n}", client_id=f"client-{n}") for n in numbers
    )
    partners = Partner.objects.bulk_create(
        Partner(id=f"p{n}", name=f"P{n}", subdomain=f"p{n}", customer=customer[n])
        for n in numbers
    )
    companies = Company.objects.bulk_create(
        Company(id=f"c{n}", name=f"C{n}", partner=partner, customer=customer[n])
        for n, partner in zip(numbers, partners, strict=True)
    )
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"u{n}", email=f"u{n}@example.com", first_name="U")
        for n in numbers
    )
    template = Account()
    template.set_tokens("a", "r", 3600)
    now = timezone.now()
    accounts = Account.objects.bulk_create(
        Account(
            user=user,
            customer=customer[n],
            everreal_id=f"er-{n}",
            email=user.email,
            scopes=["company_user"],
            current_company=company,
            encrypted_access_token=template.encrypted_access_token,
            encrypted_refresh_token=template.encrypted_refresh_token,
            access_token_expires_at=now + timedelta(seconds=(3600, 10, -10)[n % 3]),
            reauth_required=n % 3 == 2,
            synced_at=now,
        )
        for n, user, company in zip(numbers, users, companies, strict=True)
    )
    Membership.objects.bulk_create(
        Membership(account=account, company=company, is_default=company is own)
        for account, own, other in zip(
            accounts, companies, [companies[-1], *companies[:-1]], strict=True
        )
        for company in {own, other}
    )
    services = ServiceAccount.objects.bulk_create(
        ServiceAccount(
            name=f"svc{n}", username=f"bot{n}@example.com", customer=customer[n]
        )
        for n in numbers
    )
    subscriptions = WebhookSubscription.objects.bulk_create(
        WebhookSubscription(
            service_account=service,
            customer=service.customer,
            event_type="LISTING_PUBLISHED_TO_CHANNEL",
            everreal_id=f"er-hook-{n}",
            token_hash=token_hash(f"secret-{n}"),
        )
        for n, service in zip(numbers, services, strict=True)
    )
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            subscription=subscription,
            customer=subscription.customer,
            uuid=f"delivery-{n}",
            event_type=subscription.event_type,
            data={"n": n},
            last_error="boom" if n % 2 else "",
        )
        for n, subscription in zip(numbers, subscriptions, strict=True)
    )


def test_every_changelist_of_the_app_is_counted():
    registered = {
        f"{model._meta.app_label}_{model._meta.model_name}"
        for model in admin.site._registry
        if model._meta.app_label == "everreal"
    }
    assert registered | {"auth_user"} == set(CHANGELISTS)


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelist_queries_do_not_grow_with_rows(admin_client, name):
    """10 rows of everything, then MANY: the same queries, a full page shown."""
    url = reverse(f"admin:{name}_changelist")
    add_linked_rows(0, 10)
    with CaptureQueriesContext(connection) as ten:
        few = admin_client.get(url)
    add_linked_rows(10, MANY - 10)
    with CaptureQueriesContext(connection) as many:
        full = admin_client.get(url)

    assert few.status_code == full.status_code == 200
    assert len(few.context["cl"].result_list) >= 10
    assert len(full.context["cl"].result_list) == full.context["cl"].list_per_page
    assert full.context["cl"].result_count > full.context["cl"].list_per_page
    assert len(many) == len(ten), [query["sql"] for query in many]


def test_filters(admin_client, account, acme):
    other_partner = make_partner("other")
    tenant = make_account(
        scopes=[], is_tenant=True, companies=[make_company("Elsewhere", other_partner)]
    )
    inactive = make_account(scopes=[], is_active=False, reauth_required=True)
    nordhaus = Company.objects.get(name="Nordhaus")

    assert changelist(admin_client, companies__id__exact=nordhaus.pk) == [account]
    assert changelist(admin_client, current_company__partner__id__exact=acme.pk) == [
        account
    ]
    assert changelist(
        admin_client, current_company__partner__id__exact=other_partner.pk
    ) == [tenant]
    assert changelist(admin_client, is_tenant__exact="1") == [tenant]
    assert changelist(admin_client, is_active__exact="0") == [inactive]
    assert changelist(admin_client, reauth_required__exact="1") == [inactive]


def test_search(admin_client, account):
    other = make_account(
        scopes=[], everreal_id="er-other", companies=[make_company("Westhaus")]
    )

    assert changelist(admin_client, q="anna@example") == [account]
    assert changelist(admin_client, q="76dccab0-anna") == [account]
    assert changelist(admin_client, q="er-other") == [other]
    assert changelist(admin_client, q="Suedhaus") == [account]
    assert changelist(admin_client, q="haus") == [account, other]


def test_search_by_company_keeps_the_full_company_count(admin_client, account):
    response = admin_client.get(
        reverse("admin:everreal_account_changelist"), {"q": "Suedhaus"}
    )
    assert '<td class="field-company_count">2</td>' in response.content.decode()


def test_account_change_page_is_read_only(admin_client, account):
    url = reverse("admin:everreal_account_change", args=[account.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "76dccab0-anna" in html
    assert "Suedhaus" in html
    assert "company_portfolio_all" in html
    assert response.context["adminform"].form.fields == {}

    admin_client.post(url, {"everreal_id": "changed", "email": "x@example.com"})
    account.refresh_from_db()
    assert (account.everreal_id, account.email) == ("76dccab0-anna", "anna@example.com")


def test_accounts_and_companies_cannot_be_added(admin_client):
    for name in ("account", "company", "partner"):
        assert (
            admin_client.get(reverse(f"admin:everreal_{name}_add")).status_code == 403
        )


def test_company_page_lists_members(admin_client, account):
    nordhaus = Company.objects.get(name="Nordhaus")
    response = admin_client.get(
        reverse("admin:everreal_company_change", args=[nordhaus.pk])
    )
    assert response.status_code == 200
    assert "anna@example.com" in response.content.decode()

    listing = admin_client.get(reverse("admin:everreal_company_changelist"))
    assert listing.status_code == 200
    assert '<td class="field-member_count">1</td>' in listing.content.decode()


def test_partner_pages(admin_client, account, acme):
    response = admin_client.get(
        reverse("admin:everreal_partner_change", args=[acme.pk])
    )
    assert response.status_code == 200
    assert "Suedhaus" in response.content.decode()

    listing = admin_client.get(reverse("admin:everreal_partner_changelist"))
    assert listing.status_code == 200
    assert '<td class="field-company_count">2</td>' in listing.content.decode()


def test_user_page_shows_the_everreal_account(admin_client, account):
    response = admin_client.get(
        reverse("admin:auth_user_change", args=[account.user.pk])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "EverReal account" in html
    assert "76dccab0-anna" in html
    assert reverse("admin:everreal_account_change", args=[account.pk]) in html


def test_user_page_without_account_still_renders(admin_client):
    user = make_user()
    response = admin_client.get(reverse("admin:auth_user_change", args=[user.pk]))
    assert response.status_code == 200


def test_no_token_appears_on_any_admin_page(admin_client, account):
    account.refresh_from_db()
    assert account.access_token == PLAIN_TOKENS[0]
    secrets = [
        *PLAIN_TOKENS,
        account.encrypted_access_token,
        account.encrypted_refresh_token,
    ]
    nordhaus = Company.objects.get(name="Nordhaus")
    pages = [
        reverse("admin:everreal_account_changelist"),
        reverse("admin:everreal_account_change", args=[account.pk]),
        reverse("admin:everreal_account_history", args=[account.pk]),
        reverse("admin:auth_user_delete", args=[account.user.pk]),
        reverse("admin:everreal_company_changelist"),
        reverse("admin:everreal_company_change", args=[nordhaus.pk]),
        reverse("admin:everreal_partner_change", args=[nordhaus.partner_id]),
        reverse("admin:auth_user_change", args=[account.user.pk]),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        for secret in secrets:
            assert secret not in html, page
        assert FERNET_PREFIX not in html, page
        assert "encrypted_" not in html, page


def test_add_account_inline_only_touches_a_registered_user_admin():
    site = admin.AdminSite(name="bare")
    add_account_inline(site)
    assert get_user_model() not in site._registry

    site.register(get_user_model(), UserAdmin)
    add_account_inline(site)
    add_account_inline(site)
    inlines = site._registry[get_user_model()].inlines
    assert list(inlines).count(AccountInline) == 1
    assert isinstance(site._registry[get_user_model()], UserAdmin)


def test_expired_token_without_refresh_token_needs_login(admin_client):
    account = make_account(scopes=[])
    account.set_tokens("a", None, 3600)
    account.access_token_expires_at = timezone.now() - timedelta(minutes=1)
    account.save()
    html = admin_client.get(
        reverse("admin:everreal_account_changelist")
    ).content.decode()
    assert token_cell("re-login needed") in html


# The customer registry.

PLAIN_SECRET = "acme-client-SECRET"


@pytest.fixture
def customer() -> Customer:
    customer = Customer(subdomain="acme", name="Acme", client_id="acme-client")
    customer.set_client_secret(PLAIN_SECRET)
    customer.save()
    return customer


def customer_form(**fields: str) -> dict[str, str]:
    data = {
        "subdomain": "acme",
        "name": "Acme",
        "base_url": "",
        "client_id": "acme-client",
        "client_secret": PLAIN_SECRET,
        "redirect_uri": "",
        "enabled": "on",
    }
    data.update(fields)
    return data


def assert_no_secret(html: str, customer: Customer, page: str = "") -> None:
    assert PLAIN_SECRET not in html, page
    assert customer.encrypted_client_secret not in html, page
    assert FERNET_PREFIX not in html, page
    assert "encrypted_" not in html, page


def test_add_customer_stores_the_secret_encrypted(admin_client):
    response = admin_client.post(
        reverse("admin:everreal_customer_add"), customer_form(subdomain=" ACME ")
    )
    assert response.status_code == 302
    customer = Customer.objects.get()
    assert customer.subdomain == "acme"
    assert customer.encrypted_client_secret.startswith(FERNET_PREFIX)
    assert PLAIN_SECRET not in customer.encrypted_client_secret
    assert customer.client_secret == PLAIN_SECRET


def test_adding_requires_a_secret(admin_client):
    response = admin_client.post(
        reverse("admin:everreal_customer_add"), customer_form(client_secret="")
    )
    assert response.status_code == 200
    assert "client_secret" in response.context["adminform"].form.errors
    assert not Customer.objects.exists()


def test_change_with_blank_secret_keeps_it(admin_client, customer):
    stored = customer.encrypted_client_secret
    response = admin_client.post(
        reverse("admin:everreal_customer_change", args=[customer.pk]),
        customer_form(name="Acme GmbH", client_secret=""),
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "Acme GmbH"
    assert customer.encrypted_client_secret == stored
    assert customer.client_secret == PLAIN_SECRET


def test_change_with_a_new_secret_replaces_it(admin_client, customer):
    admin_client.post(
        reverse("admin:everreal_customer_change", args=[customer.pk]),
        customer_form(client_secret="rotated-SECRET"),
    )
    customer.refresh_from_db()
    assert customer.client_secret == "rotated-SECRET"
    [entry] = LogEntry.objects.all()
    message = entry.get_change_message()
    assert "client secret" in message.lower()
    assert "rotated-SECRET" not in entry.change_message
    assert FERNET_PREFIX not in entry.change_message


def test_subdomain_is_read_only_on_change(admin_client, customer):
    url = reverse("admin:everreal_customer_change", args=[customer.pk])
    response = admin_client.get(url)
    assert "subdomain" not in response.context["adminform"].form.fields
    assert 'name="subdomain"' not in response.content.decode()

    response = admin_client.post(url, customer_form(subdomain="other"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.subdomain == "acme"


def test_read_only_subdomain_is_kept(admin_client):
    """The subdomain keys the customer's rows: a changed form cannot move them."""
    customer = Customer.objects.create(subdomain="acme", client_id="c")
    response = admin_client.post(
        reverse("admin:everreal_customer_change", args=[customer.pk]),
        customer_form(name="renamed", subdomain="other"),
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.subdomain, customer.name) == ("acme", "renamed")


def test_bad_stored_subdomain_is_a_form_error_not_a_500(admin_client):
    customer = Customer.objects.create(subdomain="bad.sub", client_id="c")
    response = admin_client.post(
        reverse("admin:everreal_customer_change", args=[customer.pk]),
        customer_form(),
    )
    assert response.status_code == 200
    assert "One DNS label" in response.content.decode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("subdomain", "evil.com/x"),
        ("subdomain", "-acme"),
        ("base_url", "ftp://x"),
        ("base_url", "https://staging.example.com/path"),
        ("redirect_uri", "not a url"),
    ],
)
def test_invalid_values_are_form_errors(admin_client, field, value):
    response = admin_client.post(
        reverse("admin:everreal_customer_add"), customer_form(**{field: value})
    )
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Customer.objects.exists()
    assert PLAIN_SECRET not in response.content.decode()


def test_settings_subdomain_is_refused(admin_client, settings):
    settings.SOCIAL_AUTH_EVERREAL_SUBDOMAIN = "Demo"
    response = admin_client.post(
        reverse("admin:everreal_customer_add"), customer_form(subdomain="demo")
    )
    assert response.status_code == 200
    assert "subdomain" in response.context["adminform"].form.errors


def test_duplicate_subdomain_is_refused(admin_client, customer):
    response = admin_client.post(
        reverse("admin:everreal_customer_add"), customer_form(subdomain="ACME")
    )
    assert response.status_code == 200
    assert "subdomain" in response.context["adminform"].form.errors
    assert Customer.objects.count() == 1


def test_base_url_is_stored_as_its_origin(admin_client):
    admin_client.post(
        reverse("admin:everreal_customer_add"),
        customer_form(base_url="http://127.0.0.1:8002/"),
    )
    assert Customer.objects.get().origin == "http://127.0.0.1:8002"


def test_the_secret_never_appears_in_the_admin(admin_client, customer):
    # Render the secret back after a failed post, too: PasswordInput must not.
    failed = admin_client.post(
        reverse("admin:everreal_customer_change", args=[customer.pk]),
        customer_form(base_url="ftp://x"),
    )
    assert failed.status_code == 200
    assert_no_secret(failed.content.decode(), customer, "failed post")
    admin_client.post(
        reverse("admin:everreal_customer_change", args=[customer.pk]),
        customer_form(client_secret="rotated-SECRET"),
    )
    customer.refresh_from_db()
    pages = [
        reverse("admin:everreal_customer_changelist"),
        reverse("admin:everreal_customer_changelist") + "?q=acme",
        reverse("admin:everreal_customer_add"),
        reverse("admin:everreal_customer_change", args=[customer.pk]),
        reverse("admin:everreal_customer_history", args=[customer.pk]),
        reverse("admin:everreal_customer_delete", args=[customer.pk]),
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert_no_secret(html, customer, page)
        assert "rotated-SECRET" not in html, page
    change = admin_client.get(pages[3]).content.decode()
    assert 'type="password"' in change
    assert "stored" in change


def test_changelist_columns_and_filter(admin_client, customer):
    Customer.objects.create(
        subdomain="beta", client_id="beta-client", enabled=False, base_url="bad"
    )
    url = reverse("admin:everreal_customer_changelist")
    html = admin_client.get(url).content.decode()
    for text in ("acme", "Acme", "https://acme.everreal.co", "acme-client", "invalid"):
        assert text in html
    assert [
        c.subdomain
        for c in admin_client.get(url, {"enabled__exact": "0"})
        .context["cl"]
        .result_list
    ] == ["beta"]
    assert [
        c.subdomain
        for c in admin_client.get(url, {"q": "acme-cl"}).context["cl"].result_list
    ] == ["acme"]


def test_view_only_staff_see_no_secret(client, customer):
    user = make_user(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(user)
    response = client.get(reverse("admin:everreal_customer_change", args=[customer.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_secret(html, customer)
    assert "stored" in html
    assert client.get(reverse("admin:everreal_customer_add")).status_code == 403


def test_non_staff_cannot_see_the_registry(client, customer):
    client.force_login(make_user())
    for url in (
        reverse("admin:everreal_customer_changelist"),
        reverse("admin:everreal_customer_change", args=[customer.pk]),
        reverse("admin:everreal_customer_add"),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))


def test_staff_without_permission_cannot_see_the_registry(client, customer):
    client.force_login(make_user(is_staff=True))
    url = reverse("admin:everreal_customer_change", args=[customer.pk])
    assert client.get(url).status_code == 403


# The customer of accounts, companies, partners and service accounts.


def test_customer_column_and_filter_appear_with_a_registry(admin_client, account):
    url = reverse("admin:everreal_account_changelist")
    html = admin_client.get(url).content.decode()
    assert "field-customer_column" not in html
    assert "?customer=" not in html

    Customer.objects.create(subdomain="beta", client_id="c")
    beta = make_account(scopes=[], customer="beta", everreal_id="er-beta")
    html = admin_client.get(url).content.decode()
    assert '<td class="field-customer_column">beta</td>' in html
    assert '<td class="field-customer_column">(settings)</td>' in html
    assert "?customer=beta" in html
    assert changelist(admin_client, customer="beta") == [beta]
    assert changelist(admin_client, customer="-") == [account]
    assert changelist(admin_client, q="beta") == [beta]


def test_customer_on_company_partner_and_service_account_pages(admin_client):
    Customer.objects.create(subdomain="beta", client_id="c")
    partner = Partner.objects.create(id="beta:p1", customer="beta", name="Beta")
    Partner.objects.create(id="p2", name="Home")
    company = Company.objects.create(
        id="beta:c1", customer="beta", name="Beta Co", partner=partner
    )
    Company.objects.create(id="c2", name="Home Co")
    service = ServiceAccount.objects.create(
        name="reports", customer="beta", username="bot@example.com"
    )
    service.set_tokens("plain-access-SECRET", "plain-refresh-SECRET", 3600)
    service.save()
    ServiceAccount.objects.create(name="home", username="home@example.com")

    for model, obj in (
        ("company", company),
        ("partner", partner),
        ("serviceaccount", service),
    ):
        listing = admin_client.get(
            reverse(f"admin:everreal_{model}_changelist"), {"customer": "beta"}
        )
        assert listing.status_code == 200, model
        assert list(listing.context["cl"].result_list) == [obj], model
        page = admin_client.get(
            reverse(f"admin:everreal_{model}_change", args=[obj.pk])
        )
        assert page.status_code == 200, model
        html = page.content.decode()
        assert "beta" in html, model
        for secret in (*PLAIN_TOKENS, service.encrypted_access_token, FERNET_PREFIX):
            assert secret not in html, model
    assert (
        admin_client.get(reverse("admin:everreal_serviceaccount_add")).status_code
        == 403
    )


def test_undecryptable_secret_is_stated_not_a_500(admin_client, customer, settings):
    url = reverse("admin:everreal_customer_change", args=[customer.pk])
    settings.EVERREAL_TOKEN_KEYS = ["not-a-key"]
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "cannot be decrypted" in response.content.decode()
    assert_no_secret(response.content.decode(), customer)


# Webhooks: subscriptions as sync left them, events and processing them again.


def make_subscription(
    event_type: str = "LISTING_PUBLISHED_TO_CHANNEL",
) -> WebhookSubscription:
    service, _ = ServiceAccount.objects.get_or_create(
        name="hooks", defaults={"username": "bot@example.com"}
    )
    return WebhookSubscription.objects.create(
        service_account=service,
        event_type=event_type,
        everreal_id="er-hook-1",
        company_id="company-1",
        token_hash=token_hash(f"secret-of-{event_type}"),
    )


def make_event(
    subscription: WebhookSubscription, uuid: str = "delivery-1", **fields: object
) -> WebhookEvent:
    return WebhookEvent.objects.create(
        subscription=subscription,
        uuid=uuid,
        event_type=subscription.event_type,
        data={"listing": {"id": "listing-1", "city": "Düsseldorf"}},
        **fields,
    )


def test_webhook_subscriptions_are_listed_without_their_secret(admin_client):
    subscription = make_subscription()
    listing = admin_client.get(reverse("admin:everreal_webhooksubscription_changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    for text in ("hooks", "LISTING_PUBLISHED_TO_CHANNEL", "er-hook-1", "company-1"):
        assert text in html
    page = admin_client.get(
        reverse("admin:everreal_webhooksubscription_change", args=[subscription.pk])
    )
    assert page.status_code == 200
    for text in (html, page.content.decode()):
        assert subscription.token_hash not in text
        assert "token_hash" not in text
        assert "secret-of-" not in text
    assert 'name="_save"' not in page.content.decode()


def test_webhook_subscriptions_are_managed_by_sync_only(admin_client):
    subscription = make_subscription()
    assert (
        admin_client.get(reverse("admin:everreal_webhooksubscription_add")).status_code
        == 403
    )
    delete = reverse(
        "admin:everreal_webhooksubscription_delete", args=[subscription.pk]
    )
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse(
        "admin:everreal_webhooksubscription_change", args=[subscription.pk]
    )
    admin_client.post(change, {"event_type": "PROPERTY_UPDATED"})
    subscription.refresh_from_db()
    assert subscription.event_type == "LISTING_PUBLISHED_TO_CHANNEL"
    assert WebhookSubscription.objects.count() == 1


def test_webhook_events_list_filters_and_search(admin_client):
    subscription = make_subscription()
    failed = make_event(
        subscription,
        "delivery-failed",
        status=WebhookEvent.FAILED,
        attempts=5,
        last_error="example.handlers.published: RuntimeError: " + "x" * 200,
    )
    done = make_event(
        subscription,
        "delivery-done",
        status=WebhookEvent.PROCESSED,
        attempts=1,
        processed_at=timezone.now(),
    )
    url = reverse("admin:everreal_webhookevent_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "LISTING_PUBLISHED_TO_CHANNEL" in html
    assert '<td class="field-attempts">5</td>' in html
    assert "RuntimeError: xxx" in html
    assert "x" * 100 not in html  # the error is shortened in the list

    def result(**params: str) -> list[WebhookEvent]:
        page = admin_client.get(url, params)
        assert page.status_code == 200
        return list(page.context["cl"].result_list)

    assert result(status="failed") == [failed]
    assert result(status="processed") == [done]
    assert result(event_type="PROPERTY_UPDATED") == []
    assert result(q="delivery-done") == [done]
    assert set(result(q="LISTING_PUBLISHED")) == {failed, done}


def test_webhook_event_page_is_read_only_with_its_data(admin_client):
    event = make_event(make_subscription())
    response = admin_client.get(
        reverse("admin:everreal_webhookevent_change", args=[event.pk])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<pre class="everreal-json">{\n  &quot;listing&quot;: {\n' in html
    assert "Düsseldorf" in html
    assert 'name="_save"' not in html
    assert event.subscription is not None
    assert event.subscription.token_hash not in html
    assert (
        admin_client.get(reverse("admin:everreal_webhookevent_add")).status_code == 403
    )


def process_again(client: Client, *events: WebhookEvent) -> Any:
    return client.post(
        reverse("admin:everreal_webhookevent_changelist"),
        {
            "action": "process_again",
            "_selected_action": [str(event.pk) for event in events],
        },
        follow=True,
    )


# The database queue's worker runs here: its transactions need real commits.
@pytest.mark.django_db(transaction=True)
def test_process_again_resets_a_failed_event_and_processes_it(admin_client):
    event = make_event(
        make_subscription(),
        status=WebhookEvent.FAILED,
        attempts=5,
        last_error="RuntimeError: boom",
    )
    response = process_again(admin_client, event)
    assert "1 event queued to be processed again." in response.content.decode()
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == ("pending", 0, "")
    assert DBTaskResult.objects.filter(
        task_path="django_everreal.tasks.process_webhook_event",
        status=TaskResultStatus.READY,
    ).exists()

    call_command("db_worker", batch=True, startup_delay=False, verbosity=0)
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("processed", 1)
    assert event.processed_at is not None


def test_process_again_leaves_an_event_a_worker_holds(admin_client):
    held = make_event(
        make_subscription(),
        status=WebhookEvent.PROCESSING,
        attempts=1,
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    response = process_again(admin_client, held)
    html = response.content.decode()
    assert "0 events queued to be processed again." in html
    assert "1 event is being processed right now" in html
    held.refresh_from_db()
    assert (held.status, held.attempts) == ("processing", 1)
    assert not DBTaskResult.objects.exists()


def test_process_again_needs_the_change_permission(client):
    event = make_event(make_subscription(), status=WebhookEvent.FAILED, attempts=5)
    viewer = make_user(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_webhookevent"))
    client.force_login(viewer)
    listing = client.get(reverse("admin:everreal_webhookevent_changelist"))
    assert listing.status_code == 200
    assert "process_again" not in listing.content.decode()
    process_again(client, event)

    client.force_login(make_user(username="plain"))
    response = process_again(client, event)
    assert response.redirect_chain[0][0].startswith(reverse("admin:login"))

    event.refresh_from_db()
    assert (event.status, event.attempts) == ("failed", 5)
    assert not DBTaskResult.objects.exists()


#: The admins that mirror EverReal or what a command manages.
MIRRORED = ("account", "company", "partner", "webhooksubscription", "webhookevent")


@pytest.fixture
def mirrored(account: Account) -> dict[str, Any]:
    """One row of each mirrored model."""
    subscription = make_subscription()
    company = Company.objects.get(name="Nordhaus")
    return {
        "account": account,
        "company": company,
        "partner": company.partner,
        "webhooksubscription": subscription,
        "webhookevent": make_event(subscription),
    }


@pytest.mark.parametrize("name", MIRRORED)
def test_mirrored_rows_are_neither_added_nor_deleted(admin_client, mirrored, name):
    obj = mirrored[name]
    add = reverse(f"admin:everreal_{name}_add")
    assert admin_client.get(add).status_code == 403
    assert admin_client.post(add, {}).status_code == 403
    delete = reverse(f"admin:everreal_{name}_delete", args=[obj.pk])
    assert admin_client.get(delete).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert type(obj)._default_manager.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("name", MIRRORED)
def test_mirrored_lists_offer_no_bulk_delete(admin_client, mirrored, name):
    changelist = reverse(f"admin:everreal_{name}_changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200
    assert 'value="delete_selected"' not in response.content.decode()
    obj = mirrored[name]
    admin_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
    )
    assert type(obj)._default_manager.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("name", MIRRORED)
def test_mirrored_change_pages_have_no_save_button(admin_client, mirrored, name):
    change = reverse(f"admin:everreal_{name}_change", args=[mirrored[name].pk])
    response = admin_client.get(change)
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert admin_client.post(change, {}).status_code == 403


def test_the_actions_keep_the_change_permission(admin_client, mirrored):
    accounts = admin_client.get(reverse("admin:everreal_account_changelist"))
    assert 'value="resync"' in accounts.content.decode()
    events = admin_client.get(reverse("admin:everreal_webhookevent_changelist"))
    assert 'value="process_again"' in events.content.decode()


def test_deleting_a_user_deletes_the_everreal_account(admin_client, account):
    delete = reverse("admin:auth_user_delete", args=[account.user.pk])
    page = admin_client.get(delete)
    assert page.status_code == 200
    assert not page.context["perms_lacking"]
    response = admin_client.post(delete, {"post": "yes"})
    assert response.status_code == 302
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not get_user_model().objects.filter(pk=account.user.pk).exists()


def test_bulk_deleting_users_deletes_their_everreal_accounts(admin_client, account):
    admin_client.post(
        reverse("admin:auth_user_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [account.user.pk],
            "post": "yes",
        },
    )
    assert not Account.objects.filter(pk=account.pk).exists()


def test_an_unused_service_account_can_be_deleted(admin_client):
    service = ServiceAccount.objects.create(name="reports", username="r@example.com")
    listing = admin_client.get(reverse("admin:everreal_serviceaccount_changelist"))
    assert 'value="delete_selected"' in listing.content.decode()
    assert (
        admin_client.get(reverse("admin:everreal_serviceaccount_add")).status_code
        == 403
    )
    delete = reverse("admin:everreal_serviceaccount_delete", args=[service.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not ServiceAccount.objects.exists()


def test_a_service_account_with_webhooks_cannot_be_deleted(admin_client):
    subscription = make_subscription()
    delete = reverse(
        "admin:everreal_serviceaccount_delete",
        args=[subscription.service_account_id],
    )
    page = admin_client.get(delete)
    assert page.status_code == 200
    assert page.context["perms_lacking"] == {"webhook subscription"}
    admin_client.post(delete, {"post": "yes"})
    assert ServiceAccount.objects.filter(pk=subscription.service_account_id).exists()
    assert WebhookSubscription.objects.filter(pk=subscription.pk).exists()
