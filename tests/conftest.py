from __future__ import annotations

import os

import pytest
from django.db import connection

#: Marker: (the databases it runs on, why it is skipped elsewhere).
DATABASE_MARKERS = {
    "postgres": (
        {"postgresql"},
        "needs PostgreSQL: set EVERREAL_TEST_DATABASE=postgres",
    ),
    "mariadb": ({"mysql"}, "needs MariaDB: set EVERREAL_TEST_DATABASE=mariadb"),
    "rowlocks": (
        {"postgresql", "mysql"},
        "needs row locks: set EVERREAL_TEST_DATABASE=postgres or mariadb",
    ),
}


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip tests of other databases; CI runs them in its PostgreSQL and MariaDB passes."""
    for name, (vendors, reason) in DATABASE_MARKERS.items():
        if connection.vendor in vendors:
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if item.get_closest_marker(name):
                item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _test_database_reachable_under_ci(request: pytest.FixtureRequest) -> None:
    """Under CI a PostgreSQL or MariaDB run must really be on that database."""
    wanted = os.environ.get("EVERREAL_TEST_DATABASE")
    if not os.environ.get("CI"):
        return
    if wanted == "postgres":
        assert connection.vendor == "postgresql"
    elif wanted == "mariadb":
        assert connection.vendor == "mysql"
        # Not MySQL: ask the server, once the test database exists.
        request.getfixturevalue("django_db_setup")
        with request.getfixturevalue("django_db_blocker").unblock():
            assert getattr(connection, "mysql_is_mariadb", False)
