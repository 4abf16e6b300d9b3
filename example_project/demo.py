"""Run the example site: migrate SQLite, start the fake EverReal, serve the site.

Started by ``python3 dev.py demo`` inside the project's virtualenv. Against
the fake it also creates the admin user ``admin`` / ``admin``, registers
the fake's second customer, ``beta``, so the login page offers two, logs the
service account ``demo-webhooks`` in, registers the site's webhooks at the
fake and runs the worker that processes their deliveries. With
``EVERREAL_SUBDOMAIN`` set, no fake is started and the site talks to that
EverReal subdomain (create an admin with ``manage.py createsuperuser``).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def manage(*args: str, input: str | None = None) -> None:
    """Run ``manage.py`` of the example site; *input* goes to its stdin."""
    subprocess.run(
        [sys.executable, str(HERE / "manage.py"), *args],
        check=True,
        cwd=HERE,
        input=input,
        text=True,
    )


def start_worker() -> subprocess.Popen[bytes]:
    """The background worker that processes EverReal's webhook deliveries."""
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "manage.py"),
            "everreal_webhooks",
            "worker",
            "--",
            "--interval",
            "0.5",
            "--no-reload",
            "--no-startup-delay",
        ],
        cwd=HERE,
    )


def stop(process: subprocess.Popen[Any] | None) -> None:
    if process is None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


#: The service account that registers the demo's webhooks (EVERREAL_WEBHOOKS).
WEBHOOK_SERVICE = "demo-webhooks"
WEBHOOK_USER = "anna@example.com"
DEMO_PASSWORD = "demo"  # noqa: S105 -- the fake's documented password

#: The demo's second EverReal customer, served by the fake on the next port.
SECOND_CUSTOMER = "beta"
SECOND_CUSTOMER_NAME = "Beta Immobilien"
CUSTOMER_LINE = re.compile(r"^Customer (\S+) listening on (http://\S+)$")


def start_fake(
    host: str, port: int
) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    """Start the fake EverReal (two customers) and wait until it says where they listen.

    Returns the process, the main fake's URL and each extra customer's URL.
    """
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django_everreal.testing",
            "--host",
            host,
            "--port",
            str(port),
            "--customer",
            SECOND_CUSTOMER,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = ""
    customers: dict[str, str] = {}
    for line in process.stdout or ():
        print(f"  fake EverReal | {line.rstrip()}")
        if match := CUSTOMER_LINE.match(line.strip()):
            customers[match[1]] = match[2]
        elif "http://" in line and not url:
            url = line[line.index("http://") :].split()[0]
        if line.startswith("Press Ctrl+C"):
            return process, url, customers
    raise SystemExit("The fake EverReal did not start; see its output above.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fake-port", type=int, default=8001)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
    fake = None
    worker = None
    customers: dict[str, str] = {}
    if not os.environ.get("EVERREAL_SUBDOMAIN"):
        fake, url, customers = start_fake(args.host, args.fake_port)
        os.environ["EVERREAL_BASE_URL"] = url.rstrip("/")
    try:
        manage("migrate", "--noinput", "--verbosity", "0")
        if fake is not None:
            manage("demo_admin", "--verbosity", "0")
            for subdomain, customer_url in customers.items():
                manage(
                    "demo_customer",
                    subdomain,
                    "--base-url",
                    customer_url,
                    "--name",
                    SECOND_CUSTOMER_NAME,
                    "--verbosity",
                    "0",
                )
        browse_host = "localhost" if args.host == "127.0.0.1" else args.host
        # The redirect URI registered with EverReal is derived from this URL,
        # and so are the webhooks' receiver URLs.
        site = os.environ.setdefault(
            "EXAMPLE_SITE_URL", f"http://{browse_host}:{args.port}"
        ).rstrip("/")
        if fake is not None:
            # Registering calls the fake only, so the site need not run yet.
            manage(
                "everreal_service_login",
                WEBHOOK_SERVICE,
                "--username",
                WEBHOOK_USER,
                "--password-stdin",
                input=f"{DEMO_PASSWORD}\n",
            )
            manage("everreal_webhooks", "sync")
        worker = start_worker()
        print(f"\nThe example site runs at {site}/")
        if fake is not None:
            print("Log in as anna@example.com or tom@example.com, password 'demo',")
            print(
                "at the customer in settings or at "
                f"{SECOND_CUSTOMER_NAME} (pick one on the login page)."
            )
            print(f"The admin is at {site}/admin/, user 'admin', password 'admin'.")
            print(f"Webhook deliveries are listed at {site}/events/.")
        print("Stop it with Ctrl+C.\n", flush=True)
        manage("runserver", "--noreload", f"{args.host}:{args.port}")
    except KeyboardInterrupt:
        pass
    finally:
        stop(worker)
        stop(fake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
