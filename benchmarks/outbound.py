"""Time one authenticated GET of EverReal's userinfo six ways; count the TCP connections.

    python3 dev.py bench outbound [--rounds N] [--calls N] [--requests N] [--profile]

The fake EverReal runs as a server in a process of its own on 127.0.0.1
(``python -m django_everreal.testing``), off this process's GIL. The ways:
a bare ``requests.Session`` reused (the baseline), the same sending the
client's language cookie too, an ``EverRealClient``
reused, Authlib's ``OAuth2Session`` reused, ``request.everreal`` through
``EverRealMiddleware`` on a new request each time (a new client per request,
as in a site), and a ``requests.Session()`` per request (the old behaviour).
The report goes to stdout and to ``benchmarks/results/outbound.txt``.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import NamedTuple
from urllib.parse import urlsplit

import requests

from benchmarks import report
from django_everreal.testing.proxy import FaultProxy

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from django_everreal.models import Account

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "outbound.txt"
MIN_ROUNDS = report.MIN_ROUNDS
CALLS = 200
#: Calls of one variant in a row, before the next variant's.
BLOCK = 20
REQUESTS = 100
#: The fake's rate limit, per minute: never reached.
RATE_LIMIT = 10**9
#: The timeout the baselines pass, as ``EVERREAL_TIMEOUT`` (10 s) does for the client.
TIMEOUT = 10.0
EMAIL = "anna@example.com"

Call = Callable[[], requests.Response]


class Variant(NamedTuple):
    key: str
    label: str
    call: Call
    close: Callable[[], None]


# Server and tokens.


@contextmanager
def fake_server() -> Iterator[str]:
    """The fake EverReal in a process of its own; its URL."""
    command = [
        sys.executable,
        "-m",
        "django_everreal.testing",
        "--port",
        "0",
        "--rate-limit",
        str(RATE_LIMIT),
        "--quiet",
    ]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None  # noqa: S101 -- stdout=PIPE
        first = process.stdout.readline()
        found = re.search(r"listening on (http://\S+)", first)
        if found is None:
            raise RuntimeError(f"The fake EverReal did not start: {first!r}")
        yield found.group(1)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def password_grant(base_url: str) -> dict[str, Any]:
    """Tokens of the demo user, from the fake's token endpoint."""
    from django_everreal.testing import DEMO_CLIENT_ID
    from django_everreal.testing import DEMO_CLIENT_SECRET
    from django_everreal.testing import DEMO_PASSWORD
    from django_everreal.testing import TOKEN_PATH

    response = requests.post(
        base_url + TOKEN_PATH,
        json={
            "grant_type": "password",
            "username": EMAIL,
            "password": DEMO_PASSWORD,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
            "scope": "offline_access *",
        },
        timeout=TIMEOUT,
    )
    response.raise_for_status()
    tokens: dict[str, Any] = response.json()
    return tokens


def setup_django(directory: Path) -> None:
    """Django on a fresh SQLite file in *directory*, migrated."""
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    os.environ["EVERREAL_BENCH_DATABASE"] = "sqlite"
    os.environ["EVERREAL_BENCH_SQLITE_PATH"] = str(directory / "outbound.sqlite3")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def configure(base_url: str, key: str, secret: str) -> None:
    """Point the app at *base_url* with the demo client, as a site's settings would.

    Set on ``django.conf.settings`` itself, not with ``override_settings``,
    whose wrapper makes every read of a setting slower than in a site.
    """
    from django.conf import settings

    values = {
        "SOCIAL_AUTH_EVERREAL_BASE_URL": base_url,
        "SOCIAL_AUTH_EVERREAL_KEY": key,
        "SOCIAL_AUTH_EVERREAL_SECRET": secret,
    }
    for name, value in values.items():
        setattr(settings, name, value)


def make_account(tokens: dict[str, Any]) -> tuple[User, Account]:
    """A Django user linked to the demo user, with a valid access token that is not due."""
    from django.contrib.auth import get_user_model

    from django_everreal import protocol
    from django_everreal.models import Account

    user = get_user_model().objects.create_user(username="bench", email=EMAIL)
    account = Account(user=user, everreal_id="bench", email=EMAIL)
    account.set_tokens(
        tokens["access_token"],
        tokens.get("refresh_token"),
        protocol.parse_expires_in(tokens.get("expires_in")),
    )
    account.save()
    if account.access_token_due():
        raise RuntimeError("The benchmark's access token is due for a refresh.")
    return user, account


# The ways to call.


def variants(
    base_url: str,
    tokens: dict[str, Any],
    user: User,
    account: Account,
) -> list[Variant]:
    """The ways to GET the userinfo of *base_url*, the baseline first.

    The clients of ``django_everreal`` call the origin the settings name
    (``SOCIAL_AUTH_EVERREAL_BASE_URL``), which must be *base_url*.
    """
    from authlib.integrations.requests_client import OAuth2Session
    from django.http import HttpRequest
    from django.http import HttpResponse

    from django_everreal import protocol
    from django_everreal import transport
    from django_everreal.client import EverRealClient
    from django_everreal.middleware import EverRealMiddleware
    from django_everreal.middleware import EverRealRequest
    from django_everreal.testing import DEMO_CLIENT_ID
    from django_everreal.testing import DEMO_CLIENT_SECRET
    from django_everreal.testing import TOKEN_PATH
    from django_everreal.testing import USERINFO_PATH

    url = base_url + USERINFO_PATH
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}

    bare = requests.Session()
    bare.headers.update(bearer)
    cookie = requests.Session()
    cookie.headers.update({**bearer, **protocol.language_cookie()})

    client = EverRealClient(account)

    authlib = OAuth2Session(
        DEMO_CLIENT_ID,
        DEMO_CLIENT_SECRET,
        token={
            "access_token": tokens["access_token"],
            "refresh_token": tokens.get("refresh_token"),
            "token_type": "Bearer",
            "expires_at": int(time.time()) + int(tokens["expires_in"]),
        },
        token_endpoint=base_url + TOKEN_PATH,
    )

    answers: list[requests.Response] = []

    def view(request: HttpRequest) -> HttpResponse:
        everreal = request.everreal if isinstance(request, EverRealRequest) else None
        if everreal is None:
            raise RuntimeError("request.everreal is None: the account is not linked.")
        answers.append(everreal.get(USERINFO_PATH))
        return HttpResponse()

    middleware = EverRealMiddleware(view)

    def per_request() -> requests.Response:
        request = HttpRequest()
        request.user = user
        middleware(request)
        return answers.pop()

    def old() -> requests.Response:
        with requests.Session() as session:
            return session.get(url, headers=bearer, timeout=TIMEOUT)

    return [
        Variant(
            "bare",
            "requests.Session, reused (baseline)",
            lambda: bare.get(url, timeout=TIMEOUT),
            bare.close,
        ),
        Variant(
            "cookie",
            "the same with the client's Cookie header",
            lambda: cookie.get(url, timeout=TIMEOUT),
            cookie.close,
        ),
        Variant(
            "client",
            "EverRealClient, reused",
            lambda: client.get(USERINFO_PATH),
            transport.close,
        ),
        Variant(
            "authlib",
            "Authlib OAuth2Session, reused",
            lambda: authlib.get(url, timeout=TIMEOUT),
            authlib.close,
        ),
        Variant(
            "request",
            "request.everreal, a new request each time",
            per_request,
            transport.close,
        ),
        Variant("old", "requests.Session() per request", old, lambda: None),
    ]


def check(variant: Variant) -> None:
    """Fail unless *variant* gets the demo user's userinfo."""
    response = variant.call()
    if response.status_code != 200 or response.json().get("email") != EMAIL:
        raise RuntimeError(
            f"{variant.label}: HTTP {response.status_code} {response.text[:200]!r}"
        )


# Measuring.


def timed(call: Call, calls: int) -> tuple[float, float]:
    """Seconds *calls* calls take, and the CPU seconds this thread spent on them.

    The garbage collector is held off, as ``timeit`` does. The server runs in
    another process, so the CPU time is the client's side alone.
    """
    gc.collect()
    gc.disable()
    try:
        cpu = time.thread_time()
        start = time.perf_counter()
        for _ in range(calls):
            if call().status_code != 200:
                raise RuntimeError("EverReal's fake did not answer 200.")
        return time.perf_counter() - start, time.thread_time() - cpu
    finally:
        gc.enable()


def time_rounds(
    ways: list[Variant], rounds: int, calls: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Per variant, seconds per call in each round, and CPU seconds; interleaved.

    A round makes every variant's *calls* calls in blocks of ``BLOCK``: a
    block of each variant, one after the other, then the next block of each,
    and so on, so that a slow spell of the machine hits them alike. The
    order of the variants rotates from block to block and round to round.
    """
    times: dict[str, list[float]] = {way.key: [] for way in ways}
    cpu: dict[str, list[float]] = {way.key: [] for way in ways}
    blocks = max(1, round(calls / BLOCK))
    for r in range(rounds):
        print(f"  round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        spent = dict.fromkeys(times, 0.0)
        used = dict.fromkeys(times, 0.0)
        for b in range(blocks):
            size = calls * (b + 1) // blocks - calls * b // blocks
            shift = (r + b) % len(ways)
            for way in ways[shift:] + ways[:shift]:
                seconds, cpu_seconds = timed(way.call, size)
                spent[way.key] += seconds
                used[way.key] += cpu_seconds
        for key in times:
            times[key].append(spent[key] / calls)
            cpu[key].append(used[key] / calls)
    return times, cpu


def count_connections(
    counter: FaultProxy, make: Callable[[str], list[Variant]], requests_: int
) -> dict[str, int]:
    """Per variant, the TCP connections *requests_* calls open through *counter*.

    Every variant starts without connections: the previous one's are closed.
    """
    counts: dict[str, int] = {}
    for way in make(counter.url):
        way.close()
        before = counter.connections_opened
        for _ in range(requests_):
            if way.call().status_code != 200:
                raise RuntimeError(f"{way.label}: not 200 through the proxy.")
        counts[way.key] = counter.connections_opened - before
        way.close()
    return counts


def counting_proxy(upstream: str) -> tuple[FaultProxy, str]:
    """A ``FaultProxy`` to *upstream*, counting the connections opened; what it is."""
    parts = urlsplit(upstream)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or 80).start()
    return proxy, "django_everreal.testing.FaultProxy (connections_opened)"


def profile(way: Variant, calls: int) -> dict[str, tuple[int, float, float]]:
    """cProfile's figures of *calls* calls of *way*: per function, calls, tottime, cumtime."""
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    for _ in range(calls):
        way.call()
    profiler.disable()
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    table: dict[str, tuple[int, float, float]] = {}
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in raw.items():
        where = re.sub(r"^.*/(site-packages|python3\.\d+)/", "", filename)
        where = where.replace(f"{ROOT}/", "")
        table[f"{where}:{line}({name})"] = (ncalls, tottime, cumtime)
    return table


def best_micros(function: Callable[[], object], number: int = 20000) -> float:
    """Microseconds per call of *function*: the best of 5 timings of *number* calls."""
    best = float("inf")
    for _ in range(5):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(number):
                function()
            best = min(best, time.perf_counter() - start)
        finally:
            gc.enable()
    return best / number * 1e6


def pieces(base_url: str, client: Any) -> list[tuple[float, str]]:
    """What ``EverRealClient._send`` does before it hands over to ``requests``, timed alone."""
    from django_everreal import protocol
    from django_everreal import transport
    from django_everreal.client import BearerAuth
    from django_everreal.testing import USERINFO_PATH

    deadline = transport.Deadline.for_operation()
    prepared = requests.Request("GET", base_url + USERINFO_PATH).prepare()
    token = client.tokens.access_token(deadline)

    def context() -> None:
        with transport.attempt_deadline(deadline):
            pass

    return [
        (
            best_micros(lambda: client.url(USERINFO_PATH)),
            "EverRealClient.url: conf.origin, validate_base_url (urlsplit)",
        ),
        (
            best_micros(lambda: transport.Deadline.for_operation().attempt()),
            "Deadline.for_operation().attempt(): conf.DEADLINE, conf.TIMEOUT",
        ),
        (
            best_micros(lambda: client.tokens.access_token(deadline)),
            (
                "TokenStore.access_token: access_token_due (timezone.now, "
                "conf.REFRESH_LEEWAY), cached decryption"
            ),
        ),
        (
            best_micros(protocol.language_cookie),
            "protocol.language_cookie: translation.get_language",
        ),
        (
            best_micros(lambda: BearerAuth(token)(prepared)),
            "BearerAuth(token) and its __call__",
        ),
        (
            best_micros(context),
            "transport.attempt_deadline: a ContextVar set and reset",
        ),
    ]


def profile_report(ways: list[Variant], calls: int, base_url: str) -> list[str]:
    """Where the reused client's time goes beyond the bare session's, per call.

    The pieces of ``EverRealClient._send`` timed alone (no profiler in the
    way); then cProfile's view of *calls* calls of each: the functions of
    ``django_everreal`` by cumulative time, and the functions whose own time
    per call differs most between the client and the bare session.
    """
    by_key = {way.key: way for way in ways}
    from django_everreal.client import EverRealClient
    from django_everreal.models import Account

    client = EverRealClient(Account.objects.get())
    timed_pieces = pieces(base_url, client)
    ours = profile(by_key["client"], calls)
    theirs = profile(by_key["bare"], calls)
    us = 1e6 / calls
    lines = [
        "Profile of the reused EverRealClient against the bare session:",
        "",
        "The steps of EverRealClient._send before requests, each timed alone, us per call:",
        *(f"  {micros:6.1f}  {what}" for micros, what in timed_pieces),
        f"  {sum(m for m, _ in timed_pieces):6.1f}  in all",
        "",
        (
            f"cProfile, {calls} calls each (times inflated by the profiler): "
            f"client {sum(t for _, t, _ in ours.values()) * us:.0f} us per call, "
            f"bare session {sum(t for _, t, _ in theirs.values()) * us:.0f} us."
        ),
        "django_everreal's functions by cumulative time, us per call (calls per call):",
    ]
    app = sorted(
        ((key, value) for key, value in ours.items() if "django_everreal/" in key),
        key=lambda item: -item[1][2],
    )
    for key, (ncalls, _, cumtime) in app[:16]:
        lines.append(f"  {cumtime * us:8.1f}  ({ncalls / calls:g})  {key}")
    lines += [
        "Own time (tottime), client minus bare session, us per call (calls per call):"
    ]
    diffs = []
    for key in set(ours) | set(theirs):
        mine = ours.get(key, (0, 0.0, 0.0))
        base = theirs.get(key, (0, 0.0, 0.0))
        diffs.append((mine[1] - base[1], key, mine[0], base[0]))
    diffs.sort(reverse=True)
    for diff, key, mine_n, base_n in diffs[:16]:
        lines.append(
            f"  {diff * us:+8.1f}  ({mine_n / calls:g} vs {base_n / calls:g})  {key}"
        )
    return lines


# Report.

_LEGEND = """\
Each way GETs /accounts/api/userinfo with the demo user's valid access token
(no refresh is due) from a fake EverReal served over plain HTTP/1.1 with
keep-alive by a process of its own on 127.0.0.1 (python -m
django_everreal.testing), and reads the whole answer.
Baseline: a requests.Session made once, with the Authorization header set on
it, and timeout=10 on each call (as EVERREAL_TIMEOUT gives the client). "the
same with the client's Cookie header": the baseline also sending the
accept-language cookie the client sends (the fake parses it). EverRealClient:
built once on an Account in SQLite, .get(USERINFO_PATH). Authlib:
OAuth2Session(client_id, client_secret, token=..., token_endpoint=...) made
once, .get(url, timeout=10). request.everreal: EverRealMiddleware around a view
calling request.everreal.get(USERINFO_PATH), on a new HttpRequest each time: a
new EverRealClient.for_user (one query for the Account, one token decryption)
per request, the process's pooled session. requests.Session() per request: a
new session (so a new connection) for each call, closed after it. Times are
ratios to the baseline in the same round: each round times CALLS calls of every
way, interleaved in blocks of BLOCK calls (BLOCK of each way in turn, then the
next BLOCK of each), the order rotated from block to block; each cell is the
median [min-max] of the per-round ratios, "us" the median time per call, for
scale only. "client CPU": the CPU time of the calling thread alone (the server
is another process), so the client's own cost without the server's. Connections
are the TCP connections the server accepted during REQUESTS calls made through
a counting proxy, each way starting with none open: exact counts."""


def legend(calls: int, requests_: int) -> list[str]:
    text = (
        _LEGEND.replace("CALLS", str(calls))
        .replace("REQUESTS", str(requests_))
        .replace("BLOCK", str(BLOCK))
    )
    return textwrap.fill(" ".join(text.split()), width=78).splitlines()


def versions() -> str:
    import django

    names = ("requests", "urllib3", "Authlib")
    found = ", ".join(f"{name} {metadata.version(name)}" for name in names)
    return f"Django {django.get_version()}, {found}, SQLite {sqlite3.sqlite_version}"


def table(
    ways: list[Variant],
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    counts: dict[str, int],
    requests_: int,
) -> list[str]:
    rows = []
    for way in ways:
        row = [way.label]
        for seconds in (times, cpu):
            if way.key == "bare":
                row.append("1")
            else:
                row.append(report.ratio(seconds[way.key], seconds["bare"]))
            row.append(f"{statistics.median(seconds[way.key]) * 1e6:.0f}")
        rows.append((*row, str(counts[way.key])))
    headings = (
        "way",
        "time / baseline",
        "us",
        "client CPU / baseline",
        "us",
        f"connections ({requests_} calls)",
    )
    return report.grid(headings, rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench outbound", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=MIN_ROUNDS,
        help=f"rounds (default {MIN_ROUNDS})",
    )
    parser.add_argument(
        "--calls",
        type=int,
        default=CALLS,
        help=f"calls of each way per round (default {CALLS})",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=REQUESTS,
        dest="requests_",
        help=f"calls of each way whose connections are counted (default {REQUESTS})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile the reused EverRealClient against the bare session",
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS, help="report file (overwritten)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.calls < 1 or args.requests_ < 1:
        parser.error("--rounds, --calls and --requests must be at least 1")

    start = time.perf_counter()
    print("== outbound calls", file=sys.stderr, flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="everreal-bench-") as tmp,
        fake_server() as server,
    ):
        setup_django(Path(tmp))
        from django_everreal import transport
        from django_everreal.testing import DEMO_CLIENT_ID
        from django_everreal.testing import DEMO_CLIENT_SECRET

        sources = report.sources()
        tokens = password_grant(server)
        user, account = make_account(tokens)
        stored = account.encrypted_access_token

        print("  counting connections", file=sys.stderr, flush=True)
        counter, counted_by = counting_proxy(server)
        try:
            configure(counter.url, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
            counts = count_connections(
                counter,
                lambda url: variants(url, tokens, user, account),
                args.requests_,
            )
        finally:
            counter.close()

        configure(server, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        transport.close()
        ways = variants(server, tokens, user, account)
        print("  warming up", file=sys.stderr, flush=True)
        for way in ways:
            check(way)
            for _ in range(args.calls // 4):
                way.call()
        times, cpu = time_rounds(ways, args.rounds, args.calls)
        profiled: list[str] = []
        if args.profile:
            print("  profiling", file=sys.stderr, flush=True)
            profiled = profile_report(ways, args.calls * 10, server)
        for way in ways:
            way.close()
        account.refresh_from_db()
        if account.encrypted_access_token != stored:
            raise RuntimeError("The access token was refreshed during the benchmark.")
        sources_changed = report.sources() != sources

    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench outbound --rounds {args.rounds}"
    if args.calls != CALLS:
        command += f" --calls {args.calls}"
    if args.requests_ != REQUESTS:
        command += f" --requests {args.requests_}"
    if args.profile:
        command += " --profile"
    lines = report.heading(
        "one authenticated GET of EverReal's userinfo, six ways",
        command,
        elapsed,
        args.rounds,
        f"Libs:   {versions()}",
        f"Code measured: {sources}"
        + (" (WARNING: changed during the run)" if sources_changed else ""),
        f"Connections counted by {counted_by}.",
    )
    lines += [
        "",
        *legend(args.calls, args.requests_),
        "",
        f"-- {args.rounds} rounds of {args.calls} calls per way",
        "",
        *table(ways, times, cpu, counts, args.requests_),
    ]
    if profiled:
        lines += ["", *profiled]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
