"""The paths EverReal serves and which endpoint answers each.

A leaf module: every part of the fake (pages, endpoints, dispatch, the CLI)
names paths from here, so none has to import another for a constant.
"""

from __future__ import annotations

from django_everreal.testing.faults import Endpoint

DEFAULT_BASE_URL = "https://demo.everreal.co"
AUTHORIZE_PATH = "/accounts/dialog/authorize"
TOKEN_PATH = "/accounts/oauth/token"  # noqa: S105
USERINFO_PATH = "/accounts/api/userinfo"
GRAPHQL_PATH = "/api/reporting/graphql"
WEBHOOKS_PATH = "/api/external-integrations/webhooks"
#: The fake server's endpoint that makes the fake deliver (loopback callers only).
CONTROL_PATH = "/_fake/webhooks/deliver"

ROUTES: dict[str, Endpoint] = {
    AUTHORIZE_PATH: "authorize",
    TOKEN_PATH: "token",
    USERINFO_PATH: "userinfo",
    GRAPHQL_PATH: "graphql",
    WEBHOOKS_PATH: "webhooks",
}


def route(path: str) -> Endpoint | None:
    """The endpoint serving *path*: one of ``ROUTES``, or a webhook by id."""
    path = path.rstrip("/") or "/"
    endpoint = ROUTES.get(path)
    if endpoint is None and path.startswith(WEBHOOKS_PATH + "/"):
        webhook_id = path[len(WEBHOOKS_PATH) + 1 :]
        if "/" not in webhook_id:
            return "webhooks"
    return endpoint
