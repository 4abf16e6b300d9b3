"""The load test's clients: many logins at once, each as a fresh browser would do it.

One login is a new ``requests.Session`` that opens the site's login page (for
the CSRF cookie), posts the login button, opens the fake EverReal's login
page, posts the email and password, follows the redirect to the site's
callback and ends on ``LOGIN_REDIRECT_URL`` (``/me/``), which must show the
user logged in. Every response is recorded with its status and latency.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait
from dataclasses import dataclass
from dataclasses import field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit

import requests

from tests.load.users import LoadUser

#: No single request may take longer (seconds).
REQUEST_TIMEOUT = 60.0
CALLBACK_PATH = "/auth/complete/everreal/"
LOGIN_REDIRECT_PATH = "/me/"

# The steps of a login, in order.
LOGIN_PAGE = "login page"
BEGIN = "begin"
AUTHORIZE = "authorize"
EVERREAL_LOGIN = "everreal login"
CALLBACK = "callback"
ME = "me"
STEPS = (LOGIN_PAGE, BEGIN, AUTHORIZE, EVERREAL_LOGIN, CALLBACK, ME)


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "")
    value = int(raw) if raw.strip() else default
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}.")
    return value


@dataclass(frozen=True)
class LoadSizes:
    """How big a run is; each size can be set by an environment variable."""

    #: Users who log in once (``EVERREAL_LOAD_USERS``).
    users: int = 200
    #: More users who log in twice at the same moment (``EVERREAL_LOAD_TWICE``).
    twice: int = 20
    #: Concurrent clients (``EVERREAL_LOAD_CLIENTS``).
    clients: int = 50
    #: Companies the users share (``EVERREAL_LOAD_COMPANIES``).
    companies: int = 20
    #: Partners the companies belong to (``EVERREAL_LOAD_PARTNERS``).
    partners: int = 4
    #: Gunicorn workers (``EVERREAL_LOAD_WORKERS``).
    workers: int = 4
    #: Seed of the users and of the order of the logins (``EVERREAL_LOAD_SEED``).
    seed: int = 5
    #: The whole run's time limit in seconds (``EVERREAL_LOAD_TIMEOUT``);
    #: 0: 60 s plus half a second per login.
    timeout: int = 0

    @classmethod
    def from_env(cls, defaults: LoadSizes | None = None) -> LoadSizes:
        """*defaults* (else the class's), each overridden by its environment variable."""
        d = defaults or cls()
        return cls(
            users=_env_int("EVERREAL_LOAD_USERS", d.users, 1),
            twice=_env_int("EVERREAL_LOAD_TWICE", d.twice, 0),
            clients=_env_int("EVERREAL_LOAD_CLIENTS", d.clients, 2),
            companies=_env_int("EVERREAL_LOAD_COMPANIES", d.companies, 1),
            partners=_env_int("EVERREAL_LOAD_PARTNERS", d.partners, 1),
            workers=_env_int("EVERREAL_LOAD_WORKERS", d.workers, 1),
            seed=_env_int("EVERREAL_LOAD_SEED", d.seed, 0),
            timeout=_env_int("EVERREAL_LOAD_TIMEOUT", d.timeout, 0),
        )

    @property
    def logins(self) -> int:
        return self.users + 2 * self.twice

    @property
    def deadline(self) -> float:
        return float(self.timeout or 60 + self.logins // 2)


@dataclass(frozen=True)
class Hit:
    """One response: its step, status (``None``: no answer) and latency in seconds."""

    step: str
    status: int | None
    seconds: float


@dataclass
class Login:
    user: LoadUser
    twice: bool
    hits: list[Hit] = field(default_factory=list)
    #: Empty when the login went through; else the step and what went wrong.
    failure: str = ""
    #: The EverReal id of the user ``/me/`` shows at the end.
    everreal_id: str = ""

    @property
    def ok(self) -> bool:
        return not self.failure


class LoginFailed(Exception):
    pass


class _Form(HTMLParser):
    """The first form of a page: its action and its inputs' names and values."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._done = False
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form" and not self._done:
            self._in_form = True
            self.action = values.get("action") or ""
        elif tag == "input" and self._in_form and values.get("type") == "hidden":
            self.fields[values.get("name") or ""] = values.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            self._done = True


class _Text(HTMLParser):
    """A page's visible text, for failure messages."""

    SKIP = frozenset({"head", "script", "style", "title"})

    def __init__(self, page: str) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping = 0
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def page_text(response: requests.Response, limit: int = 160) -> str:
    if "html" not in response.headers.get("Content-Type", ""):
        text = response.text
    else:
        text = " ".join(_Text(response.text).parts)
    return re.sub(r"\s+", " ", text).strip()[:limit]


class LoginClient:
    """Logs users in on the site at *site_url*, one fresh session per login."""

    def __init__(self, site_url: str, timeout: float = REQUEST_TIMEOUT) -> None:
        self.site_url = site_url.rstrip("/")
        self.timeout = timeout

    def login(
        self, user: LoadUser, *, barrier: threading.Barrier | None = None
    ) -> Login:
        """Log *user* in; with a *barrier*, start and call back with the other login at once."""
        result = Login(user, twice=barrier is not None)
        with requests.Session() as session:
            try:
                self._login(session, result, barrier)
            except LoginFailed as exc:
                result.failure = str(exc)
            except Exception as exc:  # a bug of the client: still a failed login
                result.failure = f"client error: {exc!r}"
        if result.failure and barrier is not None:
            barrier.abort()  # the other login must not wait for this one
        return result

    def _login(
        self,
        session: requests.Session,
        result: Login,
        barrier: threading.Barrier | None,
    ) -> None:
        page = self._request(session, result, LOGIN_PAGE, "GET", "/login/", 200)
        form = _Form(page.text)
        if form.action is None or "csrfmiddlewaretoken" not in form.fields:
            raise LoginFailed(f"{LOGIN_PAGE}: no login form with a CSRF token")
        _together(barrier)
        begin = self._request(
            session, result, BEGIN, "POST", form.action, 302, data=form.fields
        )
        authorize_url = begin.headers["Location"]
        page = self._request(session, result, AUTHORIZE, "GET", authorize_url, 200)
        form = _Form(page.text)
        if form.action is None or "state" not in form.fields:
            raise LoginFailed(f"{AUTHORIZE}: no EverReal login form")
        fields = {
            **form.fields,
            "email": result.user.email,
            "password": result.user.password,
            "action": "login",
        }
        login = self._request(
            session,
            result,
            EVERREAL_LOGIN,
            "POST",
            urljoin(authorize_url, form.action),
            302,
            data=fields,
        )
        callback_url = login.headers["Location"]
        if not callback_url.startswith(self.site_url + CALLBACK_PATH):
            raise LoginFailed(f"{EVERREAL_LOGIN}: redirected to {callback_url}")
        _together(barrier)
        callback = self._request(session, result, CALLBACK, "GET", callback_url, 302)
        target = urljoin(self.site_url + "/", callback.headers["Location"])
        if urlsplit(target).path != LOGIN_REDIRECT_PATH:
            raise LoginFailed(f"{CALLBACK}: redirected to {urlsplit(target).path}")
        me = self._request(session, result, ME, "GET", target, 200).json()
        if me.get("authenticated") is not True:
            raise LoginFailed(f"{ME}: not logged in at the end")
        result.everreal_id = str(me.get("everreal_id") or "")

    def _request(
        self,
        session: requests.Session,
        result: Login,
        step: str,
        method: str,
        url: str,
        expected_status: int,
        **kwargs: Any,
    ) -> requests.Response:
        url = urljoin(self.site_url + "/", url)
        started = time.perf_counter()
        try:
            response = session.request(
                method, url, allow_redirects=False, timeout=self.timeout, **kwargs
            )
        except requests.RequestException as exc:
            result.hits.append(Hit(step, None, time.perf_counter() - started))
            raise LoginFailed(f"{step}: {type(exc).__name__}") from exc
        result.hits.append(
            Hit(step, response.status_code, time.perf_counter() - started)
        )
        if response.status_code != expected_status:
            raise LoginFailed(
                f"{step}: HTTP {response.status_code} {page_text(response)}".rstrip()
            )
        return response


def _together(barrier: threading.Barrier | None) -> None:
    """Wait for the other login of the same user; go on alone if it failed."""
    if barrier is None:
        return
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()


@dataclass
class LoadRun:
    """The logins of a run and how long the run took."""

    logins: list[Login]
    seconds: float

    def hits(self, step: str | None = None) -> Iterator[Hit]:
        for login in self.logins:
            for hit in login.hits:
                if step is None or hit.step == step:
                    yield hit

    @property
    def failed(self) -> list[Login]:
        return [login for login in self.logins if not login.ok]

    @property
    def server_errors(self) -> list[Hit]:
        return [hit for hit in self.hits() if hit.status and hit.status >= 500]

    def report(self) -> str:
        """Throughput and latencies, one line each."""
        ok = len(self.logins) - len(self.failed)
        lines = [
            (
                f"load: {len(self.logins)} logins in {self.seconds:.1f} s: "
                f"{len(self.logins) / self.seconds:.1f} logins/s, {ok} ok, "
                f"{len(self.failed)} failed, {len(self.server_errors)} responses >= 500"
            ),
        ]
        for step in STEPS:
            seconds = sorted(hit.seconds for hit in self.hits(step))
            if seconds:
                lines.append(
                    f"load: {step:<14} n={len(seconds):<5} "
                    f"p50={percentile(seconds, 50) * 1000:7.1f} ms  "
                    f"p95={percentile(seconds, 95) * 1000:7.1f} ms  "
                    f"max={seconds[-1] * 1000:7.1f} ms"
                )
        statuses = Counter((hit.step, hit.status) for hit in self.hits())
        lines.append(
            "load: statuses: "
            + ", ".join(
                f"{step} {status}: {count}"
                for (step, status), count in sorted(
                    statuses.items(),
                    key=lambda item: (STEPS.index(item[0][0]), str(item[0][1])),
                )
            )
        )
        return "\n".join(lines)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The nearest-rank *q*-th percentile of non-empty *sorted_values*."""
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def run_logins(
    site_url: str,
    once: Sequence[LoadUser],
    twice: Sequence[LoadUser],
    *,
    clients: int,
    seed: int,
    deadline: float,
) -> LoadRun:
    """Log each of *once* in once and each of *twice* in twice at the same moment.

    *clients* logins run at a time, in an order shuffled by *seed*; the two
    logins of a user go to the pool one after the other and wait for each
    other (a ``threading.Barrier``) before the first request and before the
    callback. Logins not finished within *deadline* seconds count as failed.
    """
    client = LoginClient(site_url)
    units: list[tuple[LoadUser, bool]] = [(user, False) for user in once]
    units += [(user, True) for user in twice]
    random.Random(seed).shuffle(units)  # noqa: S311 -- a replayable order
    jobs: list[tuple[LoadUser, bool, Future[Login]]] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(clients, thread_name_prefix="load-client") as pool:
        for user, both in units:
            if both:
                barrier = threading.Barrier(2, timeout=REQUEST_TIMEOUT)
                for _ in range(2):
                    jobs.append(
                        (user, True, pool.submit(client.login, user, barrier=barrier))
                    )
            else:
                jobs.append((user, False, pool.submit(client.login, user)))
        wait([future for _, _, future in jobs], timeout=deadline)
        for _, _, future in jobs:
            future.cancel()
    seconds = time.perf_counter() - started
    logins = []
    for user, both, future in jobs:
        if future.done() and not future.cancelled():
            logins.append(future.result())
        else:
            logins.append(
                Login(user, both, failure=f"not finished within {deadline:g} s")
            )
    return LoadRun(logins, seconds)
