"""Run the example site: migrate SQLite, start the fake EverReal, serve the site.

Started by ``python3 dev.py demo`` inside the project's virtualenv. Against
the fake it also creates the admin user ``admin`` / ``admin``. With
``EVERREAL_SUBDOMAIN`` set, no fake is started and the site talks to that
EverReal subdomain (create an admin with ``manage.py createsuperuser``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def manage(*args: str) -> None:
    subprocess.run(
        [sys.executable, str(HERE / "manage.py"), *args], check=True, cwd=HERE
    )


def start_fake(host: str, port: int) -> tuple[subprocess.Popen[str], str]:
    """Start the fake EverReal and wait until it says where it listens."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django_everreal.testing",
            "--host",
            host,
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout or ():
        print(f"  fake EverReal | {line.rstrip()}")
        if "http://" in line:
            url = line[line.index("http://") :].split()[0]
            return process, url
    raise SystemExit("The fake EverReal did not start; see its output above.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--fake-port", type=int, default=8001)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")
    fake = None
    if not os.environ.get("EVERREAL_SUBDOMAIN"):
        fake, url = start_fake(args.host, args.fake_port)
        os.environ["EVERREAL_BASE_URL"] = url.rstrip("/")
    try:
        manage("migrate", "--noinput", "--verbosity", "0")
        if fake is not None:
            manage("demo_admin", "--verbosity", "0")
        browse_host = "localhost" if args.host == "127.0.0.1" else args.host
        # The redirect URI registered with EverReal is derived from this URL.
        site = os.environ.setdefault(
            "EXAMPLE_SITE_URL", f"http://{browse_host}:{args.port}"
        ).rstrip("/")
        print(f"\nThe example site runs at {site}/")
        if fake is not None:
            print("Log in as anna@example.com or tom@example.com, password 'demo'.")
            print(f"The admin is at {site}/admin/, user 'admin', password 'admin'.")
        print("Stop it with Ctrl+C.\n", flush=True)
        manage("runserver", "--noreload", f"{args.host}:{args.port}")
    except KeyboardInterrupt:
        pass
    finally:
        if fake is not None:
            fake.terminate()
            fake.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
