"""Time a log record through RedactSecretsFilter against the same logger without it.

    python3 dev.py bench redaction [--rounds N] [--records N]

The filter runs on every record of the loggers it is on (``django_everreal``,
``social``, ``django.server``) and, with the documented ``LOGGING`` entry, on
every record a site's handler writes: its cost on a record with nothing to
hide is what a site pays on every log line. Each kind of record is logged
through two loggers alike but for the filter, each with a ``StreamHandler``
writing through a ``Formatter`` to an in-memory stream, as a site's handler
would; the filtered output must hold no secret and the unfiltered one must
(the run fails otherwise). The report goes to stdout and to
``benchmarks/results/redaction.txt``.
"""

from __future__ import annotations

import argparse
import gc
import io
import logging
import os
import statistics
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import report

RESULTS = Path(__file__).resolve().parent / "results" / "redaction.txt"
MIN_ROUNDS = report.MIN_ROUNDS
#: Records of each kind per way and round.
RECORDS = 10000
#: Records of one way in a row, before the other way's.
BLOCK = 100
WAYS = ("none", "filter")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"

# Made-up credentials in the shapes EverReal's have: never valid anywhere.
JWT = (
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJiZW5jaC11c2VyIiwianRpIjoiYmVuY2gifQ"
    ".YmVuY2gtc2lnbmF0dXJlLW9mLWEtZmFrZS10b2tlbg"
)
OPAQUE = "bench-opaque-7f3c2a9d41e8b605"


@dataclass(frozen=True)
class Kind:
    """One kind of record: its label, message and arguments, and the secret it holds."""

    label: str
    msg: str
    args: tuple[Any, ...]
    secret: str | None = None


KINDS = (
    Kind("plain text, %s and %d args", "Synced %d companies for %s", (12, "anna@x.de")),
    Kind(
        "plain text, a dict arg",
        "Company %s changed: %s",
        (42, {"name": "Hausverwaltung Nord GmbH", "city": "Berlin", "units": 120}),
    ),
    Kind(
        "trigger words, no secret",
        "Access token refreshed for account %s, next refresh in %d s",
        (42, 3300),
    ),
    Kind(
        "Bearer JWT in an arg",
        "GET %s with Authorization: Bearer %s",
        ("https://bench.everreal.co/accounts/api/userinfo", JWT),
        JWT,
    ),
    Kind(
        "access_token= in a request line",
        '"%s" %s %s',
        (
            f"GET /auth/complete/everreal/?access_token={OPAQUE}&lang=de HTTP/1.1",
            302,
            0,
        ),
        OPAQUE,
    ),
)


class Way:
    """A logger with a handler writing to an in-memory stream, with or without the filter."""

    def __init__(self, name: str, filtered: bool) -> None:
        from django_everreal.redaction import RedactSecretsFilter

        self.stream = io.StringIO()
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(logging.Formatter(FORMAT))
        self.logger = logging.getLogger(f"benchmarks.redaction.{name}")
        self.logger.handlers[:] = [handler]
        self.logger.filters[:] = [RedactSecretsFilter()] if filtered else []
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)

    def block(self, kind: Kind, records: int) -> tuple[int, int]:
        """CPU and wall-clock nanoseconds of *records* records of *kind*."""
        info, msg, args = self.logger.info, kind.msg, kind.args
        loop = range(records)
        cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
        for _ in loop:
            info(msg, *args)
        return time.thread_time_ns() - cpu, time.perf_counter_ns() - wall

    def output(self) -> str:
        """What was written since the last call; the stream starts anew."""
        text = self.stream.getvalue()
        self.stream.seek(0)
        self.stream.truncate()
        return text


def check(kind: Kind, way: str, text: str, records: int) -> str | None:
    """What is wrong with *records* lines of *kind* written *way*, if anything."""
    lines = text.splitlines()
    if len(lines) != records:
        return f"{len(lines)} lines written for {records} records"
    if kind.secret is None:
        expected = kind.msg % kind.args
        if any(not line.endswith(f" {expected}") for line in lines):
            return "a line differs from the unfiltered message"
        return None
    from django_everreal.redaction import REDACTED

    if way == "filter":
        if any(kind.secret in line or REDACTED not in line for line in lines):
            return "the secret shows in the filtered output"
    elif any(kind.secret not in line for line in lines):
        return "the secret is missing from the unfiltered output"
    return None


def time_rounds(
    rounds: int, records: int
) -> tuple[dict[str, dict[str, dict[str, list[float]]]], list[str]]:
    """Per kind, way and clock: seconds per record in each round, and any failed checks.

    A round logs *records* records of each kind each way, ``BLOCK`` with the
    filter then ``BLOCK`` without it (or the other way round, alternating
    from block to block), the kinds' order rotated from round to round. The
    collector is off during a round; every block's output is checked.
    """
    ways = {way: Way(way, filtered=way == "filter") for way in WAYS}
    times: dict[str, dict[str, dict[str, list[float]]]] = {
        kind.label: {way: {"cpu": [], "wall": []} for way in WAYS} for kind in KINDS
    }
    problems: list[str] = []
    blocks = max(1, records // BLOCK)
    for kind in KINDS:  # a warm-up, checked too
        for way, logger in ways.items():
            logger.block(kind, BLOCK)
            problem = check(kind, way, logger.output(), BLOCK)
            if problem:
                problems.append(f"{kind.label}, {way}: {problem}")
    for r in range(rounds):
        print(f"  round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        kinds = KINDS[r % len(KINDS) :] + KINDS[: r % len(KINDS)]
        gc.collect()
        gc.disable()
        try:
            for kind in kinds:
                cpu = dict.fromkeys(WAYS, 0)
                wall = dict.fromkeys(WAYS, 0)
                for b in range(blocks):
                    order = WAYS if (b + r) % 2 == 0 else WAYS[::-1]
                    for way in order:
                        spent_cpu, spent_wall = ways[way].block(kind, BLOCK)
                        cpu[way] += spent_cpu
                        wall[way] += spent_wall
                        problem = check(kind, way, ways[way].output(), BLOCK)
                        if problem and len(problems) < 10:
                            problems.append(f"{kind.label}, {way}: {problem}")
                for way in WAYS:
                    per_record = 1e-9 / (blocks * BLOCK)
                    times[kind.label][way]["cpu"].append(cpu[way] * per_record)
                    times[kind.label][way]["wall"].append(wall[way] * per_record)
        finally:
            gc.enable()
    return times, problems


def table(times: dict[str, dict[str, dict[str, list[float]]]]) -> list[str]:
    rows = []
    for kind in KINDS:
        cells = times[kind.label]
        none_cpu = statistics.median(cells["none"]["cpu"])
        filter_cpu = statistics.median(cells["filter"]["cpu"])
        rows.append(
            (
                kind.label,
                report.ratio(cells["filter"]["cpu"], cells["none"]["cpu"]),
                report.ratio(cells["filter"]["wall"], cells["none"]["wall"]),
                f"{none_cpu * 1e6:.1f}",
                f"{filter_cpu * 1e6:.1f}",
            )
        )
    return report.grid(
        (
            "record",
            "filter / none, CPU",
            "filter / none, wall",
            "us none",
            "us filter",
        ),
        rows,
    )


_LEGEND = """\
Each kind of record is logged with logger.info(msg, *args) through two
loggers alike but for RedactSecretsFilter on one (as install_log_redaction
puts it on the app's loggers; on a handler it costs the same), each with a
StreamHandler writing to an in-memory stream through a Formatter
("%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"). Each round
logs the same number of records of a kind both ways, interleaved in blocks
of 100 (the order alternating), with the collector off. "filter / none" is
the median [min-max] of the per-round ratios of time per record (CPU: the
thread's CPU time; wall: the clock), the whole log call included; "us none"
and "us filter" are the median CPU microseconds per record, only for scale.
Every block's output is checked: without a secret, both ways write the same
message; with one, the filtered lines hold none of it and the unfiltered
lines all do."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench redaction", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--records",
        type=int,
        default=RECORDS,
        help="records of each kind per way and round",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()

    start = time.perf_counter()
    sources = report.sources()
    times, problems = time_rounds(args.rounds, args.records)
    changed = report.sources() != sources
    elapsed = time.perf_counter() - start
    blocks = max(1, args.records // BLOCK)
    code = f"Code measured: {sources}"
    if changed:
        code += " (WARNING: changed during the run)"
    lines = report.heading(
        "the cost of the log redaction filter per record",
        f"python3 dev.py bench redaction --rounds {args.rounds}",
        elapsed,
        args.rounds,
        f"Django: {django.get_version()}",
    )
    lines += [
        "",
        textwrap.fill(" ".join(_LEGEND.split()), width=78),
        "",
        f"-- {args.rounds} rounds of {blocks * BLOCK} records of each kind per way",
        code,
        "",
        *table(times),
    ]
    if problems:
        lines += ["", "FAILED:", *(f"  {problem}" for problem in problems)]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return int(bool(problems))


if __name__ == "__main__":
    sys.exit(main())
