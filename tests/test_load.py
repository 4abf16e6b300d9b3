"""Load test: many concurrent EverReal logins against the site under gunicorn.

The fake EverReal (a subprocess on loopback) holds generated users whose
companies overlap across partners; the site runs under gunicorn with several
workers on the test database; a pool of clients logs every user in, some of
them twice at the same moment from two sessions. No response may be a server
error, every login must go through, and the database must hold each EverReal
user exactly once with the companies, current company and scopes the fake
reports.

Only when asked for (``-m load``), once per database: on PostgreSQL, and in a
smaller form on SQLite in a file (the gunicorn workers cannot share the
default in-memory test database)::

    EVERREAL_TEST_DATABASE=postgres python3 dev.py test -m load -s
    EVERREAL_TEST_SQLITE_FILE=1 python3 dev.py test -m load -s

Sizes come from the environment (see ``tests.load.runner.LoadSizes``); the
long form, thousands of logins::

    EVERREAL_LOAD_USERS=3000 EVERREAL_TEST_DATABASE=postgres python3 dev.py test -m load -s
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from django_everreal.conf import conf
from django_everreal.testing.data import FakeUser
from django_everreal.testing.data import load_users_file
from tests.load.checks import database_problems
from tests.load.checks import log_summary
from tests.load.runner import LoadSizes
from tests.load.runner import run_logins
from tests.load.site import FakeEverRealProcess
from tests.load.site import GunicornSite
from tests.load.users import LoadUser
from tests.load.users import generate_users
from tests.load.users import write_users_file

pytestmark = [
    pytest.mark.load,
    # Committed rows, so that the gunicorn workers see them and the test sees theirs.
    pytest.mark.django_db(transaction=True),
]

#: Examples of failed logins shown per kind.
EXAMPLES = 5

#: The default sizes per database: on SQLite a smaller form, well under a minute in CI.
SIZES = {
    "postgresql": LoadSizes(),
    "sqlite": LoadSizes(users=60, twice=10, clients=20, workers=4),
}


@pytest.fixture(
    params=[
        pytest.param("postgresql", marks=pytest.mark.postgres),
        "sqlite",
    ]
)
def sizes(request: pytest.FixtureRequest) -> LoadSizes:
    """The run's sizes on the test database, one run per database."""
    vendor: str = request.param
    # Gunicorn's workers must see the test's rows and the test theirs: on
    # SQLite that takes a file, not the default in-memory test database.
    if vendor == "sqlite" and (
        connection.vendor != "sqlite"
        or not Path(connection.settings_dict["NAME"]).is_file()
    ):
        if (
            connection.vendor == "sqlite"
            and os.environ.get("CI")
            and os.environ.get("EVERREAL_TEST_SQLITE_FILE")
        ):
            pytest.fail("EVERREAL_TEST_SQLITE_FILE is set, yet no file database")
        pytest.skip("needs SQLite in a file: set EVERREAL_TEST_SQLITE_FILE=1")
    return LoadSizes.from_env(SIZES[vendor])


@pytest.fixture
def users_file(sizes: LoadSizes, tmp_path: Path) -> Path:
    users = generate_users(
        sizes.users + sizes.twice,
        companies=sizes.companies,
        partners=sizes.partners,
        seed=sizes.seed,
    )
    return write_users_file(tmp_path / "users.json", users)


@pytest.fixture
def fake_users(users_file: Path) -> list[FakeUser]:
    """The users as the fake reads them, to compare the database with."""
    users, _ = load_users_file(users_file)
    return users


@pytest.fixture
def everreal(users_file: Path, tmp_path: Path) -> Iterator[FakeEverRealProcess]:
    with FakeEverRealProcess(users_file, tmp_path / "everreal.log") as process:
        yield process


@pytest.fixture
def site(
    everreal: FakeEverRealProcess,
    sizes: LoadSizes,
    tmp_path: Path,
    transactional_db: None,
) -> Iterator[GunicornSite]:
    """The site under gunicorn on the test database; stopped before the database is flushed."""
    database = {
        key: connection.settings_dict[key]
        for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
    }
    with GunicornSite(
        everreal_url=everreal.url,
        database=database,
        workers=sizes.workers,
        log_path=tmp_path / "gunicorn.log",
    ) as site:
        yield site


def test_concurrent_logins(
    site: GunicornSite,
    fake_users: list[FakeUser],
    sizes: LoadSizes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    users_before = get_user_model().objects.count()
    logins = [LoadUser(user.email, user.password) for user in fake_users]
    once, twice = logins[: sizes.users], logins[sizes.users :]

    run = run_logins(
        site.url,
        once,
        twice,
        clients=sizes.clients,
        seed=sizes.seed,
        deadline=sizes.deadline,
    )
    with capsys.disabled():
        print(
            f"\nload: {sizes.users} users once, {sizes.twice} twice at once, "
            f"{sizes.companies} companies, {sizes.partners} partners, "
            f"{sizes.clients} clients, {sizes.workers} gunicorn workers"
        )
        print(run.report(), flush=True)

    problems = []
    if run.server_errors:
        by_step = Counter(hit.step for hit in run.server_errors)
        problems.append(
            f"{len(run.server_errors)} responses >= 500: "
            + ", ".join(f"{step} {n}" for step, n in by_step.most_common())
        )
    if run.failed:
        reasons = Counter(
            (login.twice, login.failure) for login in run.failed
        ).most_common(EXAMPLES)
        problems.append(
            f"{len(run.failed)} failed logins "
            f"({sum(login.twice for login in run.failed)} of them twice at once), e.g.:\n  "
            + "\n  ".join(
                f"{n} x {'twice' if twice else 'once'}: {failure}"
                for (twice, failure), n in reasons
            )
        )
    by_email = {user.email: user.id for user in fake_users}
    wrong_user = [
        login.user.email
        for login in run.logins
        if login.ok and login.everreal_id != by_email[login.user.email]
    ]
    if wrong_user:
        problems.append(
            f"{len(wrong_user)} sessions of another user, e.g. {wrong_user[:EXAMPLES]}"
        )
    problems += database_problems(fake_users, conf.SCOPE, users_before)
    assert not problems, "\n".join(
        [*problems, f"The site's log ({site.log_path}):", log_summary(site.log())]
    )
