"""Time a whole EverReal login through the app against a plain social-app-django login.

    python3 dev.py bench login [--rounds N] [--sizes 1 10 100 1000] [--databases sqlite postgres]

A login is the site's two requests through Django's test ``Client``: the
start (a redirect to EverReal) and the callback (token exchange, userinfo,
pipeline, session), at the app's URLs or at social-app-django's own with a
backend wired by hand (``benchmarks.login_site``). EverReal's own login page,
in between, is left out of the timing; the in-process fake's token and
userinfo answers, the same for both, are in it. Each database runs in a
process of its own (``--child``, with ``benchmarks.settings_logins``), as in
``bench sync``. The report goes to stdout and to
``benchmarks/results/login.txt``.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django

from benchmarks import report
from benchmarks.run import Runs
from benchmarks.run import code_measured
from benchmarks.run import finish_child
from benchmarks.run import forward
from benchmarks.run import measure_in_child

RESULTS = Path(__file__).resolve().parent / "results" / "login.txt"
SETTINGS = "benchmarks.settings_logins"
MIN_ROUNDS = report.MIN_ROUNDS
SIZES = (1, 10, 100, 1000)
#: The plain social-app-django login (the baseline), then the app's.
SLOTS = ("plain", "everreal")
PHASES = ("first", "repeat")
#: Each way's start of the login.
BEGIN = {"plain": "/plain/login/plain/", "everreal": "/auth/login/everreal/"}
PASSWORD = "demo"  # noqa: S105 -- the fake's demo password
SCOPES = [
    "company_portfolio_all",
    "company_user",
    "message_templates_all",
    "offline_access",
]


def repetitions(n: int) -> int:
    """Back-to-back repetitions of a round's logins, of which the fastest counts."""
    return 3 if n <= 100 else 1


@dataclass
class Login:
    """One EverReal user's login at one of the two sites, with its own browser."""

    way: str
    email: str
    fake: Any

    def run(self) -> tuple[float, int]:
        """Log in with a new browser session; the site's seconds and queries.

        Only the site's two requests are timed and counted; EverReal's login
        page between them is not. The garbage collector is held off for the
        whole login, as ``timeit`` does.
        """
        from django.test import Client

        client = Client(SERVER_NAME="localhost")
        gc.collect()
        gc.disable()
        try:
            took, queries, response = self._request(client.post, BEGIN[self.way])
            if response.status_code != 302:
                raise RuntimeError(
                    f"{self.way}: the start answered {response.status_code}"
                )
            location = self.fake.authorize_redirect(
                response["Location"], self.email, PASSWORD
            )
            parts = urlsplit(location)
            took2, queries2, response = self._request(
                client.get, f"{parts.path}?{parts.query}"
            )
        finally:
            gc.enable()
        if response.status_code != 302 or response["Location"] != "/":
            raise RuntimeError(
                f"{self.way}: the callback answered {response.status_code}"
            )
        return took + took2, queries + queries2

    @staticmethod
    def _request(send: Any, url: str) -> tuple[float, int, Any]:
        with captured_when(count=COUNTING[0]) as captured:
            start = time.perf_counter()
            response = send(url)
            took = time.perf_counter() - start
        return took, len(captured), response


#: Whether logins count their queries (the counting pass) or are only timed.
COUNTING = [True]


@contextmanager
def captured_when(*, count: bool) -> Iterator[list[Any]]:
    """The queries of the block when counting; no query log while timing."""
    if not count:
        yield []
        return
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        yield captured  # type: ignore[misc]


def add_user(fake: Any, tag: str, n: int) -> str:
    """A new EverReal user in *n* companies of its own; its email."""
    from django_everreal.testing.records import FakeCompany
    from django_everreal.testing.records import FakePartner
    from django_everreal.testing.records import FakeUser

    companies = [
        FakeCompany(f"{tag}-c{i:04d}", f"Company {i} of {tag}", i == 0)
        for i in range(n)
    ]
    email = f"{tag}@example.com"
    fake.add_user(
        FakeUser(
            email=email,
            password=PASSWORD,
            first_name="Bench",
            last_name=tag,
            companies=companies,
            current_company_id=companies[0].id,
            partner=FakePartner(f"{tag}-partner", f"Partner of {tag}", "demo"),
            scopes=list(SCOPES),
        )
    )
    return email


def age_logins() -> None:
    """Make the stored logins look older: the next one writes the new ``auth_time``.

    python-social-auth rewrites ``extra_data`` only when it changed, and its
    ``auth_time`` changes with the clock's second, so a repeat login right
    after the first would sometimes skip that write. A real repeat login
    comes later; this makes every measured one do so (outside the timing).
    """
    from social_django.models import UserSocialAuth

    for social in UserSocialAuth.objects.all():
        social.extra_data = {**social.extra_data, "auth_time": 0}
        social.save(update_fields=["extra_data"])


def check(login: Login, n: int) -> None:
    """Fail unless the login stored what each way stores."""
    from social_django.models import UserSocialAuth

    from django_everreal.models import Account

    social = UserSocialAuth.objects.get(user__email=login.email)
    if login.way == "plain":
        if social.provider != "plain" or not social.extra_data.get("access_token"):
            raise RuntimeError(f"the plain login did not store {login.email}'s tokens")
        return
    account = Account.objects.get(user=social.user)
    if account.companies.count() != n or not account.access_token:
        raise RuntimeError(f"the app's login did not store {login.email} as sent")


def wipe() -> None:
    """Empty the tables the logins write to (outside any timed part)."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.models import Session
    from django.core.management.color import no_style
    from django.db import connection
    from social_django.models import Association
    from social_django.models import Code
    from social_django.models import Nonce
    from social_django.models import Partial
    from social_django.models import UserSocialAuth

    from django_everreal.models import Account
    from django_everreal.models import Company
    from django_everreal.models import Membership
    from django_everreal.models import Partner
    from django_everreal.models import SyncLock

    models = (
        Membership,
        Account,
        SyncLock,
        Company,
        Partner,
        UserSocialAuth,
        Association,
        Code,
        Nonce,
        Partial,
        Session,
        get_user_model(),
    )
    tables = [model._meta.db_table for model in models]
    statements = connection.ops.sql_flush(no_style(), tables, allow_cascade=True)
    connection.ops.execute_sql_flush(statements)


def count_queries(fake: Any, sizes: tuple[int, ...]) -> dict[str, dict[str, int]]:
    """The exact queries of each way's first and repeat login, each checked.

    This pass is also the warm-up: it runs every code path once before the timing.
    """
    counts: dict[str, dict[str, int]] = {}
    COUNTING[0] = True
    for n in sizes:
        row = counts[str(n)] = {}
        for way in SLOTS:
            login = Login(way, add_user(fake, f"count-{way}-{n}", n), fake)
            for phase in PHASES:
                if phase == "repeat":
                    age_logins()
                row[f"{way}_{phase}"] = login.run()[1]
                check(login, n)
        wipe()
    COUNTING[0] = False
    return counts


def time_rounds(
    fake: Any, sizes: tuple[int, ...], rounds: int
) -> dict[str, dict[str, dict[str, list[float]]]]:
    """Per size, phase and way: one time per round, the ways interleaved.

    In each round and size both ways' first logins run one after the other,
    then their repeat logins, the order alternating from round to round;
    that is repeated (``repetitions``) and each login's fastest time kept.
    Every login is a new EverReal user with companies of its own; the
    tables are emptied after each size.
    """
    times: dict[str, dict[str, dict[str, list[float]]]] = {
        str(n): {phase: {way: [] for way in SLOTS} for phase in PHASES} for n in sizes
    }
    for r in range(rounds):
        for n in sizes:
            print(
                f"  round {r + 1}/{rounds}, {n} companies", file=sys.stderr, flush=True
            )
            order = SLOTS if r % 2 == 0 else SLOTS[::-1]
            best: dict[str, dict[str, float]] = {phase: {} for phase in PHASES}
            users = list(fake.users)
            for k in range(repetitions(n)):
                plan = {
                    way: Login(way, add_user(fake, f"r{r}-n{n}-k{k}-{way}", n), fake)
                    for way in SLOTS
                }
                for phase in PHASES:
                    if phase == "repeat":
                        age_logins()
                    for way in order:
                        took = plan[way].run()[0]
                        best[phase][way] = min(best[phase].get(way, took), took)
            for phase, ways in best.items():
                for way, took in ways.items():
                    times[str(n)][phase][way].append(took)
            fake.users = users
            wipe()
    return times


def child(args: argparse.Namespace) -> int:
    """The measuring process: one database, Django set up once; results as JSON."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings_logins")
    django.setup()
    import social_core
    import social_django
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.measure import database_version
    from django_everreal.testing.fake import FakeEverReal

    sources = report.sources()
    call_command("migrate", verbosity=0, interactive=False)
    sizes = tuple(args.sizes)
    fake = FakeEverReal()
    with fake.mock():
        print("  counting queries (and warming up)", file=sys.stderr, flush=True)
        queries = count_queries(fake, sizes)
        # What is alive now lives on: no collection scans it again.
        gc.freeze()
        times = time_rounds(fake, sizes, args.rounds)
    result = {
        "vendor": connection.vendor,
        "database": database_version(),
        "django": django.get_version(),
        "peer": (
            f"social-auth-app-django {social_django.__version__}, "
            f"social-auth-core {social_core.__version__}"
        ),
        "sources": sources,
        "sources_changed": report.sources() != sources,
        "rounds": args.rounds,
        "sizes": list(sizes),
        "queries": queries,
        "times": times,
    }
    return finish_child(result, args.output)


# The parent: a child per database, then the report.


def measure(
    database: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    options = forward(args, "rounds", "sizes")
    return measure_in_child(
        "benchmarks.login", database, env, options, settings=SETTINGS
    )


GROUPS = (
    ("", ("n",)),
    ("plain queries", ("first", "repeat")),
    ("app queries", ("first", "repeat")),
    ("time app / plain", ("first", "repeat")),
)


def table(result: dict[str, Any]) -> list[str]:
    """One row per company count: the query counts, then the time ratios."""
    rows = []
    for n in result["sizes"]:
        queries = result["queries"][str(n)]
        times = result["times"][str(n)]
        rows.append(
            (
                str(n),
                str(queries["plain_first"]),
                str(queries["plain_repeat"]),
                str(queries["everreal_first"]),
                str(queries["everreal_repeat"]),
                report.ratio(times["first"]["everreal"], times["first"]["plain"]),
                report.ratio(times["repeat"]["everreal"], times["repeat"]["plain"]),
            )
        )
    return report.grouped(GROUPS, rows)


def scale(result: dict[str, Any]) -> str:
    """The plain 1-company login's absolute time, only to give the ratios a scale."""
    first = statistics.median(result["times"]["1"]["first"]["plain"]) * 1000
    repeat = statistics.median(result["times"]["1"]["repeat"]["plain"]) * 1000
    return (
        f"For scale only: a plain 1-company login took {first:.0f} ms on a first "
        f"login and {repeat:.0f} ms on a repeat one (medians of this run)."
    )


_LEGEND = """\
A whole login, the site's two requests through Django's test Client (the
start, then the callback with the token exchange, userinfo, the pipeline and
the session; EverReal's own login page between them is not timed), two ways:
plain: a site wiring social-app-django by hand, its own URLs and views, a
minimal OAuth2 backend for EverReal (benchmarks/login_site.py) and social-core's
DEFAULT_AUTH_PIPELINE, the tokens in UserSocialAuth.extra_data, no companies;
app: django-everreal's URLs, backend and README pipeline, storing the user's
companies, memberships, scopes and encrypted tokens. Both log in at the same
in-process fake EverReal, whose answers (the same for both) are in the times.
n: companies in the user's userinfo. first: a new user; repeat: the same user
again in a new browser session (python-social-auth's auth_time made older
first, as for a later login). Database sessions. Queries: both requests', as
CaptureQueriesContext counts them, BEGIN/COMMIT included. "time app / plain":
per round, each login's fastest of 3 interleaved repetitions (1 for n = 1000),
the order of the two ways alternating from round to round; the median
[min-max] of the per-round ratios (below 1: the app's login is faster). On
SQLite every commit writes the file to disk: the plain login commits its
statements one by one, the app runs its pipeline in one transaction."""
LEGEND = textwrap.fill(" ".join(_LEGEND.split()), width=78)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench login", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
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
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.sizes = sorted(set(args.sizes) | {1})
    if args.child:
        return child(args)

    start = time.perf_counter()
    runs = Runs()
    versions: list[str] = []
    for result in runs.results(args.databases, lambda db, env: measure(db, env, args)):
        runs.sections.append(
            [
                f"-- {result['database']}, {result['rounds']} rounds",
                code_measured(result),
                "",
                *table(result),
                "",
                scale(result),
            ]
        )
        versions = [f"Django: {result['django']}", f"Peer:   {result['peer']}"]

    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench login --rounds {args.rounds}"
    lines = report.heading(
        "a whole login, the app's against a plain social-app-django one",
        command,
        elapsed,
        args.rounds,
        *versions,
    )
    lines += ["", LEGEND]
    for section in runs.sections:
        lines += ["", *section]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return int(runs.failed)


if __name__ == "__main__":
    sys.exit(main())
