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
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from tests.processes import LoggedProcess

ROOT = Path(__file__).resolve().parents[2]

#: The fake's API rate limit per minute: high enough never to matter here.
UNLIMITED = 1_000_000_000

_LISTENING = re.compile(r"Fake EverReal listening on (http://\S+)")


class FakeEverRealProcess(LoggedProcess):
    """``python -m django_everreal.testing --port 0 --users FILE``; ``url`` once started."""

    name = "The fake EverReal"

    def __init__(self, users_file: Path, log_path: Path) -> None:
        super().__init__(log_path)
        self.users_file = users_file
        self.url = ""

    def start(self) -> FakeEverRealProcess:
        self.url = self.start_and_wait(
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
            ROOT,
            ready=self._listening_url,
        )
        return self

    def _listening_url(self) -> str | None:
        match = _LISTENING.search(self.log())
        return match[1] if match else None

    def __enter__(self) -> FakeEverRealProcess:
        return self.start()


class GunicornSite(LoggedProcess):
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
            response = self.start_and_wait(
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
                ROOT,
                ready=self._answer,
                pass_fds=(fd,),
            )
        finally:
            # Gunicorn holds the socket now; ours would keep the port open after it stops.
            self._socket.close()
            self._socket = None
        if not response.ok:
            self.stop()
            raise RuntimeError(
                f"{self.name} answered HTTP {response.status_code}:\n{self.log()}"
            )
        return self

    def _answer(self) -> requests.Response | None:
        try:
            return requests.get(f"{self.url}/login/", timeout=1)
        except requests.RequestException:
            return None

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        super().stop()

    def __enter__(self) -> GunicornSite:
        return self.start()
