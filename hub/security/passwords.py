"""Password and client-secret hashing."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the account does not exist, so timing does not reveal which exist.
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_client_secret(secret: str) -> str:
    # A 256-bit random secret needs no slow hash: SHA-256 resists preimage search at that entropy.
    return hashlib.sha256(secret.encode()).hexdigest()


def verify_client_secret(stored_hash: str | None, secret: str) -> bool:
    if not stored_hash:
        return False
    return hmac.compare_digest(stored_hash, hash_client_secret(secret))
