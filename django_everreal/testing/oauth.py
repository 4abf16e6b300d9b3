"""What EverReal's OAuth endpoints share: parameters, scopes, PKCE, error answers.

The authorize endpoint (``authorize``) and the token endpoint
(``token_endpoint``) both build on these; so do the API (``granted_scopes``,
the error answers) and tests that check what a grant gives.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

from django_everreal.testing import errors
from django_everreal.testing.data import ALL_SCOPES
from django_everreal.testing.data import KNOWN_SCOPES
from django_everreal.testing.data import OFFLINE_ACCESS
from django_everreal.testing.data import FakeUser
from django_everreal.testing.errors import OAuthError
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import json_response
from django_everreal.testing.state import FakeState

# RFC 7636: 43 to 128 characters of the unreserved set.
CODE_VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")

NO_STORE = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]


def parse_scope(state: FakeState, scope: str) -> tuple[str, ...]:
    """The requested scopes, in order; ``invalid_scope`` for a name nobody has."""
    requested = tuple(dict.fromkeys(scope.split()))
    known = {OFFLINE_ACCESS, ALL_SCOPES, *KNOWN_SCOPES}
    with state.lock:
        for user in state.users:
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


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def param(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise OAuthError(400, "invalid_request", errors.PARAMETER_MISSING)
    return value


def token_params(request: FakeRequest) -> dict[str, str]:
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
    headers = [*NO_STORE]
    if exc.status == 401 and exc.error == "invalid_client":
        headers.append(("WWW-Authenticate", 'Basic realm="EverReal"'))
    return json_response(
        exc.status, {"error": exc.error, "error_description": exc.description}, headers
    )


def method_not_allowed(allow: str) -> FakeResponse:
    return json_response(405, {"error": "method_not_allowed"}, [("Allow", allow)])


def add_query(uri: str, params: dict[str, str | None]) -> str:
    """*uri* with *params* appended to its query; ``None`` values are left out."""
    parts = urlsplit(uri)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
