"""Time and count 1000 permission checks per request, EverReal scopes against ModelBackend.

    python3 dev.py bench permissions [--rounds N] [--requests N] [--checks N] [--databases sqlite postgres] [--profile]

A "request" is a user object loaded fresh, as Django's ``AuthenticationMiddleware``
loads it (so every per-user cache starts empty), then ``--checks`` calls of
``user.has_perm(perm)``. The baseline is ``ModelBackend`` alone with the
permission granted through a group (granted) and not granted (denied); the
site's backends are those of the README (``EverRealOAuth2``, ``ScopeBackend``,
``ModelBackend``), with EverReal scopes and Django permissions checked, granted
and denied, and, for comparison, ``ModelBackend`` listed before
``ScopeBackend``. Each database runs in a process of its own, as in ``bench
sync``. The report goes to stdout and to ``benchmarks/results/permissions.txt``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.run import Runs
from benchmarks.run import code_measured
from benchmarks.run import finish_child
from benchmarks.run import forward
from benchmarks.run import measure_in_child

RESULTS = Path(__file__).resolve().parent / "results" / "permissions.txt"
MIN_ROUNDS = report.MIN_ROUNDS
#: Requests of each way per round, and checks per request.
REQUESTS = 40
CHECKS = 1000
#: Requests of one way in a row, before the next way's.
BLOCK = 4

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
SCOPE_BACKEND = "django_everreal.auth.ScopeBackend"
OAUTH_BACKEND = "django_everreal.backends.EverRealOAuth2"
BASELINE = [MODEL_BACKEND]
SITE = [OAUTH_BACKEND, SCOPE_BACKEND, MODEL_BACKEND]
MODEL_FIRST = [OAUTH_BACKEND, MODEL_BACKEND, SCOPE_BACKEND]
WITHOUT_OAUTH = [SCOPE_BACKEND, MODEL_BACKEND]

#: The user holds these scopes, and the group's permission.
SCOPES = ["offline_access", "company_user", "company_portfolio_all"]
GRANTED_SCOPE = "everreal.company_user"
DENIED_SCOPE = "everreal.company_admin"
GROUP_PERMISSION = "auth.view_user"
DENIED_PERMISSION = "auth.delete_user"


@dataclass(frozen=True)
class Way:
    label: str
    backends: list[str]
    perm: str
    granted: bool
    #: The way whose time this one's is divided by.
    baseline: str


WAYS = {
    "base_granted": Way(
        "ModelBackend alone, group permission (baseline)",
        BASELINE,
        GROUP_PERMISSION,
        True,
        "base_granted",
    ),
    "site_scope_granted": Way(
        "site's backends, scope held", SITE, GRANTED_SCOPE, True, "base_granted"
    ),
    "site_perm_granted": Way(
        "site's backends, group permission",
        SITE,
        GROUP_PERMISSION,
        True,
        "base_granted",
    ),
    "first_scope_granted": Way(
        "ModelBackend first, scope held",
        MODEL_FIRST,
        GRANTED_SCOPE,
        True,
        "base_granted",
    ),
    "base_denied": Way(
        "ModelBackend alone, not granted (baseline)",
        BASELINE,
        DENIED_PERMISSION,
        False,
        "base_denied",
    ),
    "site_scope_denied": Way(
        "site's backends, scope not held",
        SITE,
        DENIED_SCOPE,
        False,
        "base_denied",
    ),
    "site_perm_denied": Way(
        "site's backends, Django permission not granted",
        SITE,
        DENIED_PERMISSION,
        False,
        "base_denied",
    ),
    "first_scope_denied": Way(
        "ModelBackend first, scope not held",
        MODEL_FIRST,
        DENIED_SCOPE,
        False,
        "base_denied",
    ),
    "bare_scope_denied": Way(
        "no EverRealOAuth2, scope not held",
        WITHOUT_OAUTH,
        DENIED_SCOPE,
        False,
        "base_denied",
    ),
}


# The measuring child: one database, Django set up once.


def setup_django() -> None:
    import django

    # Not benchmarks.settings, which run_child names: this one has the admin.
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings_perms"
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_user() -> Callable[[], Any]:
    """A user with an EverReal account and a group's permission; a loader of it."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.auth.models import Permission

    from django_everreal.models import Account

    user_model = get_user_model()
    user = user_model.objects.create_user(
        username="anna@example.com", email="anna@example.com"
    )
    Account.objects.create(
        user=user, everreal_id="er-anna", email=user.email, scopes=SCOPES
    )
    group = Group.objects.create(name="staff")
    app_label, codename = GROUP_PERMISSION.split(".")
    group.permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename)
    )
    user.groups.add(group)
    pk = user.pk
    manager = user_model._default_manager

    def load() -> Any:
        # As ModelBackend.get_user loads request.user.
        return manager.get(pk=pk)

    return load


def use(way: Way) -> None:
    """Set the way's backends on settings itself (override_settings slows every read)."""
    from django.conf import settings

    settings.AUTHENTICATION_BACKENDS = way.backends


def request(user: Any, perm: str, checks: int) -> bool:
    """One request's checks; whether the last said yes."""
    has_perm = user.has_perm
    allowed = False
    for _ in range(checks):
        allowed = has_perm(perm)
    return bool(allowed)


def count_queries(load: Callable[[], Any], way: Way, checks: int) -> int:
    """The queries of one request's checks (the user's load left out), checking the answer."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    use(way)
    user = load()
    with CaptureQueriesContext(connection) as captured:
        allowed = request(user, way.perm, checks)
    if allowed != way.granted:
        raise RuntimeError(f"{way.label}: has_perm({way.perm!r}) said {allowed}")
    return len(captured)


def timed_block(users: list[Any], way: Way, checks: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for user in users:
            request(user, way.perm, checks)
        return time.perf_counter() - start
    finally:
        gc.enable()


def time_rounds(
    load: Callable[[], Any], rounds: int, requests: int, checks: int
) -> dict[str, list[float]]:
    """Per way: seconds per request in each round, the ways interleaved in blocks.

    A round makes *requests* requests of each way, ``BLOCK`` of one way then
    ``BLOCK`` of the next, the order rotated from block to block. The users
    of a block are loaded before its clock starts.
    """
    keys = list(WAYS)
    blocks = max(1, requests // BLOCK)
    times: dict[str, list[float]] = {key: [] for key in keys}
    for r in range(rounds):
        print(f"  round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        total = dict.fromkeys(keys, 0.0)
        for b in range(blocks):
            shift = (b + r) % len(keys)
            for key in keys[shift:] + keys[:shift]:
                way = WAYS[key]
                use(way)
                users = [load() for _ in range(BLOCK)]
                total[key] += timed_block(users, way, checks)
        for key, seconds in total.items():
            times[key].append(seconds / (blocks * BLOCK))
    return times


def profile(load: Callable[[], Any], way: Way, requests: int, checks: int) -> list[str]:
    """cProfile's view of *requests* requests of *way*: the functions by own time."""
    use(way)
    users = [load() for _ in range(requests)]
    profiler = cProfile.Profile()
    profiler.enable()
    for user in users:
        request(user, way.perm, checks)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(15)
    lines = out.getvalue().splitlines()
    start = next(
        (i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0
    )
    return [f"cProfile of {requests} requests, {way.label}:", *lines[start:]]


def child(args: argparse.Namespace) -> int:
    setup_django()
    from django.db import connection

    from benchmarks.measure import database_version

    sources = report.sources()
    load = make_user()
    queries = {key: count_queries(load, way, args.checks) for key, way in WAYS.items()}
    times = time_rounds(load, args.rounds, args.requests, args.checks)
    profiles = (
        profile(load, WAYS["site_scope_denied"], args.requests, args.checks)
        if args.profile
        else []
    )
    result = {
        "vendor": connection.vendor,
        "database": database_version(),
        "django": __import__("django").get_version(),
        "social_core": metadata.version("social-auth-core"),
        "sources": sources,
        "sources_changed": report.sources() != sources,
        "rounds": args.rounds,
        "requests": args.requests,
        "checks": args.checks,
        "queries": queries,
        "times": times,
        "profile": profiles,
    }
    return finish_child(result, args.output)


# The parent: a child per database, then the report.


def measure(
    database: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    options = forward(args, "rounds", "requests", "checks", "profile")
    return measure_in_child("benchmarks.permissions", database, env, options)


def table(result: dict[str, Any]) -> list[str]:
    times = result["times"]
    rows = [
        (
            way.label,
            "yes" if way.granted else "no",
            str(result["queries"][key]),
            report.ratio(times[key], times[way.baseline]),
        )
        for key, way in WAYS.items()
    ]
    return report.grid(("way", "granted", "queries", "time / baseline"), rows)


def scale(result: dict[str, Any]) -> str:
    ms = statistics.median(result["times"]["base_granted"]) * 1000
    return (
        f"For scale only: a baseline request ({result['checks']} granted checks) "
        f"took {ms:.1f} ms (median of this run)."
    )


_LEGEND = """\
A request: the user loaded fresh by its primary key, as Django's
AuthenticationMiddleware loads request.user (every per-user cache empty),
then {checks} calls of user.has_perm(perm), the same permission each time.
The user holds the EverReal scopes company_user and company_portfolio_all
(ScopeBackend: the permissions everreal.company_user and
everreal.company_portfolio_all) and is in a group granted auth.view_user.
Baseline: AUTHENTICATION_BACKENDS = [ModelBackend], checking auth.view_user
(granted through the group) or auth.delete_user (not granted). The site's
backends: [EverRealOAuth2, ScopeBackend, ModelBackend], as the README lists
them; "scope held" checks everreal.company_user, "scope not held"
everreal.company_admin. "ModelBackend first": [EverRealOAuth2, ModelBackend,
ScopeBackend]; "no EverRealOAuth2": [ScopeBackend, ModelBackend], which no
site can use (a login with EverReal needs EverRealOAuth2 listed), to show
what listing it costs. Queries: those of one request's checks, exact
(CaptureQueriesContext), the user's own load (one query, the same for every
way) left out. "time / baseline": a request's time over the baseline's of the
same answer (granted over granted, denied over denied) in the same round, the
ways interleaved in blocks of {block} requests, the order rotated from block
to block; median [min-max] of the per-round ratios, the users loaded outside
the timed part.

What a denied check costs, and why: Django's User.has_perm asks every backend
in AUTHENTICATION_BACKENDS in turn, building each one anew on every call,
until one says yes or raises PermissionDenied; so a denied check always runs
them all, and a granted one stops at the first that grants it. ScopeBackend
answers from the user's account, read with one query on the first check of an
everreal.* permission and cached on the user object (a permission of another
app costs it no query); ModelBackend reads the user's and the groups'
permissions, two queries, cached on the user object too. So with the site's
backends a held scope costs one query (ScopeBackend answers before
ModelBackend is asked) and a scope not held three, once per request, never
per check: ModelBackend must still be asked, as a group may grant an
everreal.* permission, and answering "no" for it would take that away.
Listing ModelBackend first makes a held scope cost three queries too. Per
check, every backend is built and asked again: EverRealOAuth2, a
python-social-auth backend with no has_perm, is built (python-social-auth's
constructor) on every check though never asked: the same cost as wiring
python-social-auth by hand."""


def legend(checks: int) -> str:
    paragraphs = _LEGEND.format(checks=checks, block=BLOCK).split("\n\n")
    return "\n\n".join(
        textwrap.fill(" ".join(paragraph.split()), width=78) for paragraph in paragraphs
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench permissions", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--requests", type=int, default=REQUESTS, help="requests per way and round"
    )
    parser.add_argument(
        "--checks", type=int, default=CHECKS, help="has_perm calls per request"
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=("sqlite", "postgres"),
        default=["sqlite", "postgres"],
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="add cProfile's view of the site's denied scope checks",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < 1 or args.checks < 1:
        parser.error("--rounds, --requests and --checks must be at least 1")
    if args.child:
        return child(args)

    start = time.perf_counter()
    runs = Runs()
    django_version = ""
    for result in runs.results(args.databases, lambda db, env: measure(db, env, args)):
        runs.sections.append(
            [
                (
                    f"-- {result['database']}, {result['rounds']} rounds of "
                    f"{result['requests']} requests per way, "
                    f"{result['checks']} checks each"
                ),
                code_measured(result),
                "",
                *table(result),
                "",
                scale(result),
                *(["", *result["profile"]] if result["profile"] else []),
            ]
        )
        django_version = (
            f"Django: {result['django']}, social-auth-core {result['social_core']}"
        )

    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench permissions --rounds {args.rounds}"
    lines = report.heading(
        f"{args.checks} permission checks per request: EverReal scopes and ModelBackend",
        command,
        elapsed,
        args.rounds,
        *([django_version] if django_version else []),
    )
    lines += ["", legend(args.checks)]
    for section in runs.sections:
        lines += ["", *section]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return int(runs.failed)


if __name__ == "__main__":
    sys.exit(main())
