"""What ``EverRealMiddleware`` costs a page that does not call EverReal, against its peers.

    python3 dev.py bench middleware [--rounds N] [--requests 300] [--served 160] [--databases sqlite postgres]

A logged-in user's page (``login_required``, the user's id as text) behind
three stacks: Django's session and authentication middleware alone (the
baseline), the same plus ``EverRealMiddleware``, and the same plus
mozilla-django-oidc's ``SessionRefresh`` passing the request through (its id
token not yet expired). The user is linked to EverReal by a real login
through the fake EverReal; ``SessionRefresh`` gets the session a
mozilla-django-oidc login leaves. Each stack is measured in-process (Django's
WSGI handler called directly) and under gunicorn on 127.0.0.1 (a server per
stack), on SQLite (a file the gunicorn workers share) and on PostgreSQL; each
middleware is also timed alone, around a view that answers at once. Each
database runs in a process of its own, as in ``bench sync``. The report goes
to stdout and to ``benchmarks/results/middleware.txt``.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import ExitStack
from contextlib import contextmanager
from contextlib import suppress
from importlib import metadata
from pathlib import Path
from typing import Any
from typing import NamedTuple

from benchmarks import report
from benchmarks.run import Runs
from benchmarks.run import code_measured
from benchmarks.run import finish_child
from benchmarks.run import forward
from benchmarks.run import measure_in_child

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "middleware.txt"
SETTINGS = "benchmarks.settings_middleware"
MIN_ROUNDS = report.MIN_ROUNDS
#: In-process requests of each way in a round.
REQUESTS = 300
#: Requests of each way to the gunicorn servers in a round.
SERVED = 160
#: Requests of one way in a row, before the next way's.
BLOCK = 20
#: Requests of each way before the timing starts (connections, caches).
WARM_UP = 40
PAGE = "/page/"
EMAIL = "anna@example.com"
#: Seconds a gunicorn server may take to answer its first request.
STARTUP_TIMEOUT = 60.0
#: Seconds any one request to a gunicorn server may take.
TIMEOUT = 10.0
OIDC_BACKEND = "mozilla_django_oidc.auth.OIDCAuthenticationBackend"


class Way(NamedTuple):
    """A handler (in-process) or server (gunicorn) and the login whose session the requests carry."""

    key: str
    server: str
    login: str
    label: str
    #: The way this one's time is divided by; itself for the baseline.
    over: str


WAYS = (
    Way(
        "baseline",
        "baseline",
        "everreal",
        "A   no middleware, EverReal login",
        "baseline",
    ),
    Way(
        "again", "again", "everreal", "A'  the same, another handler/server", "baseline"
    ),
    Way("everreal", "everreal", "everreal", "B   + EverRealMiddleware", "baseline"),
    Way(
        "oidc_baseline",
        "baseline",
        "oidc",
        "O   no middleware, mozilla-django-oidc login",
        "baseline",
    ),
    Way("oidc", "oidc", "oidc", "C   + SessionRefresh", "oidc_baseline"),
)
#: In-process only: a middleware's own work, around a view that answers at once.
ALONE = (
    Way("everreal_alone", "", "everreal", "B0  EverRealMiddleware alone", "baseline"),
    Way("oidc_alone", "", "oidc", "C0  SessionRefresh alone", "oidc_baseline"),
)
#: The stack of each handler or server: A' has one of its own, as B and C do.
SERVERS = {
    "baseline": "baseline",
    "again": "baseline",
    "everreal": "everreal",
    "oidc": "oidc",
}

Request = Callable[[], bytes]


# The measuring child: one database, Django set up once.


def setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def log_in() -> tuple[int, dict[str, str]]:
    """The user's id, and a session cookie per login: EverReal's and mozilla-django-oidc's.

    The EverReal login is the real one, through the fake EverReal in-process:
    it leaves the user, its ``Account`` with tokens and its session as a site
    gets them. The OIDC session is the one mozilla-django-oidc's callback
    leaves: logged in by its backend, the id token valid for a day.
    """
    from django.conf import settings
    from django.test import Client

    from django_everreal.models import Account
    from django_everreal.testing.django_login import EverRealLogin
    from django_everreal.testing.fake import FakeEverReal

    client = Client()
    fake = FakeEverReal()
    with fake.mock():
        response = EverRealLogin(client, fake)(EMAIL)
    if response.status_code != 302:
        raise RuntimeError(f"The EverReal login answered {response.status_code}.")
    account = Account.objects.select_related("user").get(email=EMAIL)
    if not account.access_token or account.access_token_due():
        raise RuntimeError("The EverReal login left no valid access token.")
    user = account.user

    oidc = Client()
    oidc.force_login(user, backend=OIDC_BACKEND)
    session = oidc.session
    session["oidc_id_token_expiration"] = time.time() + 24 * 3600
    session.save()
    name = settings.SESSION_COOKIE_NAME
    return user.pk, {
        "everreal": client.cookies[name].value,
        "oidc": oidc.cookies[name].value,
    }


def handlers() -> dict[str, Any]:
    """A WSGI handler per server of ``SERVERS``, with its stack's ``MIDDLEWARE``."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    from benchmarks.settings_middleware import STACKS as stacks

    default = settings.MIDDLEWARE
    made = {}
    try:
        for name, stack in SERVERS.items():
            settings.MIDDLEWARE = stacks[stack]
            made[name] = WSGIHandler()
    finally:
        settings.MIDDLEWARE = default
    return made


def environ(cookie: str) -> dict[str, Any]:
    """A GET of the page as a WSGI server hands it over, with the session cookie."""
    from django.conf import settings

    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": PAGE,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={cookie}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def in_process(made: dict[str, Any], cookies: dict[str, str]) -> dict[str, Request]:
    """A request function per way, calling the stack's handler as a WSGI server would."""
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)

    def request_to(handler: Any, base: dict[str, Any]) -> Request:
        def request() -> bytes:
            env = dict(base)
            env["wsgi.input"] = io.BytesIO()
            response = handler(env, start_response)
            try:
                body = b"".join(response)
            finally:
                response.close()
            if statuses.pop() != "200 OK":
                raise RuntimeError(f"{PAGE} did not answer 200 OK")
            return body

        return request

    return {
        way.key: request_to(made[way.server], environ(cookies[way.login]))
        for way in WAYS
    }


def middleware_alone(login: str, user_id: int, cookie: str, calls: int) -> Request:
    """The middleware of *login*'s stack called on *calls* new requests, its view answering at once.

    The requests, with their user and their session already loaded (shared,
    read only), are made beforehand: only the middleware's own work is timed.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpRequest
    from django.http import HttpResponse
    from django.test import RequestFactory
    from mozilla_django_oidc.middleware import SessionRefresh

    from django_everreal.middleware import EverRealMiddleware

    answer = HttpResponse(b"")

    def view(request: HttpRequest) -> HttpResponse:
        return answer

    middleware = (
        EverRealMiddleware(view) if login == "everreal" else SessionRefresh(view)
    )
    factory = RequestFactory()
    user = get_user_model().objects.get(pk=user_id)
    session = SessionStore(cookie)
    if session.get(BACKEND_SESSION_KEY) is None:  # loads it, once
        raise RuntimeError(f"The session of the {login} login is gone.")
    pending = []
    for _ in range(calls):
        made = factory.get(PAGE)
        made.user = user
        made.session = session
        pending.append(made)
    pending.reverse()

    def request() -> bytes:
        response: HttpResponse = middleware(pending.pop())
        return response.content

    return request


def count_queries(request: Request) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        request()
    return len(captured)


def timed_block(request: Request, requests: int) -> float:
    """Seconds for *requests* requests, the collector off (it runs between blocks)."""
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(requests):
            request()
        return time.perf_counter() - start
    finally:
        gc.enable()


def time_rounds(
    ways: dict[str, Request], rounds: int, requests: int, what: str
) -> dict[str, list[float]]:
    """Per way: seconds per request in each round, the ways interleaved in blocks.

    A round makes *requests* requests of each way, ``BLOCK`` of each in turn,
    the order rotated by one way from block to block and from round to round.
    """
    keys = list(ways)
    blocks = max(1, requests // BLOCK)
    times: dict[str, list[float]] = {key: [] for key in keys}
    for r in range(rounds):
        print(f"  {what}: round {r + 1}/{rounds}", file=sys.stderr, flush=True)
        gc.collect()  # a full collection takes ~20 ms: once a round, not per block
        total = dict.fromkeys(keys, 0.0)
        for b in range(blocks):
            shift = (b + r) % len(keys)
            for key in keys[shift:] + keys[:shift]:
                total[key] += timed_block(ways[key], BLOCK)
        for key, seconds in total.items():
            times[key].append(seconds / (blocks * BLOCK))
    return times


# Gunicorn: a server per stack, its listening socket bound here.


class Server(NamedTuple):
    port: int
    process: subprocess.Popen[bytes]
    log: Path


def get(port: int, cookie: str) -> tuple[int, bytes]:
    """One GET of the page on a new connection (gunicorn's sync workers close each)."""
    from django.conf import settings

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(
            "GET", PAGE, headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"}
        )
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def gunicorn(name: str, directory: Path) -> Iterator[Server]:
    """Server *name*'s stack under gunicorn, one sync worker, on a free port of 127.0.0.1."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    log = directory / f"gunicorn-{name}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "EVERREAL_BENCH_STACK": SERVERS[name],
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"fd://{listener.fileno()}",
        "--workers",
        "1",
        "--worker-class",
        "sync",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        "django.core.wsgi:get_wsgi_application()",
    ]
    with log.open("wb") as output:
        try:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                pass_fds=(listener.fileno(),),
            )
        finally:
            listener.close()  # gunicorn holds it now
        try:
            yield Server(port, process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_ready(server: Server, cookie: str, expected: bytes) -> None:
    """Until *server* shows the user's page; raise with its log if it does not."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            status, body = get(server.port, cookie)
        except OSError:  # not listening yet: wait a little for it, or for its exit
            with suppress(subprocess.TimeoutExpired):
                server.process.wait(timeout=0.1)
            continue
        if status == 200 and body == expected:
            return
        raise RuntimeError(f"gunicorn answered {status} {body[:200]!r}")
    raise RuntimeError(
        f"gunicorn did not answer within {STARTUP_TIMEOUT:g} s:\n"
        + server.log.read_text(errors="replace")
    )


def served(
    servers: dict[str, Server], cookies: dict[str, str], expected: bytes
) -> dict[str, Request]:
    """A request function per way, sent to the way's gunicorn server."""

    def request_to(port: int, cookie: str) -> Request:
        def request() -> bytes:
            status, body = get(port, cookie)
            if status != 200 or body != expected:
                raise RuntimeError(f"{PAGE} answered {status} under gunicorn")
            return body

        return request

    return {
        way.key: request_to(servers[way.server].port, cookies[way.login])
        for way in WAYS
    }


def child(args: argparse.Namespace) -> int:
    setup_django()
    from django.db import connection

    from benchmarks.measure import database_version

    sources = report.sources()
    user_id, cookies = log_in()
    expected = str(user_id).encode()
    ways = in_process(handlers(), cookies)
    for key, request in ways.items():
        if request() != expected:
            raise RuntimeError(f"{key}: the page did not show the logged-in user")
    calls = 1 + WARM_UP + args.rounds * max(1, args.requests // BLOCK) * BLOCK
    for way in ALONE:
        ways[way.key] = middleware_alone(way.login, user_id, cookies[way.login], calls)
    for request in ways.values():
        for _ in range(WARM_UP):
            request()
    queries = {key: count_queries(request) for key, request in ways.items()}
    times = time_rounds(ways, args.rounds, args.requests, "in-process")

    with (
        tempfile.TemporaryDirectory(prefix="everreal-bench-gunicorn-") as tmp,
        ExitStack() as stack,
    ):
        servers = {
            name: stack.enter_context(gunicorn(name, Path(tmp))) for name in SERVERS
        }
        for name, server in servers.items():
            cookie = cookies["oidc" if name == "oidc" else "everreal"]
            wait_ready(server, cookie, expected)
        remote = served(servers, cookies, expected)
        for request in remote.values():
            for _ in range(WARM_UP):
                request()
        remote_times = time_rounds(remote, args.rounds, args.served, "gunicorn")

    result = {
        "vendor": connection.vendor,
        "database": database_version(),
        "django": __import__("django").get_version(),
        "oidc": metadata.version("mozilla-django-oidc"),
        "gunicorn": metadata.version("gunicorn"),
        "sources": sources,
        "sources_changed": report.sources() != sources,
        "rounds": args.rounds,
        "requests": args.requests,
        "served": args.served,
        "queries": queries,
        "times": times,
        "served_times": remote_times,
    }
    return finish_child(result, args.output)


# The parent: a child per database, then the report.


def measure(
    database: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    options = forward(args, "rounds", "requests", "served")
    return measure_in_child(
        "benchmarks.middleware", database, env, options, settings=SETTINGS
    )


def table(result: dict[str, Any]) -> list[str]:
    rows = []
    for way in (*WAYS[:3], ALONE[0], *WAYS[3:], ALONE[1]):
        if way.key == way.over:
            local = remote = "1 (baseline)"
        else:
            local = report.ratio(result["times"][way.key], result["times"][way.over])
            remote = (
                report.ratio(
                    result["served_times"][way.key], result["served_times"][way.over]
                )
                if way.key in result["served_times"]
                else "-"
            )
        over = next(w.label.split()[0] for w in WAYS if w.key == way.over)
        rows.append((way.label, str(result["queries"][way.key]), over, local, remote))
    return report.grid(
        ("stack, session", "queries", "over", "time in-process", "time gunicorn"),
        rows,
    )


def scale(result: dict[str, Any]) -> str:
    local = statistics.median(result["times"]["baseline"]) * 1e6
    remote = statistics.median(result["served_times"]["baseline"]) * 1e6
    return (
        f"For scale only: a request of A took {local:.0f} us in-process and "
        f"{remote:.0f} us under gunicorn (medians of this run)."
    )


_LEGEND = """\
A logged-in user's page that does not call EverReal (login_required; it
shows the user's id) behind three stacks, each Django's SessionMiddleware and
AuthenticationMiddleware plus at most one more: none (A, the baseline),
django_everreal's EverRealMiddleware (B), mozilla-django-oidc's
SessionRefresh (C). A and B carry the session of a real EverReal login (the
fake EverReal in-process; the user's Account holds its tokens). C carries the
session mozilla-django-oidc's login leaves (its backend, an id token expiring
in a day, so SessionRefresh lets the request through); O is A's stack with
that session, the baseline of C. A' is A's stack again on a handler and a
server of its own, as B and C have: its spread is the noise between two
identical stacks. B0 and C0 time the middleware alone, in-process, around a
view that answers at once, on requests made beforehand with their user (and,
for C0, their session) already loaded: its own work per request, as a
fraction of a whole request of A (B0) or O (C0). Queries: one request's, as CaptureQueriesContext counts
them in-process (the same code runs under gunicorn). "time in-process":
the stack's WSGIHandler called directly, a new WSGI environ each request;
"time gunicorn": a gunicorn server per stack (one sync worker) on 127.0.0.1,
a new connection per request (sync workers close each), the client in the
measuring process. Database connections are persistent (CONN_MAX_AGE=600).
Each round makes the same number of requests of every way, interleaved in
blocks of 20 (each way in turn, the order rotated from block to block); each
cell is the median [min-max] of the per-round ratios of time per request to
the way named in "over"."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench middleware", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--requests",
        type=int,
        default=REQUESTS,
        help=f"in-process requests per way and round (default {REQUESTS})",
    )
    parser.add_argument(
        "--served",
        type=int,
        default=SERVED,
        help=f"requests per way and round under gunicorn (default {SERVED})",
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
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.child:
        return child(args)

    start = time.perf_counter()
    runs = Runs()
    versions: list[str] = []
    for result in runs.results(args.databases, lambda db, env: measure(db, env, args)):
        runs.sections.append(
            [
                (
                    f"-- {result['database']}, {result['rounds']} rounds of "
                    f"{result['requests']} requests per way in-process and "
                    f"{result['served']} under gunicorn"
                ),
                code_measured(result),
                "",
                *table(result),
                "",
                scale(result),
            ]
        )
        versions = [
            (
                f"Django: {result['django']}, mozilla-django-oidc: "
                f"{result['oidc']}, gunicorn: {result['gunicorn']}"
            )
        ]

    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench middleware --rounds {args.rounds}"
    lines = report.heading(
        "middleware cost on a page that does not call EverReal",
        command,
        elapsed,
        args.rounds,
        *versions,
    )
    lines += [
        "",
        textwrap.fill(" ".join(_LEGEND.split()), width=78, break_on_hyphens=False),
    ]
    for section in runs.sections:
        lines += ["", *section]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return int(runs.failed)


if __name__ == "__main__":
    sys.exit(main())
