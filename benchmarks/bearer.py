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
import secrets
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import report
from benchmarks.run import Runs
from benchmarks.run import code_measured
from benchmarks.run import finish_child
from benchmarks.run import forward
from benchmarks.run import measure_in_child

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


def configure(base_url: str) -> None:
    """Point the app at the fake EverReal at *base_url*, as its demo client."""
    from django.conf import settings

    # Set on settings itself, not with override_settings, whose wrapper makes
    # every read of a setting slower than in a site.
    settings.SOCIAL_AUTH_EVERREAL_BASE_URL = base_url
    settings.SOCIAL_AUTH_EVERREAL_KEY = "demo-client"
    settings.SOCIAL_AUTH_EVERREAL_SECRET = "demo-secret"  # noqa: S105 -- the fake's


def me_view_class() -> type:
    """The measured ``APIView``: who the request's user is."""
    from rest_framework.permissions import IsAuthenticated  # type: ignore[import-untyped]
    from rest_framework.response import Response  # type: ignore[import-untyped]
    from rest_framework.views import APIView  # type: ignore[import-untyped]

    class Me(APIView):  # type: ignore[misc]
        permission_classes = (IsAuthenticated,)

        def get(self, request: Any) -> Any:
            return Response({"user": request.user.pk})

    return Me


def everreal_view_of(me: type) -> Callable[..., Any]:
    """*me* authenticated by EverReal access tokens, as a view function."""
    from django_everreal.drf import EverRealTokenAuthentication

    class EverRealMe(me):  # type: ignore[misc]
        authentication_classes = (EverRealTokenAuthentication,)

    view: Callable[..., Any] = EverRealMe.as_view()
    return view


def make_ways(fake: Any) -> dict[str, Request]:
    """One request function per way, each checked once to answer 200 as its user."""
    from django.contrib.auth import get_user_model
    from django.test import RequestFactory
    from rest_framework.authentication import TokenAuthentication  # type: ignore[import-untyped]
    from rest_framework.authtoken.models import Token  # type: ignore[import-untyped]

    configure(fake.base_url)
    Me = me_view_class()

    class TokenMe(Me):  # type: ignore[valid-type,misc]
        authentication_classes = (TokenAuthentication,)

    everreal_token = fake.issue_tokens("anna@example.com")["access_token"]
    drf_user = get_user_model().objects.create_user(username="drf@example.com")
    drf_token = Token.objects.create(user=drf_user).key
    factory = RequestFactory()
    counter = COUNTER
    everreal_view = everreal_view_of(Me)
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


# Concurrent first requests: one new token, many requests at once.

#: Requests of one burst, all with the same new token.
BURST_THREADS = 50
#: Processes sharing Redis in the cross-process burst, each with its share of threads.
REDIS_PROCESSES = 2
REDIS_URL = os.environ.get("EVERREAL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
BURSTS = 3
Answer = tuple[int, int]


def concurrent_requests(
    view: Callable[..., Any], token: str, threads: int
) -> list[Answer]:
    """*threads* requests with *token*, released together by a barrier; (status, user) each."""
    from django.db import connections
    from django.test import RequestFactory

    start = threading.Barrier(threads)

    def one(_: int) -> Answer:
        request = RequestFactory().get("/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
        start.wait(timeout=60)
        try:
            response = view(request)
            user = response.data.get("user") if response.status_code == 200 else 0
            return response.status_code, int(user or 0)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(threads)))


def burst_summary(answers: list[Answer], userinfo: int) -> dict[str, int]:
    return {
        "requests": len(answers),
        "ok": sum(status == 200 for status, _ in answers),
        "users": len({user for status, user in answers if status == 200}),
        "userinfo": userinfo,
    }


def burst_in_process(server: Any, email: str) -> dict[str, int]:
    """``BURST_THREADS`` threads of this process, the local-memory cache."""
    configure(server.url)
    view = everreal_view_of(me_view_class())
    token = server.fake.issue_tokens(email)["access_token"]
    before = len(server.fake.calls("userinfo"))
    answers = concurrent_requests(view, token, BURST_THREADS)
    return burst_summary(answers, len(server.fake.calls("userinfo")) - before)


def burst_across_processes(server: Any, email: str) -> dict[str, int]:
    """``REDIS_PROCESSES`` processes sharing Redis, ``BURST_THREADS`` threads in all.

    Each process sets Django up, says "ready" and waits; all are told "go"
    at once, then each releases its threads together. The token travels in
    the environment, never on a command line.
    """
    import redis

    token = server.fake.issue_tokens(email)["access_token"]
    prefix = f"everreal-bench-{os.getpid()}-{secrets.token_hex(4)}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings_logins",
        "EVERREAL_BENCH_CACHE": "redis",
        "EVERREAL_BENCH_REDIS_URL": REDIS_URL,
        "EVERREAL_BENCH_CACHE_PREFIX": prefix,
        "EVERREAL_BENCH_FAKE_URL": server.url,
        "EVERREAL_BENCH_TOKEN": token,
    }
    threads = BURST_THREADS // REDIS_PROCESSES
    command = [
        sys.executable,
        "-m",
        "benchmarks.bearer",
        "--burst-worker",
        "--threads",
        str(threads),
    ]
    before = len(server.fake.calls("userinfo"))
    processes = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(REDIS_PROCESSES)
    ]
    answers: list[Answer] = []
    try:
        for process in processes:
            if process.stdout is None or process.stdout.readline().strip() != "ready":
                raise RuntimeError("a burst process did not start")
        for process in processes:
            if process.stdin is not None:
                process.stdin.write("go\n")
                process.stdin.flush()
        for process in processes:
            output, _ = process.communicate(timeout=120)
            if process.returncode != 0:
                raise RuntimeError(f"a burst process failed ({process.returncode})")
            answers += [(int(status), int(user)) for status, user in json.loads(output)]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    return burst_summary(answers, len(server.fake.calls("userinfo")) - before)


def redis_unavailable() -> str:
    """Why Redis cannot be used here; empty when it answers."""
    try:
        import redis
    except ImportError as exc:
        return f"redis-py is not installed ({exc})"
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return f"Redis at {REDIS_URL} does not answer ({type(exc).__name__})"
    finally:
        client.close()
    return ""


def bursts(count: int) -> dict[str, Any]:
    """Both kinds of burst, *count* times each, every one with a user new to the site.

    The fake EverReal runs on 127.0.0.1 (a free port), served from a thread.
    """
    from django_everreal.testing.server import FakeEverRealServer

    with FakeEverRealServer() as server:
        # The directory's users: none has logged in to the site yet.
        emails = [user.email for user in server.fake.users[2:]]
        if len(emails) < 2 * count:
            raise RuntimeError(f"the fake has users for {len(emails) // 2} bursts")
        print("  concurrent first requests", file=sys.stderr, flush=True)
        local = [burst_in_process(server, emails[i]) for i in range(count)]
        unavailable = redis_unavailable()
        shared = (
            []
            if unavailable
            else [
                burst_across_processes(server, emails[count + i]) for i in range(count)
            ]
        )
    return {"local": local, "redis": shared, "redis_unavailable": unavailable}


def burst_worker(args: argparse.Namespace) -> int:
    """One process of the cross-process burst (``--burst-worker``); its answers as JSON."""
    import django

    django.setup()
    configure(os.environ["EVERREAL_BENCH_FAKE_URL"])
    view = everreal_view_of(me_view_class())
    token = os.environ["EVERREAL_BENCH_TOKEN"]
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return 1
    print(json.dumps(concurrent_requests(view, token, args.threads)), flush=True)
    return 0


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
    concurrent = bursts(args.bursts)
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
        "bursts": concurrent,
    }
    return finish_child(result, args.output)


# The parent: a child per database, then the report.


def measure(
    database: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    options = forward(args, "rounds", "requests", "bursts", "profile")
    return measure_in_child("benchmarks.bearer", database, env, options)


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


def burst_table(bursts: dict[str, Any]) -> tuple[list[str], bool]:
    """The concurrent first requests' table, and whether any burst broke the rule.

    The rule: every request answered 200, as one Django user, after exactly
    one userinfo call.
    """
    kinds = [
        (f"1 process x {BURST_THREADS} threads, local memory", bursts["local"]),
        (
            f"{REDIS_PROCESSES} processes x {BURST_THREADS // REDIS_PROCESSES} threads, Redis",
            bursts["redis"],
        ),
    ]
    rows = []
    failed = False
    for label, runs in kinds:
        if not runs:
            continue
        failed |= any(
            (run["ok"], run["users"], run["userinfo"]) != (run["requests"], 1, 1)
            for run in runs
        )
        rows.append(
            (
                label,
                str(len(runs)),
                ", ".join(str(run["ok"]) for run in runs),
                ", ".join(str(run["users"]) for run in runs),
                ", ".join(str(run["userinfo"]) for run in runs),
            )
        )
    lines = [
        f"{BURST_THREADS} concurrent first requests with one new token, per burst:",
        "",
        *report.grid(
            ("burst", "bursts", "answered 200", "Django users", "userinfo calls"),
            rows,
        ),
    ]
    if bursts["redis_unavailable"]:
        lines += ["", f"Redis skipped: {bursts['redis_unavailable']}."]
    if failed:
        lines += ["", "FAILED: a burst made other than exactly one userinfo call."]
    return lines, failed


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
EverReal's userinfo as the fake counted it, on the first request and after it.
Concurrent first requests: a burst is 50 requests to the same view with one
access token the site has never seen, of a user new to the site, released
together by a barrier (across processes: each process waits for one "go",
then releases its threads), against the fake EverReal served on 127.0.0.1;
each burst must make exactly one userinfo call, all 50 answered 200 as one
Django user (the run fails otherwise). Local memory: one process, Django's
local-memory cache; Redis: processes sharing Django's Redis cache, run only
when Redis (127.0.0.1:6379) answers."""


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
    parser.add_argument(
        "--bursts",
        type=int,
        default=BURSTS,
        help=f"bursts of {BURST_THREADS} concurrent first requests of each kind",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--burst-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not 1 <= args.bursts <= 5:
        parser.error("--bursts must be between 1 and 5 (the fake's new users)")
    if args.burst_worker:
        return burst_worker(args)
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
        burst_lines, burst_failed = burst_table(result["bursts"])
        runs.failed |= burst_failed
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
                "",
                *burst_lines,
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
    report.publish(text, args.output)
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
