"""Count the refreshes of one due token under N threads in each of P processes, two ways.

    python3 dev.py bench refresh [--rounds N] [--threads 1 4 16 32] [--processes 1 2 4]
                                 [--max-connections N] [--strict-rounds 2]

N threads in each of P processes, released together, each ask for the
access token of one user whose token is due, on PostgreSQL: through this
app (``EverRealClient.for_user(user)``, whose every call takes its token
from ``client.tokens.access_token()``), and through social-app-django
(``user.social_auth.get(provider="everreal").get_access_token(load_strategy())``,
the tokens in ``extra_data``). The fake EverReal serves on 127.0.0.1 from the
measuring process, which counts the token-endpoint calls it received; the
callers are other processes. A second pass counts the same with the fake
revoking a rotated refresh token at once. The report goes to stdout and to
``benchmarks/results/refresh.txt``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from importlib import metadata
from pathlib import Path
from typing import IO
from typing import TYPE_CHECKING
from typing import Any

from benchmarks import report
from benchmarks.run import Runs
from benchmarks.run import code_measured
from benchmarks.run import finish_child
from benchmarks.run import forward
from benchmarks.run import measure_in_child

if TYPE_CHECKING:
    from django_everreal.testing.fake import FakeEverReal

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "refresh.txt"
MIN_ROUNDS = report.MIN_ROUNDS
SETTINGS = "benchmarks.settings_refresh"
DATABASE_NAME = "everreal_bench_refresh"
THREADS = (1, 4, 16, 32)
PROCESSES = (1, 2, 4)
#: Of the server's ``max_connections``, those the callers leave free: the
#: measuring process's, PostgreSQL's reserved ones and other clients'.
SPARE_CONNECTIONS = 20
#: Seconds a caller process may take to get ready or to finish.
TIMEOUT = 120.0
WAYS = ("app", "social")
LABELS = {"app": "django-everreal", "social": "social-app-django"}
#: The fake's users: one per way, so that neither pushes out the other's tokens.
EMAILS = {"app": "anna@example.com", "social": "tom@example.com"}
#: How long ago the social-auth token was issued: an hour's token, long expired.
SOCIAL_AUTH_AGE = 7200
#: Below this many callers a round runs each way several times, keeping the fastest.
FEW_CALLERS = 4
#: Rounds under strict rotation: counts only, which need fewer.
STRICT_ROUNDS = 2


def __getattr__(name: str) -> Any:
    """``HandWiredEverReal``, made once Django is set up (``AUTHENTICATION_BACKENDS`` names it)."""
    if name == "HandWiredEverReal":
        return _hand_wired_backend()
    raise AttributeError(name)


_BACKEND: list[type] = []


def _hand_wired_backend() -> type:
    """EverReal's social-core backend, keeping the tokens in ``extra_data`` as social-core does.

    This app's own backend leaves them out of ``extra_data`` (they live
    encrypted on the ``Account``); a site wiring social-app-django by hand
    stores them there, as social-core's ``BaseOAuth2.extra_data`` and an
    ``EXTRA_DATA`` such as Google's do, and ``get_access_token`` reads them
    back. Its refresh sends a form body: social-core's ``refresh_token``
    sends one whatever ``ACCESS_TOKEN_PAYLOAD`` says, labelled JSON when that
    is ``"json"`` (the app's default), and the fake EverReal answers 400.
    """
    if not _BACKEND:
        from social_core.backends.oauth import BaseOAuth2

        from django_everreal.backends import EverRealOAuth2

        class HandWiredEverReal(EverRealOAuth2):
            EXTRA_DATA = [
                ("refresh_token", "refresh_token", True),
                ("expires_in", "expires"),
            ]

            @property
            def ACCESS_TOKEN_PAYLOAD(self) -> str:  # type: ignore[override]
                return "form"

            def extra_data(
                self,
                user: Any,
                uid: str,
                response: dict[str, Any],
                details: dict[str, Any],
                pipeline_kwargs: dict[str, Any],
            ) -> dict[str, Any]:
                data: dict[str, Any] = BaseOAuth2.extra_data(
                    self, user, uid, response, details, pipeline_kwargs
                )
                return data

        _BACKEND.append(HandWiredEverReal)
    return _BACKEND[0]


def setup_django() -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    django.setup()


# The caller processes: N threads each, released by a line on stdin.


def send(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


def receive(stream: IO[str]) -> dict[str, Any]:
    line = stream.readline()
    if not line:
        raise RuntimeError("A caller process ended early (see its errors above).")
    message: dict[str, Any] = json.loads(line)
    return message


def get_token(way: str, user: Any) -> str:
    """One caller's fresh access token, the way a site gets it."""
    if way == "app":
        from django_everreal.client import EverRealClient

        return EverRealClient.for_user(user).tokens.access_token()
    from social_django.utils import load_strategy

    social = user.social_auth.get(provider="everreal")
    token = social.get_access_token(load_strategy())  # type: ignore[no-untyped-call]
    if not isinstance(token, str):
        raise RuntimeError("social-auth has no access token.")
    return token


def failure(exc: BaseException) -> str:
    """What a caller's exception was, without its message (which may quote EverReal)."""
    code = getattr(exc, "code", None)
    return (
        f"{type(exc).__name__}({code})" if isinstance(code, str) else type(exc).__name__
    )


def caller_run(way: str, threads: int, user_id: int) -> None:
    """Ready *threads* callers, each with its database connection open; run them on "go"."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    ready = threading.Semaphore(0)
    go = threading.Event()
    tokens: list[str] = []
    failures: list[str] = []
    ends: list[float] = []
    unready: list[str] = []

    def caller() -> None:
        try:
            try:
                user = get_user_model()._default_manager.get(pk=user_id)
            except Exception as exc:  # the database refused: no run at all
                unready.append(failure(exc))
                return
            finally:
                ready.release()
            go.wait()
            try:
                tokens.append(get_token(way, user))
            except Exception as exc:  # every failure is counted
                failures.append(failure(exc))
            ends.append(time.monotonic())
        finally:
            connection.close()

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for _ in workers:
        if not ready.acquire(timeout=TIMEOUT):
            raise RuntimeError("A caller thread did not get ready.")
    send(sys.stdout, {"ready": True})
    if receive(sys.stdin).get("go") is not True:
        raise RuntimeError("Expected the go signal.")
    go.set()
    for worker in workers:
        worker.join(TIMEOUT)
    send(
        sys.stdout,
        {"tokens": tokens, "failures": failures, "ends": ends, "unready": unready},
    )


def caller_process() -> int:
    """A caller process: runs what the measuring process asks until stdin closes."""
    setup_django()
    send(sys.stdout, {"started": True})
    for line in sys.stdin:
        order = json.loads(line)
        caller_run(order["way"], order["threads"], order["user"])
    return 0


class Callers:
    """The caller processes, started once and reused for every run."""

    def __init__(self, count: int, env: dict[str, str]) -> None:
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks.refresh", "--caller"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for process in self.processes:
            self._receive(process)

    @staticmethod
    def _receive(process: subprocess.Popen[str]) -> dict[str, Any]:
        assert process.stdout is not None  # noqa: S101 -- stdout=PIPE
        return receive(process.stdout)

    @staticmethod
    def _send(process: subprocess.Popen[str], message: dict[str, Any]) -> None:
        assert process.stdin is not None  # noqa: S101 -- stdin=PIPE
        send(process.stdin, message)

    def run(self, way: str, threads: int, processes: int, user_id: int) -> Run:
        """*threads* callers in each of *processes* processes, released at once."""
        used = self.processes[:processes]
        for process in used:
            self._send(process, {"way": way, "threads": threads, "user": user_id})
        for process in used:
            self._receive(process)
        start = time.monotonic()
        for process in used:
            self._send(process, {"go": True})
        answers = [self._receive(process) for process in used]
        unready = [name for answer in answers for name in answer["unready"]]
        if unready:
            raise RuntimeError(f"Callers could not load their user: {unready}")
        ends = [end for answer in answers for end in answer["ends"]]
        return Run(
            seconds=max(ends) - start,
            tokens=[token for answer in answers for token in answer["tokens"]],
            failures=[name for answer in answers for name in answer["failures"]],
        )

    def close(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


@dataclass
class Run:
    seconds: float
    tokens: list[str]
    failures: list[str]


# The measuring process: the fake, the token rows, the rounds.


@dataclass
class Holders:
    """The user of each way and how to make its stored token due again."""

    fake: FakeEverReal
    users: dict[str, int] = field(default_factory=dict)

    def create(self) -> None:
        from django.contrib.auth import get_user_model
        from social_django.models import UserSocialAuth

        from django_everreal.models import Account

        for way, email in EMAILS.items():
            user = get_user_model()._default_manager.create(username=email, email=email)
            self.users[way] = user.pk
        Account.objects.create(
            user_id=self.users["app"],
            everreal_id=self.fake.user(EMAILS["app"]).id,
            email=EMAILS["app"],
        )
        UserSocialAuth.objects.create(
            user_id=self.users["social"],
            provider="everreal",
            uid=self.fake.user(EMAILS["social"]).id,
            extra_data={},
        )

    def make_due(self, way: str) -> None:
        """New tokens from the fake (no request), the access token due for a refresh."""
        from datetime import timedelta

        from django.utils import timezone
        from social_django.models import UserSocialAuth

        from django_everreal.models import Account

        tokens = self.fake.issue_tokens(EMAILS[way])
        if way == "app":
            account = Account.objects.get(user_id=self.users["app"])
            account.set_tokens(tokens["access_token"], tokens["refresh_token"], 3600)
            account.access_token_expires_at = timezone.now() - timedelta(seconds=1)
            account.reauth_required = False
            account.refresh_failed_at = None
            account.save()
            return
        social = UserSocialAuth.objects.get(user_id=self.users["social"])
        social.extra_data = {
            "auth_time": int(time.time()) - SOCIAL_AUTH_AGE,
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "expires": tokens["expires_in"],
            "token_type": "Bearer",
        }
        social.save()

    def stored_refresh_token(self, way: str) -> str:
        from social_django.models import UserSocialAuth

        from django_everreal.models import Account

        if way == "app":
            return str(Account.objects.get(user_id=self.users["app"]).refresh_token)
        extra = UserSocialAuth.objects.get(user_id=self.users["social"]).extra_data
        return str(extra.get("refresh_token") or "")


def accepted(fake: FakeEverReal, token: str) -> bool:
    from django_everreal.testing import FakeEverRealError

    try:
        fake.verify(token)
    except FakeEverRealError:
        return False
    return True


def measure_once(
    fake: FakeEverReal, holders: Holders, callers: Callers, way: str, n: int, p: int
) -> dict[str, Any]:
    """One run of *way* at n x p: its counts, failures and seconds."""
    holders.make_due(way)
    fake.clear_calls()
    run = callers.run(way, n, p, holders.users[way])
    refreshes = len(fake.calls("token"))
    rejected = sum(not accepted(fake, token) for token in set(run.tokens))
    stale = [token for token in run.tokens if not accepted(fake, token)]
    return {
        "seconds": run.seconds,
        "refreshes": refreshes,
        "failed": len(run.failures) + len(stale),
        "failures": run.failures + ["token not accepted"] * len(stale),
        "distinct": len(set(run.tokens)),
        "rejected": rejected,
        "stored_live": accepted(fake, holders.stored_refresh_token(way)),
    }


def cells(args: argparse.Namespace) -> list[tuple[int, int]]:
    return [(n, p) for p in args.processes for n in args.threads]


Results = dict[str, dict[str, list[dict[str, Any]]]]


def repeats(n: int, p: int) -> int:
    """Runs of each way per round at n x p: a lone caller's run is short, and noisy."""
    return max(1, FEW_CALLERS // (n * p))


def run_rounds(
    fake: FakeEverReal,
    holders: Holders,
    callers: Callers,
    runnable: list[tuple[int, int]],
    rounds: int,
    what: str,
    timed: bool = True,
) -> Results:
    """*rounds* rounds, each running both ways at every cell, the order alternating."""
    results: Results = {f"{n}x{p}": {way: [] for way in WAYS} for n, p in runnable}
    for r in range(rounds):
        print(f"  {what} round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        for i, (n, p) in enumerate(runnable):
            for k in range(repeats(n, p) if timed else 1):
                order = WAYS if (r + i + k) % 2 == 0 else WAYS[::-1]
                for way in order:
                    run = measure_once(fake, holders, callers, way, n, p)
                    results[f"{n}x{p}"][way].append({**run, "round": r})
    return results


def fastest(runs: list[dict[str, Any]]) -> list[float]:
    """Per round, the seconds of the fastest of its runs."""
    best: dict[int, float] = {}
    for run in runs:
        best[run["round"]] = min(best.get(run["round"], run["seconds"]), run["seconds"])
    return [best[r] for r in sorted(best)]


def connection_budget() -> int:
    """How many callers may hold a database connection at once on this server."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        (limit,) = cursor.fetchone() or (100,)
    return int(limit) - SPARE_CONNECTIONS


def child(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command

    from benchmarks.measure import database_version
    from django_everreal.testing.fake import FakeEverReal
    from django_everreal.testing.server import FakeEverRealServer

    call_command("migrate", verbosity=0, interactive=False)
    sources = report.sources()
    fake = FakeEverReal()
    fake.rate_limit = 10**9
    budget = args.max_connections or connection_budget()
    runnable = [(n, p) for n, p in cells(args) if n * p <= budget]
    with FakeEverRealServer(fake) as server:
        holders = Holders(fake)
        holders.create()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "EVERREAL_BENCH_FAKE_URL": server.url,
        }
        callers = Callers(max((p for _, p in runnable), default=0), env)
        try:
            # Imports and first connections of each caller process, not measured.
            for way in WAYS:
                for p in range(1, len(callers.processes) + 1):
                    measure_once(fake, holders, callers, way, 1, p)
            results = run_rounds(
                fake, holders, callers, runnable, args.rounds, "EverReal's rotation"
            )
            fake.revoke_rotated_refresh_tokens = True
            strict = run_rounds(
                fake,
                holders,
                callers,
                runnable,
                args.strict_rounds,
                "strict rotation",
                timed=False,
            )
        finally:
            callers.close()
    result = {
        "database": database_version(),
        "django": __import__("django").get_version(),
        "peers": {
            name: metadata.version(name)
            for name in ("social-auth-app-django", "social-auth-core")
        },
        "sources": sources,
        "sources_changed": report.sources() != sources,
        "rounds": args.rounds,
        "strict_rounds": args.strict_rounds,
        "cells": [list(cell) for cell in cells(args)],
        "results": results,
        "strict": strict,
    }
    return finish_child(result, args.output)


# The parent: the throwaway database, the child, the report.


@contextmanager
def database_name() -> Iterator[None]:
    """The benchmark's own database name, unless one is set in the environment."""
    name = "EVERREAL_BENCH_DATABASE_NAME"
    if name in os.environ:
        yield
        return
    os.environ[name] = DATABASE_NAME
    try:
        yield
    finally:
        del os.environ[name]


def measure(
    database: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    options = forward(
        args, "rounds", "threads", "processes", "max_connections", "strict_rounds"
    )
    return measure_in_child("benchmarks.refresh", database, env, options)


def count(values: list[int]) -> str:
    """Exact counts of the rounds: one integer when they agree, else min-max."""
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def table(result: dict[str, Any], key: str, timed: bool) -> tuple[list[str], bool]:
    """The grid of ``result[key]``, and whether this app ever refreshed other than once."""
    rows = []
    off_target = False
    headings = (
        "N",
        "P",
        "callers",
        "refreshes app",
        "social",
        "failed app",
        "social",
        "tokens app",
        "social",
        *(("time app / social",) if timed else ()),
    )
    for n, p in result["cells"]:
        cell = result[key].get(f"{n}x{p}")
        if cell is None:
            rows.append((str(n), str(p), str(n * p), *["-"] * (len(headings) - 3)))
            continue
        app, social = cell["app"], cell["social"]
        if any(run["refreshes"] != 1 or run["failed"] for run in app):
            off_target = True
        seconds = report.ratio(fastest(app), fastest(social))
        rows.append(
            (
                str(n),
                str(p),
                str(n * p),
                count([run["refreshes"] for run in app]),
                count([run["refreshes"] for run in social]),
                count([run["failed"] for run in app]),
                count([run["failed"] for run in social]),
                count([run["distinct"] for run in app]),
                count([run["distinct"] for run in social]),
                *((seconds,) if timed else ()),
            )
        )
    return report.grid(headings, rows), off_target


def notes(result: dict[str, Any], key: str) -> list[str]:
    """Why callers failed, and whether the refresh token stored afterwards still worked."""
    lines = []
    for way in WAYS:
        reasons: Counter[str] = Counter()
        dead = total = 0
        for cell in result[key].values():
            for run in cell[way]:
                reasons.update(run["failures"])
                dead += not run["stored_live"]
                total += 1
        why = ", ".join(f"{name} x{k}" for name, k in reasons.most_common())
        lines.append(
            f"{LABELS[way]}: failed callers: {why or 'none'}; the refresh token "
            f"stored afterwards was refused by EverReal after {dead} of {total} runs."
        )
    return [textwrap.fill(line, width=78) for line in lines]


def scale(result: dict[str, Any]) -> list[str]:
    single = result["results"].get("1x1")
    if single is None:
        return []
    seconds = statistics.median(fastest(single["app"]))
    return [
        textwrap.fill(
            f"For scale only: one caller alone (1 x 1) got its refreshed token "
            f"through this app in {seconds * 1000:.1f} ms (median of this run).",
            width=78,
        )
    ]


def tables(result: dict[str, Any]) -> tuple[list[str], bool]:
    """Both tables of one run, and whether this app ever missed its target."""
    grid, off_target = table(result, "results", timed=True)
    lines = [
        (
            f"-- {result['database']}, {result['rounds']} rounds, "
            "rotation as at EverReal (an old refresh token lives on)"
        ),
        code_measured(result),
        "",
        *grid,
        "",
        *notes(result, "results"),
        *scale(result),
    ]
    if result["strict_rounds"]:
        grid, strict_off = table(result, "strict", timed=False)
        off_target |= strict_off
        lines += [
            "",
            (
                f"-- the same, {result['strict_rounds']} rounds, strict rotation "
                "(a rotated refresh token revoked at once), counts only"
            ),
            "",
            *grid,
            "",
            *notes(result, "strict"),
        ]
    if off_target:
        lines += ["", "FAILED: this app did not refresh exactly once everywhere."]
    return lines, off_target


_LEGEND = """\
N threads in each of P processes (callers = N x P) ask at once for the access
token of one user, which is due for a refresh, on PostgreSQL. app: this
app, EverRealClient.for_user(user).tokens.access_token() (the token every call
of the client sends). social: social-app-django,
user.social_auth.get(provider="everreal").get_access_token(load_strategy()),
with django_everreal.backends.EverRealOAuth2 storing the tokens in extra_data
as social-core's OAuth2 backends do (access_token, refresh_token, expires,
auth_time) and refreshing with a form body. Before each run the stored token
is replaced by a new one that is due, and every caller thread has loaded its
user (its database connection open) before a line on each process's stdin
releases them all. The fake EverReal serves on 127.0.0.1 from the measuring
process; the callers are processes of their own. refreshes: calls of the
token endpoint the fake received; failed: callers that raised, or got a token
the fake no longer accepts; tokens: distinct access tokens handed out. Counts
are exact: one integer when every round gave the same, else min-max over the
rounds. The first table's fake rotates as EverReal documents: a refresh
returns a new refresh token, and the old one stays valid until 50 newer ones
of the same client and user push it out; the second's revokes the old one at
once. "time app / social": the time from the release to the last caller's
answer, the two ways run back to back in each round (the order alternating;
with fewer than 4 callers, 4 // callers times each, keeping each way's
fastest), as the median [min-max] of the per-round ratios (below 1: this app
is faster). Counts include every run. A row of "-" needs more database
connections at once than the server's max_connections, less 20 spare,
allows (PostgreSQL allows 100 by default, for all of its users)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench refresh", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=list(THREADS), help="N per process"
    )
    parser.add_argument(
        "--processes", type=int, nargs="+", default=list(PROCESSES), help="P"
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        help="largest N x P to run: each caller holds a database connection "
        f"(default: the server's max_connections less {SPARE_CONNECTIONS})",
    )
    parser.add_argument(
        "--strict-rounds",
        type=int,
        default=STRICT_ROUNDS,
        help="rounds with a rotated refresh token revoked at once, counted only "
        f"(default {STRICT_ROUNDS}; 0: none)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--caller", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.caller:
        return caller_process()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if min(args.threads + args.processes) < 1:
        parser.error("--threads and --processes must be at least 1")
    args.threads = sorted(set(args.threads))
    args.processes = sorted(set(args.processes))
    if args.child:
        return child(args)

    start = time.perf_counter()
    runs = Runs()
    versions: list[str] = []
    with database_name():
        for result in runs.results(
            ["postgres"], lambda db, env: measure(db, env, args)
        ):
            section, off_target = tables(result)
            runs.failed |= off_target
            runs.sections.append(section)
            peers = ", ".join(f"{k} {v}" for k, v in result["peers"].items())
            versions = [f"Django: {result['django']}", f"Compared with: {peers}"]

    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench refresh --rounds {args.rounds}"
    lines = report.heading(
        "one due token, N threads x P processes asking at once",
        command,
        elapsed,
        args.rounds,
        *versions,
    )
    lines += ["", textwrap.fill(" ".join(_LEGEND.split()), width=78)]
    for section in runs.sections:
        lines += ["", *section]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return int(runs.failed)


if __name__ == "__main__":
    sys.exit(main())
