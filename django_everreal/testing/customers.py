"""Registered EverReal customers for tests, each answered by its own in-process fake.

Needs Django and a database, which are imported only when a customer is
made: the pytest plugin loads this module everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import TYPE_CHECKING
from typing import Any

from django_everreal.testing.data import FakeUser
from django_everreal.testing.data import customer_clients
from django_everreal.testing.data import customer_users
from django_everreal.testing.errors import FakeEverRealError
from django_everreal.testing.fake import FakeEverReal
from django_everreal.testing.mock import mocked_fake

if TYPE_CHECKING:
    from django_everreal.models import Customer


class EverRealCustomers:
    """Makes registry rows (``Customer``) with a started fake behind each.

    ``customers("beta")`` starts a fake at ``https://beta.everreal.co`` with
    the client ``beta-client`` / ``beta-secret`` and the demo users (same
    ids, partner ``beta``), saves the row the site logs in with, and returns
    the fake; ``stop()`` stops every fake it started. *before_save* runs
    before the first row is written, e.g. to unlock pytest-django's
    database.
    """

    def __init__(self, before_save: Callable[[], object] | None = None) -> None:
        self._before_save = before_save
        self._fakes: dict[str, FakeEverReal] = {}

    def __call__(
        self,
        subdomain: str,
        *,
        base_url: str = "",
        name: str = "",
        redirect_uri: str = "",
        enabled: bool = True,
        users: Sequence[FakeUser] | None = None,
        **options: Any,
    ) -> FakeEverReal:
        """Register *subdomain* and start its fake; *options* go to ``FakeEverReal``.

        *base_url* is the customer's origin override (the row's ``base_url``);
        empty, the fake answers at ``https://<subdomain>.everreal.co``. An
        empty *redirect_uri* means ``SOCIAL_AUTH_EVERREAL_REDIRECT_URI``.
        """
        from django_everreal.models import Customer

        subdomain = subdomain.strip().lower()
        if subdomain in self._fakes:
            raise FakeEverRealError(f"The customer {subdomain!r} exists already.")
        fake = FakeEverReal(
            base_url=base_url or f"https://{subdomain}.everreal.co",
            users=customer_users(subdomain) if users is None else users,
            clients=customer_clients(subdomain),
            **options,
        )
        # Two fakes at one origin: the site's calls would reach only one.
        other = mocked_fake(fake.base_url)
        if other is not None:
            raise FakeEverRealError(
                f"{other!r} answers at {fake.base_url} already; give the customer"
                " another subdomain or base_url."
            )
        client = fake.clients[0]
        customer = Customer(
            subdomain=subdomain,
            name=name,
            base_url=base_url,
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            enabled=enabled,
        )
        if self._before_save is not None:
            self._before_save()
        customer.set_client_secret(client.client_secret)
        customer.full_clean()
        fake.start_mock()
        try:
            customer.save()
        except BaseException:
            fake.stop_mock()
            raise
        self._fakes[subdomain] = fake
        return fake

    def __getitem__(self, subdomain: str) -> FakeEverReal:
        """The fake of a customer made here."""
        return self._fakes[subdomain.strip().lower()]

    def customer(self, subdomain: str) -> Customer:
        """The registry row of a customer made here, as stored now."""
        from django_everreal.models import Customer

        return Customer._default_manager.get(subdomain=subdomain.strip().lower())

    def stop(self) -> None:
        """Stop every fake started here; the rows go with the test's transaction."""
        for fake in reversed(list(self._fakes.values())):
            fake.stop_mock()
        self._fakes.clear()
