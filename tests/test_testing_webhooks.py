"""Webhooks in the fake EverReal: the registration API, envelopes, deliveries, the CLI."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.test import override_settings

from django_everreal.models import WebhookEvent
from django_everreal.models import WebhookSubscription
from django_everreal.testing import CONTROL_PATH
from django_everreal.testing import WEBHOOKS_PATH
from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeRequest
from django_everreal.testing import FakeWebhook
from django_everreal.testing import webhook_sample
from django_everreal.testing.__main__ import main as cli_main
from django_everreal.testing.data import DEMO_LISTING_ID
from django_everreal.testing.data import DEMO_PARTNER
from django_everreal.testing.http_messages import Headers
from django_everreal.testing.webhooks import control_deliver
from django_everreal.testing.webhooks import is_loopback
from django_everreal.webhooks import token_in_url

BASE = "https://demo.everreal.co"
HOOKS_URL = f"{BASE}{WEBHOOKS_PATH}"
TIMEOUT = 5
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RECEIVER = "https://site.example/hooks/s3cr3t-token/"


def bearer(fake: FakeEverReal, email: str = "anna@example.com") -> dict[str, str]:
    token = fake.issue_tokens(email)["access_token"]
    return {"Authorization": f"Bearer {token}"}


def register(
    fake: FakeEverReal, event_type: str, url: str = RECEIVER, **headers: str
) -> requests.Response:
    return requests.post(
        HOOKS_URL,
        json={"type": event_type, "url": url},
        headers={**bearer(fake), **headers},
        timeout=TIMEOUT,
    )


def listed(fake: FakeEverReal, email: str = "anna@example.com") -> list[dict[str, Any]]:
    response = requests.get(HOOKS_URL, headers=bearer(fake, email), timeout=TIMEOUT)
    assert response.status_code == 200
    records: list[dict[str, Any]] = response.json()
    return records


# The registration API.


def test_register_list_and_delete(everreal_fake):
    anna = everreal_fake.user("anna@example.com")
    response = register(everreal_fake, "LISTING_CREATED")

    assert response.status_code == 200
    assert response.content == b""
    new_id = response.headers["Location"]
    assert str(uuid.UUID(new_id)) == new_id  # a bare UUID, not a URL
    [record] = listed(everreal_fake)
    assert record == {
        "id": new_id,
        "type": "LISTING_CREATED",
        "partnerId": anna.partner.id,
        "companyId": anna.current_company_id,
        "connectedByUserId": anna.id,
        "url": RECEIVER,
        "createdAt": record["createdAt"],
        "updatedAt": record["createdAt"],
        "deletedAt": None,
    }
    assert ISO_UTC.match(record["createdAt"])
    assert [hook.id for hook in everreal_fake.webhooks] == [new_id]

    deleted = requests.delete(
        f"{HOOKS_URL}/{new_id}", headers=bearer(everreal_fake), timeout=TIMEOUT
    )

    assert deleted.status_code == 200
    assert listed(everreal_fake) == []
    assert everreal_fake.live_webhooks() == []
    [kept] = everreal_fake.webhooks  # soft deletion: the record stays, marked
    assert ISO_UTC.match(kept.deleted_at or "")
    assert kept.as_json()["deletedAt"] == kept.deleted_at


def test_deleting_twice_or_an_unknown_id_is_404(everreal_fake):
    new_id = register(everreal_fake, "LISTING_CREATED").headers["Location"]
    url = f"{HOOKS_URL}/{new_id}"
    assert requests.delete(url, headers=bearer(everreal_fake), timeout=TIMEOUT).ok

    again = requests.delete(url, headers=bearer(everreal_fake), timeout=TIMEOUT)
    unknown = requests.delete(
        f"{HOOKS_URL}/{uuid.uuid4()}", headers=bearer(everreal_fake), timeout=TIMEOUT
    )

    assert again.status_code == unknown.status_code == 404
    assert unknown.json()["statusCode"] == 404


def test_records_belong_to_the_callers_current_company(everreal_fake):
    anna = everreal_fake.user("anna@example.com")
    new_id = register(everreal_fake, "LISTING_CREATED").headers["Location"]
    assert [r["id"] for r in listed(everreal_fake, "tom@example.com")] == [new_id]

    anna.current_company_id = anna.companies[1].id

    assert listed(everreal_fake) == []
    other = requests.delete(
        f"{HOOKS_URL}/{new_id}", headers=bearer(everreal_fake), timeout=TIMEOUT
    )
    assert other.status_code == 404
    assert len(everreal_fake.live_webhooks()) == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic eA=="}],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", ""), ("POST", ""), ("DELETE", "/d32d5912-4496-4398-814e-a734ccadb615")],
)
def test_every_operation_needs_an_access_token(everreal_fake, headers, method, path):
    response = requests.request(
        method,
        HOOKS_URL + path,
        json={"type": "LISTING_CREATED", "url": RECEIVER},
        headers=headers,
        timeout=TIMEOUT,
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert "Bearer" in response.headers["WWW-Authenticate"]
    assert everreal_fake.webhooks == []


def test_a_refresh_token_or_an_expired_access_token_is_refused(everreal_fake):
    tokens = everreal_fake.issue_tokens("anna@example.com")
    refresh = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert requests.get(HOOKS_URL, headers=refresh, timeout=TIMEOUT).status_code == 401

    everreal_fake.advance_clock(everreal_fake.access_token_lifetime + 1)
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(HOOKS_URL, headers=access, timeout=TIMEOUT).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"url": RECEIVER},
        {"type": "", "url": RECEIVER},
        {"type": "   ", "url": RECEIVER},
        {"type": 7, "url": RECEIVER},
        {"type": "LISTING_CREATED"},
        {"type": "LISTING_CREATED", "url": ""},
        {"type": "LISTING_CREATED", "url": "ftp://site.example/hook"},
        {"type": "LISTING_CREATED", "url": "/hooks/relative"},
        {"type": "LISTING_CREATED", "url": "https:///no-host"},
        {"type": "LISTING_CREATED", "url": "https://site.example:99999/"},
        {"type": "LISTING_CREATED", "url": "https://site.example/a b"},
        {"type": "LISTING_CREATED", "url": ["https://site.example/"]},
        ["LISTING_CREATED", RECEIVER],
    ],
)
def test_a_bad_body_is_400(everreal_fake, body):
    response = requests.post(
        HOOKS_URL, json=body, headers=bearer(everreal_fake), timeout=TIMEOUT
    )

    assert response.status_code == 400
    assert response.json()["statusCode"] == 400
    assert response.json()["message"]
    assert "Location" not in response.headers
    assert everreal_fake.webhooks == []


def test_a_form_body_is_400(everreal_fake):
    response = requests.post(
        HOOKS_URL,
        data={"type": "LISTING_CREATED", "url": RECEIVER},
        headers=bearer(everreal_fake),
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert everreal_fake.webhooks == []


def test_other_methods_are_405(everreal_fake):
    put = requests.put(HOOKS_URL, headers=bearer(everreal_fake), timeout=TIMEOUT)
    get_one = requests.get(
        f"{HOOKS_URL}/{uuid.uuid4()}", headers=bearer(everreal_fake), timeout=TIMEOUT
    )

    assert put.status_code == get_one.status_code == 405
    assert put.headers["Allow"] == "GET, POST"
    assert get_one.headers["Allow"] == "DELETE"


def test_calls_are_recorded_rate_limited_and_can_fail(everreal_fake):
    register(everreal_fake, "LISTING_CREATED")
    listed(everreal_fake)
    assert [(c.method, c.status) for c in everreal_fake.calls("webhooks")] == [
        ("POST", 200),
        ("GET", 200),
    ]
    assert everreal_fake.last_call("webhooks").headers["Authorization"]

    everreal_fake.fail_next(
        "webhooks", 403, {"code": "server_error", "statusCode": 403}
    )
    refused = requests.get(HOOKS_URL, headers=bearer(everreal_fake), timeout=TIMEOUT)
    assert refused.status_code == 403
    assert refused.json() == {"code": "server_error", "statusCode": 403}

    # Two calls counted so far: a fault answers before the limiter.
    everreal_fake.rate_limit = 2
    limited = requests.get(HOOKS_URL, headers=bearer(everreal_fake), timeout=TIMEOUT)
    assert limited.status_code == 429
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    # Webhooks are an API of their own: userinfo still has budget.
    userinfo = requests.get(
        f"{BASE}/accounts/api/userinfo", headers=bearer(everreal_fake), timeout=TIMEOUT
    )
    assert userinfo.status_code == 200


def test_add_webhook_registers_without_a_request(everreal_fake):
    hook = everreal_fake.add_webhook(
        "LISTING_UPDATED", RECEIVER, user="tom@example.com"
    )

    assert isinstance(hook, FakeWebhook)
    assert hook.connected_by_user_id == everreal_fake.user("tom@example.com").id
    assert [r["id"] for r in listed(everreal_fake)] == [hook.id]
    assert everreal_fake.calls("webhooks") == [everreal_fake.last_call("webhooks")]
    with pytest.raises(ValueError, match="http"):
        everreal_fake.add_webhook("LISTING_UPDATED", "mailto:a@example.com")


# Envelopes.


def test_deliveries_are_one_envelope_per_live_registration_of_the_type():
    fake = FakeEverReal()
    first = fake.add_webhook("LISTING_CREATED", "https://a.example/hook/1")
    fake.add_webhook("LISTING_CREATED", "https://b.example/hook/2")
    fake.add_webhook("LISTING_UPDATED", "https://a.example/hook/3")
    first.deleted_at = "2024-01-01T00:00:00.000Z"

    deliveries = fake.webhook_deliveries("LISTING_CREATED", {"id": "L-1"})

    assert [d.url for d in deliveries] == ["https://b.example/hook/2"]
    [delivery] = deliveries
    envelope = delivery.envelope
    assert set(envelope) == {
        "uuid",
        "operation",
        "subdomain",
        "language",
        "createdAt",
        "data",
    }
    assert uuid.UUID(envelope["uuid"]).version == 4
    assert envelope["operation"] == "LISTING_CREATED"
    assert envelope["subdomain"] == "demo"
    assert envelope["language"] == "de-DE"
    assert ISO_UTC.match(envelope["createdAt"])
    assert envelope["data"] == {"id": "L-1"}
    assert json.loads(delivery.body) == envelope
    assert delivery.origin == "https://b.example"
    assert fake.webhook_deliveries("LISTING_DELETED") == []


def test_each_delivery_has_its_own_uuid_and_data():
    fake = FakeEverReal()
    fake.add_webhook("LISTING_CREATED", "https://a.example/1")
    fake.add_webhook("LISTING_CREATED", "https://a.example/2")
    data: dict[str, Any] = {"id": "L-1", "nested": {"n": 1}}

    one, two = fake.webhook_deliveries("LISTING_CREATED", data)
    again = fake.webhook_deliveries("LISTING_CREATED", data)[0]

    assert (
        len({one.envelope["uuid"], two.envelope["uuid"], again.envelope["uuid"]}) == 3
    )
    first: Any = one.envelope["data"]
    second: Any = two.envelope["data"]
    first["nested"]["n"] = 2
    assert second["nested"]["n"] == 1
    assert data["nested"]["n"] == 1


def test_the_subdomain_is_the_customers():
    beta = FakeEverReal(base_url="https://beta.everreal.co")
    beta.add_webhook("LISTING_CREATED", "https://a.example/1")
    local = FakeEverReal(base_url="http://127.0.0.1:8002")
    local.add_webhook("LISTING_CREATED", "https://a.example/1")

    assert beta.webhook_deliveries("LISTING_CREATED")[0].envelope["subdomain"] == "beta"
    assert local.subdomain == DEMO_PARTNER.subdomain
    given = local.webhook_deliveries("LISTING_CREATED", subdomain="acme")
    assert given[0].envelope["subdomain"] == "acme"
    local.subdomain = "gamma"
    assert (
        local.webhook_deliveries("LISTING_CREATED")[0].envelope["subdomain"] == "gamma"
    )


def test_samples_have_the_documented_shapes():
    applied = webhook_sample("LISTING_CANDIDATE_APPLIED")
    assert {
        "id",
        "candidateSource",
        "email",
        "firstName",
        "lastName",
        "listing",
    } <= set(applied)
    listing = applied["listing"]
    assert listing["id"] == DEMO_LISTING_ID
    assert {"zip", "city", "streetNumber", "streetName", "placeId"} <= set(
        listing["property"]["address"]
    )
    assert {"id", "objectId", "name", "type"} <= set(listing["unit"])

    signed = webhook_sample("LISTING_CONTRACT_FLOW_SIGNED")
    assert {"id", "contractFlowType", "status", "auditTrailFile"} <= set(signed)
    assert "contractTemplateId" not in signed
    assert signed["metadata"]["listingId"] == DEMO_LISTING_ID

    assert webhook_sample("LISTING_PUBLISHED_TO_CHANNEL")["id"] == DEMO_LISTING_ID
    assert webhook_sample("PROPERTY_UPDATED")["id"] == listing["property"]["id"]
    assert webhook_sample("SOMETHING_NEW")["id"]
    # Fresh on each call: a test may change its copy.
    applied["email"] = "x@example.com"
    assert webhook_sample("LISTING_CANDIDATE_APPLIED")["email"] == "tom@example.com"


def test_deliveries_default_to_the_sample():
    fake = FakeEverReal()
    fake.add_webhook("LISTING_CONTRACT_FLOW_SIGNED", "https://a.example/1")
    [delivery] = fake.webhook_deliveries("LISTING_CONTRACT_FLOW_SIGNED")
    assert delivery.envelope["data"] == webhook_sample("LISTING_CONTRACT_FLOW_SIGNED")


# Real deliveries over HTTP.


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A tiny HTTP server on loopback that records what it is sent."""

    status: int = 200
    received: list[Received] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        timeout = 5

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.received.append(
                Received(self.command, self.path, dict(self.headers.items()), body)
            )
            self.send_response(state.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_deliver_posts_json_to_each_registration(receiver, caplog):
    fake = FakeEverReal()
    secret_url = f"{receiver.url}/hooks/s3cr3t-one/"
    fake.add_webhook("LISTING_PUBLISHED_TO_CHANNEL", secret_url)
    fake.add_webhook(
        "LISTING_PUBLISHED_TO_CHANNEL", f"{receiver.url}/hooks/s3cr3t-two/"
    )
    gone = f"http://127.0.0.1:{closed_port()}/hooks/s3cr3t-gone/"
    fake.add_webhook("LISTING_PUBLISHED_TO_CHANNEL", gone)
    fake.add_webhook("LISTING_CREATED", f"{receiver.url}/hooks/other/")

    with caplog.at_level(logging.DEBUG, logger="django_everreal.testing"):
        results = fake.deliver("LISTING_PUBLISHED_TO_CHANNEL", {"id": "L-9"}, timeout=2)

    assert results == [
        (secret_url, 200),
        (f"{receiver.url}/hooks/s3cr3t-two/", 200),
        (gone, None),
    ]
    assert [r.path for r in receiver.received] == [
        "/hooks/s3cr3t-one/",
        "/hooks/s3cr3t-two/",
    ]
    first = receiver.received[0]
    assert first.method == "POST"
    assert first.headers["Content-Type"] == "application/json"
    envelope = json.loads(first.body)
    assert envelope["operation"] == "LISTING_PUBLISHED_TO_CHANNEL"
    assert envelope["data"] == {"id": "L-9"}
    assert receiver.url in caplog.text
    assert "s3cr3t" not in caplog.text


def test_deliver_reports_the_receivers_error_status(receiver):
    receiver.status = 503
    fake = FakeEverReal()
    fake.add_webhook("LISTING_CREATED", f"{receiver.url}/hooks/x/")
    assert fake.deliver("LISTING_CREATED") == [(f"{receiver.url}/hooks/x/", 503)]


def test_a_redirect_is_not_followed(receiver):
    receiver.status = 302
    fake = FakeEverReal()
    fake.add_webhook("LISTING_CREATED", f"{receiver.url}/hooks/x/")
    assert fake.deliver("LISTING_CREATED") == [(f"{receiver.url}/hooks/x/", 302)]
    assert len(receiver.received) == 1


def test_deliver_from_an_in_process_fake_reaches_a_real_server(everreal_fake, receiver):
    # ``responses`` mocks requests only: deliveries still go out.
    everreal_fake.add_webhook("LISTING_CREATED", f"{receiver.url}/hooks/x/")
    assert everreal_fake.deliver("LISTING_CREATED")[0][1] == 200


# The server's control endpoint and the CLI.


def control(server_url: str, body: Any, method: str = "POST") -> requests.Response:
    return requests.request(
        method, server_url + CONTROL_PATH, json=body, timeout=TIMEOUT
    )


def test_control_endpoint_delivers_and_names_no_url(everreal_server, receiver):
    fake = everreal_server.fake
    fake.add_webhook("LISTING_PUBLISHED_TO_CHANNEL", f"{receiver.url}/hooks/s3cr3t/")

    response = control(
        everreal_server.url,
        {"type": "LISTING_PUBLISHED_TO_CHANNEL", "data": {"id": "L-2"}},
    )

    assert response.status_code == 200
    assert response.json() == {"delivered": [{"status": 200}]}
    assert "s3cr3t" not in response.text and receiver.url not in response.text
    assert json.loads(receiver.received[0].body)["data"] == {"id": "L-2"}
    assert fake.calls() == []  # the fake's control is no call of EverReal's API

    sampled = control(everreal_server.url, {"type": "LISTING_PUBLISHED_TO_CHANNEL"})
    assert sampled.json() == {"delivered": [{"status": 200}]}
    assert json.loads(receiver.received[1].body)["data"] == webhook_sample(
        "LISTING_PUBLISHED_TO_CHANNEL"
    )
    assert control(everreal_server.url, {"type": "NONE_REGISTERED"}).json() == {
        "delivered": []
    }


@pytest.mark.parametrize("body", [{}, {"type": ""}, {"type": 3}, ["LISTING_CREATED"]])
def test_control_endpoint_refuses_a_bad_body(everreal_server, body):
    assert control(everreal_server.url, body).status_code == 400


def test_control_endpoint_takes_post_only(everreal_server):
    response = control(everreal_server.url, None, method="GET")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.1", False),
        ("192.168.1.20", False),
        ("::ffff:10.0.0.1", False),
        ("fe80::1%eth0", False),
        ("not-an-address", False),
    ],
)
def test_control_endpoint_answers_loopback_callers_only(host, allowed):
    fake = FakeEverReal()
    fake.add_webhook("LISTING_CREATED", f"http://127.0.0.1:{closed_port()}/x/")
    request = FakeRequest(
        "POST",
        CONTROL_PATH,
        headers=Headers({"Content-Type": "application/json"}),
        body=b'{"type": "NONE_REGISTERED"}',
    )
    assert is_loopback(host) is allowed
    assert (control_deliver(fake, request, host).status == 200) is allowed


def test_cli_deliver_against_a_server(everreal_server, receiver):
    everreal_server.fake.add_webhook(
        "LISTING_PUBLISHED_TO_CHANNEL", f"{receiver.url}/hooks/s3cr3t/"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "django_everreal.testing",
            "deliver",
            "--fake",
            everreal_server.url,
            "LISTING_PUBLISHED_TO_CHANNEL",
            "--data",
            '{"id": "L-3"}',
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "LISTING_PUBLISHED_TO_CHANNEL: delivered, HTTP 200"
    assert "s3cr3t" not in result.stdout + result.stderr
    assert json.loads(receiver.received[0].body)["data"] == {"id": "L-3"}


def test_cli_deliver_fails_without_registration_or_on_errors(
    everreal_server, receiver, capsys
):
    url = everreal_server.url
    assert cli_main(["deliver", "--fake", url, "LISTING_CREATED"]) == 1
    assert "no registration" in capsys.readouterr().out

    receiver.status = 500
    everreal_server.fake.add_webhook("LISTING_CREATED", f"{receiver.url}/hooks/x/")
    assert cli_main(["deliver", "--fake", url, "LISTING_CREATED"]) == 1
    assert "HTTP 500" in capsys.readouterr().out

    gone = f"http://127.0.0.1:{closed_port()}"
    assert cli_main(["deliver", "--fake", gone, "LISTING_CREATED"]) == 2
    assert gone in capsys.readouterr().err


def test_cli_deliver_refuses_bad_json():
    with pytest.raises(SystemExit) as exited:
        cli_main(["deliver", "LISTING_CREATED", "--data", "{not json"])
    assert exited.value.code == 2


# With the app: sync registers at the fake, the fake delivers to the receiver.


@pytest.mark.django_db
def test_sync_registers_at_the_fake_and_deliveries_are_stored(
    everreal_fake, everreal_webhooks
):
    call_command(
        "everreal_service_login",
        "hooks",
        username="anna@example.com",
        password_stdin=True,
        stdin=io.StringIO("demo\n"),
        stdout=io.StringIO(),
    )
    with override_settings(EVERREAL_WEBHOOKS={"hooks": ["LISTING_CREATED"]}):
        call_command("everreal_webhooks", "sync", stdout=io.StringIO())

        [record] = everreal_fake.live_webhooks()
        assert record.type == "LISTING_CREATED"
        assert record.url.startswith("http://localhost:8000/")
        assert token_in_url(record.url) is not None
        subscription = WebhookSubscription.objects.get()
        assert subscription.everreal_id == record.id
        assert subscription.company_id == record.company_id

        everreal_fake.clear_calls()
        out = io.StringIO()
        call_command("everreal_webhooks", "sync", stdout=out)
        assert "nothing to change" in out.getvalue()
        assert [c.method for c in everreal_fake.calls("webhooks")] == ["GET"]
        assert everreal_fake.live_webhooks() == [record]

    [response] = everreal_webhooks.deliver("LISTING_CREATED", {"id": "L-7"})

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.event_type == "LISTING_CREATED"
    assert event.data == {"id": "L-7"}
    assert event.subdomain == "demo"
    assert event.subscription == subscription
    assert everreal_webhooks.deliver("LISTING_UPDATED") == []
