"""EverReal's authorize endpoint: the login page, its form, the code it hands out.

``submit_login`` plays a browser on that page, for ``FakeEverReal``'s
``authorize_redirect`` and ``cancel_redirect``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from urllib.parse import parse_qsl
from urllib.parse import urlencode
from urllib.parse import urlsplit

from django_everreal.testing import errors
from django_everreal.testing.errors import FakeEverRealError
from django_everreal.testing.errors import OAuthError
from django_everreal.testing.http_messages import FakeRequest
from django_everreal.testing.http_messages import FakeResponse
from django_everreal.testing.http_messages import Headers
from django_everreal.testing.http_messages import html_response
from django_everreal.testing.http_messages import redirect_response
from django_everreal.testing.login_page import OAUTH_PARAMS
from django_everreal.testing.login_page import error_page
from django_everreal.testing.login_page import login_page
from django_everreal.testing.oauth import add_query
from django_everreal.testing.oauth import parse_scope
from django_everreal.testing.oauth import same
from django_everreal.testing.routes import AUTHORIZE_PATH
from django_everreal.testing.state import CodeRecord
from django_everreal.testing.state import FakeState


class AuthorizeEndpoint:
    """``GET`` shows the login page, ``POST`` logs in and redirects with a code."""

    def __init__(self, state: FakeState) -> None:
        self.state = state

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
        client = self.state.find_client(client_id)
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
                add_query(redirect_uri, {**result, "state": state})
            )

        if params.get("response_type") != "code":
            return back(
                error="unsupported_response_type",
                error_description=errors.RESPONSE_TYPE_UNSUPPORTED,
            )
        try:
            requested = parse_scope(self.state, params.get("scope", ""))
        except OAuthError as exc:
            return back(error=exc.error, error_description=exc.description)
        challenge = params.get("code_challenge") or None
        method = params.get("code_challenge_method")
        if challenge is None and self.state.knobs.require_pkce:
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
        with self.state.lock:
            user = self.state.find_user(email)
            if user is None or not same(user.password, params.get("password", "")):
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
            now = self.state.now()
            self.state.codes = {
                k: v for k, v in self.state.codes.items() if v.expires_at > now
            }
            self.state.codes[code] = CodeRecord(
                client_id=client_id,
                redirect_uri=redirect_uri,
                code_challenge=challenge,
                user_id=user.id,
                requested_scopes=requested,
                expires_at=now + self.state.knobs.code_lifetime,
            )
        return back(code=code)


def submit_login(
    handle: Callable[[FakeRequest], FakeResponse],
    authorize_url: str,
    fields: dict[str, str],
) -> str:
    """Open *authorize_url* with *handle*, then post the form with *fields*; the Location."""
    parts = urlsplit(authorize_url)
    if parts.path.rstrip("/") != AUTHORIZE_PATH:
        raise FakeEverRealError(f"Not an authorize URL: {parts.path!r}.")
    page = handle(FakeRequest("GET", parts.path, parts.query))
    if page.status != 200:
        return location_or_raise(page, "The authorize page refused the request")
    params = {k: v for k, v in parse_qsl(parts.query) if k in OAUTH_PARAMS}
    body = urlencode({**params, **fields}).encode("ascii")
    headers = Headers({"Content-Type": "application/x-www-form-urlencoded"})
    answer = handle(FakeRequest("POST", AUTHORIZE_PATH, "", headers, body))
    return location_or_raise(answer, "The login was refused")


def location_or_raise(response: FakeResponse, what: str) -> str:
    """The redirect's Location, or ``FakeEverRealError`` with the page's message."""
    location = response.header("Location")
    if response.status == 302 and location and not response.drop:
        return location
    if response.drop:
        raise FakeEverRealError(
            f"{what}: the connection was dropped (an injected fault)."
        )
    message = re.search(r'role="alert"[^>]*>([^<]*)<', response.text)
    detail = message.group(1) if message else response.text[:200]
    raise FakeEverRealError(f"{what} (HTTP {response.status}): {detail}")
