"""The fake EverReal over real HTTP: the threaded server and the command line."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeEverRealServer
from django_everreal.testing import errors
from django_everreal.testing import s256

TIMEOUT = 5
CLIENT = {"client_id": "demo-client", "client_secret": "demo-secret"}
REDIRECT_URI = "http://127.0.0.1:8000/complete/everreal/"
USERINFO_KEYS = {
    "id",
    "email",
    "isActive",
    "firstName",
    "lastName",
    "profilePhoto",
    "profileData",
    "isTenant",
    "createdAt",
    "updatedAt",
    "areTermsAccepted",
    "companies",
    "currentCompany",
    "tokenInfo",
}


@pytest.fixture
def server():
    with FakeEverRealServer(FakeEverReal()) as server:
        yield server


def test_server_url_and_fake(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert server.port > 0
    assert server.fake.base_url == server.url


def test_full_code_flow_over_http(server):
    verifier = "v" * 64
    authorize_url = server.fake.authorize_url(
        redirect_uri=REDIRECT_URI, state="s1", code_challenge=s256(verifier)
    )
    page = requests.get(authorize_url, timeout=TIMEOUT)
    assert page.status_code == 200
    assert 'action="/accounts/dialog/authorize"' in page.text
    params = parse_qs(urlsplit(authorize_url).query)
    form = {k: v[0] for k, v in params.items()} | {
        "email": "anna@example.com",
        "password": "demo",
        "action": "login",
    }
    answer = requests.post(
        f"{server.url}/accounts/dialog/authorize",
        data=form,
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["s1"]
    token = requests.post(
        f"{server.url}/accounts/oauth/token",
        json={
            **CLIENT,
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        timeout=TIMEOUT,
    )
    assert token.status_code == 200, token.text
    info = requests.get(
        f"{server.url}/accounts/api/userinfo",
        headers={
            "Authorization": f"Bearer {token.json()['access_token']}",
            "Cookie": "accept-language=de-DE",
        },
        timeout=TIMEOUT,
    )
    assert info.status_code == 200
    assert info.json()["email"] == "anna@example.com"
    assert info.headers["X-RateLimit-Limit"] == "300"
    call = server.fake.last_call("userinfo")
    assert call.cookies == {"accept-language": "de-DE"}
    assert server.fake.calls("token")[0].body["code_verifier"] == verifier


def test_server_status_fault(server):
    server.fake.fail_next("token", 500, {"error": "server_error"})
    response = requests.post(
        f"{server.url}/accounts/oauth/token", json={}, timeout=TIMEOUT
    )
    assert response.status_code == 500
    assert response.json() == {"error": "server_error"}


def test_server_drop_closes_the_connection_without_answer(server):
    server.fake.drop_next("userinfo")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/accounts/api/userinfo", timeout=TIMEOUT)
    assert (
        requests.get(f"{server.url}/accounts/api/userinfo", timeout=TIMEOUT).status_code
        == 401
    )


def test_server_delay_really_waits_and_can_time_out(server):
    server.fake.delay_next("userinfo", 0.5)
    with pytest.raises(requests.ReadTimeout):
        requests.get(f"{server.url}/accounts/api/userinfo", timeout=(TIMEOUT, 0.1))


def test_server_logs_no_codes_or_tokens(server, caplog):
    caplog.set_level(logging.INFO, logger="django_everreal.testing")
    location = server.fake.authorize_redirect(
        server.fake.authorize_url(redirect_uri=REDIRECT_URI), "anna@example.com", "demo"
    )
    code = parse_qs(urlsplit(location).query)["code"][0]
    requests.get(
        f"{server.url}/accounts/dialog/authorize?code={code}&state=secret-state",
        timeout=TIMEOUT,
    )
    tokens = server.fake.issue_tokens("anna@example.com")
    requests.get(
        f"{server.url}/accounts/api/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=TIMEOUT,
    )
    assert "GET /accounts/dialog/authorize 400" in caplog.text
    assert "GET /accounts/api/userinfo 200" in caplog.text
    assert code not in caplog.text
    assert "secret-state" not in caplog.text
    assert tokens["access_token"] not in caplog.text


def test_stop_ends_a_pending_delay(server):
    server.fake.delay_next("userinfo", 20)
    errors_seen = []

    def call():
        try:
            requests.get(f"{server.url}/accounts/api/userinfo", timeout=TIMEOUT)
        except requests.RequestException as exc:
            errors_seen.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    while not server.fake.calls("userinfo"):
        threading.Event().wait(0.01)
    server.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_everreal_server_fixture(everreal_server):
    response = requests.post(
        f"{everreal_server.url}/accounts/oauth/token",
        json={
            **CLIENT,
            "grant_type": "password",
            "username": "tom@example.com",
            "password": "demo",
            "scope": "offline_access *",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    assert everreal_server.fake.verify(response.json()["access_token"])


@pytest.fixture
def private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@contextlib.contextmanager
def run_cli(*args):
    """``python -m django_everreal.testing --port 0 ...``, once its URL line is printed."""
    command = [sys.executable, "-m", "django_everreal.testing", "--port", "0", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None and process.stderr is not None
    url = None
    output = []
    try:
        # Reading stdout blocks; a hung start must still end the test.
        timer = threading.Timer(20, process.kill)
        timer.start()
        try:
            for line in process.stdout:
                output.append(line)
                if line.startswith("Fake EverReal listening on "):
                    url = line.split()[-1]
                if line.startswith("Press Ctrl+C"):
                    break
        finally:
            timer.cancel()
        assert url, "".join(output) + process.stderr.read()

        def stop():
            process.terminate()
            _, log = process.communicate(timeout=TIMEOUT)
            return log

        yield url, "".join(output), stop
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=TIMEOUT)


@pytest.fixture
def cli(tmp_path, private_key):
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with run_cli("--access-token-lifetime", "120", "--key", str(key_file)) as running:
        yield running


def test_cli_serves_the_demo(cli, private_key):
    url, banner, stop = cli
    assert "demo-client / demo-secret" in banner
    assert "anna@example.com / demo" in banner
    assert "tom@example.com / demo" in banner

    grant = requests.post(
        f"{url}/accounts/oauth/token",
        json={
            **CLIENT,
            "grant_type": "password",
            "username": "anna@example.com",
            "password": "demo",
            "scope": "offline_access *",
        },
        timeout=TIMEOUT,
    )
    assert grant.status_code == 200, grant.text
    tokens = grant.json()
    assert tokens["expires_in"] == 120
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header == {"alg": "RS256", "typ": "JWT"}
    claims = jwt.decode(
        tokens["access_token"], private_key.public_key(), algorithms=["RS256"]
    )
    assert set(claims) == {"jti", "sub", "exp", "iat"}
    assert claims["exp"] - claims["iat"] == 120

    info = requests.get(
        f"{url}/accounts/api/userinfo",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=TIMEOUT,
    )
    assert info.status_code == 200
    assert set(info.json()) == USERINFO_KEYS
    assert info.json()["tokenInfo"]["scope"][0] == "offline_access"
    assert info.json()["id"] == claims["sub"]

    def refresh(refresh_token):
        return requests.post(
            f"{url}/accounts/oauth/token",
            data={
                **CLIENT,
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
            },
            timeout=TIMEOUT,
        )

    refreshed = refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["access_token"] != tokens["access_token"]
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]
    # As at EverReal, rotation leaves the old refresh token valid.
    again = refresh(tokens["refresh_token"])
    assert again.status_code == 200, again.text

    wrong = requests.post(
        f"{url}/accounts/oauth/token",
        json={
            **CLIENT,
            "grant_type": "password",
            "username": "anna@example.com",
            "password": "nope",
            "scope": "offline_access *",
        },
        timeout=TIMEOUT,
    )
    assert wrong.status_code == 403
    assert wrong.json()["error"] == "invalid_grant"
    assert wrong.json()["error_description"].startswith("heimdall.")
    assert wrong.json()["error_description"] == errors.PASSWORD_INVALID

    log = stop()
    assert "POST /accounts/oauth/token 200" in log
    assert "POST /accounts/oauth/token 403" in log
    assert tokens["access_token"] not in log and tokens["refresh_token"] not in log


def test_cli_with_a_users_file_and_no_rotation(tmp_path):
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps(
            [{"email": "eva@acme.test", "password": "pw", "scopes": ["company_user"]}]
        )
    )
    with run_cli("--users", str(users), "--no-rotation", "--quiet") as (url, banner, _):
        assert "eva@acme.test" in banner
        assert "anna@example.com" not in banner
        token_url = f"{url}/accounts/oauth/token"
        grant = {**CLIENT, "grant_type": "password", "scope": "offline_access *"}
        anna = requests.post(
            token_url,
            json={**grant, "username": "anna@example.com", "password": "demo"},
            timeout=TIMEOUT,
        )
        assert anna.json()["error_description"] == errors.USER_DOES_NOT_EXIST
        eva = requests.post(
            token_url,
            json={**grant, "username": "eva@acme.test", "password": "pw"},
            timeout=TIMEOUT,
        )
        refresh = {
            **CLIENT,
            "grant_type": "refresh_token",
            "refresh_token": eva.json()["refresh_token"],
        }
        for _ in range(2):
            refreshed = requests.post(token_url, json=refresh, timeout=TIMEOUT)
            assert refreshed.status_code == 200
            assert "refresh_token" not in refreshed.json()


def test_cli_can_revoke_rotated_refresh_tokens():
    with run_cli("--revoke-rotated-refresh-tokens", "--quiet") as (url, _, _stop):
        token_url = f"{url}/accounts/oauth/token"
        first = requests.post(
            token_url,
            json={
                **CLIENT,
                "grant_type": "password",
                "username": "anna@example.com",
                "password": "demo",
                "scope": "offline_access *",
            },
            timeout=TIMEOUT,
        ).json()
        refresh = {**CLIENT, "grant_type": "refresh_token"}
        rotated = requests.post(
            token_url,
            json={**refresh, "refresh_token": first["refresh_token"]},
            timeout=TIMEOUT,
        )
        assert rotated.status_code == 200
        again = requests.post(
            token_url,
            json={**refresh, "refresh_token": first["refresh_token"]},
            timeout=TIMEOUT,
        )
        assert again.status_code == 403
        assert again.json()["error_description"] == errors.REFRESH_TOKEN_REVOKED
        newer = requests.post(
            token_url,
            json={**refresh, "refresh_token": rotated.json()["refresh_token"]},
            timeout=TIMEOUT,
        )
        assert newer.status_code == 200


def test_cli_refuses_revoking_rotated_tokens_without_rotation():
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "django_everreal.testing",
            "--no-rotation",
            "--revoke-rotated-refresh-tokens",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert process.returncode == 2
    assert "not allowed with argument" in process.stderr


def test_stop_ends_serve_forever_running_in_another_thread():
    import threading

    from django_everreal.testing.server import FakeEverRealServer

    server = FakeEverRealServer()
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    assert requests.get(server.url + "/nowhere", timeout=5).status_code == 404

    server.stop()
    serving.join(timeout=5)

    assert not serving.is_alive()
