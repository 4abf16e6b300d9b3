"""The slice of EverReal's API the fake serves: userinfo, the GraphQL users query, webhooks.

``Api.handle`` wraps each view in what every API endpoint shares: the rate
limit, the allowed methods and the bearer token, checked by the token
registry (``FakeTokenRegistry.check_access_token``) and worded here.
"""

from __future__ import annotations

from collections.abc import Callable

from django_everreal.testing import errors
from django_everreal.testing.data import FakeUser
from django_everreal.testing.errors import OAuthError
from django_everreal.testing.faults import Endpoint
from django_everreal.testing.graphql import execute as execute_graphql
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.oauth import granted_scopes
from django_everreal.testing.oauth import method_not_allowed
from django_everreal.testing.oauth import oauth_error_response
from django_everreal.testing.state import FakeState
from django_everreal.testing.tokens import TokenRecord
from django_everreal.testing.tokens import TokenRejected

#: How the API words each of the registry's refusals of a bearer token.
BEARER_REJECTED = {
    "forged": errors.ACCESS_TOKEN_INVALID,
    "unknown": errors.ACCESS_TOKEN_INVALID,
    "revoked": errors.ACCESS_TOKEN_REVOKED,
    "expired": errors.ACCESS_TOKEN_EXPIRED,
    "inactive": errors.ACCESS_TOKEN_REVOKED,
}


def _tuple(method: str | tuple[str, ...]) -> tuple[str, ...]:
    return (method,) if isinstance(method, str) else method


class Api:
    """Bearer-authenticated, rate-limited endpoints."""

    def __init__(self, state: FakeState) -> None:
        self.state = state

    def handle(
        self,
        endpoint: Endpoint,
        request: FakeRequest,
        method: str | tuple[str, ...],
        view: Callable[[FakeRequest, TokenRecord, FakeUser], FakeResponse],
    ) -> FakeResponse:
        with self.state.lock:
            limit = self.state.rate_limiter.hit(endpoint)
        if not limit.allowed:
            response = json_response(
                429,
                {
                    "error": "too_many_requests",
                    "error_description": errors.RATE_LIMIT_EXCEEDED,
                },
            )
        elif request.method not in (methods := _tuple(method)):
            response = method_not_allowed(", ".join(methods))
        else:
            try:
                record, user = self.bearer(request)
                response = view(request, record, user)
            except OAuthError as exc:
                response = oauth_error_response(exc)
                response.headers.append(
                    ("WWW-Authenticate", f'Bearer error="{exc.error}"')
                )
        response.headers.extend(limit.headers())
        return response

    def bearer(self, request: FakeRequest) -> tuple[TokenRecord, FakeUser]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise OAuthError(401, "invalid_token", errors.ACCESS_TOKEN_MISSING)
        with self.state.lock:
            try:
                return self.state.tokens.check_access_token(token.strip())
            except TokenRejected as exc:
                raise OAuthError(
                    401, "invalid_token", BEARER_REJECTED[exc.reason]
                ) from None

    def userinfo(
        self, request: FakeRequest, record: TokenRecord, user: FakeUser
    ) -> FakeResponse:
        with self.state.lock:
            payload = user.userinfo()
            payload["tokenInfo"] = {
                "audience": self.state.client(record.client_id).audience,
                "scope": granted_scopes(user, record.requested_scopes),
                "user_id": user.id,
                "expires_in": max(0, int(record.expires_at - self.state.now())),
            }
        return json_response(200, payload)

    def graphql(
        self, request: FakeRequest, record: TokenRecord, user: FakeUser
    ) -> FakeResponse:
        body = (
            request.parsed_body()
            if request.content_type == "application/json"
            else None
        )
        if body is None:
            return json_response(
                400, {"errors": [{"message": "POST a JSON body with a query."}]}
            )
        with self.state.lock:
            result = execute_graphql(
                body.get("query"), body.get("variables"), list(self.state.users)
            )
        return json_response(200, result)
