from __future__ import annotations

import os

import pytest
from django.db import connection


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip PostgreSQL-only tests on other databases; CI runs them in its PostgreSQL pass."""
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: set EVERREAL_TEST_DATABASE=postgres"
    )
    for item in items:
        if item.get_closest_marker("postgres"):
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _postgres_reachable_under_ci() -> None:
    """Under CI a PostgreSQL run must really be on PostgreSQL."""
    if os.environ.get("CI") and os.environ.get("EVERREAL_TEST_DATABASE") == "postgres":
        assert connection.vendor == "postgresql"
