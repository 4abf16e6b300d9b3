"""``manage.py everreal_webhooks``: reconciling EverReal's registrations with the settings."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_tasks_db.models import DBTaskResult

from django_everreal.models import ServiceAccount
from django_everreal.models import WebhookEvent
from django_everreal.models import WebhookSubscription
from django_everreal.signals import webhook_received
from django_everreal.testing import FakeEverReal
from django_everreal.webhooks import receiver_url
from django_everreal.webhooks import token_in_url

pytestmark = pytest.mark.django_db


def service_login(name: str, email: str = "anna@example.com") -> None:
    call_command(
        "everreal_service_login",
        name,
        username=email,
        password_stdin=True,
        stdin=io.StringIO("demo\n"),
        stdout=io.StringIO(),
    )


def webhooks(*args: str) -> str:
    out = io.StringIO()
    call_command("everreal_webhooks", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def hooks(everreal_fake: FakeEverReal, settings: Any) -> Callable[..., None]:
    service_login("hooks")

    def want(*event_types: str) -> None:
        settings.EVERREAL_WEBHOOKS = {"hooks": list(event_types)}

    return want


def live(fake: FakeEverReal) -> list[tuple[str, bool]]:
    return sorted(
        (w.type, token_in_url(w.url) is not None) for w in fake.live_webhooks()
    )


def test_sync_registers_each_wanted_type_once(everreal_fake, hooks):
    hooks("LISTING_CREATED", "UNIT_UPDATED", "LISTING_CREATED")

    webhooks("sync")

    assert live(everreal_fake) == [("LISTING_CREATED", True), ("UNIT_UPDATED", True)]
    assert WebhookSubscription.objects.count() == 2


def test_dry_run_changes_nothing(everreal_fake, hooks):
    hooks("LISTING_CREATED")

    out = webhooks("sync", "--dry-run")

    assert "would register LISTING_CREATED" in out
    assert everreal_fake.live_webhooks() == []
    assert not WebhookSubscription.objects.exists()


def test_sync_deletes_what_is_no_longer_wanted(everreal_fake, hooks):
    hooks("LISTING_CREATED", "UNIT_UPDATED")
    webhooks("sync")
    hooks("UNIT_UPDATED")

    webhooks("sync")

    assert live(everreal_fake) == [("UNIT_UPDATED", True)]
    assert list(WebhookSubscription.objects.values_list("event_type", flat=True)) == [
        "UNIT_UPDATED"
    ]


def test_sync_leaves_everyone_elses_registrations_alone(everreal_fake, hooks):
    everreal_fake.add_webhook("LISTING_CREATED", "https://crm.example.com/hook")
    hooks("LISTING_CREATED")

    webhooks("sync")
    hooks()
    webhooks("sync")

    assert [w.url for w in everreal_fake.live_webhooks()] == [
        "https://crm.example.com/hook"
    ]


def test_a_registration_of_this_site_with_an_unknown_secret_is_replaced(
    everreal_fake, hooks
):
    orphan = receiver_url("an-old-secret-this-site-forgot-long-ago")
    everreal_fake.add_webhook("LISTING_CREATED", orphan)
    hooks("LISTING_CREATED")

    webhooks("sync")

    assert [w.url for w in everreal_fake.live_webhooks()] != [orphan]
    assert live(everreal_fake) == [("LISTING_CREATED", True)]


def test_two_service_accounts_keep_each_others_registrations(everreal_fake, settings):
    service_login("hooks")
    service_login("hooks2", "tom@example.com")
    settings.EVERREAL_WEBHOOKS = {
        "hooks": ["LISTING_CREATED"],
        "hooks2": ["LISTING_UPDATED"],
    }
    webhooks("sync")
    everreal_fake.clear_calls()

    out = webhooks("sync")

    assert out.count("nothing to change") == 2
    assert [c.method for c in everreal_fake.calls("webhooks")] == ["GET", "GET"]
    assert sorted(w.type for w in everreal_fake.live_webhooks()) == [
        "LISTING_CREATED",
        "LISTING_UPDATED",
    ]


def test_a_registration_that_left_the_list_is_deleted_before_registering_again(
    everreal_fake, hooks
):
    hooks("LISTING_CREATED")
    webhooks("sync")
    [old] = everreal_fake.live_webhooks()
    everreal_fake.webhooks.remove(old)  # gone from the list, its id still known

    out = webhooks("sync")

    assert [c.method for c in everreal_fake.calls("webhooks")][-4:] == [
        "GET",  # the plan
        "DELETE",  # the registration it lost
        "POST",
        "GET",  # the new registration's company
    ]
    assert "could not be deleted" in out  # the fake no longer knows that id
    assert live(everreal_fake) == [("LISTING_CREATED", True)]


def test_a_company_change_is_reported_when_the_old_registration_stays(
    everreal_fake, hooks
):
    hooks("LISTING_CREATED")
    webhooks("sync")
    anna = everreal_fake.user("anna@example.com")
    # The service account's current company changes: EverReal lists (and
    # deletes) the registrations of the new one only.
    anna.current_company_id = anna.companies[1].id

    out = webhooks("sync")

    assert "did the service account's current company change?" in out
    assert live(everreal_fake) == [("LISTING_CREATED", True), ("LISTING_CREATED", True)]


def test_list_shows_everreals_registrations(everreal_fake, hooks):
    everreal_fake.add_webhook("UNIT_DELETED", "https://crm.example.com/hook")
    hooks("LISTING_CREATED")
    webhooks("sync")

    out = webhooks("list")

    assert "LISTING_CREATED" in out and "this site" in out
    assert "https://crm.example.com/hook" in out
    assert "/webhooks/" not in out  # this site's URLs hold secrets


def test_a_missing_service_account_is_an_error(everreal_fake, settings):
    settings.EVERREAL_WEBHOOKS = {"nobody": ["LISTING_CREATED"]}

    with pytest.raises(CommandError, match="nobody"):
        webhooks("sync")


def answer_next_normally(fake: FakeEverReal) -> None:
    """Let the next webhooks call through as the fake answers it.

    A delay far below any read timeout: in-process the fake answers at once,
    and the faults queued after it hit the call after.
    """
    fake.delay_next("webhooks", 0.001)


@pytest.mark.parametrize("action", ["list", "sync"])
def test_a_refused_webhook_list_is_an_error_naming_the_account(
    everreal_fake, hooks, action
):
    hooks("LISTING_CREATED")
    everreal_fake.fail_next("webhooks", 403)

    with pytest.raises(CommandError, match="could not be reconciled"):
        out = io.StringIO()
        call_command("everreal_webhooks", action, stdout=out, stderr=out)
    assert "hooks: EverReal answered HTTP 403 to the webhook list." in out.getvalue()
    assert everreal_fake.live_webhooks() == []
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize("body", [{"webhooks": []}, "not json at all"])
@pytest.mark.parametrize("action", ["list", "sync"])
def test_a_webhook_list_that_is_no_json_array_is_an_error(
    everreal_fake, hooks, action, body
):
    hooks("LISTING_CREATED")
    everreal_fake.fail_next("webhooks", 200, body)

    out = io.StringIO()
    with pytest.raises(CommandError, match="could not be reconciled"):
        call_command("everreal_webhooks", action, stdout=out, stderr=out)
    assert "hooks: " in out.getvalue()
    assert everreal_fake.live_webhooks() == []


def test_a_refused_registration_is_an_error_and_keeps_no_secret(everreal_fake, hooks):
    hooks("LISTING_CREATED")
    answer_next_normally(everreal_fake)  # the list
    everreal_fake.fail_next("webhooks", 403, {"message": "forbidden"})

    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("everreal_webhooks", "sync", stdout=out, stderr=out)

    assert (
        "EverReal answered HTTP 403 to registering LISTING_CREATED." in out.getvalue()
    )
    assert everreal_fake.live_webhooks() == []
    assert not WebhookSubscription.objects.exists()
    # Run again once EverReal agrees: registered.
    webhooks("sync")
    assert live(everreal_fake) == [("LISTING_CREATED", True)]


def test_a_refused_delete_is_an_error_and_the_secret_stays(everreal_fake, hooks):
    hooks("LISTING_CREATED")
    webhooks("sync")
    [registration] = everreal_fake.live_webhooks()
    hooks()
    answer_next_normally(everreal_fake)  # the list
    everreal_fake.fail_next("webhooks", 403)

    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("everreal_webhooks", "sync", stdout=out, stderr=out)

    assert (
        f"EverReal answered HTTP 403 to deleting LISTING_CREATED ({registration.id})."
        in out.getvalue()
    )
    # EverReal still delivers there, so the site still recognises the secret.
    assert everreal_fake.live_webhooks() == [registration]
    assert WebhookSubscription.objects.get().event_type == "LISTING_CREATED"
    webhooks("sync")
    assert everreal_fake.live_webhooks() == []
    assert not WebhookSubscription.objects.exists()


def test_a_registration_everreal_never_confirmed_is_registered_without_a_delete(
    everreal_fake, hooks
):
    hooks("LISTING_CREATED")
    # Its answer lost, say: the site holds a secret but no EverReal id.
    WebhookSubscription.objects.create(
        service_account=ServiceAccount.objects.get(name="hooks"),
        event_type="LISTING_CREATED",
        token_hash="0" * 64,
        everreal_id="",
    )

    webhooks("sync")

    assert [c.method for c in everreal_fake.calls("webhooks")] == ["GET", "POST", "GET"]
    assert live(everreal_fake) == [("LISTING_CREATED", True)]
    [subscription] = WebhookSubscription.objects.all()
    assert subscription.token_hash != "0" * 64
    assert subscription.everreal_id == everreal_fake.live_webhooks()[0].id


def test_without_service_accounts_there_is_nothing_to_do(everreal_fake, settings):
    settings.EVERREAL_WEBHOOKS = {}

    for action in ("sync", "list"):
        assert webhooks(action) == "EVERREAL_WEBHOOKS names no service account.\n"
    assert everreal_fake.calls("webhooks") == []


@pytest.mark.parametrize(
    "base_url", ["ftp://www.example.com", "https://www.example.com/hooks?x=1"]
)
def test_a_bad_webhook_base_url_is_a_command_error(
    everreal_fake, hooks, settings, base_url
):
    hooks("LISTING_CREATED")
    settings.EVERREAL_WEBHOOK_BASE_URL = base_url

    with pytest.raises(CommandError, match="EVERREAL_WEBHOOK_BASE_URL"):
        webhooks("sync")
    assert everreal_fake.calls("webhooks") == []


def test_process_queues_every_unprocessed_event(everreal_fake, hooks):
    hooks("LISTING_CREATED")
    webhooks("sync")
    [subscription] = WebhookSubscription.objects.all()
    for uuid, status in [
        ("u1", WebhookEvent.PENDING),
        ("u2", WebhookEvent.PROCESSED),
        ("u3", WebhookEvent.PENDING),
    ]:
        WebhookEvent.objects.create(
            subscription=subscription,
            uuid=uuid,
            event_type="LISTING_CREATED",
            status=status,
        )

    assert webhooks("process") == "Queued 2 unprocessed EverReal webhook events.\n"
    assert DBTaskResult.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_worker_queues_stored_events_and_runs_their_handlers(everreal_fake, hooks):
    hooks("LISTING_CREATED")
    webhooks("sync")
    [subscription] = WebhookSubscription.objects.all()
    WebhookEvent.objects.create(
        subscription=subscription, uuid="u1", event_type="LISTING_CREATED"
    )
    seen: list[str] = []

    def handler(sender: str, event: WebhookEvent, **kwargs: Any) -> None:
        seen.append(event.uuid)

    webhook_received.connect(handler, dispatch_uid="test-worker", weak=False)
    try:
        out = webhooks("worker", "--", "--batch", "--interval", "0")
    finally:
        webhook_received.disconnect(dispatch_uid="test-worker")

    assert out.startswith("Queued 1 unprocessed EverReal webhook events.\n")
    assert seen == ["u1"]
    assert WebhookEvent.objects.get().status == WebhookEvent.PROCESSED


def test_a_registration_missing_from_the_list_is_deleted_so_none_is_left_twice(
    everreal_fake, hooks
):
    hooks("LISTING_CREATED")
    webhooks("sync")
    [old] = everreal_fake.live_webhooks()
    everreal_fake.fail_next("webhooks", 200, [])  # the list leaves it out this once

    out = webhooks("sync")

    assert "could not be deleted" not in out
    [new] = everreal_fake.live_webhooks()
    assert new.id != old.id and new.type == "LISTING_CREATED"
    assert WebhookSubscription.objects.get().everreal_id == new.id
