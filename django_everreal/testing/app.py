"""The fake EverReal as one request handler: faults, the call log, then the endpoint.

Adapters (``mock`` for ``responses``, ``server`` for a real socket) turn HTTP
into a ``FakeRequest`` and the ``FakeResponse`` back into HTTP, so every way
of running the fake behaves the same. ``FakeApp`` builds the endpoints on
one ``FakeState``; it never sees ``FakeEverReal``.
"""

from __future__ import annotations

from django_everreal.testing.api import Api
from django_everreal.testing.authorize import AuthorizeEndpoint
from django_everreal.testing.calls import Call
from django_everreal.testing.errors import OAuthError
from django_everreal.testing.faults import Endpoint
from django_everreal.testing.faults import Fault
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.oauth import method_not_allowed
from django_everreal.testing.oauth import oauth_error_response
from django_everreal.testing.routes import route
from django_everreal.testing.state import FakeState
from django_everreal.testing.token_endpoint import TokenEndpoint
from django_everreal.testing.webhook_api import WebhookApi


class FakeApp:
    """Answers one request at a time, from any thread, against *state*."""

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.authorize = AuthorizeEndpoint(state)
        self.token = TokenEndpoint(state)
        self.api = Api(state)
        self.webhook_api = WebhookApi(state)

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer one request; faults come out as ``delay`` and ``drop`` on the response."""
        endpoint = route(request.path)
        with self.state.lock:
            fault = self.state.faults.take(endpoint) if endpoint else None
        times_out = (
            fault is not None
            and request.read_timeout is not None
            and fault.delay > request.read_timeout
        )
        answered = fault is None or (not fault.drop and not times_out)
        if fault is None or fault.handled or (fault.is_delay_only and answered):
            response = self.dispatch(endpoint, request)
        else:
            response = FakeResponse(500)
        if fault is not None:
            response = apply_fault(fault, response)
        call = Call(
            endpoint=endpoint or "unknown",
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            cookies=request.cookies,
            content_type=request.content_type,
            body=request.parsed_body(),
            raw_body=request.body,
            status=response.status if answered else None,
            fault=fault,
            time=self.state.now(),
        )
        with self.state.lock:
            self.state.calls.append(call)
        return response

    def dispatch(self, endpoint: Endpoint | None, request: FakeRequest) -> FakeResponse:
        """The endpoint's own answer, as if no fault were pending."""
        if endpoint == "authorize":
            if request.method not in ("GET", "POST"):
                return method_not_allowed("GET, POST")
            return self.authorize.authorize(request)
        if endpoint == "token":
            if request.method != "POST":
                return method_not_allowed("POST")
            try:
                return self.token.token(request)
            except OAuthError as exc:
                return oauth_error_response(exc)
        if endpoint == "userinfo":
            return self.api.handle(endpoint, request, "GET", self.api.userinfo)
        if endpoint == "graphql":
            return self.api.handle(endpoint, request, "POST", self.api.graphql)
        if endpoint == "webhooks":
            return self.api.handle(
                endpoint,
                request,
                self.webhook_api.methods(request),
                self.webhook_api.view,
            )
        return json_response(404, {"error": "not_found", "path": request.path})


def apply_fault(fault: Fault, response: FakeResponse) -> FakeResponse:
    """*response* as the fault leaves it: replaced, held back or dropped."""
    if fault.status is not None:
        body, content_type = fault.body_bytes()
        response = FakeResponse(
            fault.status, [("Content-Type", content_type), *fault.headers], body
        )
    response.delay = fault.delay
    response.drop = fault.drop
    return response
