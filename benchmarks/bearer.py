"""Time a DRF request authenticated by a cached EverReal token against DRF's own tokens.

    python3 dev.py bench bearer [--rounds N] [--requests N] [--databases sqlite postgres] [--profile]

The same ``APIView`` (``IsAuthenticated``, a small JSON answer) two ways: with
``django_everreal.drf.EverRealTokenAuthentication`` and a token EverReal's
userinfo has already vouched for (in the cache), and with DRF's
``TokenAuthentication`` (``rest_framework.authtoken``: one query for the token
and its user), the baseline. Each request is a new ``RequestFactory`` request
handed to the view, as Django's handler would hand it. Each database runs in a
process of its own, as in ``bench sync``. The report goes to stdout and to
``benchmarks/results/bearer.txt``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.run import Runs
from benchmarks.run import code_measured
from benchmarks.run import run_child

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "bearer.txt"
MIN_ROUNDS = report.MIN_ROUNDS
REQUESTS = 400
#: Requests of one way in a row, before the other way's.
BLOCK = 20
WAYS = ("drf_token", "everreal")
LABELS = {
    "drf_token": "DRF TokenAuthentication (baseline)",
    "everreal": "EverRealTokenAuthentication, cached",
}

Request = Callable[[], Any]
#: Requests made the EverReal way so far (the first included).
COUNTER = [0]


# The measuring child: one database, Django set up once.


def setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def make_ways(fake: Any) -> dict[str, Request]:
    """One request function per way, each checked once to answer 200 as its user."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from rest_framework.authentication import TokenAuthentication  # type: ignore[import-untyped]
    from rest_framework.authtoken.models import Token  # type: ignore[import-untyped]
    from rest_framework.permissions import IsAuthenticated  # type: ignore[import-untyped]
    from rest_framework.response import Response  # type: ignore[import-untyped]
    from rest_framework.views import APIView  # type: ignore[import-untyped]

    from django_everreal.drf import EverRealTokenAuthentication

    # Set on settings itself, not with override_settings, whose wrapper makes
    # every read of a setting slower than in a site.
    settings.SOCIAL_AUTH_EVERREAL_BASE_URL = fake.base_url
    settings.SOCIAL_AUTH_EVERREAL_KEY = "demo-client"
    settings.SOCIAL_AUTH_EVERREAL_SECRET = "demo-secret"  # noqa: S105 -- the fake's

    class Me(APIView):  # type: ignore[misc]
        permission_classes = (IsAuthenticated,)

        def get(self, request: Any) -> Any:
            return Response({"user": request.user.pk})

    class EverRealMe(Me):
        authentication_classes = (EverRealTokenAuthentication,)

    class TokenMe(Me):
        authentication_classes = (TokenAuthentication,)

    everreal_token = fake.issue_tokens("anna@example.com")["access_token"]
    drf_user = get_user_model().objects.create_user(username="drf@example.com")
    drf_token = Token.objects.create(user=drf_user).key
    factory = RequestFactory()
    counter = COUNTER
    everreal_view = EverRealMe.as_view()
    token_view = TokenMe.as_view()

    def everreal() -> Any:
        counter[0] += 1
        request = factory.get("/me/", HTTP_AUTHORIZATION=f"Bearer {everreal_token}")
        return everreal_view(request)

    def drf() -> Any:
        request = factory.get("/me/", HTTP_AUTHORIZATION=f"Token {drf_token}")
        return token_view(request)

    ways = {"drf_token": drf, "everreal": everreal}
    for way in ways.values():  # the first: EverReal's userinfo, then the cache
        response = way()
        if response.status_code != 200 or not response.data["user"]:
            raise RuntimeError(f"{way.__name__} answered {response.status_code}")
    return ways


def timed_block(way: Request, requests: int) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(requests):
            way()
        return time.perf_counter() - start
    finally:
        gc.enable()


def time_rounds(
    ways: dict[str, Request], rounds: int, requests: int
) -> dict[str, list[float]]:
    """Per way: seconds per request in each round, the ways interleaved in blocks.

    A round makes *requests* requests of each way, ``BLOCK`` of one then
    ``BLOCK`` of the other, the order alternating from block to block.
    """
    times: dict[str, list[float]] = {key: [] for key in ways}
    for r in range(rounds):
        print(f"  round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        total = dict.fromkeys(ways, 0.0)
        for b in range(max(1, requests // BLOCK)):
            order = list(ways) if (b + r) % 2 == 0 else list(reversed(ways))
            for key in order:
                total[key] += timed_block(ways[key], BLOCK)
        for key, seconds in total.items():
            times[key].append(seconds / (max(1, requests // BLOCK) * BLOCK))
    return times


def count_queries(way: Request) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        way()
    return len(captured)


def profile(way: Request, requests: int) -> list[str]:
    """cProfile's top functions of *requests* requests, by cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        way()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"django_everreal|rest_framework", 25)
    return out.getvalue().splitlines()


def child(args: argparse.Namespace) -> int:
    setup_django()
    from django.db import connection

    from benchmarks.measure import database_version
    from django_everreal.testing.fake import FakeEverReal

    sources = report.sources()
    fake = FakeEverReal()
    with fake.mock():
        ways = make_ways(fake)
        after_first = len(fake.calls("userinfo"))
        queries = {key: count_queries(way) for key, way in ways.items()}
        times = time_rounds(ways, args.rounds, args.requests)
        profiles = profile(ways["everreal"], args.requests) if args.profile else []
        userinfo = len(fake.calls("userinfo"))
        everreal_requests = COUNTER[0]
    result = {
        "vendor": connection.vendor,
        "database": database_version(),
        "django": __import__("django").get_version(),
        "sources": sources,
        "sources_changed": report.sources() != sources,
        "rounds": args.rounds,
        "requests": args.requests,
        "queries": queries,
        "times": times,
        "userinfo_first": after_first,
        "userinfo_after": userinfo - after_first,
        "requests_after": everreal_requests - 1,
        "profile": profiles,
    }
    connection.close()
    args.output.write_text(json.dumps(result, indent=1))
    return 0


# The parent: a child per database, then the report.


def measure(
    database: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="everreal-bench-") as tmp:
        output = Path(tmp) / "result.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.bearer",
            "--child",
            "--rounds",
            str(args.rounds),
            "--requests",
            str(args.requests),
            "--output",
            str(output),
        ]
        if args.profile:
            command.append("--profile")
        return run_child(command, database, env, Path(tmp), output)


def table(result: dict[str, Any]) -> list[str]:
    times = result["times"]
    base = times["drf_token"]
    rows = [
        (
            LABELS[key],
            str(result["queries"][key]),
            report.ratio(times[key], base),
            f"{statistics.median(times[key]) * 1e6:.0f}",
        )
        for key in WAYS
    ]
    return report.grid(("way", "queries", "time / baseline", "median us/request"), rows)


_LEGEND = """\
One DRF APIView (IsAuthenticated, a one-field JSON answer) called with a new
RequestFactory request each time, authenticated two ways: DRF's
TokenAuthentication (rest_framework.authtoken; the baseline) and
EverRealTokenAuthentication with an EverReal access token already checked by
userinfo (the verdict in Django's local-memory cache). Each round makes the
same number of requests of both ways, interleaved in blocks of 20 (the order
alternating); "time / baseline" is the median [min-max] of the per-round
ratios of time per request; the microseconds per request are only for scale.
Queries: one request's, as CaptureQueriesContext counts them. Userinfo calls:
EverReal's userinfo as the fake counted it, on the first request and after it."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench bearer", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--requests", type=int, default=REQUESTS, help="requests per way and round"
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=("sqlite", "postgres"),
        default=["sqlite", "postgres"],
    )
    parser.add_argument(
        "--profile", action="store_true", help="add cProfile's view of the token way"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.child:
        return child(args)

    start = time.perf_counter()
    runs = Runs()
    django_version = ""
    for result in runs.results(args.databases, lambda db, env: measure(db, env, args)):
        code = code_measured(result)
        calls = (
            f"EverReal userinfo calls: {result['userinfo_first']} on the first "
            f"request, {result['userinfo_after']} in the "
            f"{result['requests_after']} after it."
        )
        if result["userinfo_after"]:
            runs.failed = True
        runs.sections.append(
            [
                (
                    f"-- {result['database']}, {result['rounds']} rounds of "
                    f"{result['requests']} requests per way"
                ),
                code,
                "",
                *table(result),
                "",
                calls,
                *(["", *result["profile"]] if result["profile"] else []),
            ]
        )
        django_version = result["django"]

    sections, failed = runs.sections, runs.failed
    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench bearer --rounds {args.rounds}"
    lines = report.heading(
        "an API request authenticated by a cached EverReal token",
        command,
        elapsed,
        args.rounds,
        *([f"Django: {django_version}"] if django_version else []),
    )
    lines += ["", textwrap.fill(" ".join(_LEGEND.split()), width=78)]
    for section in sections:
        lines += ["", *section]
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"Written to {args.output}", file=sys.stderr)
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
