"""The fake EverReal's auth server, driven through ``requests`` in-process."""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import jwt
import pytest
import requests

from django_everreal.testing import DEMO_CLIENT_ID
from django_everreal.testing import DEMO_CLIENT_SECRET
from django_everreal.testing import DEMO_PASSWORD
from django_everreal.testing import FakeClock
from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeEverRealError
from django_everreal.testing import errors
from django_everreal.testing import s256

BASE = "https://demo.everreal.co"
TOKEN_URL = f"{BASE}/accounts/oauth/token"
USERINFO_URL = f"{BASE}/accounts/api/userinfo"
AUTHORIZE_URL = f"{BASE}/accounts/dialog/authorize"
REDIRECT_URI = "http://localhost:8000/complete/everreal/"
TIMEOUT = 5
SAMPLES = Path("/work/shared/everreal-samples")
CLIENT = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}


@pytest.fixture
def clock():
    return FakeClock(now=1_700_000_000)


@pytest.fixture
def fake(clock):
    fake = FakeEverReal(clock=clock)
    with fake.mock():
        yield fake


def post_token(**body):
    return requests.post(TOKEN_URL, json={**CLIENT, **body}, timeout=TIMEOUT)


def password_grant(
    email="anna@example.com", password=DEMO_PASSWORD, scope="offline_access *"
):
    return post_token(
        grant_type="password", username=email, password=password, scope=scope
    )


def userinfo(access_token, **kwargs):
    headers = {"Authorization": f"Bearer {access_token}", **kwargs.pop("headers", {})}
    return requests.get(USERINFO_URL, headers=headers, timeout=TIMEOUT, **kwargs)


def code_from(location, state="st4te"):
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    return query["code"][0]


def login(fake, verifier=None, redirect_uri=REDIRECT_URI, scope="offline_access *"):
    url = fake.authorize_url(
        redirect_uri=redirect_uri,
        state="st4te",
        scope=scope,
        code_challenge=s256(verifier) if verifier else None,
    )
    return code_from(fake.authorize_redirect(url, "anna@example.com", "demo"))


def assert_error(response, status, error, description=None):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    if description is not None:
        assert body["error_description"] == description
    assert body["error_description"].startswith("heimdall.")


# Authorize page.


def authorize_params(**overrides):
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "offline_access *",
        "state": "st4te",
        "code_challenge": s256("v" * 43),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def test_authorize_shows_an_accessible_login_form_carrying_the_oauth_params(fake):
    response = requests.get(
        AUTHORIZE_URL, params=authorize_params(state='"><x'), timeout=TIMEOUT
    )
    assert response.status_code == 200
    page = response.text
    assert '<label for="email">' in page and '<label for="password">' in page
    assert (
        'name="redirect_uri" value="http://localhost:8000/complete/everreal/"' in page
    )
    assert 'name="state" value="&quot;&gt;&lt;x"' in page
    assert 'value="login">Log in<' in page and 'value="cancel"' in page
    assert "<x" not in page


def test_authorize_login_redirects_with_code_and_unchanged_state(fake):
    state = "a b/c?=&ü"
    form = {
        **authorize_params(state=state),
        "email": "Anna@Example.com",
        "password": "demo",
    }
    response = requests.post(
        AUTHORIZE_URL, data=form, allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state]
    assert len(query["code"][0]) >= 32


def test_authorize_cancel_redirects_with_access_denied(fake):
    form = {**authorize_params(), "action": "cancel"}
    response = requests.post(
        AUTHORIZE_URL, data=form, allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st4te"]
    assert "code" not in query


def test_authorize_wrong_password_shows_the_form_again_without_redirect(fake):
    form = {
        **authorize_params(),
        "email": "anna@example.com",
        "password": "nope",
        "action": "login",
    }
    response = requests.post(
        AUTHORIZE_URL, data=form, allow_redirects=False, timeout=TIMEOUT
    )
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "Wrong email or password." in response.text
    assert 'value="anna@example.com"' in response.text


def test_authorize_inactive_user_cannot_log_in(fake):
    fake.user("anna@example.com").is_active = False
    with pytest.raises(FakeEverRealError, match="deactivated"):
        login(fake)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"client_id": "stranger"}, "not registered with EverReal"),
        ({"redirect_uri": "https://evil.example/cb"}, "is not registered for"),
        (
            {"redirect_uri": "http://localhost:8000@evil.example/"},
            "is not registered for",
        ),
        ({"redirect_uri": None}, "is not registered for"),
    ],
)
def test_authorize_refuses_unknown_clients_and_redirect_uris_without_redirecting(
    fake, params, message
):
    response = requests.get(
        AUTHORIZE_URL,
        params=authorize_params(**params),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert message in response.text


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"scope": "offline_access no_such_scope"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_authorize_redirects_request_errors_to_the_client(fake, params, error):
    response = requests.get(
        AUTHORIZE_URL,
        params=authorize_params(**params),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["error"] == [error]
    assert query["state"] == ["st4te"]


def test_loopback_redirect_uris_any_port_and_path(fake):
    for uri in ("http://127.0.0.1:9999/x/y?keep=1", "http://localhost/cb"):
        location = fake.authorize_redirect(
            fake.authorize_url(redirect_uri=uri, state="s"), "anna@example.com", "demo"
        )
        assert location.startswith(uri)
    assert "keep=1&code=" in fake.authorize_redirect(
        fake.authorize_url(redirect_uri="http://127.0.0.1:9999/x/y?keep=1"),
        "anna@example.com",
        "demo",
    )


def test_authorize_redirect_helper_reports_a_refused_login(fake):
    url = fake.authorize_url(redirect_uri=REDIRECT_URI)
    with pytest.raises(FakeEverRealError, match="Wrong email or password"):
        fake.authorize_redirect(url, "anna@example.com", "wrong")
    with pytest.raises(FakeEverRealError, match="not registered"):
        fake.authorize_redirect(
            url.replace("demo-client", "nobody"), "anna@example.com", "demo"
        )


def test_cancel_redirect_helper(fake):
    location = fake.cancel_redirect(
        fake.authorize_url(redirect_uri=REDIRECT_URI, state="s1")
    )
    assert parse_qs(urlsplit(location).query) == {
        "error": ["access_denied"],
        "error_description": [errors.ACCESS_DENIED],
        "state": ["s1"],
    }


# Authorization code grant and PKCE.


def test_code_grant_with_pkce_returns_verifiable_rs256_jwts(fake, clock):
    verifier = secrets.token_urlsafe(48)
    code = login(fake, verifier)
    response = post_token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert response.headers["Cache-Control"] == "no-store"
    header = jwt.get_unverified_header(body["access_token"])
    assert header == {"alg": "RS256", "typ": "JWT"}
    claims = jwt.decode(
        body["access_token"],
        fake.public_key_pem,
        algorithms=["RS256"],
        options={"verify_exp": False, "verify_iat": False},
    )
    assert set(claims) == {"jti", "sub", "exp", "iat"}
    assert claims["sub"] == fake.user("anna@example.com").id
    assert claims["iat"] == int(clock())
    assert claims["exp"] == int(clock()) + 3600
    assert fake.verify(body["refresh_token"])["sub"] == claims["sub"]


def test_code_grant_wrong_verifier_fails(fake):
    code = login(fake, secrets.token_urlsafe(48))
    response = post_token(
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=secrets.token_urlsafe(48),
    )
    assert_error(response, 403, "invalid_grant", errors.CODE_VERIFIER_INVALID)


def test_code_grant_missing_verifier_fails_when_a_challenge_was_given(fake):
    code = login(fake, secrets.token_urlsafe(48))
    response = post_token(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert_error(response, 403, "invalid_grant", errors.CODE_VERIFIER_MISSING)


def test_code_grant_without_pkce_works_unless_required(fake):
    code = login(fake)
    response = post_token(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert response.status_code == 200
    fake.require_pkce = True
    url = fake.authorize_url(redirect_uri=REDIRECT_URI)
    location = fake.authorize_redirect(url, "anna@example.com", "demo")
    assert parse_qs(urlsplit(location).query)["error"] == ["invalid_request"]


def test_code_is_single_use(fake):
    code = login(fake)
    assert (
        post_token(
            grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
        ).status_code
        == 200
    )
    response = post_token(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert_error(response, 403, "invalid_grant", errors.CODE_ALREADY_USED)


def test_code_expires_after_60_seconds(fake, clock):
    code = login(fake)
    clock.advance(60)
    response = post_token(
        grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    assert_error(response, 403, "invalid_grant", errors.CODE_EXPIRED)


def test_code_still_valid_just_before_expiry(fake, clock):
    code = login(fake)
    clock.advance(59)
    assert (
        post_token(
            grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
        ).status_code
        == 200
    )


def test_code_redirect_uri_mismatch(fake):
    code = login(fake)
    response = post_token(
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://localhost:8000/other/",
    )
    assert_error(response, 403, "invalid_grant", errors.REDIRECT_URI_MISMATCH)


def test_code_unknown(fake):
    response = post_token(
        grant_type="authorization_code", code="made-up", redirect_uri=REDIRECT_URI
    )
    assert_error(response, 403, "invalid_grant", errors.CODE_INVALID)


def test_code_bound_to_its_client(fake):
    from django_everreal.testing import FakeClient

    fake.clients.append(
        FakeClient("other", "other-secret", allow_loopback_redirects=True)
    )
    code = login(fake)
    response = requests.post(
        TOKEN_URL,
        json={
            "client_id": "other",
            "client_secret": "other-secret",
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
        },
        timeout=TIMEOUT,
    )
    assert_error(response, 403, "invalid_grant", errors.CODE_CLIENT_MISMATCH)


# Password grant, bodies, client authentication.


def test_password_grant_json_body(fake):
    response = password_grant()
    assert response.status_code == 200
    assert set(response.json()) == {
        "access_token",
        "refresh_token",
        "expires_in",
        "token_type",
    }


def test_password_grant_form_body_and_http_basic(fake):
    basic = base64.b64encode(b"demo-client:demo-secret").decode()
    response = requests.post(
        TOKEN_URL,
        data={
            "grant_type": "password",
            "username": "tom@example.com",
            "password": "demo",
            "scope": "offline_access *",
        },
        headers={"Authorization": f"Basic {basic}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    assert (
        fake.verify(response.json()["access_token"])["sub"]
        == fake.user("tom@example.com").id
    )
    call = fake.last_call("token")
    assert call.is_form and call.body["username"] == "tom@example.com"


def test_no_refresh_token_without_offline_access(fake):
    body = password_grant(scope="company_user").json()
    assert "refresh_token" not in body
    assert userinfo(body["access_token"]).json()["tokenInfo"]["scope"] == [
        "company_user"
    ]


@pytest.mark.parametrize(
    ("email", "password", "description"),
    [
        ("nobody@example.com", "demo", errors.USER_DOES_NOT_EXIST),
        ("anna@example.com", "wrong", errors.PASSWORD_INVALID),
    ],
)
def test_password_grant_bad_credentials(fake, email, password, description):
    assert_error(password_grant(email, password), 403, "invalid_grant", description)


def test_password_grant_inactive_user(fake):
    fake.user("anna@example.com").is_active = False
    assert_error(password_grant(), 403, "invalid_grant", errors.USER_INACTIVE)


def test_unknown_user_error_matches_everreal_sample(fake):
    sample = json.loads((SAMPLES / "token-error-403.json").read_text())
    response = password_grant("nobody@example.com")
    assert response.status_code == 403
    assert response.json() == sample


@pytest.mark.parametrize(
    "client",
    [
        {"client_id": "demo-client", "client_secret": "wrong"},
        {"client_id": "stranger", "client_secret": "demo-secret"},
        {"client_id": "demo-client"},
        {},
    ],
)
def test_bad_client_credentials_are_401_invalid_client(fake, client):
    body = {
        "grant_type": "password",
        "username": "anna@example.com",
        "password": "demo",
        **client,
    }
    response = requests.post(TOKEN_URL, json=body, timeout=TIMEOUT)
    assert_error(response, 401, "invalid_client")


def test_wrong_http_basic_secret_is_401(fake):
    response = requests.post(
        TOKEN_URL,
        data={
            "grant_type": "password",
            "username": "anna@example.com",
            "password": "demo",
        },
        auth=("demo-client", "wrong"),
        timeout=TIMEOUT,
    )
    assert_error(response, 401, "invalid_client", errors.CLIENT_INVALID)
    assert response.headers["WWW-Authenticate"].startswith("Basic")


def test_missing_parameter_is_400_invalid_request(fake):
    response = post_token(grant_type="password", username="anna@example.com")
    assert_error(response, 400, "invalid_request", errors.PARAMETER_MISSING)
    assert_error(post_token(), 400, "invalid_request", errors.PARAMETER_MISSING)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"grant_type": 1}', "application/json"),
        (b"<xml/>", "text/xml"),
    ],
)
def test_unparseable_body_is_400_invalid_request(fake, data, content_type):
    response = requests.post(
        TOKEN_URL, data=data, headers={"Content-Type": content_type}, timeout=TIMEOUT
    )
    assert_error(response, 400, "invalid_request", errors.BODY_INVALID)


def test_unsupported_grant_type(fake):
    assert_error(
        post_token(grant_type="client_credentials"),
        400,
        "unsupported_grant_type",
        errors.GRANT_TYPE_UNSUPPORTED,
    )


def test_unknown_scope_is_400_invalid_scope(fake):
    assert_error(
        password_grant(scope="offline_access everything"),
        400,
        "invalid_scope",
        errors.SCOPE_INVALID,
    )


def test_named_scopes_grant_the_intersection_with_the_users_scopes(fake):
    body = password_grant(
        "tom@example.com", scope="offline_access company_user company_portfolio_all"
    ).json()
    assert userinfo(body["access_token"]).json()["tokenInfo"]["scope"] == [
        "offline_access",
        "company_user",
    ]


def test_token_endpoint_only_accepts_post(fake):
    assert requests.get(TOKEN_URL, timeout=TIMEOUT).status_code == 405


# Refresh.


def test_refresh_with_rotation_keeps_the_old_refresh_token_valid(fake):
    """EverReal keeps up to 50 refresh tokens per client and user, old ones too."""
    fake.refresh_expires_in_as_string = False
    first = password_grant().json()
    response = post_token(
        grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "expires_in"}
    assert body["expires_in"] == 3600
    assert body["refresh_token"] != first["refresh_token"]
    assert userinfo(body["access_token"]).status_code == 200
    assert fake.refresh_token_count("anna@example.com") == 2
    again = post_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again.status_code == 200
    assert fake.verify(first["refresh_token"])
    assert (
        post_token(
            grant_type="refresh_token", refresh_token=body["refresh_token"]
        ).status_code
        == 200
    )


def test_rotation_pushes_out_the_oldest_refresh_token_after_50_newer_ones(fake):
    first = password_grant().json()["refresh_token"]
    latest = first
    for _ in range(49):
        latest = post_token(grant_type="refresh_token", refresh_token=latest).json()[
            "refresh_token"
        ]
    assert fake.refresh_token_count("anna@example.com") == 50
    assert fake.verify(first)
    # The 50th rotation makes the first token the 51st newest: deleted.
    fiftieth = post_token(grant_type="refresh_token", refresh_token=latest)
    assert fiftieth.status_code == 200
    assert fake.refresh_token_count("anna@example.com") == 50
    refused = post_token(grant_type="refresh_token", refresh_token=first)
    assert_error(refused, 403, "invalid_grant", errors.REFRESH_TOKEN_INVALID)
    assert (
        post_token(grant_type="refresh_token", refresh_token=latest).status_code == 200
    )


def test_revoke_rotated_refresh_tokens_option_kills_the_old_one(clock):
    fake = FakeEverReal(clock=clock, revoke_rotated_refresh_tokens=True)
    with fake.mock():
        first = password_grant().json()
        response = post_token(
            grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
        assert response.status_code == 200
        body = response.json()
        assert fake.refresh_token_count("anna@example.com") == 1
        again = post_token(
            grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
        assert_error(again, 403, "invalid_grant", errors.REFRESH_TOKEN_REVOKED)
        with pytest.raises(FakeEverRealError, match="revoked"):
            fake.verify(first["refresh_token"])
        assert (
            post_token(
                grant_type="refresh_token", refresh_token=body["refresh_token"]
            ).status_code
            == 200
        )


def test_refresh_without_rotation_matches_the_docs_sample_and_keeps_the_old_token(fake):
    fake.rotate_refresh_tokens = False
    sample = json.loads((SAMPLES / "refresh-response.json").read_text())
    first = password_grant().json()
    for _ in range(2):
        response = post_token(
            grant_type="refresh_token", refresh_token=first["refresh_token"]
        )
        assert response.status_code == 200
        body = response.json()
        assert set(body) == set(sample)
        assert body["expires_in"] == "3600"
        assert fake.verify(body["access_token"])


def test_refresh_form_body(fake):
    first = password_grant().json()
    response = requests.post(
        TOKEN_URL,
        data={
            **CLIENT,
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert fake.last_call("token").content_type == "application/x-www-form-urlencoded"


def test_refresh_token_lifetime_and_expiry(fake, clock):
    fake.refresh_token_lifetime = 100
    first = password_grant().json()
    clock.advance(100)
    response = post_token(
        grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert_error(response, 403, "invalid_grant", errors.REFRESH_TOKEN_EXPIRED)


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_unknown_refresh_token(fake, token):
    assert_error(
        post_token(grant_type="refresh_token", refresh_token=token),
        403,
        "invalid_grant",
        errors.REFRESH_TOKEN_INVALID,
    )


def test_an_access_token_is_not_a_refresh_token(fake):
    first = password_grant().json()
    response = post_token(
        grant_type="refresh_token", refresh_token=first["access_token"]
    )
    assert_error(response, 403, "invalid_grant", errors.REFRESH_TOKEN_INVALID)


def test_refresh_for_an_inactive_user_fails(fake):
    first = password_grant().json()
    fake.user("anna@example.com").is_active = False
    response = post_token(
        grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert_error(response, 403, "invalid_grant", errors.USER_INACTIVE)


def test_at_most_50_refresh_tokens_per_client_and_user(fake):
    tokens = [fake.issue_tokens("anna@example.com")["refresh_token"] for _ in range(51)]
    fake.issue_tokens("tom@example.com")
    assert fake.refresh_token_count("anna@example.com") == 50
    assert fake.refresh_token_count("tom@example.com") == 1
    oldest = post_token(grant_type="refresh_token", refresh_token=tokens[0])
    assert_error(oldest, 403, "invalid_grant", errors.REFRESH_TOKEN_INVALID)
    assert (
        post_token(grant_type="refresh_token", refresh_token=tokens[1]).status_code
        == 200
    )


def test_revoke_a_users_refresh_tokens(fake):
    anna = password_grant().json()
    tom = password_grant("tom@example.com").json()
    assert fake.revoke_refresh_tokens("anna@example.com") == 1
    assert_error(
        post_token(grant_type="refresh_token", refresh_token=anna["refresh_token"]),
        403,
        "invalid_grant",
        errors.REFRESH_TOKEN_REVOKED,
    )
    assert userinfo(anna["access_token"]).status_code == 200
    assert (
        post_token(
            grant_type="refresh_token", refresh_token=tom["refresh_token"]
        ).status_code
        == 200
    )


def test_revoke_all_tokens_kills_access_tokens_too(fake):
    anna = password_grant().json()
    assert fake.revoke_tokens() == 2
    response = userinfo(anna["access_token"])
    assert response.status_code == 401
    assert response.json()["error_description"] == errors.ACCESS_TOKEN_REVOKED


def test_revoke_one_token(fake):
    anna = fake.issue_tokens("anna@example.com")
    assert fake.revoke(anna["access_token"]) is True
    assert fake.revoke("garbage") is False
    with pytest.raises(FakeEverRealError, match="revoked"):
        fake.verify(anna["access_token"])
    assert fake.verify(anna["refresh_token"])


# Userinfo.


def test_userinfo_has_the_keys_of_everreals_sample(fake):
    sample = json.loads((SAMPLES / "userinfo.json").read_text())
    body = userinfo(fake.issue_tokens("anna@example.com")["access_token"]).json()
    assert set(body) == set(sample)
    assert set(body["currentCompany"]) == set(sample["currentCompany"])
    assert set(body["currentCompany"]["partner"]) == set(
        sample["currentCompany"]["partner"]
    )
    assert set(body["companies"][0]) == set(sample["companies"][0])
    assert set(body["tokenInfo"]) == set(sample["tokenInfo"])
    assert "language" in body["profileData"]


def test_userinfo_content_for_anna(fake, clock):
    tokens = fake.issue_tokens("anna@example.com")
    clock.advance(29)
    body = userinfo(tokens["access_token"]).json()
    anna = fake.user("anna@example.com")
    assert body["id"] == anna.id
    assert body["email"] == "anna@example.com"
    assert body["isTenant"] is False
    assert len(body["companies"]) == 2
    assert [c["isDefault"] for c in body["companies"]].count(True) == 1
    assert body["currentCompany"]["partner"] == {
        "id": anna.partner.id,
        "name": "demo",
        "subdomain": "demo",
    }
    assert body["tokenInfo"] == {
        "audience": fake.client(DEMO_CLIENT_ID).audience,
        "scope": [
            "offline_access",
            "company_user",
            "company_portfolio_all",
            "message_templates_all",
            "company_contracting_edit_contract",
        ],
        "user_id": anna.id,
        "expires_in": 3600 - 29,
    }


def test_userinfo_reflects_changes_to_the_user(fake):
    from django_everreal.testing import ABSENT

    access = fake.issue_tokens("anna@example.com")["access_token"]
    anna = fake.user("anna@example.com")
    anna.companies.pop()
    anna.scopes.remove("company_portfolio_all")
    anna.first_name = None
    anna.overrides["profilePhoto"] = ABSENT
    anna.overrides["updatedAt"] = None
    body = userinfo(access).json()
    assert len(body["companies"]) == 1
    assert "company_portfolio_all" not in body["tokenInfo"]["scope"]
    assert body["firstName"] is None
    assert "profilePhoto" not in body
    assert body["updatedAt"] is None


def test_userinfo_for_a_tenant(fake):
    body = userinfo(fake.issue_tokens("tom@example.com")["access_token"]).json()
    assert body["isTenant"] is True
    assert body["tokenInfo"]["scope"] == ["offline_access", "company_user"]


@pytest.mark.parametrize(
    ("authorization", "description"),
    [
        (None, errors.ACCESS_TOKEN_MISSING),
        ("Basic abc", errors.ACCESS_TOKEN_MISSING),
        ("Bearer garbage", errors.ACCESS_TOKEN_INVALID),
    ],
)
def test_userinfo_without_a_valid_bearer_is_401(fake, authorization, description):
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.get(USERINFO_URL, headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == {
        "error": "invalid_token",
        "error_description": description,
    }


def test_userinfo_with_an_expired_access_token_is_401(fake, clock):
    fake.access_token_lifetime = 10
    access = fake.issue_tokens("anna@example.com")["access_token"]
    assert userinfo(access).status_code == 200
    clock.advance(10)
    response = userinfo(access)
    assert response.status_code == 401
    assert response.json()["error_description"] == errors.ACCESS_TOKEN_EXPIRED


def test_a_token_signed_by_another_key_is_invalid(fake):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = FakeEverReal(
        private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    response = userinfo(other.issue_tokens("anna@example.com")["access_token"])
    assert response.status_code == 401
    assert response.json()["error_description"] == errors.ACCESS_TOKEN_INVALID


# Rate limit.


def test_rate_limit_headers_and_429(fake, clock):
    fake.rate_limit = 3
    access = fake.issue_tokens("anna@example.com")["access_token"]
    remaining = []
    for _ in range(3):
        response = userinfo(access)
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Reset"] == "60"
        remaining.append(response.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    clock.advance(15)
    response = userinfo(access)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "45"
    assert response.headers["X-RateLimit-Reset"] == "45"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    clock.advance(45)
    response = userinfo(access)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "2"


def test_default_rate_limit_is_300_per_minute(fake):
    response = userinfo(fake.issue_tokens("anna@example.com")["access_token"])
    assert response.headers["X-RateLimit-Limit"] == "300"
    assert response.headers["X-RateLimit-Remaining"] == "299"


def test_rate_limit_headers_on_401_too(fake):
    response = requests.get(USERINFO_URL, timeout=TIMEOUT)
    assert response.status_code == 401
    assert "X-RateLimit-Remaining" in response.headers


# Fault injection.


def test_fail_next_with_status_and_body(fake):
    fake.fail_next("token", 503, {"message": "maintenance"}, times=2)
    assert password_grant().status_code == 503
    response = password_grant()
    assert response.status_code == 503
    assert response.json() == {"message": "maintenance"}
    assert password_grant().status_code == 200
    assert [call.status for call in fake.calls("token")] == [503, 503, 200]
    assert fake.calls("token")[0].fault.status == 503


def test_fail_next_bare_401_text(fake):
    fake.fail_next("token", 401, "Unauthorized")
    response = password_grant()
    assert response.status_code == 401
    assert response.text == "Unauthorized"


def test_drop_next_raises_connection_error(fake):
    fake.drop_next("userinfo")
    access = fake.issue_tokens("anna@example.com")["access_token"]
    with pytest.raises(requests.ConnectionError):
        userinfo(access)
    assert userinfo(access).status_code == 200
    assert [call.status for call in fake.calls("userinfo")] == [None, 200]


def test_delay_longer_than_timeout_raises_read_timeout_without_sleeping(fake):
    import time

    fake.delay_next("token", 30)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        requests.post(
            TOKEN_URL,
            json={
                **CLIENT,
                "grant_type": "password",
                "username": "anna@example.com",
                "password": "demo",
            },
            timeout=(1, 2),
        )
    assert time.monotonic() - started < 1
    assert fake.last_call("token").status is None


def test_short_delay_answers_normally(fake):
    fake.delay_next("token", 1)
    assert password_grant().status_code == 200
    assert fake.last_call("token").fault.delay == 1


def test_a_handled_drop_issues_the_token_then_loses_the_answer(fake):
    first = password_grant().json()
    fake.drop_next("token", handled=True)
    with pytest.raises(requests.ConnectionError):
        post_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    # The lost answer's refresh token exists; the old one still works.
    assert fake.refresh_token_count("anna@example.com") == 2
    again = post_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again.status_code == 200


def test_a_handled_drop_with_strict_revocation_kills_the_old_token(fake):
    fake.revoke_rotated_refresh_tokens = True
    first = password_grant().json()
    fake.drop_next("token", handled=True)
    with pytest.raises(requests.ConnectionError):
        post_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    again = post_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert_error(again, 403, "invalid_grant", errors.REFRESH_TOKEN_REVOKED)


def test_an_unhandled_drop_leaves_state_alone(fake):
    first = password_grant().json()
    fake.drop_next("token")
    with pytest.raises(requests.ConnectionError):
        post_token(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert fake.refresh_token_count("anna@example.com") == 1
    assert (
        post_token(
            grant_type="refresh_token", refresh_token=first["refresh_token"]
        ).status_code
        == 200
    )


def test_faults_on_authorize_reach_the_helper(fake):
    fake.drop_next("authorize")
    with pytest.raises(FakeEverRealError, match="dropped"):
        login(fake)
    fake.fail_next("authorize", 502, "Bad Gateway")
    with pytest.raises(FakeEverRealError, match="502"):
        login(fake)


def test_fault_validation(fake):
    with pytest.raises(ValueError, match="Unknown endpoint"):
        fake.fail_next("nowhere", 500)
    from django_everreal.testing import Fault

    with pytest.raises(ValueError, match="needs a status"):
        Fault()


# Call log.


def test_call_log_records_what_the_app_sent(fake):
    password_grant()
    access = fake.issue_tokens("anna@example.com")["access_token"]
    userinfo(access, headers={"Cookie": "accept-language=de-DE"})
    requests.get(AUTHORIZE_URL, params=authorize_params(), timeout=TIMEOUT)
    token, info, authorize = fake.calls()
    assert token.endpoint == "token"
    assert token.method == "POST"
    assert token.path == "/accounts/oauth/token"
    assert token.is_json
    assert token.body["grant_type"] == "password"
    assert token.headers["content-type"] == "application/json"
    assert token.status == 200
    assert info.cookies == {"accept-language": "de-DE"}
    assert info.headers["Cookie"] == "accept-language=de-DE"
    assert info.headers["Authorization"] == f"Bearer {access}"
    assert authorize.query["redirect_uri"] == REDIRECT_URI
    assert authorize.body is None
    assert fake.calls("userinfo") == [info]
    fake.reset()
    assert fake.calls() == []


def test_reset_clears_faults_and_rate_limits_but_keeps_tokens(fake):
    fake.rate_limit = 1
    access = fake.issue_tokens("anna@example.com")["access_token"]
    userinfo(access)
    fake.fail_next("userinfo", 500)
    fake.reset()
    assert fake.pending_faults("userinfo") == 0
    assert userinfo(access).status_code == 200


def test_unknown_paths_are_404_and_logged(fake):
    response = requests.get(f"{BASE}/api/nothing?x=1", timeout=TIMEOUT)
    assert response.status_code == 404
    assert fake.last_call().endpoint == "unknown"


def test_mock_only_answers_its_base_url():
    fake = FakeEverReal(base_url="https://acme.everreal.co")
    with fake.mock():
        assert (
            requests.get(
                "https://acme.everreal.co/accounts/api/userinfo", timeout=TIMEOUT
            ).status_code
            == 401
        )
        with pytest.raises(requests.ConnectionError):
            requests.get(USERINFO_URL, timeout=TIMEOUT)


def test_start_and_stop_mock():
    fake = FakeEverReal()
    fake.start_mock()
    try:
        with pytest.raises(FakeEverRealError):
            fake.start_mock()
        assert requests.get(USERINFO_URL, timeout=TIMEOUT).status_code == 401
    finally:
        fake.stop_mock()


def test_pytest_fixture_everreal_fake(everreal_fake):
    assert isinstance(everreal_fake, FakeEverReal)
    response = password_grant()
    assert response.status_code == 200
    assert everreal_fake.calls("token")[0].status == 200


def test_advance_clock_expires_access_tokens():
    fake = FakeEverReal()
    with fake.mock():
        access = fake.issue_tokens("anna@example.com")["access_token"]
        assert userinfo(access).status_code == 200
        fake.advance_clock(3600)
        assert (
            userinfo(access).json()["error_description"] == errors.ACCESS_TOKEN_EXPIRED
        )
    with pytest.raises(FakeEverRealError, match="FakeClock"):
        FakeEverReal(clock=lambda: 0.0).advance_clock(1)
