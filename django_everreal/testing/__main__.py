"""Run the fake EverReal as an HTTP server: ``python -m django_everreal.testing``.

``--customer SUBDOMAIN[:PORT]`` (repeatable) serves further EverReal
customers, each its own fake on its own port, so a site can be tried with
several customers at once. The output names each one's URL and client::

    Fake EverReal listening on http://127.0.0.1:8001
      client: demo-client / demo-secret
      user:   anna@example.com / demo (property manager)
      ...
    Customer beta listening on http://127.0.0.1:8002
      client: beta-client / beta-secret
      users:  the same as above
    Press Ctrl+C to stop.

``python -m django_everreal.testing deliver [--fake URL] EVENT_TYPE [--data JSON]``
makes a running fake deliver one webhook event to every registration of that
type (through its ``/_fake/webhooks/deliver``), and prints one line per
delivery with the receiver's HTTP status; the exit status is 0 when each
answered 2xx.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError
from urllib.request import ProxyHandler
from urllib.request import Request
from urllib.request import build_opener

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django_everreal.testing.data import DEMO_PASSWORD
from django_everreal.testing.data import UsersFileError
from django_everreal.testing.data import customer_clients
from django_everreal.testing.data import customer_users
from django_everreal.testing.data import load_users_file
from django_everreal.testing.fake import FakeEverReal
from django_everreal.testing.routes import CONTROL_PATH
from django_everreal.testing.server import FakeEverRealServer

#: One DNS label, as EverReal's subdomains are.
SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
#: How many ports after ``--port`` a customer without a port may try.
PORT_ATTEMPTS = 100
#: Seconds ``deliver`` waits for the fake, which waits for each receiver in turn.
DELIVER_TIMEOUT = 60.0


@dataclass(frozen=True)
class CustomerArg:
    """One ``--customer SUBDOMAIN[:PORT]``; no port: the next free one."""

    subdomain: str
    port: int | None = None


def customer_arg(value: str) -> CustomerArg:
    subdomain, _, port = value.partition(":")
    subdomain = subdomain.strip().lower()
    if not SUBDOMAIN_RE.match(subdomain):
        raise argparse.ArgumentTypeError(
            f"{value!r}: a subdomain is one DNS label, such as beta"
        )
    if not port:
        return CustomerArg(subdomain)
    if not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(
            f"{value!r}: the port must be 0-65535 (0 picks a free one)"
        )
    return CustomerArg(subdomain, int(port))


@dataclass
class Served:
    """One customer's fake and its server; ``subdomain`` is ``None`` for the main fake."""

    subdomain: str | None
    fake: FakeEverReal
    server: FakeEverRealServer


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m django_everreal.testing",
        description="A fake EverReal (auth server and a slice of the API) for development and tests.",
        epilog=(
            "To make a running fake deliver a webhook event: "
            "python -m django_everreal.testing deliver --help"
        ),
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8001,
        help="port; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--users",
        metavar="FILE",
        help="JSON file of users (and clients) replacing the demo data",
    )
    parser.add_argument(
        "--access-token-lifetime",
        type=int,
        default=3600,
        metavar="S",
        help="seconds (default: %(default)s)",
    )
    parser.add_argument(
        "--refresh-token-lifetime",
        type=int,
        default=28 * 24 * 3600,
        metavar="S",
        help="seconds (default: %(default)s, 4 weeks)",
    )
    rotation = parser.add_mutually_exclusive_group()
    rotation.add_argument(
        "--no-rotation",
        action="store_true",
        help="a refresh returns no new refresh token and the old one stays valid",
    )
    rotation.add_argument(
        "--revoke-rotated-refresh-tokens",
        action="store_true",
        help=(
            "a refresh that returns a new refresh token revokes the old one"
            " (default: the old one stays valid until 50 newer ones push it"
            " out, as at EverReal)"
        ),
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=300,
        metavar="N",
        help="API requests per minute (default: %(default)s)",
    )
    parser.add_argument(
        "--key",
        metavar="FILE",
        help="PEM RSA private key to sign tokens with (default: one generated at start)",
    )
    parser.add_argument(
        "--customer",
        action="append",
        default=[],
        type=customer_arg,
        metavar="SUBDOMAIN[:PORT]",
        help=(
            "serve another EverReal customer, its own fake with the same users"
            " and the client SUBDOMAIN-client / SUBDOMAIN-secret, on PORT"
            " (default: the next free port after --port; 0 picks a free one);"
            " repeatable"
        ),
    )
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    subdomains = [customer.subdomain for customer in args.customer]
    duplicates = sorted({sub for sub in subdomains if subdomains.count(sub) > 1})
    if duplicates:
        parser.error(f"--customer: {', '.join(duplicates)} given twice")
    return args


def load_private_key(path: str) -> rsa.RSAPrivateKey:
    with open(path, "rb") as file:
        key = serialization.load_pem_private_key(file.read(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: not an RSA private key")
    return key


def fake_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options every customer's fake shares."""
    return {
        "private_key": load_private_key(args.key) if args.key else None,
        "access_token_lifetime": args.access_token_lifetime,
        "refresh_token_lifetime": args.refresh_token_lifetime,
        "rotate_refresh_tokens": not args.no_rotation,
        "revoke_rotated_refresh_tokens": args.revoke_rotated_refresh_tokens,
        "rate_limit": args.rate_limit,
    }


def bind_servers(args: argparse.Namespace) -> list[Served]:
    """Every fake on its bound (not yet serving) socket: the main one first.

    Customers with a port take theirs before the others look for a free one,
    so ``--customer a --customer b:8002`` does not hand 8002 to ``a``.
    """
    options = fake_options(args)
    main = FakeEverReal(users_file=args.users, **options)
    main_server = FakeEverRealServer(main, args.host, args.port)
    servers: dict[str, FakeEverRealServer] = {}
    try:
        for customer in sorted(args.customer, key=lambda c: c.port is None):
            users = (
                customer_users(customer.subdomain)
                if args.users is None
                else load_users_file(args.users)[0]
            )
            fake = FakeEverReal(
                users=users, clients=customer_clients(customer.subdomain), **options
            )
            if customer.port is not None:
                server = FakeEverRealServer(fake, args.host, customer.port)
            elif args.port == 0:
                server = FakeEverRealServer(fake, args.host, 0)
            else:
                taken = {main_server.port} | {s.port for s in servers.values()}
                server = next_free_port_server(fake, args.host, args.port, taken)
            servers[customer.subdomain] = server
    except BaseException:
        for server in [main_server, *servers.values()]:
            server.stop()
        raise
    return [Served(None, main, main_server)] + [
        Served(c.subdomain, servers[c.subdomain].fake, servers[c.subdomain])
        for c in args.customer
    ]


def next_free_port_server(
    fake: FakeEverReal, host: str, after: int, taken: set[int]
) -> FakeEverRealServer:
    """A server on the first free port after *after*."""
    for port in range(after + 1, min(after + 1 + PORT_ATTEMPTS, 65536)):
        if port in taken:
            continue
        try:
            return FakeEverRealServer(fake, host, port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(f"no free port after {after} for another customer")


def banner(served: Sequence[Served], *, demo_passwords: bool) -> list[str]:
    """What the command prints: the main fake's URL first, then each customer's.

    Scripts find the main fake in the first line holding ``http://`` and each
    customer in a line ``Customer <subdomain> listening on <url>`` followed by
    ``  client: <id> / <secret>`` and ``  users:  the same as above``.
    """
    main, *customers = served
    lines = [f"Fake EverReal listening on {main.server.url}"]
    for client in main.fake.clients:
        lines.append(f"  client: {client.client_id} / {client.client_secret}")
    for user in main.fake.users:
        kind = "tenant" if user.is_tenant else "property manager"
        password = f" / {DEMO_PASSWORD}" if demo_passwords else ""
        lines.append(f"  user:   {user.email}{password} ({kind})")
    for customer in customers:
        lines.append(
            f"Customer {customer.subdomain} listening on {customer.server.url}"
        )
        for client in customer.fake.clients:
            lines.append(f"  client: {client.client_id} / {client.client_secret}")
        lines.append("  users:  the same as above")
    return lines


def json_arg(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None


def parse_deliver_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m django_everreal.testing deliver",
        description=(
            "Make a running fake EverReal deliver a webhook event to every "
            "registration of its type; prints the receivers' HTTP statuses."
        ),
    )
    parser.add_argument(
        "--fake",
        default="http://127.0.0.1:8001",
        metavar="URL",
        help="the fake's URL (default: %(default)s)",
    )
    parser.add_argument("type", metavar="EVENT_TYPE", help="e.g. LISTING_CREATED")
    parser.add_argument(
        "--data",
        type=json_arg,
        metavar="JSON",
        help="the event's data (default: a sample of the event type's payload)",
    )
    return parser.parse_args(argv)


def deliver(argv: Sequence[str]) -> int:
    """``deliver``: ask a running fake to deliver; 0 when each receiver answered 2xx."""
    args = parse_deliver_args(argv)
    body: dict[str, Any] = {"type": args.type}
    if args.data is not None:
        body["data"] = args.data
    url = args.fake.rstrip("/") + CONTROL_PATH
    if not url.startswith(("http://", "https://")):
        print(
            f"fake EverReal: --fake must be an http(s) URL: {args.fake}",
            file=sys.stderr,
        )
        return 2
    request = Request(  # noqa: S310 -- http(s) only, checked above
        url,
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with build_opener(ProxyHandler({})).open(
            request, timeout=DELIVER_TIMEOUT
        ) as answer:
            statuses = [item.get("status") for item in json.load(answer)["delivered"]]
    except HTTPError as exc:
        print(f"fake EverReal at {args.fake}: HTTP {exc.code}", file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"fake EverReal at {args.fake}: {exc}", file=sys.stderr)
        return 2
    if not statuses:
        print(f"{args.type}: no registration of this type at {args.fake}")
        return 1
    for status in statuses:
        answer_text = "no answer" if status is None else f"HTTP {status}"
        print(f"{args.type}: delivered, {answer_text}")
    ok = all(isinstance(s, int) and 200 <= s < 300 for s in statuses)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["deliver"]:
        return deliver(argv[1:])
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    try:
        served = bind_servers(args)
    except (UsersFileError, OSError, ValueError) as exc:
        print(f"fake EverReal: {exc}", file=sys.stderr)
        return 2
    for line in banner(served, demo_passwords=args.users is None):
        print(line)
    print("Press Ctrl+C to stop.", flush=True)
    main_server, customers = served[0].server, served[1:]
    try:
        for customer in customers:
            customer.server.start()
        with contextlib.suppress(KeyboardInterrupt):
            main_server.serve_forever()
    finally:
        for customer in customers:
            customer.server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
