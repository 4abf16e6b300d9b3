"""``manage.py everreal_webhooks sync|list|process|worker``: EverReal's webhooks of this site.

``sync`` makes EverReal's registrations what ``EVERREAL_WEBHOOKS`` says:
per service account, one registration per event type, pointing at a receiver
URL of this site with its own secret. It registers what is missing and
deletes what points at this site but is no longer wanted (or whose secret
this site no longer knows), and leaves registrations of anyone else alone.
Run it again at any time: with nothing to change it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.management.base import CommandError
from django.core.management.base import CommandParser
from django.db import transaction

from django_everreal import protocol
from django_everreal.client import EverRealClient
from django_everreal.conf import conf
from django_everreal.exceptions import EverRealBadResponse
from django_everreal.exceptions import EverRealError
from django_everreal.models import ServiceAccount
from django_everreal.models import WebhookSubscription
from django_everreal.protocol import WEBHOOKS_PATH
from django_everreal.protocol import webhook_id_from_location
from django_everreal.webhooks import new_token
from django_everreal.webhooks import receiver_url
from django_everreal.webhooks import token_hash
from django_everreal.webhooks import token_in_url


@dataclass
class Plan:
    """What ``sync`` does for one service account."""

    service: ServiceAccount
    #: Event types to register anew.
    register: list[str] = field(default_factory=list)
    #: EverReal's registrations (records) of this site to delete.
    delete: list[dict[str, Any]] = field(default_factory=list)
    #: Subscriptions that stay, with EverReal's record of each.
    keep: list[tuple[WebhookSubscription, dict[str, Any]]] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.register or self.delete)


class Command(BaseCommand):
    help = (
        "Reconcile EverReal's webhook registrations with EVERREAL_WEBHOOKS (sync), "
        "show them (list), queue unprocessed deliveries (process), or run the "
        "database task worker after queueing them (worker)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        sync = actions.add_parser("sync", help="register and delete as needed")
        sync.add_argument(
            "--dry-run", action="store_true", help="print the plan, change nothing"
        )
        actions.add_parser("list", help="EverReal's registrations, per service account")
        actions.add_parser("process", help="queue every delivery no live worker holds")
        worker = actions.add_parser(
            "worker",
            help="queue unprocessed deliveries, then run django-tasks-db's db_worker",
        )
        worker.add_argument(
            "worker_args", nargs="*", help="arguments for db_worker, after --"
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action in ("process", "worker"):
            from django_everreal.tasks import requeue_unfinished

            count = requeue_unfinished()
            self.stdout.write(f"Queued {count} unprocessed EverReal webhook events.")
            if action == "worker":
                worker_args = list(options["worker_args"])
                if "--reload" not in worker_args:
                    # Not django-tasks-db's default under DEBUG, where its
                    # autoreloader would restart the worker mid-task on a code
                    # change; ask for it with --reload.
                    worker_args.append("--no-reload")
                call_command("db_worker", *worker_args)
            return
        try:
            wanted = conf.WEBHOOKS
            conf.WEBHOOK_BASE_URL  # noqa: B018 (validates)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        names = sorted(
            {
                *wanted,
                *WebhookSubscription.objects.values_list(
                    "service_account__name", flat=True
                ),
            }
        )
        if not names:
            self.stdout.write("EVERREAL_WEBHOOKS names no service account.")
            return
        failed = False
        for name in names:
            try:
                if action == "list":
                    self.show(name)
                else:
                    self.sync(name, wanted.get(name, []), dry_run=options["dry_run"])
            except (EverRealError, ValueError) as exc:
                failed = True
                self.stderr.write(self.style.ERROR(f"{name}: {exc}"))
        if failed:
            raise CommandError("Some service accounts could not be reconciled.")

    def client(self, name: str) -> EverRealClient:
        try:
            return EverRealClient.for_service(name)
        except EverRealError as exc:
            raise CommandError(str(exc)) from None

    def records(self, client: EverRealClient) -> list[dict[str, Any]]:
        response = client.get(WEBHOOKS_PATH)
        if response.status_code != 200:
            raise ValueError(
                f"EverReal answered HTTP {response.status_code} to the webhook list."
            )
        body = protocol.json_answer(response)
        if not isinstance(body, list):
            raise EverRealBadResponse(
                "EverReal's webhook list is not a JSON array.",
                status=response.status_code,
            )
        return protocol.webhook_records(body)

    def show(self, name: str) -> None:
        client = self.client(name)
        self.stdout.write(f"{name} ({client.customer.origin}):")
        for record in self.records(client):
            ours = token_in_url(record["url"]) is not None
            where = "this site" if ours else record["url"]
            self.stdout.write(
                f"  {record['type']}  id {record['id']}  company "
                f"{record['companyId'] or '-'}  -> {where}"
            )

    def plan(self, name: str, wanted: list[str]) -> tuple[EverRealClient, Plan]:
        client = self.client(name)
        plan = Plan(client.holder)  # type: ignore[arg-type]
        subscriptions = {
            s.token_hash: s
            for s in WebhookSubscription.objects.filter(service_account=plan.service)
        }
        # Receiver URLs of another service account (of the same company at
        # EverReal) are that account's to reconcile.
        others = set(
            WebhookSubscription.objects.exclude(
                service_account=plan.service
            ).values_list("token_hash", flat=True)
        )
        kept: set[str] = set()
        for record in self.records(client):
            token = token_in_url(record["url"])
            if token is None or token_hash(token) in others:
                continue  # someone else's
            subscription = subscriptions.get(token_hash(token))
            if (
                subscription is None
                or subscription.event_type != record["type"]
                or record["type"] not in wanted
                or record["type"] in kept
            ):
                plan.delete.append(record)
            else:
                kept.add(record["type"])
                plan.keep.append((subscription, record))
        plan.register = [t for t in dict.fromkeys(wanted) if t not in kept]
        return client, plan

    def sync(self, name: str, wanted: list[str], *, dry_run: bool) -> None:
        client, plan = self.plan(name, wanted)
        prefix = "would " if dry_run else ""
        for record in plan.delete:
            self.stdout.write(
                f"{name}: {prefix}delete {record['type']} ({record['id']})"
            )
        for event_type in plan.register:
            self.stdout.write(f"{name}: {prefix}register {event_type}")
        if not plan.changes:
            self.stdout.write(
                f"{name}: {len(plan.keep)} registrations, nothing to change."
            )
        if dry_run:
            return
        self.remember(plan.keep)
        for record in plan.delete:
            response = client.delete(f"{WEBHOOKS_PATH}/{record['id']}")
            if response.status_code not in (200, 202, 204, 404):
                raise ValueError(
                    f"EverReal answered HTTP {response.status_code} to deleting "
                    f"{record['type']} ({record['id']})."
                )
        for event_type in plan.register:
            self.register(client, plan.service, event_type)
        # What is neither kept nor just registered points nowhere now.
        WebhookSubscription.objects.filter(service_account=plan.service).exclude(
            event_type__in=wanted
        ).delete()
        if plan.register:
            # EverReal's answer to a registration names no company; its list does.
            self.remember(self.plan(name, wanted)[1].keep)

    @staticmethod
    def remember(keep: list[tuple[WebhookSubscription, dict[str, Any]]]) -> None:
        """Keep EverReal's id and company of each registration that stays."""
        for subscription, record in keep:
            if (subscription.everreal_id, subscription.company_id) != (
                record["id"],
                record["companyId"],
            ):
                subscription.everreal_id = record["id"]
                subscription.company_id = record["companyId"]
                subscription.save(update_fields=["everreal_id", "company_id"])

    def register(
        self, client: EverRealClient, service: ServiceAccount, event_type: str
    ) -> None:
        replaced = WebhookSubscription.objects.filter(
            service_account=service, event_type=event_type
        ).first()
        if replaced is not None and replaced.everreal_id:
            # Registered before, but not in EverReal's list now: in another
            # company of the service account's, say. Its secret is about to
            # be forgotten, so it goes first, where EverReal lets it.
            gone = client.delete(f"{WEBHOOKS_PATH}/{replaced.everreal_id}")
            if gone.status_code not in (200, 202, 204):
                self.stderr.write(
                    self.style.WARNING(
                        f"{service.name}: the earlier {event_type} registration "
                        f"{replaced.everreal_id} could not be deleted (HTTP "
                        f"{gone.status_code}; did the service account's current "
                        "company change?). Its deliveries will get 404; delete "
                        "it in EverReal."
                    )
                )
        token = new_token()
        response = client.post(
            WEBHOOKS_PATH, json={"type": event_type, "url": receiver_url(token)}
        )
        if response.status_code not in (200, 201):
            raise ValueError(
                f"EverReal answered HTTP {response.status_code} to registering {event_type}."
            )
        with transaction.atomic():
            WebhookSubscription.objects.update_or_create(
                service_account=service,
                event_type=event_type,
                defaults={
                    "customer": service.customer,
                    "token_hash": token_hash(token),
                    "everreal_id": webhook_id_from_location(
                        response.headers.get("Location")
                    ),
                },
            )
