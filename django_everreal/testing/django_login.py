"""The browser's part of an EverReal login, played with Django's test client."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.urls import reverse

from django_everreal.testing.fake import FakeEverReal
from django_everreal.testing.mock import mocked_fake
from django_everreal.testing.mock import origin

if TYPE_CHECKING:
    from django.http.response import HttpResponseBase
    from django.test import Client


class EverRealLogin:
    """Runs a login against the fake; the site's redirect URI must be on localhost.

    With ``subdomain`` the login starts for that registered customer, and
    the user logs in at whichever fake started in-process serves the
    authorize URL's origin (e.g. one of the ``everreal_customer`` fixture).
    """

    def __init__(self, client: Client, fake: FakeEverReal) -> None:
        self.client = client
        self.fake = fake

    def begin(self, subdomain: str | None = None) -> str:
        """Start the login on the site (for *subdomain*); the authorize URL it redirects to."""
        data = {} if subdomain is None else {"subdomain": subdomain}
        response = self.client.post(reverse("social:begin", args=("everreal",)), data)
        if response.status_code != 302:
            raise AssertionError(
                f"The login did not start: HTTP {response.status_code}."
            )
        return str(response["Location"])

    def complete(self, location: str) -> HttpResponseBase:
        """Follow EverReal's redirect back to the site's callback."""
        parts = urlsplit(location)
        return self.client.get(f"{parts.path}?{parts.query}")

    def fake_for(self, authorize_url: str) -> FakeEverReal:
        """The started fake that serves *authorize_url*; ``AssertionError`` when none does."""
        fake = mocked_fake(authorize_url)
        if fake is None:
            raise AssertionError(
                f"No fake EverReal started in-process serves {origin(authorize_url)}."
            )
        return fake

    def __call__(
        self,
        email: str,
        password: str = "demo",  # noqa: S107
        *,
        subdomain: str | None = None,
    ) -> HttpResponseBase:
        authorize_url = self.begin(subdomain)
        fake = self.fake if subdomain is None else self.fake_for(authorize_url)
        return self.complete(fake.authorize_redirect(authorize_url, email, password))
