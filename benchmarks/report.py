"""Turn the measurements into plain-text tables, with the machine they ran on."""

from __future__ import annotations

import hashlib
import math
import os
import platform
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "django_everreal"
CPUINFO = Path("/proc/cpuinfo")


#: Fewer rounds than this are a smoke test, not a measurement.
MIN_ROUNDS = 7


def heading(
    title: str, command: str, elapsed: float, rounds: int, *extra: str
) -> list[str]:
    """The first lines of a report: what was run, when, on what, how many rounds."""
    lines = [
        f"django-everreal: {title}",
        f"({command}; {time.strftime('%Y-%m-%d')}, {elapsed:.0f} s in all)",
        "",
        *machine(),
        *extra,
    ]
    if rounds < MIN_ROUNDS:
        lines.append(f"Only {rounds} rounds: a smoke test, not a measurement.")
    return lines


def publish(text: str, output: Path) -> None:
    """Print a report and write it to *output* (overwritten), saying where."""
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(f"Written to {output}", file=sys.stderr)


def machine() -> list[str]:
    """CPU model and cores, OS and Python: the lines above the tables."""
    model = platform.processor() or platform.machine()
    if CPUINFO.exists():
        for line in CPUINFO.read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return [
        f"CPU:    {model}, {cores} cores ({usable} usable)",
        f"OS:     {platform.platform()}",
        f"Python: {platform.python_implementation()} {platform.python_version()}",
    ]


def sources() -> str:
    """Which code was measured: the git commit, and a digest of the package's sources.

    The digest tells apart runs on uncommitted changes to ``django_everreal``.
    """
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0")
        digest.update(path.read_bytes())
    try:
        git = ["git", "-C", str(ROOT)]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "django_everreal"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"django_everreal sha256 {digest.hexdigest()[:12]}"
    state = " with uncommitted changes" if dirty else ""
    return f"git {commit}{state}, django_everreal sha256 {digest.hexdigest()[:12]}"


def ratio(numerators: list[float], denominators: list[float]) -> str:
    """Median [min-max] of the per-round ratios."""
    values = [a / b for a, b in zip(numerators, denominators, strict=True)]
    return (
        f"{_num(statistics.median(values))} [{_num(min(values))}-{_num(max(values))}]"
    )


def _num(value: float) -> str:
    """Two significant digits below 10 (0.86, 0.042, 3.4), fewer decimals above."""
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    if value <= 0:
        return "0"
    return f"{value:.{1 - math.floor(math.log10(value))}f}"


# Column groups: a label over one or more columns, each with its own heading.
GROUPS = (
    ("", ("n",)),
    ("sync queries", ("first", "repeat")),
    ("naive queries", ("first", "repeat")),
    ("time n / 1 (sync)", ("first", "repeat")),
    ("time sync / naive", ("first", "repeat")),
)
GAP = "  "


def table(result: dict[str, Any]) -> list[str]:
    """One row per company count: query counts, then time ratios."""
    rows = []
    for n in result["sizes"]:
        queries = result["queries"][str(n)]
        first = result["times"][str(n)]["first"]
        repeat = result["times"][str(n)]["repeat"]
        rows.append(
            (
                str(n),
                str(queries["sync_first"]),
                str(queries["sync_repeat"]),
                str(queries["naive_first"]),
                str(queries["naive_repeat"]),
                ratio(first["sync_n"], first["sync_1"]),
                ratio(repeat["sync_n"], repeat["sync_1"]),
                ratio(first["sync_n"], first["naive_n"]),
                ratio(repeat["sync_n"], repeat["naive_n"]),
            )
        )
    return grouped(GROUPS, rows)


def grouped(
    groups: Sequence[tuple[str, tuple[str, ...]]], rows: Sequence[tuple[str, ...]]
) -> list[str]:
    """A right-aligned table whose columns come in groups, each label over its group."""
    headings = tuple(heading for _, columns in groups for heading in columns)
    widths = [
        max(len(cell) for cell in column)
        for column in zip(headings, *rows, strict=True)
    ]
    # Widen a group's last column until its label fits over the group.
    labels = []
    start = 0
    for label, columns in groups:
        end = start + len(columns)
        span = sum(widths[start:end]) + len(GAP) * (len(columns) - 1)
        widths[end - 1] += max(0, len(label) - span)
        span = sum(widths[start:end]) + len(GAP) * (len(columns) - 1)
        labels.append(label.center(span))
        start = end

    def line(cells: tuple[str, ...]) -> str:
        return GAP.join(
            cell.rjust(width) for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    return [
        GAP.join(labels).rstrip(),
        line(headings),
        GAP.join("-" * width for width in widths),
        *(line(row) for row in rows),
    ]


def scale(result: dict[str, Any]) -> str:
    """The absolute time of the 1-company baseline, only to give the ratios a scale."""
    first = statistics.median(result["times"]["1"]["first"]["sync_1"]) * 1000
    repeat = statistics.median(result["times"]["1"]["repeat"]["sync_1"]) * 1000
    return (
        f"For scale only: a 1-company sync took {first:.1f} ms on a first login "
        f"and {repeat:.1f} ms on a repeat one (medians of this run)."
    )


_LEGEND = """\
n: companies in the userinfo payload. sync: django_everreal.sync.sync_account;
naive: the same sync written as a loop of get_or_create/update_or_create
calls in one transaction (benchmarks/logins.py). first: a first login (new
user, new companies); repeat: the same user again with an unchanged payload.
Query counts are exact: CaptureQueriesContext's, COMMIT included, with the
connection's 9000-query log made unbounded. Times are ratios of logins timed back to back in
the same round (a round's time of a login: the fastest of 5 interleaved
repetitions for n <= 100, 1 for n = 1000): "n / 1" is the n-company sync over a 1-company sync, "sync /
naive" the sync over the naive loop for the same n (below 1: the sync is
faster). Each cell is the median [min-max] of the per-round ratios; the n = 1
row of "n / 1" compares two identical logins, so its spread is the noise."""
LEGEND = textwrap.fill(" ".join(_LEGEND.split()), width=78)


def grid(headings: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    """A plain table: the first column left-aligned, the others right-aligned."""
    widths = [
        max(len(cell) for cell in column)
        for column in zip(headings, *rows, strict=True)
    ]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = zip(cells, widths, strict=True)
        return GAP.join(
            [first[0].ljust(first[1]), *(cell.rjust(width) for cell, width in rest)]
        ).rstrip()

    return [
        line(headings),
        GAP.join("-" * width for width in widths),
        *(line(row) for row in rows),
    ]
