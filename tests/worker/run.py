"""Run ``manage.py everreal_webhooks worker`` with the test's handlers connected.

The handler of ``BLOCKING_EVENT`` writes its attempt to ``data["marker"]``
and, on the first attempt, blocks until the process is killed: a worker that
dies mid-way.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from django_everreal.models import WebhookEvent  # noqa: E402
from django_everreal.webhooks import webhook_handler  # noqa: E402


@webhook_handler("BLOCKING_EVENT")
def block_on_the_first_attempt(sender: str, event: WebhookEvent, **kwargs: Any) -> None:
    assert isinstance(event.data, dict)
    Path(event.data["marker"]).write_text(str(event.attempts))
    if event.attempts == 1:
        threading.Event().wait(120)


if __name__ == "__main__":
    call_command("everreal_webhooks", "worker", "--", "--interval", "0.05")
