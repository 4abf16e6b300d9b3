"""The example site as a real HTTP server in a subprocess, on a free loopback port.

Next to it runs its webhook worker (``manage.py everreal_webhooks worker``),
after the demo's service account has logged in at the fake EverReal and
registered the site's webhooks there, as ``python3 dev.py demo`` does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import requests

from tests.processes import STARTUP_TIMEOUT
from tests.processes import LoggedProcess

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "example_project"


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


#: The service account of the example's ``EVERREAL_WEBHOOKS``, and its user at the fake.
WEBHOOK_SERVICE = "demo-webhooks"
WEBHOOK_USER = "anna@example.com"
WEBHOOK_PASSWORD = "demo"  # the fake's documented password
#: Seconds the worker waits between looks at an empty queue.
WORKER_INTERVAL = "0.2"


class Worker(LoggedProcess):
    """The example site's webhook worker; its output goes to ``worker.log``."""

    name = "The example site's webhook worker"


class ExampleSite(LoggedProcess):
    """``example_project`` on SQLite against *everreal_url*, served by ``runserver``.

    ``with ExampleSite(fake_url, workdir) as site: site.url``. The database and
    the server's log (``site.log_path``) go to *workdir*.
    """

    name = "The example site"

    def __init__(self, everreal_url: str, workdir: Path, host: str = "127.0.0.1"):
        super().__init__(workdir / "site.log")
        self.host = host
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example.settings",
            "DJANGO_DEBUG": "1",
            "EVERREAL_BASE_URL": everreal_url,
            "EXAMPLE_SITE_URL": self.url,
            "EXAMPLE_DATABASE": str(workdir / "example.sqlite3"),
            "PYTHONUNBUFFERED": "1",
        }
        # The fake, never a real EverReal subdomain from the caller's environment.
        self.env.pop("EVERREAL_SUBDOMAIN", None)
        self.worker = Worker(workdir / "worker.log")

    def manage(self, *args: str, input: str | None = None) -> None:
        """Run ``manage.py`` of the example site in its environment."""
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE_PROJECT,
            env=self.env,
            check=True,
            capture_output=True,
            input=input.encode() if input is not None else None,
            timeout=STARTUP_TIMEOUT,
        )

    def start_worker(self) -> None:
        """Log the service account in, register the webhooks, start the worker."""
        self.manage(
            "everreal_service_login",
            WEBHOOK_SERVICE,
            "--username",
            WEBHOOK_USER,
            "--password-stdin",
            input=f"{WEBHOOK_PASSWORD}\n",
        )
        # Registering calls the fake only: the site need not run yet.
        self.manage("everreal_webhooks", "sync")
        self.worker.start_and_wait(
            [
                sys.executable,
                "manage.py",
                "everreal_webhooks",
                "worker",
                "--",
                "--interval",
                WORKER_INTERVAL,
                "--no-reload",
                "--no-startup-delay",
            ],
            self.env,
            EXAMPLE_PROJECT,
            ready=lambda: "Starting worker" in self.worker.log() or None,
        )

    def start(self) -> ExampleSite:
        self.manage("migrate", "--noinput", "--verbosity", "0")
        self.manage("demo_admin", "--verbosity", "0")
        self.start_worker()
        try:
            self.start_and_wait(
                [
                    sys.executable,
                    "manage.py",
                    "runserver",
                    "--noreload",
                    f"{self.host}:{self.port}",
                ],
                self.env,
                EXAMPLE_PROJECT,
                ready=self._answers,
            )
        except BaseException:
            self.worker.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            super().stop()
        finally:
            self.worker.stop()

    def _answers(self) -> bool | None:
        try:
            return requests.get(f"{self.url}/", timeout=1).ok or None
        except requests.ConnectionError:
            return None

    def __enter__(self) -> ExampleSite:
        return self.start()
