"""tests.settings on the database the test passes in ``EVERREAL_WORKER_DATABASE`` (JSON)."""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403

DATABASES = {"default": json.loads(os.environ["EVERREAL_WORKER_DATABASE"])}
EVERREAL_WEBHOOK_LEASE = float(os.environ.get("EVERREAL_WORKER_LEASE", "2"))
