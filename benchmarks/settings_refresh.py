"""Django settings of ``bench refresh``: the benchmark's settings, plus social-auth's token refresh.

``UserSocialAuth.get_access_token`` finds its backend in
``AUTHENTICATION_BACKENDS``: EverReal's, storing the tokens in
``extra_data`` as a site wiring social-app-django by hand does
(``benchmarks.refresh.HandWiredEverReal``). Both ways call the fake EverReal
at ``EVERREAL_BENCH_FAKE_URL`` with its demo client.
"""

from __future__ import annotations

import os

from benchmarks.settings import *  # noqa: F403

AUTHENTICATION_BACKENDS = [
    "benchmarks.refresh.HandWiredEverReal",
    "django.contrib.auth.backends.ModelBackend",
]
SOCIAL_AUTH_EVERREAL_BASE_URL = os.environ.get(
    "EVERREAL_BENCH_FAKE_URL", "http://127.0.0.1:1"
)
SOCIAL_AUTH_EVERREAL_KEY = "demo-client"
SOCIAL_AUTH_EVERREAL_SECRET = "demo-secret"  # noqa: S105 -- the fake's demo client
