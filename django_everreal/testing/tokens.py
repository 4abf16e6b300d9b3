"""RS256 JWTs as EverReal issues them, and the fake's memory of each one.

A token is valid when its signature checks out *and* the fake still holds
its record: that is what makes revocation and the refresh-token cap work.
``FakeTokenRegistry.check`` is the one place that decides whether a
presented token is live; the API, the refresh grant and
``FakeEverReal.verify`` only word its verdict each their own way.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from typing import Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from django_everreal.testing.records import FakeUser

TokenKind = Literal["access", "refresh"]
#: Why a token is refused: not signed by this fake; signed but not held
#: (deleted, or of another kind); revoked; expired; its user gone or inactive.
RejectReason = Literal["forged", "unknown", "revoked", "expired", "inactive"]

_process_key: rsa.RSAPrivateKey | None = None
_process_key_lock = threading.Lock()


def process_key() -> rsa.RSAPrivateKey:
    """One RSA key per process: generating one per fake would slow test suites down."""
    global _process_key
    with _process_key_lock:
        if _process_key is None:
            _process_key = rsa.generate_private_key(
                public_exponent=65537, key_size=2048
            )
        return _process_key


class TokenSigner:
    """Signs and checks the fake's JWTs: ``jti``, ``sub``, ``exp``, ``iat``, no ``kid``."""

    algorithm = "RS256"

    def __init__(self, private_key: rsa.RSAPrivateKey | None = None) -> None:
        self.private_key = private_key or process_key()
        self.public_key = self.private_key.public_key()

    @property
    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm)

    def claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this signer made, or ``None``; expiry is the caller's business."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.public_key,
                algorithms=[self.algorithm],
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["jti", "sub", "exp", "iat"],
                },
            )
        except jwt.InvalidTokenError:
            return None
        return claims


@dataclass
class TokenRecord:
    jti: str
    kind: TokenKind
    client_id: str
    user_id: str
    #: The scopes as requested; what they grant is worked out at each use,
    #: so a change to the user shows in the next userinfo.
    requested_scopes: tuple[str, ...]
    issued_at: int
    expires_at: int
    revoked: bool = False

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


class TokenRejected(Exception):
    """A token the registry refuses; ``reason`` says why, each caller words it."""

    def __init__(self, reason: RejectReason) -> None:
        super().__init__(reason)
        self.reason: RejectReason = reason


class FakeTokenRegistry:
    """The tokens the fake has issued, and the one check of a presented token.

    Callers hold the state's lock. *clock* and *find_user* are the state's,
    so expiry follows the fake's time and a deactivated user's access
    tokens stop working at once.
    """

    def __init__(
        self,
        signer: TokenSigner,
        clock: Callable[[], float],
        find_user: Callable[[str], FakeUser | None],
    ) -> None:
        self.signer = signer
        self.clock = clock
        self.find_user = find_user
        self._records: dict[str, TokenRecord] = {}

    def issue(
        self,
        kind: TokenKind,
        *,
        client_id: str,
        user_id: str,
        requested_scopes: tuple[str, ...],
        now: float,
        lifetime: int,
    ) -> tuple[str, TokenRecord]:
        issued_at = int(now)
        record = TokenRecord(
            jti=str(uuid.uuid4()),
            kind=kind,
            client_id=client_id,
            user_id=user_id,
            requested_scopes=requested_scopes,
            issued_at=issued_at,
            expires_at=issued_at + lifetime,
        )
        self._records[record.jti] = record
        token = self.signer.sign(
            {
                "jti": record.jti,
                "sub": user_id,
                "exp": record.expires_at,
                "iat": issued_at,
            }
        )
        return token, record

    def check(self, token: str, kind: TokenKind | None = None) -> TokenRecord:
        """The record of a live *token* (of *kind*, if given), else ``TokenRejected``.

        Live: signed by this fake, still held, not revoked, not expired.
        """
        claims = self.signer.claims(token)
        if claims is None:
            raise TokenRejected("forged")
        record = self._records.get(str(claims["jti"]))
        if record is None or record.user_id != claims["sub"]:
            raise TokenRejected("unknown")
        if kind is not None and record.kind != kind:
            raise TokenRejected("unknown")
        if record.revoked:
            raise TokenRejected("revoked")
        if record.expired(self.clock()):
            raise TokenRejected("expired")
        return record

    def check_access_token(self, token: str) -> tuple[TokenRecord, FakeUser]:
        """A live access token and its user, who must still exist and be active."""
        record = self.check(token, "access")
        user = self.find_user(record.user_id)
        if user is None or not user.is_active:
            raise TokenRejected("inactive")
        return record, user

    def revoke(self, token: str) -> bool:
        """Revoke one token of either kind; ``False`` when it is unknown."""
        claims = self.signer.claims(token)
        record = None if claims is None else self._records.get(str(claims["jti"]))
        if record is None:
            return False
        record.revoked = True
        return True

    def revoke_matching(
        self, kinds: tuple[str, ...], user_id: str | None, client_id: str | None
    ) -> int:
        """Revoke the live tokens of *kinds* of a user and a client (``None``: any)."""
        count = 0
        for record in self._records.values():
            if (
                record.kind in kinds
                and not record.revoked
                and (user_id is None or record.user_id == user_id)
                and (client_id is None or record.client_id == client_id)
            ):
                record.revoked = True
                count += 1
        return count

    def live_refresh_tokens(self, client_id: str, user_id: str) -> int:
        """How many refresh tokens of a client and user still work."""
        now = self.clock()
        return sum(
            1
            for record in self._records.values()
            if record.kind == "refresh"
            and record.user_id == user_id
            and record.client_id == client_id
            and not record.revoked
            and not record.expired(now)
        )

    def records(self) -> Iterator[TokenRecord]:
        return iter(list(self._records.values()))

    def delete(self, record: TokenRecord) -> None:
        self._records.pop(record.jti, None)

    def keep_newest_refresh_tokens(
        self, client_id: str, user_id: str, limit: int
    ) -> None:
        """Delete the oldest live refresh tokens of a client and user beyond *limit*."""
        live = [
            record
            for record in self._records.values()
            if record.kind == "refresh"
            and not record.revoked
            and record.client_id == client_id
            and record.user_id == user_id
        ]
        # Records are kept in issue order, so the oldest come first.
        for record in live[: max(0, len(live) - limit)]:
            self.delete(record)

    def forget_expired(self, now: float, grace: int) -> None:
        """Drop records long expired, so a long-running fake does not grow without end."""
        for record in list(self._records.values()):
            if now >= record.expires_at + grace:
                self.delete(record)
