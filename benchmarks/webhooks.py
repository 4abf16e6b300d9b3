"""Deliveries the webhook receiver accepts per second under gunicorn, and events one worker processes.

    python3 dev.py bench webhooks [--rounds N] [--deliveries N] [--backlog N] [--databases postgres sqlite]

Receiver: ``django_everreal.webhooks.receive`` under gunicorn (2 sync
workers on 127.0.0.1), fed deliveries shaped and serialised as the fake
EverReal sends them by several client threads, against a minimal view on the
same server that reads the body and inserts one row (the baseline). Worker:
a backlog of stored, queued events processed by ``manage.py everreal_webhooks
worker`` in a process of its own, against a plain loop that selects a row for
update, runs the handlers, marks it done and commits, one by one. Each
database runs in a process of its own, as in ``bench sync``; the report goes
to stdout and to ``benchmarks/results/webhooks.txt``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from typing import Any

from benchmarks import report
from benchmarks.run import Runs
from benchmarks.run import code_measured
from benchmarks.run import finish_child
from benchmarks.run import forward
from benchmarks.run import measure_in_child

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "webhooks.txt"
SETTINGS = "benchmarks.settings_webhooks"
MIN_ROUNDS = report.MIN_ROUNDS
EVENT = "LISTING_PUBLISHED_TO_CHANNEL"

#: Deliveries per way and round, sent in blocks of ``BLOCK``, ways alternating.
DELIVERIES = 200
BLOCK = 50
#: Client threads posting at once, each a new connection per delivery.
CLIENTS = 4
GUNICORN_WORKERS = 2
#: Deliveries sent twice at the same moment, from two threads: the duplicates.
REPEATS = 50
#: Events in the worker's backlog, per run.
BACKLOG = 50
#: Backlogs whose query counts give the queries per event (the difference).
COUNT_BACKLOGS = (5, 10)
#: How long gunicorn may take to answer first.
STARTUP_TIMEOUT = 60.0

RECEIVER_WAYS = ("baseline", "receiver")
RECEIVER_LABELS = {
    "baseline": "baseline view: read, parse, INSERT (baseline)",
    "receiver": "django_everreal receiver",
}
WORKER_WAYS = ("loop", "worker", "worker_fresh")
WORKER_LABELS = {
    "loop": "plain loop, row by row (baseline)",
    "worker": "everreal_webhooks worker",
    "worker_fresh": "everreal_webhooks worker, CONN_MAX_AGE=0",
}
#: The worker processes' ``CONN_MAX_AGE`` per way.
CONN_MAX_AGE = {"loop": "600", "worker": "600", "worker_fresh": "0"}

Answer = tuple[int, str]


# The measuring child: one database, Django set up once.


def setup_django() -> None:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def subscribe() -> tuple[Any, str]:
    """A subscription of a service account, and the secret of its receiver URL."""
    from django_everreal.models import ServiceAccount
    from django_everreal.models import WebhookSubscription
    from django_everreal.webhooks import new_token
    from django_everreal.webhooks import token_hash

    service = ServiceAccount.objects.create(name="hooks", username="hooks@example.com")
    token = new_token()
    subscription = WebhookSubscription.objects.create(
        service_account=service,
        event_type=EVENT,
        token_hash=token_hash(token),
        company_id="c1",
    )
    return subscription, token


def bodies(count: int) -> list[bytes]:
    """*count* deliveries, each with a uuid of its own, as the fake EverReal sends them."""
    from django_everreal.testing.webhook_model import WebhookDelivery
    from django_everreal.testing.webhook_model import envelope
    from django_everreal.testing.webhook_model import iso_timestamp
    from django_everreal.testing.webhook_samples import webhook_sample

    now = iso_timestamp(time.time())
    return [
        WebhookDelivery(
            "",
            envelope(EVENT, webhook_sample(EVENT), subdomain="bench", created_at=now),
        ).body
        for _ in range(count)
    ]


def empty_tables() -> None:
    from django_tasks_db.models import DBTaskResult

    from django_everreal.models import WebhookEvent

    WebhookEvent.objects.all().delete()
    DBTaskResult.objects.all().delete()


def count_queries(call: Callable[[], object]) -> int:
    """The queries of *call* as ``CaptureQueriesContext`` counts them, COMMIT included."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    connection.queries_log = deque()  # unbounded: a backlog makes thousands
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def delivery_queries(token: str) -> dict[str, int]:
    """Queries of one delivery of each way, in this process, through Django's handler."""
    from django.test import Client
    from django.urls import reverse

    from django_everreal.webhooks import URL_NAME

    client = Client()
    path = reverse(URL_NAME, args=[token])
    first, second = bodies(2)
    answers: dict[str, Any] = {}

    def post(key: str, url: str, body: bytes) -> Callable[[], None]:
        def call() -> None:
            answers[key] = client.post(url, body, content_type="application/json")

        return call

    queries = {
        "receiver": count_queries(post("receiver", path, first)),
        "duplicate": count_queries(post("duplicate", path, first)),
        "baseline": count_queries(post("baseline", "/baseline/", second)),
    }
    expected = {
        "receiver": "received",
        "duplicate": "duplicate",
        "baseline": "received",
    }
    for key, status in expected.items():
        answer = answers[key]
        if answer.status_code != 200 or answer.json()["status"] != status:
            raise RuntimeError(f"{key}: HTTP {answer.status_code} {answer.content!r}")
    return queries


class Gunicorn:
    """``benchmarks.urls_webhooks`` under gunicorn, sync workers, on 127.0.0.1.

    The socket is bound here (port 0) and handed over (``fd://``), so the port
    is known before the server starts and no one else can take it.
    """

    def __init__(self, log_path: Path, workers: int = GUNICORN_WORKERS) -> None:
        self.workers = workers
        self.log_path = log_path
        self.socket = socket.create_server(("127.0.0.1", 0), backlog=512)
        self.port: int = self.socket.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None
        self.log: IO[bytes] | None = None

    def start(self, probe_path: str) -> None:
        fd = self.socket.fileno()
        self.log = self.log_path.open("wb")
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"fd://{fd}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--backlog",
            "512",
            "--timeout",
            "60",
            "--preload",
            "--log-level",
            "warning",
            "--error-logfile",
            "-",
            "django.core.wsgi:get_wsgi_application()",
        ]
        try:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=self.log,
                stderr=subprocess.STDOUT,
                pass_fds=(fd,),
            )
        finally:
            self.socket.close()  # gunicorn holds it now
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_text()}")
            try:
                status, _ = request(self.port, "GET", probe_path)
            except OSError:
                time.sleep(0.05)  # polling for the server to come up, not a sync
                continue
            if status == 405:
                return
            raise RuntimeError(f"gunicorn answered {status}:\n{self.log_text()}")
        raise RuntimeError(f"gunicorn did not answer:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log is not None:
            self.log.close()


@contextmanager
def gunicorn(tmp: Path, probe_path: str) -> Iterator[Gunicorn]:
    server = Gunicorn(tmp / "gunicorn.log")
    try:
        server.start(probe_path)
        yield server
    finally:
        server.stop()


def request(port: int, method: str, path: str, body: bytes | None = None) -> Answer:
    """One request on a new connection (gunicorn's sync workers close each)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def post_all(port: int, path: str, chunk: list[bytes]) -> list[Answer]:
    return [request(port, "POST", path, body) for body in chunk]


def send(
    pool: ThreadPoolExecutor, port: int, path: str, deliveries: list[bytes]
) -> tuple[float, list[Answer]]:
    """Post *deliveries* from ``CLIENTS`` threads at once; seconds, and the answers."""
    chunks = [deliveries[i::CLIENTS] for i in range(CLIENTS)]
    start = time.perf_counter()
    futures = [pool.submit(post_all, port, path, chunk) for chunk in chunks]
    answers = [answer for future in futures for answer in future.result()]
    return time.perf_counter() - start, answers


class Tally:
    """What the receiver answered, counted."""

    def __init__(self) -> None:
        self.sent = 0
        self.accepted = 0
        self.rejected = 0
        self.duplicates = 0

    def add(self, answers: list[Answer]) -> None:
        for status, text in answers:
            self.sent += 1
            if 200 <= status < 300:
                self.accepted += 1
                self.duplicates += json.loads(text).get("status") == "duplicate"
            else:
                self.rejected += 1


def measure_receiver(
    args: argparse.Namespace, tmp: Path, subscription: Any, token: str
) -> dict[str, Any]:
    from django.db import connection
    from django.urls import reverse
    from django_tasks_db.models import DBTaskResult

    from django_everreal.models import WebhookEvent
    from django_everreal.webhooks import URL_NAME

    queries = delivery_queries(token)
    empty_tables()
    connection.close()  # the server's processes open their own
    paths = {"receiver": reverse(URL_NAME, args=[token]), "baseline": "/baseline/"}
    blocks = max(1, args.deliveries // BLOCK)
    per_round = blocks * BLOCK
    tallies = {way: Tally() for way in RECEIVER_WAYS}
    times: dict[str, list[float]] = {way: [] for way in RECEIVER_WAYS}
    with (
        gunicorn(tmp, paths["receiver"]) as server,
        ThreadPoolExecutor(CLIENTS) as pool,
    ):
        for way in RECEIVER_WAYS:  # warm-up: every worker's first requests
            tallies[way].add(send(pool, server.port, paths[way], bodies(BLOCK))[1])
        for r in range(args.rounds):
            print(
                f"  receiver round {r + 1}/{args.rounds}", file=sys.stderr, flush=True
            )
            total = dict.fromkeys(RECEIVER_WAYS, 0.0)
            for b in range(blocks):
                ways = RECEIVER_WAYS if (b + r) % 2 == 0 else RECEIVER_WAYS[::-1]
                for way in ways:
                    deliveries = bodies(BLOCK)
                    seconds, answers = send(pool, server.port, paths[way], deliveries)
                    total[way] += seconds
                    tallies[way].add(answers)
            for way in RECEIVER_WAYS:
                times[way].append(total[way] / per_round)
        # Each repeat posted by two threads at the same moment.
        repeats = [body for body in bodies(args.repeats) for _ in range(2)]
        tallies["receiver"].add(send(pool, server.port, paths["receiver"], repeats)[1])
        log = server.log_text()
    stored = WebhookEvent.objects.filter(subscription=subscription).count()
    baseline_stored = WebhookEvent.objects.filter(subscription=None).count()
    queued = DBTaskResult.objects.count()
    empty_tables()
    return {
        "queries": queries,
        "times": times,
        "deliveries": per_round,
        "tallies": {way: vars(tally) for way, tally in tallies.items()},
        "stored": stored,
        "baseline_stored": baseline_stored,
        "queued": queued,
        "repeats": args.repeats,
        "server_errors": [line for line in log.splitlines() if "Error" in line][:5],
    }


def backlog(subscription: Any, count: int) -> None:
    """*count* events stored and queued, as the receiver leaves them, on empty tables."""
    from django.db import transaction

    from django_everreal import tasks
    from django_everreal.models import WebhookEvent
    from django_everreal.testing.webhook_samples import webhook_sample

    empty_tables()
    with transaction.atomic():  # one commit: the backlog is set-up, not measured
        events = WebhookEvent.objects.bulk_create(
            WebhookEvent(
                subscription=subscription,
                uuid=f"backlog-{i}",
                event_type=EVENT,
                subdomain="bench",
                data=webhook_sample(EVENT),
            )
            for i in range(count)
        )
        for event in events:
            tasks.enqueue(event.pk)


def run_worker_child(
    way: str, count: int, tmp: Path, *, queries: bool = False
) -> dict[str, Any]:
    """Process the backlog *way* in a process of its own; what it measured."""
    from django.db import connection

    output = tmp / f"worker-{way}.json"
    command = [
        sys.executable,
        "-m",
        "benchmarks.webhooks",
        "--worker",
        way,
        "--output",
        str(output),
    ]
    if queries:
        command.append("--queries")
    connection.close()  # not held open across the child's run
    env = {**os.environ, "EVERREAL_BENCH_CONN_MAX_AGE": CONN_MAX_AGE[way]}
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    result: dict[str, Any] = json.loads(output.read_text())
    from django_everreal.models import WebhookEvent

    done = WebhookEvent.objects.filter(status=WebhookEvent.PROCESSED).count()
    if done != count:
        raise RuntimeError(f"{way} processed {done} of {count} events")
    return result


def measure_worker(
    args: argparse.Namespace, tmp: Path, subscription: Any
) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = {way: {} for way in WORKER_WAYS}
    for size in COUNT_BACKLOGS:
        for way in WORKER_WAYS:
            backlog(subscription, size)
            counts[way][str(size)] = run_worker_child(way, size, tmp, queries=True)[
                "queries"
            ]
    times: dict[str, list[float]] = {way: [] for way in WORKER_WAYS}
    connections: dict[str, set[int]] = {way: set() for way in WORKER_WAYS}
    for r in range(args.rounds):
        print(f"  worker round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
        shift = r % len(WORKER_WAYS)
        for way in WORKER_WAYS[shift:] + WORKER_WAYS[:shift]:
            backlog(subscription, args.backlog)
            result = run_worker_child(way, args.backlog, tmp)
            times[way].append(result["seconds"] / args.backlog)
            connections[way].add(result["connections"])
    empty_tables()
    return {
        "backlog": args.backlog,
        "queries": counts,
        "times": times,
        "connections": {way: sorted(found) for way, found in connections.items()},
    }


def child(args: argparse.Namespace) -> int:
    setup_django()
    from django.db import connection

    from benchmarks.measure import database_version

    sources = report.sources()
    with tempfile.TemporaryDirectory(prefix="everreal-bench-webhooks-") as name:
        tmp = Path(name)
        subscription, token = subscribe()
        receiver = measure_receiver(args, tmp, subscription, token)
        worker = measure_worker(args, tmp, subscription)
    import django_tasks_db

    result = {
        "vendor": connection.vendor,
        "database": database_version(),
        "django": __import__("django").get_version(),
        "gunicorn": __import__("gunicorn").__version__,
        "tasks_db": getattr(django_tasks_db, "__version__", "")
        or _version("django-tasks-db"),
        "sources": sources,
        "sources_changed": report.sources() != sources,
        "rounds": args.rounds,
        "receiver": receiver,
        "worker": worker,
    }
    return finish_child(result, args.output)


def _version(distribution: str) -> str:
    from importlib.metadata import version

    return version(distribution)


# A worker process: one backlog, one way.


def no_op(sender: str, **kwargs: Any) -> None:
    """The handler: nothing, so what is measured is the queue's own work."""


def plain_loop() -> None:
    """The baseline: select the next waiting row for update, run the handlers, mark it done."""
    from django.db import transaction
    from django.utils import timezone

    from django_everreal.models import WebhookEvent
    from django_everreal.signals import webhook_received

    waiting = WebhookEvent.objects.select_for_update(skip_locked=True).filter(
        status=WebhookEvent.PENDING
    )
    while True:
        with transaction.atomic():
            event = waiting.order_by("pk").first()
            if event is None:
                return
            webhook_received.send_robust(
                sender=sys.intern(event.event_type), event=event
            )
            WebhookEvent.objects.filter(pk=event.pk).update(
                status=WebhookEvent.PROCESSED, processed_at=timezone.now()
            )


def worker_command() -> None:
    """The app's documented worker, until the queue is empty."""
    from django.core.management import call_command

    call_command(
        "everreal_webhooks",
        "worker",
        "--",
        "--batch",
        "--interval",
        "0",
        "--no-startup-delay",
        "--verbosity",
        "0",
        stdout=open(os.devnull, "w"),  # noqa: SIM115 -- for the process's life
    )


def worker_process(args: argparse.Namespace) -> int:
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS
    django.setup()
    from django.db import connection
    from django.db.backends.signals import connection_created

    from django_everreal.webhooks import webhook_handler

    webhook_handler()(no_op)
    run = plain_loop if args.worker == "loop" else worker_command
    connection.ensure_connection()
    opened = [0]

    def created(**kwargs: Any) -> None:
        opened[0] += 1

    connection_created.connect(created, weak=False)
    result: dict[str, Any] = {}
    if args.queries:
        result["queries"] = count_queries(run)
    else:
        start = time.perf_counter()
        run()
        result["seconds"] = time.perf_counter() - start
        result["connections"] = opened[0]
    connection.close()
    args.output.write_text(json.dumps(result))
    return 0


# The parent: a child per database, then the report.


def measure(
    database: str, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    options = forward(args, "rounds", "deliveries", "repeats", "backlog")
    return measure_in_child("benchmarks.webhooks", database, env, options)


def per_event(counts: dict[str, int]) -> tuple[float, float]:
    """Queries per event and the fixed queries of a run, from two backlogs' counts."""
    small, large = COUNT_BACKLOGS
    per = (counts[str(large)] - counts[str(small)]) / (large - small)
    return per, counts[str(small)] - per * small


def _count(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.2f}"


def receiver_table(result: dict[str, Any]) -> list[str]:
    times = result["times"]
    base = times["baseline"]
    rows = [
        (
            RECEIVER_LABELS[way],
            str(result["queries"][way]),
            report.ratio(base, times[way]),
            f"{1 / statistics.median(times[way]):.0f}",
        )
        for way in RECEIVER_WAYS
    ]
    rows.append(
        (
            "django_everreal receiver, a repeat",
            str(result["queries"]["duplicate"]),
            "",
            "",
        )
    )
    return report.grid(
        ("way", "queries", "deliveries/s / baseline", "median deliveries/s"), rows
    )


def receiver_counts(result: dict[str, Any]) -> tuple[list[str], bool]:
    """The exact counts, and whether they are what they must be."""
    tally = result["tallies"]["receiver"]
    base = result["tallies"]["baseline"]
    fine = (
        tally["rejected"] == 0
        and base["rejected"] == 0
        and tally["duplicates"] == result["repeats"]
        and result["stored"] == tally["accepted"] - tally["duplicates"]
        and result["queued"] == result["stored"]
        and result["baseline_stored"] == base["accepted"]
    )
    lines = [
        (
            f"Receiver: {tally['sent']} deliveries sent, {tally['accepted']} accepted "
            f"(2xx), {tally['rejected']} rejected, {tally['duplicates']} duplicates "
            f"({result['repeats']} deliveries each sent twice at once); "
            f"{result['stored']} rows stored, {result['queued']} tasks queued."
        ),
        (
            f"Baseline: {base['sent']} sent, {base['accepted']} accepted, "
            f"{base['rejected']} rejected; {result['baseline_stored']} rows stored."
        ),
    ]
    if result["server_errors"]:
        lines += ["Server errors (first lines):", *result["server_errors"]]
    if not fine:
        lines.append("WRONG COUNTS: see above.")
    return [textwrap.fill(line, width=78) for line in lines], fine


def worker_table(result: dict[str, Any]) -> list[str]:
    times = result["times"]
    base = times["loop"]
    rows = []
    for way in WORKER_WAYS:
        per, fixed = per_event(result["queries"][way])
        rows.append(
            (
                WORKER_LABELS[way],
                _count(per),
                _count(fixed),
                "/".join(map(str, result["connections"][way])),
                report.ratio(base, times[way]),
                f"{1 / statistics.median(times[way]):.0f}",
            )
        )
    return report.grid(
        (
            "way",
            "queries/event",
            "+ per run",
            "connections",
            "events/s / baseline",
            "median events/s",
        ),
        rows,
    )


_LEGEND = f"""\
Receiver: gunicorn ({GUNICORN_WORKERS} sync workers, 127.0.0.1, persistent
database connections) serves both ways; {CLIENTS} client threads post
deliveries shaped and serialised as the fake EverReal sends them
(django_everreal.testing), each on a new connection. The baseline is a view
that reads the body, parses the JSON and inserts one row into the same table
(no secret, no checks, no duplicates, no queueing); the receiver checks the
secret in the URL and the envelope, stores the event once by uuid and queues
its processing (django-tasks-db). A round posts the same number of deliveries
each way, in blocks of {BLOCK} (the order alternating); "deliveries/s /
baseline" is the median [min-max] of the per-round ratios of deliveries per
second (below 1: fewer than the baseline). Queries: one delivery's, through
Django's handler in the measuring process (CaptureQueriesContext, BEGIN and
COMMIT included). Worker: a backlog of stored, queued events (as the receiver
leaves them) processed in a process of its own, with one no-op handler, by
"manage.py everreal_webhooks worker -- --batch --interval 0" (django-tasks-db's
db_worker after queueing what is unfinished; logging off), with persistent
connections and with Django's default CONN_MAX_AGE=0, against a plain loop
that selects the next waiting row for update (skip locked), runs the handlers,
marks it done and commits, one by one. The ways run in turn, the order rotated
each round; "events/s / baseline" as above. Queries per event: the difference
of two backlogs' counts over the difference of their sizes ("+ per run": what
a run costs besides); connections: database connections the process opened
while processing a backlog (exact). The medians per second are for scale only."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 dev.py bench webhooks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--deliveries",
        type=int,
        default=DELIVERIES,
        help=f"deliveries per way and round (in blocks of {BLOCK})",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=REPEATS,
        help="deliveries sent twice at once, after the rounds",
    )
    parser.add_argument(
        "--backlog", type=int, default=BACKLOG, help="events per worker run"
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=("sqlite", "postgres"),
        default=["postgres", "sqlite"],
        help="SQLite runs on a file, which gunicorn's workers share",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=WORKER_WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--queries", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_process(args)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.child:
        return child(args)

    start = time.perf_counter()
    runs = Runs()
    versions = ""
    for result in runs.results(args.databases, lambda db, env: measure(db, env, args)):
        receiver = result["receiver"]
        worker = result["worker"]
        counts, fine = receiver_counts(receiver)
        runs.failed |= not fine
        runs.sections.append(
            [
                f"-- {result['database']}, {result['rounds']} rounds",
                code_measured(result),
                "",
                f"Receiver, {receiver['deliveries']} deliveries per way and round:",
                "",
                *receiver_table(receiver),
                "",
                *counts,
                "",
                f"Worker, a backlog of {worker['backlog']} events per run:",
                "",
                *worker_table(worker),
            ]
        )
        versions = (
            f"Django: {result['django']}, gunicorn {result['gunicorn']}, "
            f"django-tasks-db {result['tasks_db']}"
        )
    elapsed = time.perf_counter() - start
    command = f"python3 dev.py bench webhooks --rounds {args.rounds}"
    if args.databases != ["postgres", "sqlite"]:
        command += f" --databases {' '.join(args.databases)}"
    lines = report.heading(
        "webhook deliveries received under gunicorn, events processed by a worker",
        command,
        elapsed,
        args.rounds,
        *([versions] if versions else []),
    )
    lines += ["", textwrap.fill(" ".join(_LEGEND.split()), width=78)]
    for section in runs.sections:
        lines += ["", *section]
    text = "\n".join(lines) + "\n"
    report.publish(text, args.output)
    return int(runs.failed)


if __name__ == "__main__":
    sys.exit(main())
