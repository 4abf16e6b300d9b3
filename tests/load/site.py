"""The load test's processes: the fake EverReal and the site under gunicorn, on loopback.

Both run as subprocesses, so the fake, the site and the test's clients do not
share one interpreter lock. Each writes its output to a log file the test
reads when something goes wrong.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]

#: How long a process may take to answer its first request.
STARTUP_TIMEOUT = 60.0
#: How long a process may take to stop after being asked to.
STOP_TIMEOUT = 15.0
#: How often the startup loops look again.
POLL_INTERVAL = 0.05
#: The fake's API rate limit per minute: high enough never to matter here.
UNLIMITED = 1_000_000_000

_LISTENING = re.compile(r"Fake EverReal listening on (http://\S+)")


class _Process:
    """A subprocess writing to *log_path*; stopped (terminate, then kill) on exit."""

    name = "process"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def _spawn(
        self, args: list[str], env: Mapping[str, str], pass_fds: tuple[int, ...] = ()
    ) -> None:
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
        )

    def _check_alive(self) -> None:
        """Raise if the process has exited, with what it printed."""
        assert self._process is not None
        code = self._process.poll()
        if code is not None:
            raise RuntimeError(f"{self.name} exited with {code}:\n{self.log()}")

    def log(self) -> str:
        """What the process printed so far."""
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
                self._process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=STOP_TIMEOUT)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class FakeEverRealProcess(_Process):
    """``python -m django_everreal.testing --port 0 --users FILE``; ``url`` once started."""

    name = "The fake EverReal"

    def __init__(self, users_file: Path, log_path: Path) -> None:
        super().__init__(log_path)
        self.users_file = users_file
        self.url = ""

    def start(self) -> FakeEverRealProcess:
        self._spawn(
            [
                sys.executable,
                "-m",
                "django_everreal.testing",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--users",
                str(self.users_file),
                "--rate-limit",
                str(UNLIMITED),
                "--quiet",
            ],
            {**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self.url = self._wait_for_url()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            match = _LISTENING.search(self.log())
            if match:
                return match[1]
            self._check_alive()
            time.sleep(POLL_INTERVAL)  # polling the log for a condition, bounded
        raise RuntimeError(
            f"{self.name} did not start within {STARTUP_TIMEOUT:g} s:\n{self.log()}"
        )

    def __enter__(self) -> FakeEverRealProcess:
        return self.start()


class GunicornSite(_Process):
    """``tests.load.wsgi`` under gunicorn with *workers* sync workers on 127.0.0.1.

    The listening socket is bound here and handed to gunicorn (``fd://``), so
    ``url`` is known before the settings are written and no other process can
    take the port in between.
    """

    name = "gunicorn"

    def __init__(
        self,
        *,
        everreal_url: str,
        database: Mapping[str, Any],
        workers: int,
        log_path: Path,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(log_path)
        self.workers = workers
        self._socket: socket.socket | None = socket.create_server((host, 0))
        self.url = f"http://{host}:{self._socket.getsockname()[1]}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.load.settings",
            "EVERREAL_LOAD_SITE_URL": self.url,
            "EVERREAL_LOAD_EVERREAL_URL": everreal_url,
            "EVERREAL_LOAD_DATABASE": json.dumps(dict(database)),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> GunicornSite:
        assert self._socket is not None
        fd = self._socket.fileno()
        try:
            self._spawn(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--bind",
                    f"fd://{fd}",
                    "--workers",
                    str(self.workers),
                    "--worker-class",
                    "sync",
                    "--backlog",
                    "512",
                    "--timeout",
                    "120",
                    "--graceful-timeout",
                    "10",
                    "--preload",
                    "--log-level",
                    "warning",
                    "--error-logfile",
                    "-",
                    "tests.load.wsgi:application",
                ],
                self.env,
                pass_fds=(fd,),
            )
        finally:
            # Gunicorn holds the socket now; ours would keep the port open after it stops.
            self._socket.close()
            self._socket = None
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"{self.url}/login/", timeout=1)
            except requests.RequestException:
                pass
            else:
                if response.ok:
                    return
                raise RuntimeError(
                    f"{self.name} answered HTTP {response.status_code}:\n{self.log()}"
                )
            self._check_alive()
            time.sleep(POLL_INTERVAL)  # polling for the first answer, bounded
        raise RuntimeError(
            f"{self.name} did not answer within {STARTUP_TIMEOUT:g} s:\n{self.log()}"
        )

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        super().stop()

    def __enter__(self) -> GunicornSite:
        return self.start()
