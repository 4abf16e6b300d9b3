"""Run the login-sync benchmark on SQLite and PostgreSQL and write the tables.

    python3 dev.py bench sync [--rounds N] [--sizes 1 10 100 1000] [--databases sqlite postgres]

Each database runs in a process of its own (``benchmarks.measure``): SQLite on
a fresh file in a temporary directory, PostgreSQL on a throwaway database
(``everreal_bench``, or ``$EVERREAL_BENCH_DATABASE_NAME``) created when
missing and dropped at the end; ``PGHOST``, ``PGPORT`` and ``PGUSER`` default
to 127.0.0.1, 5432 and postgres as in the tests. An unreachable PostgreSQL is
skipped with a message. The report goes to stdout and to
``benchmarks/results/sync.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.measure import SIZES

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "sync.txt"
MIN_ROUNDS = report.MIN_ROUNDS


class Unavailable(Exception):
    """The database cannot be benchmarked here; the message says why."""


def measure(
    database: str, env: dict[str, str], rounds: int, sizes: list[int]
) -> dict[str, Any]:
    """Run ``benchmarks.measure`` on *database* in a child process; its results."""
    with tempfile.TemporaryDirectory(prefix="everreal-bench-") as tmp:
        output = Path(tmp) / "result.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.measure",
            "--rounds",
            str(rounds),
            "--output",
            str(output),
            "--sizes",
            *map(str, sizes),
        ]
        return run_child(command, database, env, Path(tmp), output)


def measure_in_child(
    module: str,
    database: str,
    env: dict[str, str],
    options: list[str],
    *,
    settings: str = "benchmarks.settings",
) -> dict[str, Any]:
    """Run ``python -m module --child *options`` on *database*; the results it wrote."""
    with tempfile.TemporaryDirectory(prefix="everreal-bench-") as tmp:
        output = Path(tmp) / "result.json"
        command = [sys.executable, "-m", module, "--child", *options]
        command += ["--output", str(output)]
        return run_child(command, database, env, Path(tmp), output, settings=settings)


def forward(args: argparse.Namespace, *names: str) -> list[str]:
    """The parent's options *names*, as its measuring child takes them.

    ``forward(args, "rounds", "sizes")`` is ``["--rounds", "7", "--sizes", "1",
    "10"]``; a flag is passed when set, an option left at ``None`` not at all.
    """
    options: list[str] = []
    for name in names:
        value = getattr(args, name)
        option = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            options.append(option)
        elif isinstance(value, list):
            options += [option, *map(str, value)]
        else:
            options += [option, str(value)]
    return options


def finish_child(result: dict[str, Any], output: Path) -> int:
    """Hand a measuring child's *result* to its parent, its database closed first."""
    from django.db import connection

    connection.close()
    output.write_text(json.dumps(result, indent=1))
    return 0


def run_child(
    command: list[str],
    database: str,
    env: dict[str, str],
    tmp: Path,
    output: Path,
    *,
    settings: str = "benchmarks.settings",
) -> dict[str, Any]:
    """Run one measuring process on *database*; the results it wrote to *output*."""
    child_env = {
        **os.environ,
        **env,
        "EVERREAL_BENCH_DATABASE": database,
        "DJANGO_SETTINGS_MODULE": settings,
    }
    if database == "sqlite":
        child_env["EVERREAL_BENCH_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    subprocess.run(command, cwd=ROOT, env=child_env, check=True)
    result: dict[str, Any] = json.loads(output.read_text())
    return result


@dataclass
class Runs:
    """The measurements of several databases, and the lines of those that gave none."""

    sections: list[list[str]] = field(default_factory=list)
    failed: bool = False

    def results(
        self,
        databases: list[str],
        measure_on: Callable[[str, dict[str, str]], dict[str, Any]],
    ) -> Iterator[dict[str, Any]]:
        """Each database's result; one unavailable or failing gets a line instead."""
        for database in databases:
            print(f"== {database}", file=sys.stderr, flush=True)
            try:
                if database == "postgres":
                    with postgres_database() as env:
                        result = measure_on(database, env)
                else:
                    result = measure_on(database, {})
            except Unavailable as exc:
                message = f"{database} skipped: {exc}"
                print(message, file=sys.stderr, flush=True)
                self.sections.append([f"-- {database}: skipped", message])
                continue
            except subprocess.CalledProcessError as exc:
                self.failed = True
                self.sections.append(
                    [f"-- {database}: failed (exit status {exc.returncode})"]
                )
                continue
            yield result


def code_measured(result: dict[str, Any]) -> str:
    code = f"Code measured: {result['sources']}"
    if result["sources_changed"]:
        code += " (WARNING: changed during the run)"
    return code


@contextmanager
def postgres_database() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL database, created if missing and dropped afterwards."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError as exc:
        raise Unavailable(f"psycopg is not installed ({exc})") from exc
    env = {
        "PGHOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PGPORT": os.environ.get("PGPORT", "5432"),
        "PGUSER": os.environ.get("PGUSER", "postgres"),
        "EVERREAL_BENCH_DATABASE_NAME": os.environ.get(
            "EVERREAL_BENCH_DATABASE_NAME", "everreal_bench"
        ),
    }
    name = env["EVERREAL_BENCH_DATABASE_NAME"]
    where = f"{env['PGUSER']}@{env['PGHOST']}:{env['PGPORT']}"

    def admin() -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                host=env["PGHOST"],
                port=env["PGPORT"],
                user=env["PGUSER"],
                dbname="postgres",
                connect_timeout=5,
                autocommit=True,
            )
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise Unavailable(
                f"PostgreSQL at {where} is unreachable ({reason or type(exc).__name__})"
            ) from exc

    with admin() as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            )
    try:
        yield env
    finally:
        with admin() as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench sync", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=MIN_ROUNDS,
        help=f"rounds per database (default {MIN_ROUNDS})",
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="company counts"
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=("sqlite", "postgres"),
        default=["sqlite", "postgres"],
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="report file (overwritten)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    sizes = sorted(set(args.sizes) | {1})

    start = time.perf_counter()
    runs = Runs()
    django_version = ""
    for result in runs.results(
        args.databases, lambda db, env: measure(db, env, args.rounds, sizes)
    ):
        title = f"-- {result['database']}, {result['rounds']} rounds"
        runs.sections.append(
            [
                title,
                code_measured(result),
                "",
                *report.table(result),
                "",
                report.scale(result),
            ]
        )
        django_version = result["django"]
    sections, failed = runs.sections, runs.failed

    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench sync --rounds {args.rounds}"
    lines = report.heading(
        "login sync cost by number of companies",
        command,
        elapsed,
        args.rounds,
        *([f"Django: {django_version}"] if django_version else []),
    )
    lines += ["", report.LEGEND]
    for section in sections:
        lines += ["", *section]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return int(failed)
