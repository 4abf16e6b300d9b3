"""The example site as a real HTTP server in a subprocess, on a free loopback port."""

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

    def manage(self, *args: str) -> None:
        """Run ``manage.py`` of the example site in its environment."""
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE_PROJECT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=STARTUP_TIMEOUT,
        )

    def start(self) -> ExampleSite:
        self.manage("migrate", "--noinput", "--verbosity", "0")
        self.manage("demo_admin", "--verbosity", "0")
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
        return self

    def _answers(self) -> bool | None:
        try:
            return requests.get(f"{self.url}/", timeout=1).ok or None
        except requests.ConnectionError:
            return None

    def __enter__(self) -> ExampleSite:
        return self.start()
