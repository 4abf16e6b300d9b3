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


@pytest.fixture
def everreal_login(client, everreal_fake):
    """Log in through the fake EverReal with Django's test client.

    Returns a function: ``login(email, password="demo")`` gives the response
    of the callback; ``begin()`` and ``complete(location)`` do one half each.
    """
    from urllib.parse import urlsplit

    class Login:
        def begin(self):
            response = client.post("/auth/login/everreal/")
            assert response.status_code == 302, response
            return response["Location"]

        def complete(self, location):
            parts = urlsplit(location)
            return client.get(f"{parts.path}?{parts.query}")

        def __call__(self, email, password="demo"):
            location = everreal_fake.authorize_redirect(self.begin(), email, password)
            return self.complete(location)

    return Login()
