"""Run the fake EverReal as an HTTP server: ``python -m django_everreal.testing``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django_everreal.testing.data import DEMO_PASSWORD
from django_everreal.testing.data import UsersFileError
from django_everreal.testing.fake import FakeEverReal
from django_everreal.testing.server import FakeEverRealServer


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m django_everreal.testing",
        description="A fake EverReal (auth server and a slice of the API) for development and tests.",
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
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    return parser.parse_args(argv)


def load_private_key(path: str) -> rsa.RSAPrivateKey:
    with open(path, "rb") as file:
        key = serialization.load_pem_private_key(file.read(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: not an RSA private key")
    return key


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    try:
        private_key = load_private_key(args.key) if args.key else None
        fake = FakeEverReal(
            private_key=private_key,
            users_file=args.users,
            access_token_lifetime=args.access_token_lifetime,
            refresh_token_lifetime=args.refresh_token_lifetime,
            rotate_refresh_tokens=not args.no_rotation,
            revoke_rotated_refresh_tokens=args.revoke_rotated_refresh_tokens,
            rate_limit=args.rate_limit,
        )
        server = FakeEverRealServer(fake, host=args.host, port=args.port)
    except (UsersFileError, OSError, ValueError) as exc:
        print(f"fake EverReal: {exc}", file=sys.stderr)
        return 2
    print(f"Fake EverReal listening on {server.url}", flush=True)
    for client in fake.clients:
        print(f"  client: {client.client_id} / {client.client_secret}")
    for user in fake.users:
        kind = "tenant" if user.is_tenant else "property manager"
        password = f" / {DEMO_PASSWORD}" if args.users is None else ""
        print(f"  user:   {user.email}{password} ({kind})")
    print("Press Ctrl+C to stop.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
