"""``manage.py demo_customer SUBDOMAIN --base-url URL``: a second customer of the demo.

Registers (or updates) a customer whose EverReal is the fake's extra
customer (``python -m django_everreal.testing --customer SUBDOMAIN``), with
the client the fake made for it. Only against the fake EverReal.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser

from django_everreal.models import Customer


class Command(BaseCommand):
    help = (
        "Register a customer of the fake EverReal in the demo (only against the fake)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("subdomain")
        parser.add_argument("--base-url", required=True, help="the fake's origin")
        parser.add_argument("--name", default="", help="a name for people")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EXAMPLE_USES_FAKE_EVERREAL:
            raise CommandError(
                "Demo customers exist only against the fake EverReal; "
                "add real ones in the admin."
            )
        subdomain = options["subdomain"]
        customer = Customer.objects.filter(subdomain=subdomain).first() or Customer(
            subdomain=subdomain
        )
        customer.name = options["name"] or customer.name
        customer.base_url = options["base_url"]
        # The client the fake makes for each extra customer.
        customer.client_id = f"{subdomain}-client"
        customer.set_client_secret(f"{subdomain}-secret")
        customer.enabled = True
        try:
            customer.full_clean()
        except ValidationError as exc:
            raise CommandError(str(exc)) from None
        customer.save()
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Registered the customer {subdomain} at {customer.base_url}."
            )
