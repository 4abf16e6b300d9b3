"""Time and count the logins on the database ``benchmarks.settings`` names; write JSON.

Run by ``benchmarks.run`` once per database, each in its own process (Django's
settings are configured once per process)::

    python -m benchmarks.measure --rounds 7 --output result.json
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django

from benchmarks import report

SIZES = (1, 10, 100, 1000)

# The logins of one round and size: the 1-company sync (the baseline for the
# n/1 ratios), the n-company sync and the n-company naive loop.
SLOTS = ("sync_1", "sync_n", "naive_n")


def repetitions(n: int) -> int:
    """Back-to-back repetitions of a round's logins, of which the fastest counts.

    Logins with up to 100 companies take milliseconds, where a busy machine's
    hiccups weigh most; the naive loop over 1000 companies takes seconds.
    """
    return 5 if n <= 100 else 1


Login = Callable[[Any, dict[str, Any]], object]


def timed(login: Login, user: Any, payload: dict[str, Any]) -> float:
    """Seconds one login takes, with the garbage collector held off as ``timeit`` does."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        login(user, payload)
        return time.perf_counter() - start
    finally:
        gc.enable()


def count(login: Login, user: Any, payload: dict[str, Any]) -> int:
    """The queries of one login as ``CaptureQueriesContext`` counts them.

    That is what ``assertNumQueries`` counts, COMMIT included. The connection
    keeps only its last 9000 queries, too few for the naive loop over 1000
    companies, so the log is made unbounded first.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log = deque()
    with CaptureQueriesContext(connection) as captured:
        login(user, payload)
    return len(captured)


def count_queries(sizes: tuple[int, ...]) -> dict[str, dict[str, int]]:
    """The exact number of queries of each login, and a check that it stored the payload.

    This pass is also the warm-up: it runs every code path once before the timing.
    """
    from benchmarks import logins

    counts: dict[str, dict[str, int]] = {}
    for n in sizes:
        row = counts[str(n)] = {}
        for name, login in (("sync", logins.sync), ("naive", logins.naive_sync)):
            payload = logins.make_payload(f"count-{name}-{n}", n)
            user = logins.make_user(payload)
            for phase in ("first", "repeat"):
                row[f"{name}_{phase}"] = count(login, user, payload)
                logins.check(payload)
        logins.wipe()
    return counts


def time_rounds(
    sizes: tuple[int, ...], rounds: int
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per size, phase and slot: one time per round, the slots interleaved.

    In each round and size the three logins run one after the other, first
    logins then repeat logins, their order rotated from round to round; for
    small sizes that is repeated and each login's fastest time kept
    (``repetitions``). Every login has ids of its own, and the tables are
    emptied after each size.
    """
    from benchmarks import logins

    times: dict[str, dict[str, dict[str, list[float]]]] = {
        str(n): {phase: {slot: [] for slot in SLOTS} for phase in ("first", "repeat")}
        for n in sizes
    }
    for r in range(rounds):
        for n in sizes:
            print(
                f"  round {r + 1}/{rounds}, {n} companies", file=sys.stderr, flush=True
            )
            shift = r % len(SLOTS)
            order = SLOTS[shift:] + SLOTS[:shift]
            best: dict[str, dict[str, float]] = {"first": {}, "repeat": {}}
            for k in range(repetitions(n)):
                plan: dict[str, tuple[Login, Any, dict[str, Any]]] = {}
                for slot in SLOTS:
                    size = 1 if slot == "sync_1" else n
                    login = logins.naive_sync if slot == "naive_n" else logins.sync
                    payload = logins.make_payload(f"r{r}-n{n}-k{k}-{slot}", size)
                    plan[slot] = (login, logins.make_user(payload), payload)
                for phase in ("first", "repeat"):
                    for slot in order:
                        took = timed(*plan[slot])
                        best[phase][slot] = min(best[phase].get(slot, took), took)
            for phase, slots in best.items():
                for slot, took in slots.items():
                    times[str(n)][phase][slot].append(took)
            logins.wipe()
    return times


def database_version() -> str:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
    return f"SQLite {sqlite3.sqlite_version}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()
    from django.core.management import call_command
    from django.db import connection

    sources = report.sources()
    call_command("migrate", verbosity=0, interactive=False)
    sizes = tuple(args.sizes)
    print("  counting queries (and warming up)", file=sys.stderr, flush=True)
    queries = count_queries(sizes)
    times = time_rounds(sizes, args.rounds)
    result = {
        "vendor": connection.vendor,
        "database": database_version(),
        "django": django.get_version(),
        "sources": sources,
        "sources_changed": report.sources() != sources,
        "rounds": args.rounds,
        "sizes": list(sizes),
        "queries": queries,
        "times": times,
    }
    from benchmarks.run import finish_child  # not at the top: run imports this module

    return finish_child(result, args.output)


if __name__ == "__main__":
    sys.exit(main())
