"""A webhook worker killed mid-way: the event is processed again after a restart.

Real worker processes (``manage.py everreal_webhooks worker``, the database
queue of django-tasks-db) on the test database; the first is killed with
SIGKILL while its handler runs.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from django_everreal import tasks
from django_everreal.models import ServiceAccount
from django_everreal.models import WebhookEvent
from django_everreal.models import WebhookSubscription
from tests.processes import LoggedProcess

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.rowlocks, pytest.mark.django_db(transaction=True)]


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
