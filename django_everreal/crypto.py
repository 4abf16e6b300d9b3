"""Fernet encryption of the tokens stored in the database.

Keys come from ``EVERREAL_TOKEN_KEYS`` (the first encrypts, all decrypt) or,
when that is empty, are derived from ``SECRET_KEY`` and
``SECRET_KEY_FALLBACKS``, so rotating Django's secret key keeps stored tokens
readable for as long as the old key stays a fallback.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from django.core.exceptions import ImproperlyConfigured

from django_everreal.conf import conf
from django_everreal.exceptions import TokenDecryptionError as TokenDecryptionError


def derive_key(secret: str) -> bytes:
    """Derive a Fernet key from a Django secret key, separate from its other uses."""
    digest = hashlib.sha256(
        b"django-everreal.token-encryption:" + secret.encode()
    ).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...], derived: bool) -> MultiFernet:
    try:
        return MultiFernet([Fernet(derive_key(k) if derived else k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "EVERREAL_TOKEN_KEYS must be a list of Fernet keys, as made by "
            "cryptography.fernet.Fernet.generate_key()."
        ) from exc


def fernet() -> MultiFernet:
    keys = conf.TOKEN_KEYS
    if keys:
        return _fernet(tuple(keys), derived=False)
    return _fernet(tuple(conf.SECRET_KEYS), derived=True)


def encrypt(value: str) -> str:
    if not value:
        return ""
    return fernet().encrypt(value.encode()).decode("ascii")


def decrypt(value: str) -> str:
    if not value:
        return ""
    try:
        return fernet().decrypt(value.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise TokenDecryptionError(
            "A stored EverReal token cannot be decrypted with the configured keys "
            "(EVERREAL_TOKEN_KEYS, or SECRET_KEY and SECRET_KEY_FALLBACKS)."
        ) from exc


def reencrypt(value: str) -> str:
    """Encrypt *value* again with the current key (for key rotation)."""
    if not value:
        return ""
    return fernet().rotate(value.encode("ascii")).decode("ascii")
