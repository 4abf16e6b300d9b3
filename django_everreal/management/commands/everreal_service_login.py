"""``manage.py everreal_service_login NAME --username U``: a service account's tokens.

Tasks and commands act as an EverReal user through
``EverRealClient.for_service(NAME)``. This command logs that user in once
with the password grant and stores the tokens, encrypted; from then on the
refresh token keeps the account working. Run it once per service account,
and again only when EverReal asks for a new login: EverReal keeps at most 50
refresh tokens per client and user and deletes the oldest, so running the
password grant per request or per task logs everyone else out.
"""

from __future__ import annotations

import getpass
import logging
import sys
from typing import IO
from typing import Any

import requests
from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser
from django.core.validators import validate_slug
from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from django_everreal import protocol
from django_everreal.conf import conf
from django_everreal.customers import get_customer
from django_everreal.exceptions import InvalidTokenResponse
from django_everreal.exceptions import UnknownCustomer
from django_everreal.messages import heimdall_message
from django_everreal.models import Customer
from django_everreal.models import ServiceAccount
from django_everreal.transport import Deadline

logger = logging.getLogger("django_everreal")


class Command(BaseCommand):
    help = (
        "Log an EverReal user in with the password grant and store the tokens, "
        "encrypted, as the service account NAME. Run it once, not per request or "
        "task: EverReal keeps at most 50 refresh tokens per client and user. "
        "The password is asked for (or read from stdin) and never stored."
    )
    # call_command(..., stdin=io.StringIO("password\n")) for --password-stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "name", help="The service account's name, as for_service(NAME) uses it."
        )
        parser.add_argument(
            "--username", required=True, help="The EverReal user's email address."
        )
        parser.add_argument(
            "--customer",
            default="",
            metavar="SUBDOMAIN",
            help="The registered EverReal customer the user belongs to "
            "(default: the one in settings).",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of stdin instead of asking.",
        )

    @sensitive_variables()
    def handle(
        self,
        *args: Any,
        name: str,
        username: str,
        password_stdin: bool,
        customer: str = "",
        **options: Any,
    ) -> None:
        try:
            validate_slug(name)
        except ValidationError:
            raise CommandError(
                f"{name!r} is not a valid name: use letters, digits, '-' and '_'."
            ) from None
        username = username.strip()
        if not username:
            raise CommandError("--username must not be empty.")
        try:
            everreal = get_customer(customer)
            everreal.origin  # noqa: B018 (the property validates)
        except (ImproperlyConfigured, UnknownCustomer) as exc:
            raise CommandError(str(exc)) from None
        stdin: IO[str] = options.get("stdin") or sys.stdin
        password = self.read_password(username, stdin, from_stdin=password_stdin)
        tokens = self.password_grant(everreal, username, password)
        account = self.store(name, username, tokens, everreal)
        logger.info("EverReal service account %r logged in as %s.", name, username)
        self.stdout.write(
            self.style.SUCCESS(
                f"Service account {name!r} is logged in to EverReal as {username}"
                f"{f' (EverReal id {account.everreal_id})' if account.everreal_id else ''}."
            )
        )
        self.stdout.write(
            "Run this again only when EverReal asks for a new login, never per "
            "request or task: EverReal keeps at most 50 refresh tokens per client "
            "and user and deletes the oldest."
        )

    @sensitive_variables()
    def read_password(self, username: str, stdin: IO[str], *, from_stdin: bool) -> str:
        if from_stdin:
            password = stdin.readline().rstrip("\r\n")
        else:
            try:
                password = getpass.getpass(f"EverReal password of {username}: ")
            except (EOFError, KeyboardInterrupt):
                raise CommandError("No password given.") from None
        if not password:
            raise CommandError("No password given.")
        return password

    @sensitive_variables()
    def password_grant(
        self, customer: Customer, username: str, password: str
    ) -> dict[str, Any]:
        """EverReal's password grant, exactly once: no retry, which would cost a refresh token."""
        grant = {
            "username": username,
            "password": password,
            "scope": " ".join(conf.SCOPE),
            "grant_type": "password",
        }
        try:
            tokens = protocol.request_tokens(customer, grant, Deadline.for_operation())
        except requests.RequestException as exc:
            raise CommandError(
                f"EverReal's token endpoint could not be reached ({type(exc).__name__})."
            ) from None
        except protocol.TokenRefused as exc:
            raise CommandError(refusal_message(exc.error)) from None
        except InvalidTokenResponse as exc:
            raise CommandError(
                f"{exc.detail} Nothing was stored; try again later."
            ) from None
        if tokens["refresh_token"] is None:
            raise CommandError(
                "EverReal logged the user in but issued no refresh token, so the "
                "service account would stop working within the hour. Check that "
                "the client may use the 'offline_access' scope."
            )
        return tokens

    @sensitive_variables()
    def store(
        self, name: str, username: str, tokens: dict[str, Any], customer: Customer
    ) -> ServiceAccount:
        with transaction.atomic():
            account, _ = ServiceAccount.objects.select_for_update().get_or_create(
                name=name, defaults={"username": username}
            )
            account.username = username
            account.customer = customer.key
            account.everreal_id = protocol.token_subject(tokens["access_token"])
            account.set_tokens(
                tokens["access_token"], tokens["refresh_token"], tokens["expires_in"]
            )
            account.reauth_required = False
            account.save()
        return account


def refusal_message(error: protocol.TokenError) -> str:
    """Why EverReal refused, in words, with its codes for the administrator."""
    known = heimdall_message(error.description)
    if known is not None:
        readable = str(known)
    elif error.status == 401 or error.error == "invalid_client":
        readable = (
            "EverReal refused this site's client credentials "
            "(SOCIAL_AUTH_EVERREAL_KEY and SOCIAL_AUTH_EVERREAL_SECRET, or the "
            "customer's in the registry)."
        )
    elif error.status == 429 or error.status >= 500:
        readable = "EverReal cannot answer right now; try again later."
    else:
        readable = "EverReal refused the login."
    return f"{readable} ({error.codes})"
