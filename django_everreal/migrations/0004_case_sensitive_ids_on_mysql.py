"""EverReal ids compare case-sensitively on MySQL and MariaDB too.

Their usual collations (``utf8mb4_general_ci``, ``utf8mb4_unicode_ci``...)
ignore case: there ``abc`` and ``ABC`` would be one lock, one account, one
company and one ``UserSocialAuth`` link, where EverReal has two users. This
gives the id columns, and the foreign-key columns that point at them (other
apps' too), the binary collation of their character set. On other databases
it does nothing, and the models' state does not change.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

#: (app label, model, field): the EverReal ids, their foreign keys, and
#: social-auth's ``uid`` (unique with the provider: under a case-insensitive
#: collation the second of two ids that differ in case could not be linked).
ID_FIELDS = [
    ("everreal", "Partner", "id"),
    ("everreal", "Company", "id"),
    ("everreal", "Company", "partner"),
    ("everreal", "Account", "everreal_id"),
    ("everreal", "Account", "current_company"),
    ("everreal", "Membership", "company"),
    ("everreal", "SyncLock", "everreal_id"),
    ("everreal", "ServiceAccount", "everreal_id"),
    ("social_django", "UserSocialAuth", "uid"),
]


def binary_collation(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.vendor != "mysql":
        return
    quote = schema_editor.quote_name
    columns = set()
    for app_label, model_name, field_name in ID_FIELDS:
        model = apps.get_model(app_label, model_name)
        columns.add((model._meta.db_table, model._meta.get_field(field_name).column))
    with connection.cursor() as cursor:
        # Foreign keys that point at these columns, wherever they are: theirs
        # must change too, and MariaDB changes none while such a key exists.
        cursor.execute(
            "SELECT k.CONSTRAINT_NAME, k.TABLE_NAME, k.COLUMN_NAME,"
            " k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME,"
            " r.UPDATE_RULE, r.DELETE_RULE"
            " FROM information_schema.KEY_COLUMN_USAGE k"
            " JOIN information_schema.REFERENTIAL_CONSTRAINTS r"
            " ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA"
            " AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME"
            " AND r.TABLE_NAME = k.TABLE_NAME"
            " WHERE k.TABLE_SCHEMA = DATABASE()"
            " AND k.REFERENCED_TABLE_SCHEMA = DATABASE()"
        )
        foreign_keys = [
            row for row in cursor.fetchall() if (row[3], row[4]) in columns
        ]
        columns.update((row[1], row[2]) for row in foreign_keys)
        cursor.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE,"
            " CHARACTER_SET_NAME, COLLATION_NAME"
            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
        )
        changes: dict[str, list[str]] = {}
        for table, column, type_, nullable, charset, collation in cursor.fetchall():
            if (table, column) in columns and not collation.endswith("_bin"):
                changes.setdefault(table, []).append(
                    f"MODIFY {quote(column)} {type_} CHARACTER SET {charset}"
                    f" COLLATE {charset}_bin {'NULL' if nullable == 'YES' else 'NOT NULL'}"
                )
    if not changes:
        return
    for name, table, *_ in foreign_keys:
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} DROP FOREIGN KEY {quote(name)}"
        )
    for table, modifications in changes.items():
        schema_editor.execute(f"ALTER TABLE {quote(table)} {', '.join(modifications)}")
    for name, table, column, to_table, to_column, on_update, on_delete in foreign_keys:
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)}"
            f" FOREIGN KEY ({quote(column)}) REFERENCES {quote(to_table)} ({quote(to_column)})"
            f" ON UPDATE {on_update} ON DELETE {on_delete}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("everreal", "0003_refresh_failed_at"),
        ("social_django", "0022_nonce_timestamp_index"),
    ]

    operations = [
        # DDL, which MySQL and MariaDB cannot roll back: outside a transaction.
        migrations.RunPython(
            binary_collation, migrations.RunPython.noop, atomic=False, elidable=False
        ),
    ]
