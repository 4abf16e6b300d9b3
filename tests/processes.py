"""A server the tests run in a subprocess on loopback, with its output in a log file."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO
from typing import TypeVar

#: How long a server may take to answer its first request.
STARTUP_TIMEOUT = 60.0
#: How long a server may take to stop after being asked to.
STOP_TIMEOUT = 15.0
#: How often the startup loop looks again.
POLL_INTERVAL = 0.05

T = TypeVar("T")


class LoggedProcess:
    """A subprocess writing to *log_path*; stopped (terminate, then kill) on exit."""

    name = "process"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def spawn(
        self,
        args: list[str],
        env: Mapping[str, str],
        cwd: Path,
        pass_fds: tuple[int, ...] = (),
    ) -> None:
        self._log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            pass_fds=pass_fds,
        )

    def start_and_wait(
        self,
        args: list[str],
        env: Mapping[str, str],
        cwd: Path,
        ready: Callable[[], T | None],
        pass_fds: tuple[int, ...] = (),
    ) -> T:
        """Spawn the process and wait until *ready* returns something; stop it if not."""
        self.spawn(args, env, cwd, pass_fds)
        try:
            return self.wait_for(ready, "get ready")
        except BaseException:
            self.stop()
            raise

    def wait_for(self, probe: Callable[[], T | None], what: str) -> T:
        """*probe*'s first result that is not ``None``; raise if the process exits first."""
        assert self._process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            result = probe()
            if result is not None:
                return result
            try:
                code = self._process.wait(timeout=POLL_INTERVAL)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"{self.name} exited with {code}:\n{self.log()}")
        raise RuntimeError(
            f"{self.name} did not {what} within {STARTUP_TIMEOUT:g} s:\n{self.log()}"
        )

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
