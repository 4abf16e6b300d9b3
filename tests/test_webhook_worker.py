"""The webhook worker: what a backlog costs it, and a worker killed mid-way.

A backlog is processed by ``manage.py everreal_webhooks worker`` (the
database queue of django-tasks-db) in this process, its queries counted.
The killed worker is a real process on the test database, killed with
SIGKILL while its handler runs; it is processed again after a restart.
"""

from __future__ import annotations

import io
import json
import os
import sys
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from django_everreal import tasks
from django_everreal.models import ServiceAccount
from django_everreal.models import WebhookEvent
from django_everreal.models import WebhookSubscription
from django_everreal.signals import webhook_received
from django_everreal.webhooks import new_token
from django_everreal.webhooks import receiver_url
from django_everreal.webhooks import token_hash
from tests.processes import LoggedProcess

ROOT = Path(__file__).resolve().parents[1]

# The queue's worker commits for real, as it does in production.
pytestmark = pytest.mark.django_db(transaction=True)

#: What each event costs the worker: the queue's claim (BEGIN, SELECT FOR
#: UPDATE, UPDATE, COMMIT), the event's claim, read and completion, and the
#: queue's result.
QUERIES_PER_EVENT = 8
#: What a run costs besides: the unfinished events and the waiting tasks
#: (queued once, not again), and the last, empty claim (BEGIN, SELECT, COMMIT).
QUERIES_PER_RUN = 5


class Worker(LoggedProcess):
    name = "The webhook worker"

    def start(self) -> Worker:
        database = {
            key: connection.settings_dict[key]
            for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
        }
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.worker.settings",
            "EVERREAL_WORKER_DATABASE": json.dumps(database),
            "PYTHONUNBUFFERED": "1",
        }
        self.spawn([sys.executable, "-m", "tests.worker.run"], env, ROOT)
        return self

    def kill(self) -> None:
        assert self._process is not None
        self._process.kill()
        self._process.wait(timeout=10)
        self.stop()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


@pytest.fixture
def delivered(client: Client) -> Callable[[int], None]:
    """Deliver *n* events through the receiver: stored and queued, as a backlog waits."""
    service = ServiceAccount.objects.create(name="hooks", username="anna@example.com")
    token = new_token()
    WebhookSubscription.objects.create(
        service_account=service,
        event_type="LISTING_PUBLISHED_TO_CHANNEL",
        token_hash=token_hash(token),
    )
    path = urlsplit(receiver_url(token)).path

    def deliver(n: int) -> None:
        for _ in range(n):
            body = {
                "uuid": str(uuid.uuid4()),
                "operation": "LISTING_PUBLISHED_TO_CHANNEL",
                "data": {"id": "listing-1"},
            }
            response = client.post(path, body, content_type="application/json")
            assert response.status_code == 200

    return deliver


@pytest.fixture
def no_op_handler() -> Iterator[None]:
    def handler(sender: str, event: WebhookEvent, **kwargs: Any) -> None:
        pass

    webhook_received.connect(handler, dispatch_uid="test-no-op", weak=False)
    yield
    webhook_received.disconnect(dispatch_uid="test-no-op")


def worker_queries() -> int:
    """The queries of the documented worker processing what is queued, then stopping.

    Not counted: the isolation level MySQL's backend sets on each new
    connection, which django-tasks-db's worker opens for each task here
    (``CONN_MAX_AGE = 0``).
    """
    with CaptureQueriesContext(connection) as captured:
        call_command(
            "everreal_webhooks",
            "worker",
            "--",
            "--batch",
            "--interval",
            "0",
            "--no-startup-delay",
            "--verbosity",
            "0",
            stdout=io.StringIO(),
        )
    return sum(
        not query["sql"].startswith("SET SESSION TRANSACTION ISOLATION LEVEL")
        for query in captured.captured_queries
    )


@pytest.mark.usefixtures("no_op_handler")
def test_a_backlog_costs_the_worker_the_same_queries_per_event(delivered):
    counts = {}
    for size in (2, 5):
        delivered(size)
        counts[size] = worker_queries()

    assert counts == {
        size: QUERIES_PER_EVENT * size + QUERIES_PER_RUN for size in (2, 5)
    }
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {
        (WebhookEvent.PROCESSED, 1)
    }
    assert DBTaskResult.objects.count() == 7  # each event queued once


@pytest.mark.rowlocks
def test_an_event_whose_worker_was_killed_is_processed_after_a_restart(
    tmp_path, workers
):
    marker = tmp_path / "attempt"
    service = ServiceAccount.objects.create(name="hooks", username="anna@example.com")
    subscription = WebhookSubscription.objects.create(
        service_account=service, event_type="BLOCKING_EVENT", token_hash="0" * 64
    )
    event = WebhookEvent.objects.create(
        subscription=subscription,
        uuid="u1",
        event_type="BLOCKING_EVENT",
        data={"marker": str(marker)},
    )
    tasks.enqueue(event.pk)

    first = Worker(tmp_path / "first.log").start()
    workers.append(first)
    first.wait_for(lambda: marker.read_text() if marker.exists() else None, "run")
    first.kill()  # mid-way: the handler is still blocking
    event.refresh_from_db()
    assert (event.status, event.attempts) == (WebhookEvent.PROCESSING, 1)

    second = Worker(tmp_path / "second.log").start()
    workers.append(second)

    def processed() -> WebhookEvent | None:
        found = WebhookEvent.objects.get(pk=event.pk)
        return found if found.status == WebhookEvent.PROCESSED else None

    done = second.wait_for(processed, "process the event again")
    assert done.attempts == 2
    assert marker.read_text() == "2"
