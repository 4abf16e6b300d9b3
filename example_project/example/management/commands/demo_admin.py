"""``manage.py demo_admin``: the admin user of the demo, ``admin`` / ``admin``.

Only for the example site running against the fake EverReal; it refuses to
create a well-known password anywhere else.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError

USERNAME = "admin"
PASSWORD = "admin"  # noqa: S105 -- the demo's documented password


class Command(BaseCommand):
    help = "Create the demo's superuser admin/admin (only against the fake EverReal)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EXAMPLE_USES_FAKE_EVERREAL:
            raise CommandError(
                "The demo admin exists only against the fake EverReal; "
                "use 'manage.py createsuperuser' instead."
            )
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(PASSWORD)
            user.save(update_fields=["password"])
        if created and options["verbosity"] >= 1:
            self.stdout.write(f"Created the superuser {USERNAME} / {PASSWORD}.")
