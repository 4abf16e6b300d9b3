"""pytest fixtures for the fake EverReal.

Loaded in every pytest run where django-everreal is installed, so nothing
heavy (Django, ``responses``) is imported before a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from django.test import Client

    from django_everreal.testing.customers import EverRealCustomers
    from django_everreal.testing.django_login import EverRealLogin
    from django_everreal.testing.fake import FakeEverReal
    from django_everreal.testing.proxy import FaultProxy
    from django_everreal.testing.server import FakeEverRealServer
    from django_everreal.testing.webhooks import EverRealWebhooks


@pytest.fixture
def everreal_fake() -> Iterator[FakeEverReal]:
    """A fresh fake EverReal answering ``requests`` to https://demo.everreal.co in-process."""
    from django_everreal.testing.fake import FakeEverReal

    fake = FakeEverReal()
    with fake.mock():
        yield fake


@pytest.fixture
def everreal_customer(request: pytest.FixtureRequest) -> Iterator[EverRealCustomers]:
    """Registered EverReal customers, each with its own fake started in-process.

    ``everreal_customer("beta")`` starts a fake at https://beta.everreal.co
    (client ``beta-client`` / ``beta-secret``, the demo users), saves the
    ``Customer`` row the site logs in with, and returns the fake;
    ``everreal_customer["beta"]`` is that fake again. Works beside
    ``everreal_fake`` (the customer in settings). Uses the database
    (pytest-django's ``db``) once a customer is made.
    """
    from django_everreal.testing.customers import EverRealCustomers

    customers = EverRealCustomers(before_save=lambda: request.getfixturevalue("db"))
    try:
        yield customers
    finally:
        customers.stop()


@pytest.fixture
def everreal_server() -> Iterator[FakeEverRealServer]:
    """A fresh fake EverReal on 127.0.0.1 (a free port); ``.url`` and ``.fake``."""
    from django_everreal.testing.server import FakeEverRealServer

    with FakeEverRealServer() as server:
        yield server


@pytest.fixture
def everreal_proxy(everreal_server: FakeEverRealServer) -> Iterator[FaultProxy]:
    """A ``FaultProxy`` in front of ``everreal_server``; the fake's ``base_url`` is its ``.url``.

    ``everreal_proxy.inject("/accounts/oauth/token", "reset")`` and so on;
    the fake itself is ``everreal_server.fake``.
    """
    from django_everreal.testing.proxy import FaultProxy

    with FaultProxy(everreal_server.host, everreal_server.port) as proxy:
        everreal_server.fake.base_url = proxy.url
        yield proxy


@pytest.fixture
def everreal_login(client: Client, everreal_fake: FakeEverReal) -> EverRealLogin:
    """Log in with EverReal through the in-process fake, with Django's test ``client``.

    ``everreal_login("anna@example.com")`` runs the whole login (your site's
    login URL, the fake's login form, your callback) and returns the
    callback's response; ``begin()`` and ``complete(location)`` do one half
    each, for tests of what can go wrong in between.
    ``everreal_login("anna@example.com", subdomain="beta")`` (and
    ``begin(subdomain="beta")``) logs in at a registered customer, e.g. one
    of ``everreal_customer``.
    """
    from django_everreal.testing.django_login import EverRealLogin

    return EverRealLogin(client, everreal_fake)


@pytest.fixture
def everreal_webhooks(client: Client, everreal_fake: FakeEverReal) -> EverRealWebhooks:
    """Webhook deliveries of the in-process fake, sent with Django's test ``client``.

    ``everreal_webhooks.deliver("LISTING_CREATED", {...})`` POSTs EverReal's
    envelope to each live registration of that type at ``everreal_fake``
    (e.g. made by ``manage.py everreal_webhooks sync``) and returns the
    responses; without data, a sample of the event's payload goes.
    ``everreal_fake.deliver(...)`` sends over real HTTP instead.
    """
    from django_everreal.testing.webhooks import EverRealWebhooks

    return EverRealWebhooks(everreal_fake, client)
