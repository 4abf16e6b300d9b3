#!/usr/bin/env python3
"""Set up and run django-everreal's development tasks.

    python3 dev.py demo    # the example site on SQLite and the fake EverReal
    python3 dev.py test    # the whole test suite (extra arguments go to pytest;
                           # EVERREAL_TEST_DATABASE=postgres|mariadb picks the
                           # database, SQLite by default)
    python3 dev.py lint    # ruff and mypy
    python3 dev.py coverage  # the branch coverage of the test runs made with
                           # EVERREAL_COVERAGE=1, combined; fails under the gate
    python3 dev.py bench   # the benchmarks against the peers (bench NAME runs
                           # one: middleware, sync, login, refresh, outbound,
                           # permissions, changelist, bearer, webhooks,
                           # redaction; --rounds N; writes benchmarks/results/)

Each task creates ``.venv`` beside this file on first use and installs what it
needs into it, so a machine with only Python 3.11+ is enough. The benchmarks'
own peers (Authlib, mozilla-django-oidc) come from ``benchmarks/requirements.txt``,
never from the package's extras.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
BENCH_REQUIREMENTS = ROOT / "benchmarks" / "requirements.txt"
PIP_INSTALL = [
    str(PYTHON),
    "-m",
    "pip",
    "install",
    "--quiet",
    "--disable-pip-version-check",
]
#: What each task installs: the package's extras, and the development
#: dependency groups of pyproject.toml (PEP 735, never published).
NEEDS = {
    "demo": ("webhooks", ""),
    "test": ("", "test"),
    "lint": ("", "lint"),
    "bench": ("", "test"),
    "coverage": ("", "test"),
}


def ensure_installed(extras: str, groups: str) -> None:
    """Install the package with *extras* and the dependency *groups* into .venv, once."""
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        venv.create(VENV, with_pip=True)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    wanted = {f"x-{e}" for e in filter(None, extras.split(","))} | {
        f"g-{g}" for g in filter(None, groups.split(","))
    }
    for stamp in VENV.glob(".installed-*"):
        done = set(filter(None, stamp.name.removeprefix(".installed-").split(",")))
        if wanted <= done and stamp.read_text() == digest:
            return
    stamp = VENV / f".installed-{','.join(sorted(wanted))}"
    target = f".[{extras}]" if extras else "."
    print(f"Installing {target} {groups} into {VENV} ...", flush=True)
    subprocess.run([*PIP_INSTALL, "--upgrade", "pip>=25.1"], check=True, cwd=ROOT)
    group_args = [f"--group={g}" for g in filter(None, groups.split(","))]
    subprocess.run(
        [*PIP_INSTALL, "--editable", target, *group_args], check=True, cwd=ROOT
    )
    stamp.write_text(digest)


def ensure_requirements(path: Path) -> None:
    """Install the requirements file *path* into .venv unless already done."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    stamp = VENV / f".requirements-{path.parent.name}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing {path.relative_to(ROOT)} into {VENV} ...", flush=True)
    subprocess.run([*PIP_INSTALL, "--requirement", str(path)], check=True, cwd=ROOT)
    stamp.write_text(digest)


def run(*args: str, **kwargs: object) -> int:
    return subprocess.run([str(PYTHON), *args], cwd=ROOT, **kwargs).returncode  # type: ignore[call-overload]


def test(args: list[str]) -> int:
    if os.environ.get("EVERREAL_COVERAGE"):
        # Each run leaves its own data file; ``dev.py coverage`` adds them up.
        return run("-m", "coverage", "run", "-m", "pytest", *args)
    return run("-m", "pytest", *args)


def coverage(args: list[str]) -> int:
    """Combine the coverage of the runs made with EVERREAL_COVERAGE=1 and report it."""
    run("-m", "coverage", "combine", "--quiet")
    return run("-m", "coverage", "report", *args)


def lint(args: list[str]) -> int:
    failed = 0
    for command in (
        ["-m", "ruff", "check", "."],
        ["-m", "ruff", "format", "--check", "."],
        ["-m", "mypy"],
    ):
        failed |= run(*command) != 0
    return int(failed)


def demo(args: list[str]) -> int:
    return run(str(ROOT / "example_project" / "demo.py"), *args)


def bench(args: list[str]) -> int:
    """The benchmarks, with their peers installed: see benchmarks/README.rst."""
    ensure_requirements(BENCH_REQUIREMENTS)
    return run("-m", "benchmarks", *args)


TASKS = {
    "demo": demo,
    "test": test,
    "lint": lint,
    "bench": bench,
    "coverage": coverage,
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(__doc__)
        return 2
    task = sys.argv[1]
    extras, groups = NEEDS[task]
    if task == "test" and os.environ.get("EVERREAL_TEST_DATABASE") == "mariadb":
        # mysqlclient builds from source (a compiler, pkg-config and MariaDB's
        # headers: .ci/run installs them), so only MariaDB runs need it.
        extras = "mariadb"
    ensure_installed(extras, groups)
    return TASKS[task](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
