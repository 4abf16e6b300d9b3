"""The example site as a real HTTP server in a subprocess, on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import requests

EXAMPLE_PROJECT = Path(__file__).resolve().parents[2] / "example_project"

#: How long the site may take to migrate and to answer its first request.
STARTUP_TIMEOUT = 60.0
#: How often the startup loop looks again.
POLL_INTERVAL = 0.1


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ExampleSite:
    """``example_project`` on SQLite against *everreal_url*, served by ``runserver``.

    ``with ExampleSite(fake_url, workdir) as site: site.url``. The database and
    the server's log (``site.log_path``) go to *workdir*.
    """

    def __init__(self, everreal_url: str, workdir: Path, host: str = "127.0.0.1"):
        self.host = host
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.log_path = workdir / "site.log"
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
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

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
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "runserver",
                "--noreload",
                f"{self.host}:{self.port}",
            ],
            cwd=EXAMPLE_PROJECT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_up(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/", timeout=1).ok:
                    return
            except requests.ConnectionError:
                pass
            try:
                code = self._process.wait(timeout=POLL_INTERVAL)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"The example site exited with {code}:\n{self.log()}")
        raise RuntimeError(
            f"The example site did not answer within {STARTUP_TIMEOUT:g} s:\n{self.log()}"
        )

    def log(self) -> str:
        """What the server printed so far."""
        if self._log is not None:
            self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> ExampleSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
