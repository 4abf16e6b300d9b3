"""The command line of the fake EverReal, run in this process: errors and a whole run."""

from __future__ import annotations

import errno
import json
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa

from django_everreal.testing import FakeEverReal
from django_everreal.testing import FakeEverRealServer
from django_everreal.testing import __main__ as cli
from django_everreal.testing.__main__ import bind_servers
from django_everreal.testing.__main__ import main
from django_everreal.testing.__main__ import next_free_port_server
from django_everreal.testing.__main__ import parse_args

TIMEOUT = 5
TOKEN_PATH = "/accounts/oauth/token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_key(path: Path, key: Any) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def password_grant(url: str, client: str, email: str, password: str) -> Any:
    return requests.post(
        url + TOKEN_PATH,
        json={
            "client_id": f"{client}-client",
            "client_secret": f"{client}-secret",
            "grant_type": "password",
            "username": email,
            "password": password,
            "scope": "offline_access *",
        },
        timeout=TIMEOUT,
    )


# Errors: a clear message on stderr and exit status 2, no traceback.


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "users.json"),  # no such file
        ("{nope", "users.json"),
        ('[{"email": "a@b.c"}]', "'password' is required"),
    ],
)
def test_a_bad_users_file_is_exit_status_2(tmp_path, capsys, content, message):
    users = tmp_path / "users.json"
    if content is not None:
        users.write_text(content)
    assert main(["--port", "0", "--quiet", "--users", str(users)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fake EverReal: ")
    assert message in err
    assert "Traceback" not in err


def test_a_key_file_that_is_no_rsa_key_is_exit_status_2(tmp_path, capsys):
    ec_key = write_key(tmp_path / "ec.pem", ec.generate_private_key(ec.SECP256R1()))
    assert main(["--port", "0", "--quiet", "--key", str(ec_key)]) == 2
    assert "ec.pem: not an RSA private key" in capsys.readouterr().err

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    assert main(["--port", "0", "--quiet", "--key", str(garbage)]) == 2
    assert capsys.readouterr().err.startswith("fake EverReal: ")

    missing = tmp_path / "missing.pem"
    assert main(["--port", "0", "--quiet", "--key", str(missing)]) == 2
    assert "missing.pem" in capsys.readouterr().err


def test_every_customers_fake_signs_with_the_key_file(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = write_key(tmp_path / "key.pem", key)
    args = parse_args(
        ["--port", "0", "--quiet", "--key", str(key_file), "--customer", "beta"]
    )
    served = bind_servers(args)
    try:
        for running in served:
            client_id = running.fake.clients[0].client_id
            tokens = running.fake.issue_tokens("anna@example.com", client_id=client_id)
            token = tokens["access_token"]
            claims = jwt.decode(token, key.public_key(), algorithms=["RS256"])
            assert claims["sub"] == running.fake.user("anna@example.com").id
    finally:
        for running in served:
            running.server.stop()


def test_a_customer_port_taken_frees_the_ports_bound_already(capsys):
    main_port = free_port()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        argv = ["--port", str(main_port), "--quiet", "--customer", f"beta:{taken}"]
        argv += ["--customer", "gamma"]
        assert main(argv) == 2
    assert "fake EverReal: " in capsys.readouterr().err
    # The main server had bound its port: it was closed again, not leaked.
    with socket.socket() as again:
        again.bind(("127.0.0.1", main_port))


def test_a_customer_port_error_other_than_in_use_is_not_skipped(monkeypatch):
    attempts: list[int] = []

    def refusing(fake: FakeEverReal, host: str, port: int) -> FakeEverRealServer:
        attempts.append(port)
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(cli, "FakeEverRealServer", refusing)
    with pytest.raises(PermissionError):
        next_free_port_server(FakeEverReal(), "127.0.0.1", 9000, taken={9001})
    assert attempts == [9002]


def test_no_free_port_after_the_last_one_is_an_error():
    with pytest.raises(OSError, match="no free port after 65534"):
        next_free_port_server(FakeEverReal(), "127.0.0.1", 65534, taken={65535})


# A whole run: serve until Ctrl+C.


def test_main_serves_every_customer_until_ctrl_c(tmp_path):
    """The command line as a user runs it, stopped by a real SIGINT (Ctrl+C)."""
    users = tmp_path / "users.json"
    users.write_text(
        json.dumps([{"email": "eva@acme.test", "password": "pw", "scopes": []}])
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django_everreal.testing",
            "--port",
            "0",
            "--quiet",
            "--users",
            str(users),
            "--no-rotation",
            "--customer",
            "beta",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:  # the banner ends with the Ctrl+C hint
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl+C"):
                break
        main_url = lines[0].split()[-1]
        beta_url = next(x for x in lines if x.startswith("Customer beta")).split()[-1]
        eva = password_grant(main_url, "demo", "eva@acme.test", "pw")
        refreshed = requests.post(
            main_url + TOKEN_PATH,
            json={
                "client_id": "demo-client",
                "client_secret": "demo-secret",
                "grant_type": "refresh_token",
                "refresh_token": eva.json()["refresh_token"],
            },
            timeout=TIMEOUT,
        ).json()
        beta = password_grant(beta_url, "beta", "eva@acme.test", "pw")

        process.send_signal(signal.SIGINT)  # what Ctrl+C does
        assert process.wait(timeout=TIMEOUT * 2) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    banner = "\n".join(lines)
    assert "  user:   eva@acme.test (property manager)" in banner  # no password shown
    assert "anna@example.com" not in banner
    assert "  client: beta-client / beta-secret" in banner
    assert eva.status_code == 200
    assert beta.status_code == 200  # the users file serves every customer
    assert "access_token" in refreshed
    assert "refresh_token" not in refreshed  # --no-rotation
    # Ctrl+C stopped the main server and every customer's.
    for url in (main_url, beta_url):
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/accounts/api/userinfo", timeout=TIMEOUT)


# deliver: the fake's answer and the URL's checks.


def test_deliver_needs_an_http_url(capsys):
    status = main(["deliver", "--fake", "ftp://127.0.0.1:8001", "LISTING_CREATED"])
    assert status == 2
    assert "--fake must be an http(s) URL: ftp://127.0.0.1:8001" in (
        capsys.readouterr().err
    )


def test_deliver_reports_an_error_status_of_the_fake(everreal_server, capsys):
    # Not the fake's root: its control path there is an unknown page.
    url = f"{everreal_server.url}/elsewhere"
    assert main(["deliver", "--fake", url, "LISTING_CREATED"]) == 2
    assert f"fake EverReal at {url}: HTTP 404" in capsys.readouterr().err


def test_deliver_sends_the_data_given(everreal_server, capsys):
    seen: list[Any] = []
    everreal_server.fake.add_webhook(
        "LISTING_CREATED", f"http://127.0.0.1:{free_port()}/hooks/x/"
    )
    original = everreal_server.fake.deliver

    def recording(event_type: str, data: Any = None, **kwargs: Any) -> Any:
        seen.append((event_type, data))
        return original(event_type, data, **kwargs)

    everreal_server.fake.deliver = recording
    status = main(
        [
            "deliver",
            "--fake",
            everreal_server.url + "/",
            "LISTING_CREATED",
            "--data",
            '{"id": "L-1"}',
        ]
    )
    assert seen == [("LISTING_CREATED", {"id": "L-1"})]
    assert status == 1  # nobody listens on the receiver's port
    assert capsys.readouterr().out == "LISTING_CREATED: delivered, no answer\n"
