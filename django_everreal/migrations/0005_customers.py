"""Several EverReal customers: the registry, and every row's customer.

Ids of partners, companies and sync locks grow to hold a customer's prefix
(``acme:<id>``); altering them on MySQL and MariaDB resets their collation,
so the binary collation of migration 0004 is applied again.
"""

from __future__ import annotations

import importlib

from django.conf import settings
from django.db import migrations
from django.db import models

binary_collation = importlib.import_module(
    "django_everreal.migrations.0004_case_sensitive_ids_on_mysql"
).binary_collation


class Migration(migrations.Migration):
    dependencies = [
        ("everreal", "0004_case_sensitive_ids_on_mysql"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Customer",
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
                    "subdomain",
                    models.CharField(
                        help_text="The customer's EverReal subdomain: acme for https://acme.everreal.co. It names the customer in login URLs (?subdomain=acme).",
                        max_length=63,
                        unique=True,
                        verbose_name="subdomain",
                    ),
                ),
                (
                    "name",
                    models.CharField(blank=True, max_length=255, verbose_name="name"),
                ),
                (
                    "base_url",
                    models.CharField(
                        blank=True,
                        help_text="Only for staging or the fake EverReal: an origin such as http://127.0.0.1:8002 that replaces https://<subdomain>.everreal.co.",
                        max_length=200,
                        verbose_name="origin override",
                    ),
                ),
                (
                    "client_id",
                    models.CharField(max_length=255, verbose_name="client id"),
                ),
                (
                    "encrypted_client_secret",
                    models.TextField(blank=True, default="", editable=False),
                ),
                (
                    "redirect_uri",
                    models.URLField(
                        blank=True,
                        help_text="The callback URL registered with this customer, used verbatim; empty: SOCIAL_AUTH_EVERREAL_REDIRECT_URI.",
                        max_length=2000,
                        verbose_name="redirect URI",
                    ),
                ),
                (
                    "enabled",
                    models.BooleanField(
                        default=True,
                        help_text="A disabled customer's users cannot log in, its tokens are not refreshed and its scopes grant nothing; its data stays.",
                        verbose_name="enabled",
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(auto_now_add=True, verbose_name="created"),
                ),
                (
                    "updated_at",
                    models.DateTimeField(auto_now=True, verbose_name="changed"),
                ),
            ],
            options={
                "verbose_name": "EverReal customer",
                "verbose_name_plural": "EverReal customers",
                "ordering": ["subdomain"],
            },
        ),
        migrations.AddField(
            model_name="account",
            name="customer",
            field=models.CharField(
                blank=True,
                db_index=True,
                default="",
                editable=False,
                help_text="The subdomain of the registered customer; empty for the one in settings.",
                max_length=63,
                verbose_name="EverReal customer",
            ),
        ),
        migrations.AddField(
            model_name="company",
            name="customer",
            field=models.CharField(
                blank=True,
                db_index=True,
                default="",
                editable=False,
                help_text="The subdomain of the registered customer; empty for the one in settings.",
                max_length=63,
                verbose_name="EverReal customer",
            ),
        ),
        migrations.AddField(
            model_name="partner",
            name="customer",
            field=models.CharField(
                blank=True,
                db_index=True,
                default="",
                editable=False,
                help_text="The subdomain of the registered customer; empty for the one in settings.",
                max_length=63,
                verbose_name="EverReal customer",
            ),
        ),
        migrations.AddField(
            model_name="serviceaccount",
            name="customer",
            field=models.CharField(
                blank=True,
                db_index=True,
                default="",
                editable=False,
                help_text="The subdomain of the registered customer; empty for the one in settings.",
                max_length=63,
                verbose_name="EverReal customer",
            ),
        ),
        migrations.AlterField(
            model_name="account",
            name="everreal_id",
            field=models.CharField(max_length=64, verbose_name="EverReal id"),
        ),
        migrations.AlterField(
            model_name="company",
            name="id",
            field=models.CharField(
                max_length=128, primary_key=True, serialize=False, verbose_name="key"
            ),
        ),
        migrations.AlterField(
            model_name="partner",
            name="id",
            field=models.CharField(
                max_length=128, primary_key=True, serialize=False, verbose_name="key"
            ),
        ),
        migrations.AlterField(
            model_name="synclock",
            name="everreal_id",
            field=models.CharField(
                max_length=128, primary_key=True, serialize=False, verbose_name="key"
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(
                fields=("customer", "everreal_id"), name="everreal_account_unique"
            ),
        ),
        migrations.RunPython(
            binary_collation, migrations.RunPython.noop, atomic=False, elidable=False
        ),
    ]
