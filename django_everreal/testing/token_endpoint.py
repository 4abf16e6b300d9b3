"""EverReal's token endpoint: the authorization-code, password and refresh grants.

Every grant issues through ``issue``, which also enforces EverReal's cap of
refresh tokens per client and user; the refresh grant asks the token
registry whether the presented refresh token is live.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

from django_everreal.testing import errors
from django_everreal.testing.data import OFFLINE_ACCESS
from django_everreal.testing.data import FakeClient
from django_everreal.testing.data import FakeUser
from django_everreal.testing.errors import OAuthError
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.oauth import CODE_VERIFIER_RE
from django_everreal.testing.oauth import NO_STORE
from django_everreal.testing.oauth import param
from django_everreal.testing.oauth import parse_scope
from django_everreal.testing.oauth import s256
from django_everreal.testing.oauth import same
from django_everreal.testing.oauth import token_params
from django_everreal.testing.state import FakeState
from django_everreal.testing.tokens import TokenKind
from django_everreal.testing.tokens import TokenRecord
from django_everreal.testing.tokens import TokenRejected

#: Expired tokens are remembered this long (and reported as expired, not unknown).
EXPIRED_TOKEN_MEMORY = 24 * 3600

#: How the refresh grant words each of the registry's refusals.
REFRESH_REJECTED = {
    "forged": errors.REFRESH_TOKEN_INVALID,
    "unknown": errors.REFRESH_TOKEN_INVALID,
    "revoked": errors.REFRESH_TOKEN_REVOKED,
    "expired": errors.REFRESH_TOKEN_EXPIRED,
}


class TokenEndpoint:
    """``POST /accounts/oauth/token``, for every grant; state and knobs on ``state``."""

    def __init__(self, state: FakeState) -> None:
        self.state = state

    def token(self, request: FakeRequest) -> FakeResponse:
        params = token_params(request)
        with self.state.lock:
            client = self._authenticate_client(request, params)
            grant_type = param(params, "grant_type")
            if grant_type == "authorization_code":
                return self._authorization_code_grant(client, params)
            if grant_type == "password":
                return self._password_grant(client, params)
            if grant_type == "refresh_token":
                return self._refresh_token_grant(client, params)
        raise OAuthError(400, "unsupported_grant_type", errors.GRANT_TYPE_UNSUPPORTED)

    def _authenticate_client(
        self, request: FakeRequest, params: dict[str, str]
    ) -> FakeClient:
        authorization = request.headers.get("Authorization", "")
        if authorization[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(
                    authorization[6:].strip(), validate=True
                ).decode("utf-8")
                client_id, _, secret = decoded.partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client", errors.CLIENT_INVALID) from None
            client_id, secret = unquote(client_id), unquote(secret)
            if params.get("client_id", client_id) != client_id:
                raise OAuthError(401, "invalid_client", errors.CLIENT_INVALID)
        else:
            client_id = params.get("client_id", "")
            secret = params.get("client_secret", "")
        if not client_id or not secret:
            raise OAuthError(401, "invalid_client", errors.CLIENT_CREDENTIALS_MISSING)
        client = self.state.find_client(client_id)
        if client is None or not same(client.client_secret, secret):
            raise OAuthError(401, "invalid_client", errors.CLIENT_INVALID)
        return client

    def _authorization_code_grant(
        self, client: FakeClient, params: dict[str, str]
    ) -> FakeResponse:
        code = self.state.codes.get(param(params, "code"))
        redirect_uri = param(params, "redirect_uri")
        verifier = params.get("code_verifier") or None
        if code is None:
            raise OAuthError(403, "invalid_grant", errors.CODE_INVALID)
        if code.used:
            raise OAuthError(403, "invalid_grant", errors.CODE_ALREADY_USED)
        if self.state.now() >= code.expires_at:
            raise OAuthError(403, "invalid_grant", errors.CODE_EXPIRED)
        if code.client_id != client.client_id:
            raise OAuthError(403, "invalid_grant", errors.CODE_CLIENT_MISMATCH)
        if code.redirect_uri != redirect_uri:
            raise OAuthError(403, "invalid_grant", errors.REDIRECT_URI_MISMATCH)
        if code.code_challenge is None and verifier is not None:
            raise OAuthError(403, "invalid_grant", errors.CODE_VERIFIER_UNEXPECTED)
        if code.code_challenge is not None:
            if verifier is None:
                raise OAuthError(403, "invalid_grant", errors.CODE_VERIFIER_MISSING)
            if not CODE_VERIFIER_RE.match(verifier) or not same(
                s256(verifier), code.code_challenge
            ):
                raise OAuthError(403, "invalid_grant", errors.CODE_VERIFIER_INVALID)
        user = self._active_user(code.user_id)
        code.used = True
        return json_response(
            200, self.token_response(client, user, code.requested_scopes), NO_STORE
        )

    def _password_grant(
        self, client: FakeClient, params: dict[str, str]
    ) -> FakeResponse:
        username = param(params, "username")
        password = param(params, "password")
        requested = parse_scope(self.state, params.get("scope", ""))
        user = self.state.find_user(username)
        if user is None:
            raise OAuthError(403, "invalid_grant", errors.USER_DOES_NOT_EXIST)
        if not same(user.password, password):
            raise OAuthError(403, "invalid_grant", errors.PASSWORD_INVALID)
        if not user.is_active:
            raise OAuthError(403, "invalid_grant", errors.USER_INACTIVE)
        return json_response(
            200, self.token_response(client, user, requested), NO_STORE
        )

    def _refresh_token_grant(
        self, client: FakeClient, params: dict[str, str]
    ) -> FakeResponse:
        try:
            record = self.state.tokens.check(param(params, "refresh_token"), "refresh")
        except TokenRejected as exc:
            raise OAuthError(
                403, "invalid_grant", REFRESH_REJECTED[exc.reason]
            ) from None
        if record.client_id != client.client_id:
            raise OAuthError(403, "invalid_grant", errors.REFRESH_TOKEN_CLIENT_MISMATCH)
        user = self._active_user(record.user_id)
        access_token, _ = self.issue(client, user, "access", record.requested_scopes)
        expires_in: int | str = self.state.knobs.access_token_lifetime
        if self.state.knobs.refresh_expires_in_as_string:
            expires_in = str(expires_in)
        payload: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": expires_in,
        }
        if self.state.knobs.rotate_refresh_tokens:
            # EverReal keeps the old refresh token: at most 50 live per client
            # and user, the oldest deleted as new ones come (``_issue``).
            if self.state.knobs.revoke_rotated_refresh_tokens:
                record.revoked = True
            payload["refresh_token"], _ = self.issue(
                client, user, "refresh", record.requested_scopes
            )
        return json_response(200, payload, NO_STORE)

    def token_response(
        self, client: FakeClient, user: FakeUser, requested: tuple[str, ...]
    ) -> dict[str, Any]:
        access_token, _ = self.issue(client, user, "access", requested)
        payload: dict[str, Any] = {"access_token": access_token}
        if OFFLINE_ACCESS in requested:
            payload["refresh_token"], _ = self.issue(client, user, "refresh", requested)
        payload["expires_in"] = self.state.knobs.access_token_lifetime
        payload["token_type"] = "Bearer"  # noqa: S105
        return payload

    def issue(
        self,
        client: FakeClient,
        user: FakeUser,
        kind: TokenKind,
        requested: tuple[str, ...],
    ) -> tuple[str, TokenRecord]:
        now = self.state.now()
        self.state.tokens.forget_expired(now, EXPIRED_TOKEN_MEMORY)
        lifetime = (
            self.state.knobs.access_token_lifetime
            if kind == "access"
            else self.state.knobs.refresh_token_lifetime
        )
        token, record = self.state.tokens.issue(
            kind,
            client_id=client.client_id,
            user_id=user.id,
            requested_scopes=requested,
            now=now,
            lifetime=lifetime,
        )
        if kind == "refresh":
            self.state.tokens.keep_newest_refresh_tokens(
                client.client_id, user.id, self.state.knobs.max_refresh_tokens
            )
        return token, record

    def _active_user(self, user_id: str) -> FakeUser:
        user = self.state.find_user(user_id)
        if user is None:
            raise OAuthError(403, "invalid_grant", errors.USER_DOES_NOT_EXIST)
        if not user.is_active:
            raise OAuthError(403, "invalid_grant", errors.USER_INACTIVE)
        return user
