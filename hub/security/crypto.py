"""Envelope encryption of payloads at rest, and keyed pseudonyms.

Each person (subject) has a random 256-bit data key; payloads about them are sealed with
AES-256-GCM under it, with the message id as associated data so a ciphertext cannot be moved to
another row. Data keys are stored wrapped (AES-256-GCM) by the master key, so destroying one
wrapped key erases everything held about that person.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = b"\x01"
_NONCE = 12


class DecryptionError(Exception):
    """A ciphertext failed authentication: wrong key, wrong row, or altered bytes."""


def _derive(master_key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master_key)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if not sealed.startswith(_VERSION) or len(sealed) < 1 + _NONCE + 16:
        raise DecryptionError("unknown ciphertext format")
    nonce, body = sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptionError("ciphertext failed authentication") from None


class KeyRing:
    """Keys derived from the master key, each for one purpose (HKDF, RFC 5869)."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._wrap_key = _derive(master_key, b"hub/wrap-data-keys/v1")
        self._pseudonym_key = _derive(master_key, b"hub/audit-pseudonyms/v1")
        self._secrets_key = _derive(master_key, b"hub/private-keys/v1")
        self._blocking_key = _derive(master_key, b"hub/identity-blocking/v1")

    def new_wrapped_data_key(self, subject_id: str) -> bytes:
        return seal(self._wrap_key, AESGCM.generate_key(bit_length=256), subject_id.encode())

    def unwrap_data_key(self, subject_id: str, wrapped: bytes) -> bytes:
        return open_sealed(self._wrap_key, wrapped, subject_id.encode())

    def seal_secret(self, name: str, secret: bytes) -> bytes:
        return seal(self._secrets_key, secret, name.encode())

    def open_secret(self, name: str, sealed: bytes) -> bytes:
        return open_sealed(self._secrets_key, sealed, name.encode())

    def pseudonym(self, value: str) -> str:
        """A keyed pseudonym (HMAC-SHA-256): searchable by whoever holds the key, opaque otherwise."""
        return hmac.new(self._pseudonym_key, value.encode(), hashlib.sha256).hexdigest()

    def blocking_key(self, value: str) -> str:
        """A keyed digest of a matching attribute (a date of birth), so that candidates for a
        person can be found by equality without the attribute being stored in the clear."""
        return hmac.new(self._blocking_key, value.encode(), hashlib.sha256).hexdigest()


def keyed_digest(key: bytes, data: bytes) -> str:
    """HMAC-SHA-256: a digest that cannot confirm a guessed payload without the key, and that
    stops meaning anything once a person's data key is destroyed."""
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
