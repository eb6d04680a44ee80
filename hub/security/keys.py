"""The hub's token-signing keys (ES256), published as a JWKS, with rotation by `kid`.

Keys live in the database, the private half sealed under the master key, so every hub process on
one database signs with the same key and verifies every other's tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import or_, select

from hub.security.crypto import KeyRing
from hub.store.db import Database
from hub.store.models import SigningKey

ALG = "ES256"
_REFRESH_SECONDS = 60


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order."""
    required = {
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
        "OKP": ("crv", "kty", "x"),
    }
    members = {name: jwk[name] for name in required[jwk["kty"]]}
    digest = hashlib.sha256(json.dumps(members, separators=(",", ":"), sort_keys=True).encode())
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey


class SigningKeys:
    def __init__(self, db: Database, keyring: KeyRing, token_ttl: int) -> None:
        self._db = db
        self._keyring = keyring
        self._token_ttl = token_ttl
        self._lock = threading.Lock()
        self._active: ActiveKey | None = None
        self._public: dict[str, Any] = {}
        self._jwks: list[dict[str, Any]] = []
        self._loaded_at = 0.0

    def active(self) -> ActiveKey:
        self._refresh_if_stale()
        assert self._active is not None
        return self._active

    def public_key(self, kid: str) -> Any | None:
        """The verification key for `kid`, reloading once if it is new to this process."""
        self._refresh_if_stale()
        key = self._public.get(kid)
        if key is None and time.monotonic() - self._loaded_at > 1:
            self._load()
            key = self._public.get(kid)
        return key

    def jwks(self) -> dict[str, Any]:
        self._refresh_if_stale()
        return {"keys": list(self._jwks)}

    def rotate(self) -> str:
        """Create a new active key; the old one stays published until its tokens have expired."""
        now = datetime.now(UTC)
        with self._db.transaction() as session:
            for row in session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))):
                row.retired_at = now
            kid = self._insert(session, now)
        self._load()
        return kid

    def _refresh_if_stale(self) -> None:
        if self._active is None or time.monotonic() - self._loaded_at > _REFRESH_SECONDS:
            self._load()

    def _load(self) -> None:
        with self._lock:
            now = datetime.now(UTC)
            oldest = now - timedelta(seconds=self._token_ttl + 300)
            published = (
                select(SigningKey)
                .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > oldest))
                .order_by(SigningKey.created_at)
            )
            with self._db.transaction() as session:
                rows = list(session.scalars(published))
                if not any(row.retired_at is None for row in rows):
                    # First start. Processes starting together may each add a key: all are
                    # published, and every process signs with the newest.
                    self._insert(session, now)
                    rows = list(session.scalars(published))
            active = [row for row in rows if row.retired_at is None][-1]
            private_pem = self._keyring.open_secret(active.kid, active.private_key_enc)
            private = serialization.load_pem_private_key(private_pem, password=None)
            assert isinstance(private, ec.EllipticCurvePrivateKey)
            self._active = ActiveKey(active.kid, private)
            self._public = {row.kid: ECAlgorithm.from_jwk(row.public_jwk) for row in rows}
            self._jwks = [row.public_jwk for row in rows]
            self._loaded_at = time.monotonic()

    def _insert(self, session: Any, now: datetime) -> str:
        private = ec.generate_private_key(ec.SECP256R1())
        jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
        kid = jwk_thumbprint(jwk)
        jwk.update(kid=kid, alg=ALG, use="sig")
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        session.add(
            SigningKey(
                kid=kid,
                alg=ALG,
                public_jwk=jwk,
                private_key_enc=self._keyring.seal_secret(kid, pem),
                created_at=now,
            )
        )
        session.flush()
        return kid
