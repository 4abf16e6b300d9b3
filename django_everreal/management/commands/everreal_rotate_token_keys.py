"""``manage.py everreal_rotate_token_keys``: re-encrypt stored tokens with the current key.

The client secrets of the customer registry are encrypted with the same keys
and are re-encrypted with the tokens.

Rotate a key in three steps: put the new key first (``EVERREAL_TOKEN_KEYS``,
or a new ``SECRET_KEY`` with the old one in ``SECRET_KEY_FALLBACKS``), run
this command, then remove the old key. ``--check`` tells whether the last
step is safe yet.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser
from django.db import router
from django.db import transaction
from django.db.models import Model

from django_everreal import crypto
from django_everreal.conf import conf
from django_everreal.models import Customer
from django_everreal.models import TokenFields

ENCRYPTED_FIELDS = ["encrypted_access_token", "encrypted_refresh_token"]
SECRET_FIELDS = ["encrypted_client_secret"]


@dataclass
class Tally:
    tokens: int = 0
    stale: int = 0
    unreadable: int = 0

    def add(self, other: Tally) -> None:
        self.tokens += other.tokens
        self.stale += other.stale
        self.unreadable += other.unreadable


def current_key() -> Fernet:
    """The key new tokens are encrypted with: the first configured one."""
    try:
        crypto.fernet()  # validates every key, with a message naming the setting
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from None
    if conf.TOKEN_KEYS:
        return Fernet(conf.TOKEN_KEYS[0])
    return Fernet(crypto.derive_key(conf.SECRET_KEYS[0]))


def under_key(key: Fernet, value: str) -> bool:
    try:
        key.extract_timestamp(value.encode("ascii"))
    except (InvalidToken, UnicodeError):
        return False
    return True


def encrypted_columns() -> list[tuple[type[Model], list[str]]]:
    """Every installed model that stores tokens (``Account``, ``ServiceAccount``, any
    other), with its encrypted fields, and the registry's client secrets."""
    return [
        *(
            (model, ENCRYPTED_FIELDS)
            for model in apps.get_models()
            if issubclass(model, TokenFields) and not model._meta.proxy
        ),
        (Customer, SECRET_FIELDS),
    ]


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored EverReal token with the current key (the first "
        "of EVERREAL_TOKEN_KEYS, else SECRET_KEY). Run it after putting a new "
        "key first and before removing the old one. With --check, only count "
        "the tokens still under an old key."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help=(
                "Write nothing; report how many tokens are not under the current "
                "key and exit with status 1 if there are any."
            ),
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            help="Rows locked and rewritten per transaction (default: 500).",
        )

    def handle(self, *args: Any, check: bool, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        key = current_key()
        total = Tally()
        for model, fields in encrypted_columns():
            tally = self.rotate(model, fields, key, batch_size, write=not check)
            total.add(tally)
            if options["verbosity"] >= 2:
                self.stdout.write(
                    f"{model._meta.label}: {tally.stale} of {tally.tokens} tokens "
                    f"{'not under' if check else 're-encrypted with'} the current key."
                )
        if total.unreadable:
            self.stderr.write(
                self.style.WARNING(
                    f"{total.unreadable} stored tokens cannot be decrypted with any "
                    "configured key and were left as they are; their accounts must "
                    "log in again (or bring the old key back as a fallback)."
                )
            )
        if check:
            self.stdout.write(
                f"{total.stale} of {total.tokens} stored EverReal tokens are not "
                "encrypted with the current key."
            )
            if total.stale:
                sys.exit(1)
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {total.stale} of {total.tokens} stored EverReal "
                "tokens with the current key."
            )
        )

    def rotate(
        self,
        model: type[Model],
        fields: list[str],
        key: Fernet,
        batch_size: int,
        *,
        write: bool,
    ) -> Tally:
        """One pass over *model* in primary-key order, one transaction per batch.

        Each batch is locked (``select_for_update``) so a token refresh running
        meanwhile waits instead of writing over the rotated ciphertext, or
        having its new tokens overwritten with old ones.
        """
        tally = Tally()
        using = router.db_for_write(model)
        manager = model._default_manager.db_manager(using)
        last_pk: Any = None
        while True:
            with transaction.atomic(using=using):
                rows = manager.order_by("pk")
                if last_pk is not None:
                    rows = rows.filter(pk__gt=last_pk)
                if write:
                    rows = rows.select_for_update()
                batch = list(rows[:batch_size])
                if not batch:
                    return tally
                last_pk = batch[-1].pk
                changed = [
                    row for row in batch if self.rotate_row(row, fields, key, tally)
                ]
                if write and changed:
                    manager.bulk_update(changed, fields)

    @staticmethod
    def rotate_row(row: Model, fields: list[str], key: Fernet, tally: Tally) -> bool:
        """Re-encrypt the row's *fields* in memory; whether any changed."""
        changed = False
        for field in fields:
            value = getattr(row, field)
            if not value:
                continue
            tally.tokens += 1
            if under_key(key, value):
                continue
            try:
                rotated = crypto.reencrypt(value)
            except (InvalidToken, UnicodeError):
                tally.unreadable += 1
                continue
            tally.stale += 1
            setattr(row, field, rotated)
            changed = True
        return changed
