"""Find a Chromium for Playwright: the system's, since no browser is downloaded."""

from __future__ import annotations

import importlib.util
import shutil

#: Debian and Ubuntu name the browser differently.
EXECUTABLES = ("chromium", "chromium-browser")

#: Headless, and nothing that phones home: the tests run offline.
ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def executable() -> str | None:
    for name in EXECUTABLES:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing() -> str:
    """Why the browser test cannot run here, or ``""`` when it can."""
    if importlib.util.find_spec("playwright") is None:
        return "needs Playwright: pip install -e '.[test]'"
    if executable() is None:
        return "needs Chromium on PATH: apt-get install chromium"
    return ""
