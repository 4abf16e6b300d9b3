"""Webhooks: EverReal's registrations of this site, and the deliveries received."""

from __future__ import annotations

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations
from django.db import models


class Migration(migrations.Migration):
    dependencies = [
        ("everreal", "0005_customers"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookSubscription",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "customer",
                    models.CharField(
                        blank=True,
                        db_index=True,
                        default="",
                        editable=False,
                        help_text="The subdomain of the registered customer; empty for the one in settings.",
                        max_length=63,
                        verbose_name="EverReal customer",
                    ),
                ),
                (
                    "event_type",
                    models.CharField(max_length=100, verbose_name="event type"),
                ),
                (
                    "everreal_id",
                    models.CharField(
                        blank=True, max_length=64, verbose_name="EverReal id"
                    ),
                ),
                (
                    "company_id",
                    models.CharField(
                        blank=True, max_length=64, verbose_name="EverReal company"
                    ),
                ),
                (
                    "token_hash",
                    models.CharField(editable=False, max_length=64, unique=True),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created"),
                ),
                (
                    "service_account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_subscriptions",
                        to="everreal.serviceaccount",
                        verbose_name="service account",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook subscription",
                "verbose_name_plural": "webhook subscriptions",
                "ordering": ["customer", "event_type"],
            },
        ),
        migrations.CreateModel(
            name="WebhookEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "customer",
                    models.CharField(
                        blank=True,
                        db_index=True,
                        default="",
                        editable=False,
                        help_text="The subdomain of the registered customer; empty for the one in settings.",
                        max_length=63,
                        verbose_name="EverReal customer",
                    ),
                ),
                ("uuid", models.CharField(max_length=64, verbose_name="delivery id")),
                (
                    "event_type",
                    models.CharField(max_length=100, verbose_name="event type"),
                ),
                (
                    "subdomain",
                    models.CharField(
                        blank=True, max_length=63, verbose_name="subdomain"
                    ),
                ),
                (
                    "language",
                    models.CharField(
                        blank=True, max_length=35, verbose_name="language"
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="created at EverReal"
                    ),
                ),
                (
                    "data",
                    models.JSONField(blank=True, null=True, verbose_name="data"),
                ),
                (
                    "received_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="received"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "pending"),
                            ("processing", "processing"),
                            ("processed", "processed"),
                            ("failed", "failed"),
                        ],
                        default="pending",
                        max_length=20,
                        verbose_name="status",
                    ),
                ),
                (
                    "attempts",
                    models.PositiveIntegerField(default=0, verbose_name="attempts"),
                ),
                ("last_error", models.TextField(blank=True, verbose_name="last error")),
                (
                    "lease_until",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="processing until"
                    ),
                ),
                (
                    "processed_at",
                    models.DateTimeField(
                        blank=True, null=True, verbose_name="processed"
                    ),
                ),
                (
                    "subscription",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="everreal.webhooksubscription",
                        verbose_name="subscription",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook event",
                "verbose_name_plural": "webhook events",
                "ordering": ["-received_at"],
            },
        ),
        migrations.AddConstraint(
            model_name="webhooksubscription",
            constraint=models.UniqueConstraint(
                fields=("service_account", "event_type"),
                name="everreal_webhook_subscription_unique",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(
                fields=["status", "lease_until"], name="everreal_we_status_a0f13e_idx"
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookevent",
            constraint=models.UniqueConstraint(
                fields=("customer", "uuid"), name="everreal_webhook_event_unique"
            ),
        ),
    ]
