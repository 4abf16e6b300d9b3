"""``manage.py everreal_sync [--user EMAIL ...] [--customer SUBDOMAIN ...]``: re-read linked users."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser
from django.db.models import Q

from django_everreal import sync
from django_everreal.models import Account


class Command(BaseCommand):
    help = (
        "Re-read the userinfo of linked EverReal accounts with their stored tokens "
        "and update accounts, companies and scopes as a login would."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--user",
            action="append",
            default=[],
            metavar="EMAIL",
            help="Only the account with this email (repeatable). Default: all.",
        )
        parser.add_argument(
            "--customer",
            action="append",
            default=[],
            metavar="SUBDOMAIN",
            help="Only the accounts of this registered customer (repeatable; "
            "'' for the one in settings). Default: all.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        accounts = Account.objects.select_related("user").order_by("pk")
        if options["customer"]:
            accounts = accounts.filter(
                customer__in=[c.strip().lower() for c in options["customer"]]
            )
        emails = options["user"]
        if emails:
            query = Q()
            for email in emails:
                query |= Q(email__iexact=email) | Q(user__email__iexact=email)
            accounts = accounts.filter(query)
            if not accounts.exists():
                raise CommandError(
                    f"No linked EverReal account for {', '.join(emails)}."
                )

        tally = sync.ResyncTally()
        for result in sync.resync_accounts(accounts.iterator()):
            label = str(tally.add(result).account)
            if result.outcome == sync.SYNCED:
                self.stdout.write(f"{label}: synced")
            elif result.outcome == sync.REAUTH_REQUIRED:
                self.stdout.write(self.style.WARNING(f"{label}: re-login needed"))
            else:
                self.stderr.write(self.style.ERROR(f"{label}: failed: {result.detail}"))
        if tally.counts[sync.FAILED]:
            raise CommandError(tally.summary())
        self.stdout.write(self.style.SUCCESS(tally.summary()))
