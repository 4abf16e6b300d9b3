"""End to end in a real browser: the example site and the fake EverReal on loopback.

Chromium (the system's, driven by Playwright) logs in through the fake's
login page, reads the profile, meets the scope guards, pages through
EverReal's API, lives through an expired access token and a dead refresh
token, and logs out. The fake runs in this process, so the tests can turn
its knobs; the example site runs as ``manage.py runserver`` in a subprocess.

Without Playwright or Chromium the tests are skipped, except under CI
(``CI`` set), where that is a failure. When a step fails, screenshots of
every step so far and the site's log are written to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeEverRealServer
from django_everreal.testing.data import FakeClient
from tests.browser import chromium
from tests.browser.journey import Journey
from tests.browser.site import ExampleSite

try:
    from playwright.sync_api import expect
    from playwright.sync_api import sync_playwright
except ImportError:  # the tests are skipped (or, under CI, fail) below
    pass

if TYPE_CHECKING:
    from playwright.sync_api import Browser
    from playwright.sync_api import Page


MISSING = chromium.missing()
UNDER_CI = bool(os.environ.get("CI"))

pytestmark = pytest.mark.skipif(
    bool(MISSING) and not UNDER_CI, reason=f"browser test {MISSING}"
)

#: Every wait is bounded by this (milliseconds).
TIMEOUT = 10_000
PASSWORD = "demo"
ANNA = "anna@example.com"
TOM = "tom@example.com"
#: The example site's directory page size.
PAGE_SIZE = 5


@pytest.fixture(scope="module")
def everreal() -> Iterator[FakeEverRealServer]:
    with FakeEverRealServer() as server:
        yield server


@pytest.fixture(scope="module")
def fake(everreal: FakeEverRealServer) -> FakeEverReal:
    return everreal.fake


@pytest.fixture(scope="module")
def beta() -> Iterator[FakeEverReal]:
    """A second EverReal customer, ``beta``: its own origin and client, the same users."""
    fake = FakeEverReal(
        clients=[
            FakeClient("beta-client", "beta-secret", allow_loopback_redirects=True)
        ]
    )
    with FakeEverRealServer(fake):
        yield fake


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeEverReal) -> Iterator[None]:
    """Each test starts with the fake's usual token lifetime and no calls.

    The fake's clock only ever moves ahead; tokens are issued and checked on
    that clock, so a test that advanced it leaves nothing stale behind.
    """
    lifetime = fake.access_token_lifetime
    fake.reset()
    yield
    fake.access_token_lifetime = lifetime


@pytest.fixture(scope="module")
def site(
    everreal: FakeEverRealServer,
    beta: FakeEverReal,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ExampleSite]:
    with ExampleSite(everreal.url, tmp_path_factory.mktemp("example-site")) as site:
        site.manage(
            "demo_customer", "beta", "--base-url", beta.base_url, "--name", "Beta"
        )
        yield site


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if MISSING:
        pytest.fail(f"CI is set, and the browser test {MISSING}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium.executable(), args=list(chromium.ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, site: ExampleSite) -> Iterator[Page]:
    """A fresh browser profile (no cookies) on the example site, in English."""
    expect.set_options(timeout=TIMEOUT)
    context = browser.new_context(base_url=site.url, locale="en-US")
    context.set_default_timeout(TIMEOUT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def journey(page: Page, site: ExampleSite, request: pytest.FixtureRequest) -> Journey:
    return Journey(
        page, request.node.name, attachments=(site.log_path, site.worker.log_path)
    )


def log_in_at_everreal(page: Page, email: str) -> None:
    """Fill in the fake EverReal's login page, which the browser is on."""
    expect(page).to_have_title(re.compile("Fake EverReal"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()


def log_in(page: Page, site: ExampleSite, email: str, start: str = "/login/") -> None:
    """From *start*'s login button through EverReal's login to the profile."""
    page.goto(start)
    page.get_by_role("button", name="Log in with EverReal").click()
    log_in_at_everreal(page, email)
    expect(page).to_have_url(f"{site.url}/profile/")


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def directory_emails(page: Page) -> list[str]:
    return page.locator("#users tbody td:nth-child(3)").all_inner_texts()


def refreshes(fake: FakeEverReal) -> int:
    return sum(
        1
        for call in fake.calls("token")
        if call.body and call.body.get("grant_type") == "refresh_token"
    )


def test_property_manager_sees_everything_and_logs_out(
    page: Page, site: ExampleSite, fake: FakeEverReal, journey: Journey
) -> None:
    anna = fake.user(ANNA)
    with journey.step("log in as anna from the home page"):
        log_in(page, site, ANNA, start="/")

    with journey.step("profile"):
        expect(page.get_by_role("heading", level=1)).to_have_text("Profile")
        assert anna.current_company is not None
        expect(page.locator("#current-company")).to_have_text(anna.current_company.name)
        expect(page.locator("#partner")).to_contain_text("demo")
        expect(page.locator("#companies li")).to_have_count(len(anna.companies))
        for company in anna.companies:
            expect(page.locator("#companies")).to_contain_text(company.name)
        granted = {*anna.scopes, "offline_access"}
        expect(page.locator("#scopes li")).to_have_count(len(granted))
        assert set(page.locator("#scopes li").all_inner_texts()) == granted

    with journey.step("portfolio, guarded by scope_required"):
        nav(page, "Portfolio")
        expect(page).to_have_url(f"{site.url}/portfolio/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Portfolio")
        expect(page.locator("#portfolio-companies li")).to_have_count(
            len(anna.companies)
        )

    with journey.step("templates, shown by perms.everreal"):
        nav(page, "Templates")
        expect(page.locator("#message-templates-allowed")).to_be_visible()
        # Anna has message_templates_all, not email_templates_all.
        expect(page.locator("#email-templates-denied")).to_be_visible()

    emails = [user.email for user in fake.users]
    with journey.step("directory from EverReal's API, page 1"):
        nav(page, "Directory")
        expect(page.locator("#users caption")).to_have_text("Page 1")
        expect(page.locator("#users tbody tr")).to_have_count(PAGE_SIZE)
        assert directory_emails(page) == emails[:PAGE_SIZE]
        expect(page.get_by_role("link", name="Previous page")).to_have_count(0)

    with journey.step("directory, page 2"):
        page.get_by_role("link", name="Next page").click()
        expect(page).to_have_url(f"{site.url}/directory/?page=2")
        expect(page.locator("#users caption")).to_have_text("Page 2")
        assert directory_emails(page) == emails[PAGE_SIZE : 2 * PAGE_SIZE]

    with journey.step("directory, last page"):
        page.get_by_role("link", name="Next page").click()
        expect(page.locator("#users caption")).to_have_text("Page 3")
        assert directory_emails(page) == emails[2 * PAGE_SIZE :]
        expect(page.get_by_role("link", name="Next page")).to_have_count(0)
        expect(page.get_by_role("link", name="Previous page")).to_be_visible()

    with journey.step("log out"):
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(f"{site.url}/")
        expect(page.get_by_role("button", name="Log in with EverReal")).to_be_visible()

    with journey.step("the profile needs a login again"):
        page.goto("/profile/")
        expect(page).to_have_url(f"{site.url}/login/?next=/profile/")


def test_picking_a_customer_logs_in_at_that_customer(
    page: Page,
    site: ExampleSite,
    fake: FakeEverReal,
    beta: FakeEverReal,
    journey: Journey,
) -> None:
    beta.reset()
    with journey.step("pick beta on the login page"):
        page.goto("/login/")
        page.get_by_label("EverReal customer").select_option(label="Beta")
        page.get_by_role("button", name="Log in with EverReal").click()
        assert page.url.startswith(beta.base_url + "/")

    with journey.step("log in at beta as anna"):
        log_in_at_everreal(page, ANNA)
        expect(page).to_have_url(f"{site.url}/profile/")
        expect(page.locator("#customer")).to_have_text("beta")
        beta_id = page.locator("#everreal-id").inner_text()
        assert [(call.body or {}).get("client_id") for call in beta.calls("token")] == [
            "beta-client"
        ]
        assert fake.calls("token") == []

    with journey.step("log out, log in as anna at the customer in settings"):
        page.get_by_role("button", name="Log out").click()
        log_in(page, site, ANNA)
        expect(page.locator("#customer")).to_have_text("Demo Hausverwaltung")
        # The same EverReal id at another customer: another identity.
        expect(page.locator("#everreal-id")).to_have_text(beta_id)
        assert len(beta.calls("token")) == 1


def test_tenant_is_refused_the_portfolio(
    page: Page, site: ExampleSite, journey: Journey
) -> None:
    with journey.step("log in as tom"):
        log_in(page, site, TOM)

    with journey.step("profile of a tenant"):
        expect(page.locator("#scopes li")).to_have_text(
            ["company_user", "offline_access"]
        )

    with journey.step("portfolio refused with 403"):
        response = page.goto("/portfolio/")
        assert response is not None
        assert response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")

    with journey.step("templates show no access"):
        nav(page, "Templates")
        expect(page.locator("#message-templates-denied")).to_be_visible()
        expect(page.locator("#message-templates-allowed")).to_have_count(0)


def test_cancelled_login_says_so(
    page: Page, site: ExampleSite, journey: Journey
) -> None:
    with journey.step("cancel at EverReal"):
        page.goto("/")
        page.get_by_role("button", name="Log in with EverReal").click()
        expect(page).to_have_title(re.compile("Fake EverReal"))
        page.get_by_role("button", name="Cancel").click()

    with journey.step("back home with the reason"):
        expect(page).to_have_url(f"{site.url}/")
        expect(page.get_by_role("alert")).to_have_text(
            "You cancelled the EverReal login."
        )
        expect(page.get_by_role("button", name="Log in with EverReal")).to_be_visible()


def test_expired_access_tokens_are_refreshed(
    page: Page, site: ExampleSite, fake: FakeEverReal, journey: Journey
) -> None:
    # Shorter than the site's refresh leeway (60 s): due as soon as it is issued.
    fake.access_token_lifetime = 30
    with journey.step("log in as anna, token due at once"):
        log_in(page, site, ANNA)
        fake.clear_calls()

    with journey.step("directory works, after a refresh"):
        nav(page, "Directory")
        expect(page.locator("#users tbody tr")).to_have_count(PAGE_SIZE)
        assert refreshes(fake) == 1
        assert [call.status for call in fake.calls("graphql")] == [200]

    fake.access_token_lifetime = 3600
    with journey.step("log in again, token valid for an hour"):
        log_in(page, site, ANNA)
        fake.clear_calls()

    with journey.step("EverReal's clock passes the expiry; the 401 is retried"):
        # The site still thinks the token valid; EverReal answers 401.
        fake.advance_clock(3600 + 1)
        page.goto("/directory/?page=2")
        expect(page.locator("#users tbody tr")).to_have_count(PAGE_SIZE)
        assert refreshes(fake) == 1
        assert [call.status for call in fake.calls("graphql")] == [401, 200]


def test_dead_refresh_token_sends_back_to_login(
    page: Page, site: ExampleSite, fake: FakeEverReal, journey: Journey
) -> None:
    fake.access_token_lifetime = 30
    with journey.step("log in as anna, token due at once"):
        log_in(page, site, ANNA)

    with journey.step("EverReal forgets the refresh token: back to the login"):
        assert fake.revoke_refresh_tokens(ANNA) >= 1
        page.goto("/directory/")
        expect(page).to_have_url(f"{site.url}/login/?next=/directory/")
        expect(page.get_by_role("alert")).to_have_text(
            "Your EverReal login has expired. Please log in again."
        )

    with journey.step("log in again and land on the page asked for"):
        page.get_by_role("button", name="Log in with EverReal").click()
        log_in_at_everreal(page, ANNA)
        expect(page).to_have_url(f"{site.url}/directory/")
        expect(page.locator("#users tbody tr")).to_have_count(PAGE_SIZE)


def test_admin_lists_linked_accounts(
    page: Page, site: ExampleSite, journey: Journey
) -> None:
    with journey.step("log in as anna"):
        log_in(page, site, ANNA)

    with journey.step("admin login"):
        page.goto("/admin/login/?next=/admin/everreal/account/")
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill("admin")
        page.get_by_role("button", name="Log in").click()

    with journey.step("EverReal accounts in the admin"):
        expect(page).to_have_url(f"{site.url}/admin/everreal/account/")
        expect(page.locator("#result_list")).to_contain_text(ANNA)


def test_published_listing_arrives_as_a_processed_webhook_event(
    page: Page, site: ExampleSite, journey: Journey
) -> None:
    with journey.step("log in as anna, open the events"):
        log_in(page, site, ANNA)
        nav(page, "Events")
        expect(page).to_have_url(f"{site.url}/events/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Webhook events")
        before = page.locator("#events tr.event").count()

    with journey.step("the fake EverReal publishes a listing"):
        page.get_by_role(
            "button", name="Publish a listing at the fake EverReal"
        ).click()
        expect(page).to_have_url(f"{site.url}/events/")
        expect(page.get_by_role("alert")).to_have_text(
            "The fake EverReal published a listing; 1 receiver took it."
        )
        expect(page.locator("#events tr.event")).to_have_count(before + 1)

    with journey.step("the worker processes it; the page reloads until then"):
        latest = page.locator("#events tr.event").first
        expect(latest).to_contain_text("LISTING_PUBLISHED_TO_CHANNEL")
        expect(latest.locator(".status")).to_have_text("processed")
        expect(latest.locator(".attempts")).to_have_text("1")
        assert "EverReal published listing" in site.worker.log()


def test_german_from_accept_language(
    browser: Browser, site: ExampleSite, request: pytest.FixtureRequest
) -> None:
    context = browser.new_context(base_url=site.url, locale="de-DE")
    context.set_default_timeout(TIMEOUT)
    try:
        page = context.new_page()
        journey = Journey(page, request.node.name, attachments=(site.log_path,))
        with journey.step("home page in German"):
            page.goto("/")
            expect(page.locator("html")).to_have_attribute("lang", "de")
            expect(
                page.get_by_role("button", name="Mit EverReal anmelden")
            ).to_be_visible()
    finally:
        context.close()


def test_screenshots_are_written_when_a_step_fails(
    page: Page, site: ExampleSite, tmp_path: Path
) -> None:
    journey = Journey(page, "demo", directory=tmp_path, attachments=(site.log_path,))
    with journey.step("home"):
        page.goto("/")
    with pytest.raises(AssertionError), journey.step("a step that fails"):
        raise AssertionError
    written = sorted(path.name for path in (tmp_path / "demo").iterdir())
    assert written == ["01-home.png", "02-a-step-that-fails-failed.png", "site.log"]
