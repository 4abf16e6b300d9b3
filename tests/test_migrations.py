from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations():
    out = StringIO()
    call_command("makemigrations", "everreal", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
