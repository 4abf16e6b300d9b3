"""Processing EverReal's webhook deliveries in the background, with Django's task framework.

``django.tasks`` on Django 6, the ``django-tasks`` backport on Django 5.2;
the backend is the site's (``TASKS``): the database queue of
``django-tasks-db`` by default, RQ or any other by configuration alone.

An event is claimed with a lease (``EVERREAL_WEBHOOK_LEASE``): a worker that
dies mid-way leaves it claimed until the lease ends, and it is processed
again then (``requeue_unfinished``, which ``manage.py everreal_webhooks
worker`` runs at start). A handler that raises has the event processed again
after ``EVERREAL_WEBHOOK_RETRY_BACKOFF`` seconds, doubling, until
``EVERREAL_WEBHOOK_MAX_ATTEMPTS``; its error is recorded on the event.
"""

from __future__ import annotations

import logging
import sys
from datetime import timedelta
from typing import Any

from django.db import router
from django.db.models import F
from django.db.models import Q
from django.utils import timezone

from django_everreal.conf import conf
from django_everreal.models import WebhookEvent
from django_everreal.redaction import redact
from django_everreal.signals import webhook_received

try:  # Django 6
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # Django 5.2: the backport
    from django_tasks import task  # type: ignore[no-redef,unused-ignore]

logger = logging.getLogger("django_everreal")

#: What ``process`` says it did.
PROCESSED = WebhookEvent.PROCESSED
RETRYING = "retrying"
FAILED = WebhookEvent.FAILED
SKIPPED = "skipped"
#: The longest error text kept on an event.
MAX_ERROR_LENGTH = 2000


@task()
def process_webhook_event(event_id: int) -> str:
    return process(event_id)


def enqueue(event_id: int, delay: float = 0) -> None:
    """Queue the processing of one event, after *delay* seconds where the backend can wait."""
    job: Any = process_webhook_event
    if delay > 0 and job.get_backend().supports_defer:
        job = job.using(run_after=timezone.now() + timedelta(seconds=delay))
    job.enqueue(event_id)


def _database_queue() -> Any:
    """django-tasks-db's result model when it queues on the events' own database, else ``None``.

    Then a task queued inside the transaction that stores its event commits
    with it, and the queue itself tells which events wait for a worker.
    """
    try:
        from django_tasks_db.backend import DatabaseBackend
    except ImportError:  # another backend, without django-tasks-db installed
        return None
    job: Any = process_webhook_event
    if not isinstance(job.get_backend(), DatabaseBackend):
        return None
    from django_tasks_db.models import DBTaskResult

    if router.db_for_write(DBTaskResult) != router.db_for_write(WebhookEvent):
        return None
    return DBTaskResult


def queues_in_transaction() -> bool:
    """Whether ``enqueue`` inside the event's transaction commits with it (one commit, not two)."""
    return _database_queue() is not None


def _queued_events() -> set[int]:
    """Events the database queue already holds a waiting task for (none for other backends)."""
    model = _database_queue()
    if model is None:
        return set()
    from django_tasks_db.compat import TaskResultStatus

    job: Any = process_webhook_event
    waiting = model.objects.filter(
        status=TaskResultStatus.READY,
        backend_name=job.get_backend().alias,
        task_path=job.module_path,
    ).order_by()
    queued: set[int] = set()
    for args_kwargs in waiting.values_list("args_kwargs", flat=True):
        args = args_kwargs.get("args") if isinstance(args_kwargs, dict) else None
        if isinstance(args, list) and len(args) == 1 and isinstance(args[0], int):
            queued.add(args[0])
    return queued


def claimable(now: Any = None) -> Q:
    """Events no live worker holds: waiting, or claimed by one whose lease ran out."""
    now = now or timezone.now()
    return Q(status=WebhookEvent.PENDING) | Q(
        status=WebhookEvent.PROCESSING, lease_until__lt=now
    )


def process(event_id: int) -> str:
    """Run the handlers of one event, once at a time however often it was queued."""
    now = timezone.now()
    claimed = WebhookEvent.objects.filter(claimable(now), pk=event_id).update(
        status=WebhookEvent.PROCESSING,
        lease_until=now + timedelta(seconds=conf.WEBHOOK_LEASE),
        attempts=F("attempts") + 1,
    )
    if not claimed:
        return SKIPPED
    event = WebhookEvent.objects.select_related("subscription__service_account").get(
        pk=event_id
    )
    results = webhook_received.send_robust(
        sender=sys.intern(event.event_type), event=event
    )
    errors = [
        (receiver, error) for receiver, error in results if isinstance(error, Exception)
    ]
    done = WebhookEvent.objects.filter(pk=event_id, status=WebhookEvent.PROCESSING)
    if not errors:
        done.update(
            status=WebhookEvent.PROCESSED,
            processed_at=timezone.now(),
            lease_until=None,
            last_error="",
        )
        return PROCESSED
    for receiver, error in errors:
        logger.error(
            "EverReal webhook %s (%s) failed in %s",
            event.event_type,
            event.uuid,
            _name(receiver),
            exc_info=(type(error), error, error.__traceback__),
        )
    text = redact("; ".join(f"{_name(r)}: {type(e).__name__}: {e}" for r, e in errors))[
        :MAX_ERROR_LENGTH
    ]
    if event.attempts >= conf.WEBHOOK_MAX_ATTEMPTS:
        done.update(status=WebhookEvent.FAILED, lease_until=None, last_error=text)
        return FAILED
    done.update(status=WebhookEvent.PENDING, lease_until=None, last_error=text)
    enqueue(event_id, delay=conf.WEBHOOK_RETRY_BACKOFF * 2 ** (event.attempts - 1))
    return RETRYING


def requeue_unfinished() -> int:
    """Queue every event not processed yet; how many wait. Run at a worker's start.

    Events a worker holds are queued for when its lease ends: if that
    worker died, the event runs then; if it lives and finishes, the queued
    run finds nothing to do. Events the database queue already holds a
    waiting task for are left to it: a backlog is not queued twice.
    """
    now = timezone.now()
    unfinished = WebhookEvent.objects.filter(
        status__in=[WebhookEvent.PENDING, WebhookEvent.PROCESSING]
    ).order_by("pk")
    queued = _queued_events()
    count = 0
    for event_id, lease_until in unfinished.values_list("pk", "lease_until"):
        count += 1
        if event_id in queued:
            continue
        held = (lease_until - now).total_seconds() if lease_until else 0.0
        # A second past the lease: claimable by then, whatever the clocks.
        enqueue(event_id, delay=held + 1 if held > 0 else 0)
    return count


def process_again(events: Any) -> int:
    """Reset *events* (a queryset) to waiting, with fresh attempts, and queue them.

    Events a live worker holds now are left to it.
    """
    ids = list(
        events.exclude(
            status=WebhookEvent.PROCESSING, lease_until__gte=timezone.now()
        ).values_list("pk", flat=True)
    )
    WebhookEvent.objects.filter(pk__in=ids).update(
        status=WebhookEvent.PENDING, attempts=0, lease_until=None, last_error=""
    )
    for event_id in ids:
        enqueue(event_id)
    return len(ids)


def _name(receiver: Any) -> str:
    return f"{getattr(receiver, '__module__', '?')}.{getattr(receiver, '__qualname__', receiver)}"
