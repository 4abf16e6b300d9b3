"""A faithful fake of EverReal for tests and demos.

One implementation, three ways to run it:

* in-process for ``requests`` (needs ``responses``)::

      fake = FakeEverReal()
      with fake.mock():
          requests.post("https://demo.everreal.co/accounts/oauth/token", json={...})

* as an HTTP server: ``python -m django_everreal.testing --port 8001``, or
  ``with FakeEverRealServer(FakeEverReal()) as server: ... server.url``;
* as pytest fixtures ``everreal_fake`` and ``everreal_server``.

Several EverReal customers: fakes with different ``base_url`` can be mocked
at once (one router hands each request to the fake of its origin), the
fixture ``everreal_customer("beta")`` registers a customer with its own
fake, and ``python -m django_everreal.testing --customer beta[:PORT]``
serves one more customer per option, each with its client
``<subdomain>-client`` / ``<subdomain>-secret`` (``customer_clients``).

Webhooks: the fake serves EverReal's registration API
(``/api/external-integrations/webhooks``, kept in ``fake.webhooks``);
``fake.deliver(event_type, data)`` POSTs EverReal's envelope to each live
registration, ``deliver_with_client`` (fixture ``everreal_webhooks``) does
it through Django's test client, and a fake server's
``POST /_fake/webhooks/deliver`` (``python -m django_everreal.testing
deliver EVENT_TYPE``) makes it deliver from outside.

``FaultProxy`` (fixture ``everreal_proxy``) sits in front of the server and
breaks exchanges on purpose: resets, hangs, slow or cut-off answers, gateway
errors, HTML instead of JSON; see ``django_everreal.testing.proxy``.

Like EverReal, a refresh rotates the refresh token and leaves the old one
valid until 50 newer ones of the same client and user push it out;
``FakeEverReal(revoke_rotated_refresh_tokens=True)`` revokes it at once.

Demo client ``demo-client`` / ``demo-secret`` (any ``http://localhost:*`` or
``http://127.0.0.1:*`` redirect URI); demo users ``anna@example.com``
(property manager) and ``tom@example.com`` (tenant), password ``demo``.
The format of a users file is described in ``django_everreal.testing.data``.

Inside, one ``FakeState`` holds all the fake knows; the endpoints
(``authorize``, ``token_endpoint``, ``api``, ``webhook_api``), the
dispatcher (``app``) and the adapters each receive it, and
``FakeEverReal`` is the facade over them. ``Company`` and ``Partner``, the
fake's names before ``FakeCompany`` and ``FakePartner``, still import from
here, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import warnings

from django_everreal.testing import errors
from django_everreal.testing.calls import Call
from django_everreal.testing.clock import FakeClock
from django_everreal.testing.customers import EverRealCustomers
from django_everreal.testing.data import ABSENT
from django_everreal.testing.data import DEMO_CLIENT_ID
from django_everreal.testing.data import DEMO_CLIENT_SECRET
from django_everreal.testing.data import DEMO_PASSWORD
from django_everreal.testing.data import FakeClient
from django_everreal.testing.data import FakeCompany
from django_everreal.testing.data import FakePartner
from django_everreal.testing.data import FakeUser
from django_everreal.testing.data import UsersFileError
from django_everreal.testing.data import customer_clients
from django_everreal.testing.data import customer_users
from django_everreal.testing.data import webhook_sample
from django_everreal.testing.errors import FakeEverRealError
from django_everreal.testing.fake import FakeEverReal
from django_everreal.testing.faults import Fault
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.oauth import s256
from django_everreal.testing.proxy import HTML_PAGE
from django_everreal.testing.proxy import FaultProxy
from django_everreal.testing.proxy import ProxiedRequest
from django_everreal.testing.proxy import ProxyFault
from django_everreal.testing.routes import AUTHORIZE_PATH
from django_everreal.testing.routes import CONTROL_PATH
from django_everreal.testing.routes import DEFAULT_BASE_URL
from django_everreal.testing.routes import GRAPHQL_PATH
from django_everreal.testing.routes import TOKEN_PATH
from django_everreal.testing.routes import USERINFO_PATH
from django_everreal.testing.routes import WEBHOOKS_PATH
from django_everreal.testing.server import FakeEverRealServer
from django_everreal.testing.state import FakeKnobs
from django_everreal.testing.state import FakeState
from django_everreal.testing.tokens import FakeTokenRegistry
from django_everreal.testing.webhook_delivery import EverRealWebhooks
from django_everreal.testing.webhook_delivery import deliver_with_client
from django_everreal.testing.webhook_model import FakeWebhook
from django_everreal.testing.webhook_model import WebhookDelivery

__all__ = [
    "ABSENT",
    "AUTHORIZE_PATH",
    "CONTROL_PATH",
    "DEFAULT_BASE_URL",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_PASSWORD",
    "GRAPHQL_PATH",
    "HTML_PAGE",
    "TOKEN_PATH",
    "USERINFO_PATH",
    "WEBHOOKS_PATH",
    "Call",
    "EverRealCustomers",
    "EverRealWebhooks",
    "FakeClient",
    "FakeClock",
    "FakeCompany",
    "FakeEverReal",
    "FakeEverRealError",
    "FakeEverRealServer",
    "FakeKnobs",
    "FakePartner",
    "FakeRequest",
    "FakeResponse",
    "FakeState",
    "FakeTokenRegistry",
    "FakeUser",
    "FakeWebhook",
    "Fault",
    "FaultProxy",
    "ProxiedRequest",
    "ProxyFault",
    "UsersFileError",
    "WebhookDelivery",
    "customer_clients",
    "customer_users",
    "deliver_with_client",
    "errors",
    "s256",
    "webhook_sample",
]

#: Old names whose use warns: they collided with ``django_everreal.models``.
_DEPRECATED = {"Company": FakeCompany, "Partner": FakePartner}


def __getattr__(name: str) -> object:
    """Resolve a deprecated name, warning the caller to use the new one."""
    if name in _DEPRECATED:
        new = _DEPRECATED[name]
        warnings.warn(
            f"django_everreal.testing.{name} is deprecated; use {new.__name__}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return new
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
