"""Receiving EverReal's webhook deliveries and processing them with the task framework."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_everreal import tasks
from django_everreal.models import Company
from django_everreal.models import Customer
from django_everreal.models import ServiceAccount
from django_everreal.models import WebhookEvent
from django_everreal.models import WebhookSubscription
from django_everreal.signals import webhook_received
from django_everreal.webhooks import new_token
from django_everreal.webhooks import receiver_url
from django_everreal.webhooks import token_hash
from django_everreal.webhooks import token_in_url
from django_everreal.webhooks import webhook_handler

pytestmark = pytest.mark.django_db

EVENT = "LISTING_PUBLISHED_TO_CHANNEL"


class Hook:
    """A subscription and the secret of its URL, which the database does not keep."""

    def __init__(self, subscription: WebhookSubscription, token: str) -> None:
        self.subscription = subscription
        self.token = token
        self.path = reverse("social:everreal_webhook", args=[token])


def subscribe(customer: str = "", event_type: str = EVENT) -> Hook:
    service, _ = ServiceAccount.objects.get_or_create(
        name=f"hooks-{customer or 'settings'}",
        defaults={"username": "anna@example.com", "customer": customer},
    )
    token = new_token()
    subscription = WebhookSubscription.objects.create(
        service_account=service,
        customer=customer,
        event_type=event_type,
        token_hash=token_hash(token),
        company_id="c1",
    )
    return Hook(subscription, token)


@pytest.fixture
def hook() -> Hook:
    return subscribe()


def envelope(**fields: Any) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "operation": EVENT,
        "subdomain": "demo",
        "language": "de-DE",
        "createdAt": "2026-11-28T10:00:00.000Z",
        "data": {"id": "listing-1", "channel": "immoscout24"},
        **fields,
    }


def deliver(client: Client, hook: Hook, body: Any) -> Any:
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(hook.path, raw, content_type="application/json")


@pytest.fixture
def received() -> Iterator[list[WebhookEvent]]:
    """The events a handler saw, in order."""
    seen: list[WebhookEvent] = []

    def handler(sender: str, event: WebhookEvent, **kwargs: Any) -> None:
        seen.append(event)

    webhook_received.connect(handler, dispatch_uid="test-received", weak=False)
    yield seen
    webhook_received.disconnect(dispatch_uid="test-received")


def run_worker() -> None:
    """Run every task that is due now, in this process, then return."""
    call_command("db_worker", batch=True, interval=0, verbosity=0)


# Receiving.


def test_a_delivery_is_stored_and_acknowledged(
    client, hook, django_capture_on_commit_callbacks
):
    body = envelope()

    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, hook, body)

    assert response.status_code == 200
    assert response.json() == {"status": "received"}
    event = WebhookEvent.objects.get()
    assert (event.uuid, event.event_type, event.customer) == (body["uuid"], EVENT, "")
    assert (event.subdomain, event.language) == ("demo", "de-DE")
    assert event.created_at == datetime(2026, 11, 28, 10, tzinfo=UTC)
    assert event.data == body["data"]
    assert event.subscription == hook.subscription
    assert event.status == WebhookEvent.PENDING
    assert DBTaskResult.objects.count() == 1  # queued once the insert committed


def test_a_repeated_delivery_is_a_2xx_no_op(client, hook):
    body = envelope()

    first = deliver(client, hook, body)
    again = deliver(client, hook, body)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"status": "duplicate"}
    assert WebhookEvent.objects.count() == 1


def test_the_same_uuid_at_two_customers_is_two_events(client, hook):
    Customer.objects.create(subdomain="beta", client_id="beta-client")
    beta = subscribe("beta")
    body = envelope()

    deliver(client, hook, body)
    deliver(client, beta, body)

    assert sorted(WebhookEvent.objects.values_list("customer", flat=True)) == [
        "",
        "beta",
    ]


def test_an_unknown_event_type_is_stored_not_refused(client, hook):
    response = deliver(client, hook, envelope(operation="SOMETHING_NEW_AT_EVERREAL"))

    assert response.status_code == 200
    assert WebhookEvent.objects.get().event_type == "SOMETHING_NEW_AT_EVERREAL"


def test_a_wrong_secret_is_a_404(client, hook):
    wrong = Hook(hook.subscription, new_token())

    assert deliver(client, wrong, envelope()).status_code == 404
    assert not WebhookEvent.objects.exists()


def test_only_post_is_accepted(client, hook):
    response = client.get(hook.path)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (b"[" * 10000 + b"]" * 10000, "body"),
        (json.dumps(envelope(uuid=None)), "uuid"),
        (json.dumps(envelope(uuid="has spaces in it")), "uuid"),
        (json.dumps(envelope(uuid="x" * 65)), "uuid"),
        (json.dumps(envelope(operation=5)), "operation"),
        (json.dumps(envelope(createdAt="yesterday")), "createdAt"),
        (json.dumps({k: v for k, v in envelope().items() if k != "data"}), "data"),
    ],
)
def test_garbage_is_a_400_naming_the_field(client, hook, body, field):
    response = deliver(client, hook, body)

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_envelope", "field": field}
    assert not WebhookEvent.objects.exists()


def test_a_body_past_the_limit_is_a_413(client, hook, settings):
    settings.EVERREAL_WEBHOOK_MAX_BODY = 200

    response = deliver(client, hook, envelope(data={"text": "x" * 300}))

    assert response.status_code == 413
    assert not WebhookEvent.objects.exists()


def test_text_no_database_takes_is_stored_as_null(client, hook):
    response = deliver(
        client, hook, envelope(data={"name": "nul\x00byte", "ok": "fine"})
    )

    assert response.status_code == 200
    assert WebhookEvent.objects.get().data == {"name": None, "ok": "fine"}


@hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats()
            | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(st.text(max_size=10), children, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda value: json.dumps(value).encode()),
        st.fixed_dictionaries(
            {
                "uuid": st.text(max_size=70),
                "operation": st.text(max_size=110),
                "subdomain": st.none() | st.text(max_size=70),
                "language": st.none() | st.text(max_size=40),
                "createdAt": st.none() | st.text(max_size=30),
                "data": st.none() | st.text(max_size=20),
            }
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_no_input_makes_a_500(client, hook, body):
    response = deliver(client, hook, body)

    assert response.status_code in (200, 400)


def test_the_secret_is_never_logged(client, hook, caplog):
    caplog.set_level(logging.DEBUG)

    deliver(client, hook, b"garbage")
    deliver(client, hook, envelope())
    client.get(hook.path)

    assert hook.token not in caplog.text


def test_the_database_keeps_only_a_hash_of_the_secret(hook):
    stored = WebhookSubscription.objects.filter(pk=hook.subscription.pk).values().get()

    assert hook.token not in json.dumps(stored, default=str)
    assert stored["token_hash"] == token_hash(hook.token)


def test_receiver_urls_are_recognised_as_this_sites(hook, settings):
    settings.EVERREAL_WEBHOOK_BASE_URL = "https://www.example.com"
    url = receiver_url(hook.token)

    assert url == f"https://www.example.com{hook.path}"
    assert token_in_url(url) == hook.token
    assert token_in_url("https://elsewhere.example.com" + hook.path) is None
    assert token_in_url(url + "?x=1") is None
    assert token_in_url(None) is None


def stored_event(hook: Hook, **fields: Any) -> WebhookEvent:
    """An event as the receiver stores it, in the state *fields* say."""
    return WebhookEvent.objects.create(
        subscription=hook.subscription, uuid="u1", event_type=EVENT, **fields
    )


# Processing: the database queue's own worker, run in this process. Its
# transactions (and MariaDB's idea of an old connection) need real commits.

processing = pytest.mark.django_db(transaction=True)


@processing
def test_a_worker_runs_the_handlers_once(
    client, hook, received, django_capture_on_commit_callbacks
):
    Company.objects.create(id="c1", name="Muster GmbH")
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, hook, envelope())

    run_worker()
    run_worker()

    [event] = received
    event.refresh_from_db()
    assert event.status == WebhookEvent.PROCESSED
    assert event.attempts == 1
    assert event.processed_at is not None
    assert event.customer == ""
    assert event.company is not None and event.company.name == "Muster GmbH"


@processing
def test_handlers_register_for_event_types(
    client, hook, django_capture_on_commit_callbacks
):
    calls: list[str] = []

    @webhook_handler(EVENT, "PROPERTY_UPDATED")
    def published(sender: str, event: WebhookEvent, **kwargs: Any) -> None:
        calls.append(sender)

    try:
        with django_capture_on_commit_callbacks(execute=True):
            deliver(client, hook, envelope())
            deliver(client, hook, envelope(operation="UNIT_DELETED"))
        run_worker()
    finally:
        for event_type in (EVENT, "PROPERTY_UPDATED"):
            webhook_received.disconnect(published, sender=event_type)

    assert calls == [EVENT]


@pytest.fixture
def failing() -> Iterator[list[int]]:
    attempts: list[int] = []

    def handler(sender: str, event: WebhookEvent, **kwargs: Any) -> None:
        attempts.append(event.attempts)
        raise RuntimeError("the CRM is down")

    webhook_received.connect(handler, dispatch_uid="test-failing", weak=False)
    yield attempts
    webhook_received.disconnect(dispatch_uid="test-failing")


@processing
def test_a_failing_handler_is_retried_with_backoff(
    hook, failing, settings, client, django_capture_on_commit_callbacks
):
    settings.EVERREAL_WEBHOOK_RETRY_BACKOFF = 30
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, hook, envelope())

    run_worker()

    event = WebhookEvent.objects.get()
    assert failing == [1]
    assert (event.status, event.attempts) == (WebhookEvent.PENDING, 1)
    assert "RuntimeError: the CRM is down" in event.last_error
    retry = DBTaskResult.objects.filter(status="READY").get()
    delay = (retry.run_after - timezone.now()).total_seconds()
    assert 25 < delay <= 30
    run_worker()
    assert failing == [1]  # not due yet


@processing
def test_after_the_last_attempt_the_event_failed(
    hook, failing, settings, client, django_capture_on_commit_callbacks
):
    settings.EVERREAL_WEBHOOK_MAX_ATTEMPTS = 3
    settings.EVERREAL_WEBHOOK_RETRY_BACKOFF = 0
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, hook, envelope())

    for _ in range(4):
        run_worker()

    event = WebhookEvent.objects.get()
    assert failing == [1, 2, 3]
    assert (event.status, event.attempts) == (WebhookEvent.FAILED, 3)


@processing
def test_process_again_resets_a_failed_event(
    hook, failing, settings, client, django_capture_on_commit_callbacks
):
    settings.EVERREAL_WEBHOOK_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, hook, envelope())
    run_worker()
    assert WebhookEvent.objects.get().status == WebhookEvent.FAILED

    assert tasks.process_again(WebhookEvent.objects.all()) == 1
    run_worker()

    assert failing == [1, 1]


def test_an_event_another_worker_holds_is_not_run_twice(hook, received):
    event = stored_event(
        hook,
        status=WebhookEvent.PROCESSING,
        lease_until=timezone.now() + timedelta(minutes=5),
    )

    assert tasks.process(event.pk) == tasks.SKIPPED
    assert tasks.process_again(WebhookEvent.objects.all()) == 0
    assert received == []


@processing
def test_an_event_whose_worker_died_is_run_again(hook, received):
    event = stored_event(
        hook,
        status=WebhookEvent.PROCESSING,
        attempts=1,
        lease_until=timezone.now() - timedelta(seconds=1),
    )

    assert tasks.requeue_unfinished() == 1
    run_worker()

    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.PROCESSED, 2)
    assert len(received) == 1


def test_a_held_event_is_queued_for_the_end_of_its_lease(hook):
    stored_event(
        hook,
        status=WebhookEvent.PROCESSING,
        lease_until=timezone.now() + timedelta(seconds=100),
    )

    assert tasks.requeue_unfinished() == 1

    queued = DBTaskResult.objects.get()
    assert 100 <= (queued.run_after - timezone.now()).total_seconds() <= 101


def test_the_refetch_client_is_the_subscriptions_service_account(hook):
    event = WebhookEvent(subscription=hook.subscription, uuid="u1", event_type=EVENT)

    assert event.everreal.holder == hook.subscription.service_account


def test_another_task_backend_is_configuration_only(
    client, hook, received, settings, django_capture_on_commit_callbacks
):
    """The immediate backend here; RQ or any other the same way."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    }

    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, hook, envelope())

    assert len(received) == 1
    assert WebhookEvent.objects.get().status == WebhookEvent.PROCESSED
    assert not DBTaskResult.objects.exists()


# Receiving: what the envelope and the request may get wrong.


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"language": "de DE"}, "language"),
        ({"language": "x" * 36}, "language"),
        ({"subdomain": ""}, "subdomain"),
        ({"createdAt": "2026-13-45T10:00:00Z"}, "createdAt"),  # the form, no date
        ({"createdAt": "2026-11-28T10:00:00Z" + " " * 60}, "createdAt"),
    ],
)
def test_an_envelope_field_out_of_range_is_a_400_naming_it(client, hook, fields, field):
    response = deliver(client, hook, envelope(**fields))

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_envelope", "field": field}
    assert not WebhookEvent.objects.exists()


def test_a_missing_language_and_subdomain_are_accepted(client, hook):
    response = deliver(client, hook, envelope(language=None, subdomain=None))

    assert response.status_code == 200
    assert (
        WebhookEvent.objects.get().language,
        WebhookEvent.objects.get().subdomain,
    ) in {
        (None, None),
        ("", ""),
    }


@pytest.mark.parametrize("length", ["many", "1e3", " "])
def test_a_content_length_that_is_no_number_is_a_400(client, hook, length):
    response = client.post(
        hook.path,
        json.dumps(envelope()),
        content_type="application/json",
        CONTENT_LENGTH=length,
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request"}
    assert not WebhookEvent.objects.exists()


def test_a_declared_length_past_the_limit_is_a_413_before_reading(
    client, hook, settings
):
    settings.EVERREAL_WEBHOOK_MAX_BODY = 200

    response = client.post(
        hook.path, b"{}", content_type="application/json", CONTENT_LENGTH="201"
    )

    assert response.status_code == 413
    assert response.json() == {"error": "too_large", "limit": 200}


@contextmanager
def table_gone(model: type[Model]) -> Iterator[None]:
    """The model's table renamed away, as a half-run migration leaves it."""
    table = model._meta.db_table
    with connection.schema_editor() as editor:
        editor.alter_db_table(model, table, f"{table}_away")
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            editor.alter_db_table(model, f"{table}_away", table)


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_is_a_503_the_sender_retries(client, hook, caplog):
    body = envelope()

    with table_gone(WebhookEvent):
        response = deliver(client, hook, body)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": "temporarily_unavailable"}
    assert "database error" in caplog.text and hook.token not in caplog.text
    # EverReal's retry, once the database is back, is stored.
    again = deliver(client, hook, body)
    assert again.status_code == 200
    assert again.json() == {"status": "received"}
    assert WebhookEvent.objects.get().uuid == body["uuid"]


@processing
def test_a_handler_for_every_event_type(
    client, hook, django_capture_on_commit_callbacks
):
    calls: list[str] = []

    @webhook_handler()
    def everything(sender: str, event: WebhookEvent, **kwargs: Any) -> None:
        calls.append(sender)

    try:
        with django_capture_on_commit_callbacks(execute=True):
            deliver(client, hook, envelope())
            deliver(client, hook, envelope(operation="UNIT_DELETED"))
        run_worker()
    finally:
        webhook_received.disconnect(everything)

    assert sorted(calls) == sorted([EVENT, "UNIT_DELETED"])


# Query counts: what one delivery costs the database (bench webhooks).


def statements(captured: CaptureQueriesContext) -> list[str]:
    """The first word of each statement: enough to see the transaction's shape.

    MySQL's driver keeps no text of a statement that failed (Django logs it as
    "None"); here that is the INSERT refused as a duplicate.
    """
    words = [
        str(query["sql"]).split()[0].upper() for query in captured.captured_queries
    ]
    if connection.vendor == "mysql":
        return ["INSERT" if word == "NONE" else word for word in words]
    return words


@pytest.mark.django_db(transaction=True)
def test_a_delivery_is_one_lookup_and_one_commit_with_its_task(client, hook):
    """The event and its task (django-tasks-db) commit together: one commit, not two."""
    with CaptureQueriesContext(connection) as captured:
        response = deliver(client, hook, envelope())

    assert response.json() == {"status": "received"}
    assert statements(captured) == ["SELECT", "BEGIN", "INSERT", "INSERT", "COMMIT"]
    assert DBTaskResult.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_repeat_delivery_is_one_lookup_a_refused_insert_and_a_check(client, hook):
    body = envelope()
    deliver(client, hook, body)

    with CaptureQueriesContext(connection) as captured:
        response = deliver(client, hook, body)

    assert response.json() == {"status": "duplicate"}
    assert statements(captured) == ["SELECT", "BEGIN", "INSERT", "ROLLBACK", "SELECT"]
    assert DBTaskResult.objects.count() == 1
