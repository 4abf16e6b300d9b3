"""The fake must load where only the runtime dependencies are installed."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import django_everreal.testing.pytest_plugin
assert "django" not in sys.modules, "the pytest plugin imports Django"
assert "responses" not in sys.modules, "the pytest plugin imports responses"
import django_everreal.testing
from django_everreal.testing import FakeEverReal, FakeEverRealServer
FakeEverReal().issue_tokens("anna@example.com")
assert "django" not in sys.modules, "the fake imports Django"
assert "responses" not in sys.modules, "the fake imports responses"
print("ok")
"""


def test_plugin_and_core_import_neither_django_nor_responses():
    result = subprocess.run(
        [sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
