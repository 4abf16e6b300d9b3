"""RS256 JWTs as EverReal issues them, and the fake's memory of each one.

A token is valid when its signature checks out *and* the fake still holds
its record: that is what makes revocation and the refresh-token cap work.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from typing import Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TokenKind = Literal["access", "refresh"]

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


class TokenStore:
    """The tokens the fake has issued; callers hold the fake's lock."""

    def __init__(self, signer: TokenSigner) -> None:
        self.signer = signer
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

    def find(self, token: str, kind: TokenKind) -> TokenRecord | None:
        claims = self.signer.claims(token)
        if claims is None:
            return None
        record = self._records.get(str(claims["jti"]))
        if record is None or record.kind != kind or record.user_id != claims["sub"]:
            return None
        return record

    def get(self, jti: str) -> TokenRecord | None:
        return self._records.get(jti)

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
