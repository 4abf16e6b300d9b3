"""The README is the manual: its settings, names and code must match the code."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from django.test import override_settings

from django_everreal.checks import check_settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.rst").read_text()
CONF = (ROOT / "django_everreal" / "conf.py").read_text()


def code_blocks(language):
    pattern = rf"^\.\. code-block:: {language}\n\n((?:    .*\n|\n)+)"
    return [
        "\n".join(line[4:] for line in block.splitlines())
        for block in re.findall(pattern, README, re.MULTILINE)
    ]


def documented_settings():
    return set(
        re.findall(
            r"^``((?:SOCIAL_AUTH_|EVERREAL_)[A-Z_]+)``\n-+$", README, re.MULTILINE
        )
    )


def settings_read_by_the_code():
    return set(re.findall(r'"((?:SOCIAL_AUTH_EVERREAL_|EVERREAL_)[A-Z_]+)"', CONF))


def test_every_setting_the_code_reads_is_documented():
    assert settings_read_by_the_code() - documented_settings() == set()


def test_every_documented_setting_is_read_by_the_code():
    undocumented_in_code = documented_settings() - settings_read_by_the_code()
    # python-social-auth reads the error URL itself; conf.py mirrors it.
    assert undocumented_in_code <= {"SOCIAL_AUTH_LOGIN_ERROR_URL"}
    assert "SOCIAL_AUTH_LOGIN_ERROR_URL" in CONF


def test_each_setting_has_type_and_default():
    for name in documented_settings():
        section = README.split(f"``{name}``\n", 1)[1].split("\n\n``", 1)[0]
        assert re.search(r"Type: ``.+``.*Default: ", section, re.DOTALL), name


@pytest.mark.parametrize("block", code_blocks("python"))
def test_python_blocks_are_python(block):
    ast.parse(block)


def test_dotted_names_exist():
    names = set(re.findall(r"django_everreal(?:\.[A-Za-z_][A-Za-z0-9_]*)+", README))
    missing = []
    for name in sorted(names):
        module, _, attribute = name.rpartition(".")
        try:
            importlib.import_module(name)
            continue
        except ImportError:
            pass
        try:
            if not hasattr(importlib.import_module(module), attribute):
                missing.append(name)
        except ImportError:
            missing.append(name)
    assert missing == []


def test_installation_settings_pass_the_system_checks(monkeypatch):
    # The first: the installation's (the webhooks section adds apps to it).
    block = next(b for b in code_blocks("python") if "INSTALLED_APPS" in b)
    monkeypatch.setenv("EVERREAL_CLIENT_SECRET", "from-the-environment")
    namespace: dict[str, object] = {"os": __import__("os")}
    exec(compile(block, "README.rst", "exec"), namespace)  # noqa: S102
    names = {k: v for k, v in namespace.items() if k.isupper()}
    assert {"AUTHENTICATION_BACKENDS", "MIDDLEWARE", "SOCIAL_AUTH_PIPELINE"} <= set(
        names
    )
    names.pop("INSTALLED_APPS")
    with override_settings(**names):
        assert [m.id for m in check_settings()] == []


def test_documented_checks_exist():
    documented = set(re.findall(r"^``(everreal\.[EW]\d{3})``$", README, re.MULTILINE))
    source = (ROOT / "django_everreal" / "checks.py").read_text()
    in_code = set(re.findall(r'id="(everreal\.[EW]\d{3})"', source))
    assert documented == in_code


def test_quick_start_commands():
    quick_start = README.split("Quick start\n===========", 1)[1].split("\n====", 1)[0]
    assert "python3 dev.py demo" in quick_start
    assert "python3 dev.py test" in quick_start
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 dev.py test\n" in ci
