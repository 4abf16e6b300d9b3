"""``python -m benchmarks [sync|outbound|bearer] [options]``: every benchmark, or one.

    python3 dev.py bench                 # all, each with its defaults
    python3 dev.py bench --rounds N      # all, N rounds each
    python3 dev.py bench sync [...]      # the login sync (see benchmarks.run)
    python3 dev.py bench outbound [...]  # calls to EverReal (see benchmarks.outbound)
    python3 dev.py bench bearer [...]    # API requests with EverReal tokens (benchmarks.bearer)

Named, a benchmark takes all of its own options (``bench sync --help``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from benchmarks import bearer
from benchmarks import outbound
from benchmarks import run

BENCHMARKS: dict[str, Callable[[list[str] | None], int]] = {
    "sync": run.main,
    "outbound": outbound.main,
    "bearer": bearer.main,
}


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        return BENCHMARKS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench",
        description="Run the benchmarks: "
        + ", ".join(BENCHMARKS)
        + " (name one to run it alone, with its own options).",
    )
    parser.add_argument("--rounds", type=int, help="rounds of each benchmark")
    args = parser.parse_args(argv)
    options = [] if args.rounds is None else ["--rounds", str(args.rounds)]
    failed = False
    for name, benchmark in BENCHMARKS.items():
        print(f"=== {name}", file=sys.stderr, flush=True)
        failed |= benchmark(options) != 0
    return int(failed)


sys.exit(main(sys.argv[1:]))
