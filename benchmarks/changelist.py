"""Count and time the admin's lists of linked users with 10, 100 and 1000 accounts.

    python3 dev.py bench changelist [--rounds N] [--sizes 10 100 1000] [--requests N] [--databases sqlite postgres]

The lists of EverReal accounts, companies and partners (``django_everreal.admin``)
and Django's user list (whose change page the app extends with the account),
each fetched by a superuser through Django's test ``Client``, as the browser
would. Each size has a database of its own, filled in bulk as logins leave
it, and ``benchmarks.settings_perms.DatabaseSwitch`` sends every query to the
one being fetched, so that the sizes can be timed in turn. Each database
engine runs in a process of its own, as in ``bench sync``. The report goes to
stdout and to ``benchmarks/results/changelist.txt``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.run import Runs
from benchmarks.run import code_measured
from benchmarks.run import forward
from benchmarks.run import measure_in_child
from benchmarks.run import postgres_database

RESULTS = Path(__file__).resolve().parent / "results" / "changelist.txt"
MIN_ROUNDS = report.MIN_ROUNDS
SIZES = (10, 100, 1000)
#: Fetches of each list and size per round, and how many in a row.
REQUESTS = 4
BLOCK = 2
#: Accounts per partner, and per company they share besides their own.
GROUP = 10
SCOPES = ["offline_access", "company_user", "company_portfolio_all"]


@dataclass(frozen=True)
class Changelist:
    label: str
    url_name: str


CHANGELISTS = {
    "account": Changelist("EverReal accounts", "admin:everreal_account_changelist"),
    "company": Changelist("companies", "admin:everreal_company_changelist"),
    "partner": Changelist("partners", "admin:everreal_partner_changelist"),
    "user": Changelist("users (Django's UserAdmin)", "admin:auth_user_changelist"),
}
TBODY = re.compile(r"<tbody>(.*?)</tbody>", re.DOTALL)


def alias_of(size: int, sizes: list[int]) -> str:
    return "default" if size == sizes[0] else f"rows{size}"


# The measuring child: one database per size, Django set up once.


@contextmanager
def databases(aliases: list[str]) -> Iterator[None]:
    """The extra databases of the sizes: PostgreSQL's made here, SQLite's by connecting."""
    with ExitStack() as stack:
        if os.environ.get("EVERREAL_BENCH_DATABASE") == "postgres":
            base = os.environ["EVERREAL_BENCH_DATABASE_NAME"]
            for alias in aliases:
                os.environ["EVERREAL_BENCH_DATABASE_NAME"] = f"{base}_{alias}"
                stack.enter_context(postgres_database())
            os.environ["EVERREAL_BENCH_DATABASE_NAME"] = base
        os.environ["EVERREAL_BENCH_ALIASES"] = ",".join(aliases)
        yield


def setup_django(aliases: list[str]) -> None:
    import django

    # Not benchmarks.settings, which run_child names: this one has the admin.
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings_perms"
    django.setup()
    from django.core.management import call_command

    for alias in ["default", *aliases]:
        call_command("migrate", database=alias, verbosity=0, interactive=False)


def switch(alias: str) -> None:
    from benchmarks.settings_perms import DatabaseSwitch

    DatabaseSwitch.alias = alias


def fill(size: int, superuser_password: str) -> None:
    """*size* users as logins leave them, and the same superuser, in the current database.

    Each user: a python-social-auth association, an EverReal account with
    tokens and three scopes, a company of its own (current, default) and one
    it shares with the other accounts of its group of ``GROUP``, whose
    partner owns both.
    """
    from django.contrib.auth import get_user_model
    from django.utils import timezone
    from social_django.models import UserSocialAuth

    from django_everreal.models import Account
    from django_everreal.models import Company
    from django_everreal.models import Membership
    from django_everreal.models import Partner

    user_model = get_user_model()
    # The same row (id 1, password) in every database: one session cookie holds.
    admin = user_model.objects.create(
        username="admin", password=superuser_password, is_staff=True, is_superuser=True
    )
    if admin.pk != 1:
        raise RuntimeError(f"the superuser got id {admin.pk}: the database is not new")
    now = timezone.now()
    groups = range((size + GROUP - 1) // GROUP)
    partners = Partner.objects.bulk_create(
        Partner(id=f"partner-{g}", name=f"Partner {g}", subdomain=f"partner{g}")
        for g in groups
    )
    shared = Company.objects.bulk_create(
        Company(id=f"shared-{g}", name=f"Shared {g}", partner=partners[g])
        for g in groups
    )
    own = Company.objects.bulk_create(
        Company(id=f"company-{i}", name=f"Company {i}", partner=partners[i // GROUP])
        for i in range(size)
    )
    users = user_model.objects.bulk_create(
        user_model(
            username=f"user{i}@example.com",
            email=f"user{i}@example.com",
            first_name=f"First{i}",
            last_name=f"Last{i}",
        )
        for i in range(size)
    )
    UserSocialAuth.objects.bulk_create(
        UserSocialAuth(user=user, provider="everreal", uid=f"er-{i}", extra_data={})
        for i, user in enumerate(users)
    )
    template = Account(user=users[0])
    template.set_tokens("bench-access", "bench-refresh", 3600)
    accounts = Account.objects.bulk_create(
        Account(
            user=user,
            everreal_id=f"er-{i}",
            email=user.email,
            current_company=own[i],
            scopes=SCOPES,
            language="de",
            synced_at=now,
            encrypted_access_token=template.encrypted_access_token,
            encrypted_refresh_token=template.encrypted_refresh_token,
            access_token_expires_at=now + timedelta(hours=1),
            tokens_refreshed_at=now,
        )
        for i, user in enumerate(users)
    )
    Membership.objects.bulk_create(
        Membership(account=account, company=company, is_default=company is own[i])
        for i, account in enumerate(accounts)
        for company in (own[i], shared[i // GROUP])
    )


def rows_expected(key: str, size: int) -> int:
    """Rows in all of the list for *size* accounts (the superuser is a user too)."""
    groups = (size + GROUP - 1) // GROUP
    return {
        "account": size,
        "company": size + groups,
        "partner": groups,
        "user": size + 1,
    }[key]


def fetch(client: Any, url: str) -> str:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}")
    return str(response.content.decode())


def page_rows(html: str) -> int:
    match = TBODY.search(html)
    return match.group(1).count("<tr") if match else 0


def count_queries(client: Any, url: str, alias: str) -> tuple[int, int]:
    """One fetch's queries (exact) and the rows on its page."""
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    switch(alias)
    with CaptureQueriesContext(connections[alias]) as captured:
        html = fetch(client, url)
    return len(captured), page_rows(html)


def timed_block(client: Any, url: str, alias: str, requests: int) -> float:
    switch(alias)
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(requests):
            fetch(client, url)
        return time.perf_counter() - start
    finally:
        gc.enable()


def child(args: argparse.Namespace) -> int:
    sizes: list[int] = args.sizes
    extra = [alias_of(size, sizes) for size in sizes[1:]]
    with databases(extra):
        setup_django(extra)
        return measure_child(args, sizes)


def measure_child(args: argparse.Namespace, sizes: list[int]) -> int:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection
    from django.db import connections
    from django.test import Client
    from django.urls import reverse

    from benchmarks.measure import database_version

    sources = report.sources()
    password = make_password(None)
    for size in sizes:
        print(f"  filling {size} accounts", file=sys.stderr, flush=True)
        switch(alias_of(size, sizes))
        fill(size, password)
    switch("default")
    client = Client()
    client.force_login(
        get_user_model().objects.get(pk=1),
        backend="django.contrib.auth.backends.ModelBackend",
    )
    urls = {
        key: reverse(changelist.url_name) for key, changelist in CHANGELISTS.items()
    }

    queries: dict[str, dict[str, int]] = {key: {} for key in CHANGELISTS}
    rows: dict[str, dict[str, int]] = {key: {} for key in CHANGELISTS}
    for key, url in urls.items():
        for size in sizes:
            queries[key][str(size)], rows[key][str(size)] = count_queries(
                client, url, alias_of(size, sizes)
            )

    slots = [(key, size) for key in CHANGELISTS for size in sizes]
    blocks = max(1, args.requests // BLOCK)
    times: dict[str, dict[str, list[float]]] = {
        key: {str(size): [] for size in sizes} for key in CHANGELISTS
    }
    for r in range(args.rounds):
        print(f"  round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        total = dict.fromkeys(slots, 0.0)
        for b in range(blocks):
            shift = (b * 5 + r) % len(slots)
            for key, size in slots[shift:] + slots[:shift]:
                total[key, size] += timed_block(
                    client, urls[key], alias_of(size, sizes), BLOCK
                )
        for (key, size), seconds in total.items():
            times[key][str(size)].append(seconds / (blocks * BLOCK))

    result = {
        "vendor": connection.vendor,
        "database": database_version(),
        "django": __import__("django").get_version(),
        "sources": sources,
        "sources_changed": report.sources() != sources,
        "rounds": args.rounds,
        "requests": args.requests,
        "sizes": sizes,
        "queries": queries,
        "rows": rows,
        "totals": {
            key: {str(size): rows_expected(key, size) for size in sizes}
            for key in CHANGELISTS
        },
        "times": times,
    }
    for alias in connections:
        connections[alias].close()
    args.output.write_text(json.dumps(result, indent=1))
    return 0


# The parent: a child per database engine, then the report.


def measure(
    database: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    options = forward(args, "rounds", "requests", "sizes")
    return measure_in_child("benchmarks.changelist", database, env, options)


def table(result: dict[str, Any]) -> tuple[list[str], bool]:
    """The table, and whether any list's queries differ between sizes."""
    sizes = [str(size) for size in result["sizes"]]
    smallest = sizes[0]
    differ = False
    rows = []
    for key, changelist in CHANGELISTS.items():
        times = result["times"][key]
        counts = {result["queries"][key][size] for size in sizes}
        differ |= len(counts) > 1
        for size in sizes:
            rows.append(
                (
                    changelist.label if size == smallest else "",
                    size,
                    f"{result['rows'][key][size]} of {result['totals'][key][size]}",
                    str(result["queries"][key][size]),
                    report.ratio(times[size], times[smallest]),
                )
            )
    headings = ("list", "accounts", "rows shown", "queries", f"time / {smallest}")
    return report.grid(headings, rows), differ


def scale(result: dict[str, Any]) -> str:
    smallest = str(result["sizes"][0])
    ms = statistics.median(result["times"]["account"][smallest]) * 1000
    return (
        f"For scale only: the list of {smallest} EverReal accounts took {ms:.0f} ms "
        "per fetch (median of this run)."
    )


_LEGEND = """\
Each list fetched by a superuser through Django's test Client (the whole
request: middleware, session cookie, admin view, template), on a database
holding n linked users as logins leave them: per user a Django user, a
python-social-auth association, an EverReal account (three scopes, valid
tokens), a company of its own (current and default) and one shared with the
other accounts of its group of {group}, both owned by the group's partner;
plus the superuser. The lists: EverReal accounts, companies and partners
(django_everreal.admin) and Django's user list, whose change page the app
extends with the account (its list is Django's own). The admin shows 100 rows
per page (ModelAdmin.list_per_page): "rows shown" is the rows on the first
page of all the list holds; beyond 100 the page is the same size and only
the counts and the filters' choices grow (the account list's company filter
lists every company, the partner filters every partner). Queries: one
fetch's, exact (CaptureQueriesContext), the same whatever n is, or the run
fails. "time / {smallest}": a fetch's time over the same list's with the
fewest accounts, in the same round; each round fetches every list at every
size {requests} times, {block} in a row, the order rotated from block to
block; median [min-max] of the per-round ratios. Each size has a database of
its own (the same engine), filled before the timing."""


def legend(result_sizes: list[int], requests: int) -> str:
    text = _LEGEND.format(
        group=GROUP, smallest=result_sizes[0], requests=requests, block=BLOCK
    )
    return textwrap.fill(" ".join(text.split()), width=78)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench changelist", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="linked accounts"
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=REQUESTS,
        help="fetches of each list and size per round",
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=("sqlite", "postgres"),
        default=["sqlite", "postgres"],
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < 1 or min(args.sizes) < 1:
        parser.error("--rounds, --requests and --sizes must be at least 1")
    args.sizes = sorted(set(args.sizes))
    if args.child:
        return child(args)

    start = time.perf_counter()
    runs = Runs()
    django_version = ""
    for result in runs.results(args.databases, lambda db, env: measure(db, env, args)):
        lines, differ = table(result)
        runs.failed |= differ
        runs.sections.append(
            [
                f"-- {result['database']}, {result['rounds']} rounds",
                code_measured(result),
                "",
                *lines,
                *(
                    ["", "FAILED: a list's queries grow with its rows."]
                    if differ
                    else []
                ),
                "",
                scale(result),
            ]
        )
        django_version = result["django"]

    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench changelist --rounds {args.rounds}"
    lines = report.heading(
        "the admin's lists of linked users by number of accounts",
        command,
        elapsed,
        args.rounds,
        *([f"Django: {django_version}"] if django_version else []),
    )
    lines += ["", legend(args.sizes, args.requests)]
    for section in runs.sections:
        lines += ["", *section]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return int(runs.failed)


if __name__ == "__main__":
    sys.exit(main())
