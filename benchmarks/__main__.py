"""``python -m benchmarks [NAME] [options]``: every benchmark, or one.

    python3 dev.py bench                  # all, each with its defaults
    python3 dev.py bench --rounds N       # all, N rounds each
    python3 dev.py bench NAME [...]       # one, with all of its own options

The benchmarks, in the order ``dev.py bench`` runs them (``bench NAME --help``
lists a benchmark's options; benchmarks/README.rst says what each measures):

    middleware   a page that does not call EverReal, with and without the middleware
    sync         a login's sync of companies and scopes, by number of companies
    login        a whole login, against a plain social-app-django one
    refresh      one due token, N threads x P processes at once
    outbound     one call to EverReal, and the connections it opens
    permissions  1000 permission checks in one request
    changelist   the admin's lists of linked users, 10 to 1000 accounts
    bearer       an API request authenticated by an EverReal token
    webhooks     the webhook receiver under gunicorn, and one worker's backlog
    redaction    what the log redaction filter costs per record
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from benchmarks import bearer
from benchmarks import changelist
from benchmarks import login
from benchmarks import middleware
from benchmarks import outbound
from benchmarks import permissions
from benchmarks import redaction
from benchmarks import refresh
from benchmarks import run
from benchmarks import webhooks

BENCHMARKS: dict[str, Callable[[list[str] | None], int]] = {
    "middleware": middleware.main,
    "sync": run.main,
    "login": login.main,
    "refresh": refresh.main,
    "outbound": outbound.main,
    "permissions": permissions.main,
    "changelist": changelist.main,
    "bearer": bearer.main,
    "webhooks": webhooks.main,
    "redaction": redaction.main,
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
    failed = []
    for name, benchmark in BENCHMARKS.items():
        print(f"=== {name}", file=sys.stderr, flush=True)
        if benchmark(options) != 0:
            failed.append(name)
    if failed:
        print(f"=== failed: {', '.join(failed)}", file=sys.stderr)
    return int(bool(failed))


sys.exit(main(sys.argv[1:]))
