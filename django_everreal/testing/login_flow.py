"""The browser's part of an EverReal login, played with Django's test client."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.urls import reverse

if TYPE_CHECKING:
    from django.http.response import HttpResponseBase
    from django.test import Client

    from django_everreal.testing.fake import FakeEverReal


class EverRealLogin:
    """Runs a login against the fake; the site's redirect URI must be on localhost."""

    def __init__(self, client: Client, fake: FakeEverReal) -> None:
        self.client = client
        self.fake = fake

    def begin(self) -> str:
        """Start the login on the site; the authorize URL it redirects to."""
        response = self.client.post(reverse("social:begin", args=("everreal",)))
        if response.status_code != 302:
            raise AssertionError(
                f"The login did not start: HTTP {response.status_code}."
            )
        return str(response["Location"])

    def complete(self, location: str) -> HttpResponseBase:
        """Follow EverReal's redirect back to the site's callback."""
        parts = urlsplit(location)
        return self.client.get(f"{parts.path}?{parts.query}")

    def __call__(self, email: str, password: str = "demo") -> HttpResponseBase:  # noqa: S107
        return self.complete(
            self.fake.authorize_redirect(self.begin(), email, password)
        )
