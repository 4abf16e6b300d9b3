"""EverReal's auth server ("heimdall"): the authorize page and the token endpoint."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import unquote
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from django_everreal.testing import errors
from django_everreal.testing.data import ALL_SCOPES
from django_everreal.testing.data import KNOWN_SCOPES
from django_everreal.testing.data import OFFLINE_ACCESS
from django_everreal.testing.data import FakeClient
from django_everreal.testing.data import FakeUser
from django_everreal.testing.errors import OAuthError
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import html_response
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.http_messages import redirect_response
from django_everreal.testing.login import error_page
from django_everreal.testing.login import login_page
from django_everreal.testing.tokens import TokenKind
from django_everreal.testing.tokens import TokenRecord

if TYPE_CHECKING:
    from django_everreal.testing.fake import FakeEverReal

# RFC 7636: 43 to 128 characters of the unreserved set.
CODE_VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")

#: Expired tokens are remembered this long (and reported as expired, not unknown).
EXPIRED_TOKEN_MEMORY = 24 * 3600


@dataclass
class CodeRecord:
    """An authorization code: single use, short-lived, bound to its request."""

    client_id: str
    redirect_uri: str
    code_challenge: str | None
    user_id: str
    requested_scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


class AuthServer:
    """The OAuth endpoints; state and knobs live on the fake, guarded by its lock."""

    def __init__(self, fake: FakeEverReal) -> None:
        self.fake = fake
        self.codes: dict[str, CodeRecord] = {}

    def authorize(self, request: FakeRequest) -> FakeResponse:
        if request.method == "GET":
            params = request.query
        else:
            params = {
                k: v
                for k, v in (request.parsed_body() or {}).items()
                if isinstance(v, str)
            }
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        with self.fake.lock:
            client = next(
                (c for c in self.fake.clients if c.client_id == client_id), None
            )
        if client is None:
            return html_response(
                400,
                error_page(
                    f"The application {client_id!r} is not registered with EverReal."
                ),
            )
        if not redirect_uri or not client.allows_redirect_uri(redirect_uri):
            return html_response(
                400,
                error_page(
                    f"The redirect URI {redirect_uri!r} is not registered for {client_id!r}."
                ),
            )
        state = params.get("state")

        def back(**result: str) -> FakeResponse:
            return redirect_response(
                _add_query(redirect_uri, {**result, "state": state})
            )

        if params.get("response_type") != "code":
            return back(
                error="unsupported_response_type",
                error_description=errors.RESPONSE_TYPE_UNSUPPORTED,
            )
        try:
            requested = self.parse_scope(params.get("scope", ""))
        except OAuthError as exc:
            return back(error=exc.error, error_description=exc.description)
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method")
        if challenge is None and self.fake.require_pkce:
            return back(
                error="invalid_request", error_description=errors.CODE_VERIFIER_MISSING
            )
        if challenge is not None and method != "S256":
            return back(
                error="invalid_request",
                error_description=errors.CODE_CHALLENGE_METHOD_UNSUPPORTED,
            )
        if request.method == "GET":
            return html_response(200, login_page(params, client_id))
        if params.get("action") == "cancel":
            return back(error="access_denied", error_description=errors.ACCESS_DENIED)
        email = params.get("email", "")
        with self.fake.lock:
            user = self.fake.find_user(email)
            if user is None or not _same(user.password, params.get("password", "")):
                return html_response(
                    200,
                    login_page(params, client_id, email, "Wrong email or password."),
                )
            if not user.is_active:
                return html_response(
                    200,
                    login_page(
                        params, client_id, email, "This account is deactivated."
                    ),
                )
            code = secrets.token_urlsafe(32)
            now = self.fake.clock()
            self.codes = {k: v for k, v in self.codes.items() if v.expires_at > now}
            self.codes[code] = CodeRecord(
                client_id=client_id,
                redirect_uri=redirect_uri,
                code_challenge=challenge,
                user_id=user.id,
                requested_scopes=requested,
                expires_at=now + self.fake.code_lifetime,
            )
        return back(code=code)

    def token(self, request: FakeRequest) -> FakeResponse:
        params = _token_params(request)
        with self.fake.lock:
            client = self._authenticate_client(request, params)
            grant_type = _param(params, "grant_type")
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
        client = next((c for c in self.fake.clients if c.client_id == client_id), None)
        if client is None or not _same(client.client_secret, secret):
            raise OAuthError(401, "invalid_client", errors.CLIENT_INVALID)
        return client

    def _authorization_code_grant(
        self, client: FakeClient, params: dict[str, str]
    ) -> FakeResponse:
        code = self.codes.get(_param(params, "code"))
        redirect_uri = _param(params, "redirect_uri")
        verifier = params.get("code_verifier") or None
        if code is None:
            raise OAuthError(403, "invalid_grant", errors.CODE_INVALID)
        if code.used:
            raise OAuthError(403, "invalid_grant", errors.CODE_ALREADY_USED)
        if self.fake.clock() >= code.expires_at:
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
            if not CODE_VERIFIER_RE.match(verifier) or not _same(
                s256(verifier), code.code_challenge
            ):
                raise OAuthError(403, "invalid_grant", errors.CODE_VERIFIER_INVALID)
        user = self._active_user(code.user_id)
        code.used = True
        return json_response(
            200, self.token_response(client, user, code.requested_scopes), _NO_STORE
        )

    def _password_grant(
        self, client: FakeClient, params: dict[str, str]
    ) -> FakeResponse:
        username = _param(params, "username")
        password = _param(params, "password")
        requested = self.parse_scope(params.get("scope", ""))
        user = self.fake.find_user(username)
        if user is None:
            raise OAuthError(403, "invalid_grant", errors.USER_DOES_NOT_EXIST)
        if not _same(user.password, password):
            raise OAuthError(403, "invalid_grant", errors.PASSWORD_INVALID)
        if not user.is_active:
            raise OAuthError(403, "invalid_grant", errors.USER_INACTIVE)
        return json_response(
            200, self.token_response(client, user, requested), _NO_STORE
        )

    def _refresh_token_grant(
        self, client: FakeClient, params: dict[str, str]
    ) -> FakeResponse:
        record = self.fake.tokens.find(_param(params, "refresh_token"), "refresh")
        if record is None:
            raise OAuthError(403, "invalid_grant", errors.REFRESH_TOKEN_INVALID)
        if record.revoked:
            raise OAuthError(403, "invalid_grant", errors.REFRESH_TOKEN_REVOKED)
        if record.expired(self.fake.clock()):
            raise OAuthError(403, "invalid_grant", errors.REFRESH_TOKEN_EXPIRED)
        if record.client_id != client.client_id:
            raise OAuthError(403, "invalid_grant", errors.REFRESH_TOKEN_CLIENT_MISMATCH)
        user = self._active_user(record.user_id)
        access_token, _ = self._issue(client, user, "access", record.requested_scopes)
        expires_in: int | str = self.fake.access_token_lifetime
        if self.fake.refresh_expires_in_as_string:
            expires_in = str(expires_in)
        payload: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": expires_in,
        }
        if self.fake.rotate_refresh_tokens:
            # EverReal keeps the old refresh token: at most 50 live per client
            # and user, the oldest deleted as new ones come (``_issue``).
            if self.fake.revoke_rotated_refresh_tokens:
                record.revoked = True
            payload["refresh_token"], _ = self._issue(
                client, user, "refresh", record.requested_scopes
            )
        return json_response(200, payload, _NO_STORE)

    def token_response(
        self, client: FakeClient, user: FakeUser, requested: tuple[str, ...]
    ) -> dict[str, Any]:
        access_token, _ = self._issue(client, user, "access", requested)
        payload: dict[str, Any] = {"access_token": access_token}
        if OFFLINE_ACCESS in requested:
            payload["refresh_token"], _ = self._issue(
                client, user, "refresh", requested
            )
        payload["expires_in"] = self.fake.access_token_lifetime
        payload["token_type"] = "Bearer"  # noqa: S105
        return payload

    def _issue(
        self,
        client: FakeClient,
        user: FakeUser,
        kind: TokenKind,
        requested: tuple[str, ...],
    ) -> tuple[str, TokenRecord]:
        now = self.fake.clock()
        self.fake.tokens.forget_expired(now, EXPIRED_TOKEN_MEMORY)
        lifetime = (
            self.fake.access_token_lifetime
            if kind == "access"
            else self.fake.refresh_token_lifetime
        )
        token, record = self.fake.tokens.issue(
            kind,
            client_id=client.client_id,
            user_id=user.id,
            requested_scopes=requested,
            now=now,
            lifetime=lifetime,
        )
        if kind == "refresh":
            self.fake.tokens.keep_newest_refresh_tokens(
                client.client_id, user.id, self.fake.max_refresh_tokens
            )
        return token, record

    def _active_user(self, user_id: str) -> FakeUser:
        user = self.fake.find_user(user_id)
        if user is None:
            raise OAuthError(403, "invalid_grant", errors.USER_DOES_NOT_EXIST)
        if not user.is_active:
            raise OAuthError(403, "invalid_grant", errors.USER_INACTIVE)
        return user

    def parse_scope(self, scope: str) -> tuple[str, ...]:
        """The requested scopes, in order; ``invalid_scope`` for a name nobody has."""
        requested = tuple(dict.fromkeys(scope.split()))
        known = {OFFLINE_ACCESS, ALL_SCOPES, *KNOWN_SCOPES}
        with self.fake.lock:
            for user in self.fake.users:
                known.update(user.scopes)
        if any(name not in known for name in requested):
            raise OAuthError(400, "invalid_scope", errors.SCOPE_INVALID)
        return requested


def granted_scopes(user: FakeUser, requested: Sequence[str]) -> list[str]:
    """What a grant gives now: ``offline_access`` if asked, and the user's scopes asked for."""
    granted = [OFFLINE_ACCESS] if OFFLINE_ACCESS in requested else []
    wanted = set(requested)
    granted.extend(s for s in user.scopes if ALL_SCOPES in wanted or s in wanted)
    return granted


_NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def _param(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise OAuthError(400, "invalid_request", errors.PARAMETER_MISSING)
    return value


def _token_params(request: FakeRequest) -> dict[str, str]:
    """The token request's parameters, from a JSON or a form body."""
    if request.content_type == "application/json":
        try:
            value = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise OAuthError(400, "invalid_request", errors.BODY_INVALID) from None
        if not isinstance(value, dict) or not all(
            isinstance(v, str) for v in value.values()
        ):
            raise OAuthError(400, "invalid_request", errors.BODY_INVALID)
        return value
    if request.content_type in ("application/x-www-form-urlencoded", ""):
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise OAuthError(400, "invalid_request", errors.BODY_INVALID) from None
        return dict(parse_qsl(text, keep_blank_values=True))
    raise OAuthError(400, "invalid_request", errors.BODY_INVALID)


def oauth_error_response(exc: OAuthError) -> FakeResponse:
    headers = [*_NO_STORE]
    if exc.status == 401 and exc.error == "invalid_client":
        headers.append(("WWW-Authenticate", 'Basic realm="EverReal"'))
    return json_response(
        exc.status, {"error": exc.error, "error_description": exc.description}, headers
    )


def method_not_allowed(allow: str) -> FakeResponse:
    return json_response(405, {"error": "method_not_allowed"}, [("Allow", allow)])


def _add_query(uri: str, params: dict[str, str | None]) -> str:
    """*uri* with *params* appended to its query; ``None`` values are left out."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
