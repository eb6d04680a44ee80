"""The registry: agencies, their OAuth clients and keys, and the people who sign in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor
from hub.domain.errors import BadRequest, NotFound
from hub.domain.vocab import AgencyKind, AuditAction, Role, Scope
from hub.security.keys import jwk_thumbprint
from hub.security.passwords import hash_client_secret, hash_password, new_client_secret
from hub.services.audit import AuditLog
from hub.store.models import Agency, ClientKey, OAuthClient, User
from policies.engine import AGENCY_ID

PRIVATE_KEY_JWT = "private_key_jwt"
CLIENT_SECRET_BASIC = "client_secret_basic"  # noqa: S105 (a method name)


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str | None  # shown once, stored only as a hash
    kid: str | None


class Registry:
    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    def add_agency(
        self,
        session: Session,
        *,
        agency_id: str,
        name: str,
        kind: AgencyKind,
        region: str,
        attributes: dict[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> Agency:
        if not AGENCY_ID.match(agency_id):
            raise BadRequest(
                "agency ids are lower-case words joined by hyphens, e.g. provider-doncaster-alliance"
            )
        if session.get(Agency, agency_id) is not None:
            raise BadRequest(f"agency {agency_id!r} already exists")
        agency = Agency(
            id=agency_id,
            name=name,
            kind=AgencyKind(kind).value,
            region=region,
            attributes=attributes or {},
            created_at=datetime.now(UTC),
        )
        session.add(agency)
        self._audit.record(
            session, AuditAction.AGENCY_ADDED, actor=actor or Actor(), recipient=agency_id
        )
        return agency

    def add_client(
        self,
        session: Session,
        *,
        agency_id: str,
        name: str,
        public_key_pem: bytes | None = None,
        issue_secret: bool = False,
        scopes: list[Scope] | None = None,
        client_id: str | None = None,
        actor: Actor | None = None,
    ) -> NewClient:
        if session.get(Agency, agency_id) is None:
            raise NotFound(f"no agency {agency_id!r}")
        if public_key_pem is None and not issue_secret:
            raise BadRequest("a client needs a public key (private_key_jwt) or a secret")
        client_id = client_id or f"{agency_id}-{uuid.uuid4().hex[:8]}"
        methods = []
        secret = None
        if issue_secret:
            secret = new_client_secret()
            methods.append(CLIENT_SECRET_BASIC)
        client = OAuthClient(
            client_id=client_id,
            agency_id=agency_id,
            name=name,
            auth_methods="",
            secret_hash=hash_client_secret(secret) if secret else None,
            scopes=" ".join(s.value for s in (scopes or Scope.default_for_agency())),
            created_at=datetime.now(UTC),
        )
        session.add(client)
        session.flush()
        kid = None
        if public_key_pem is not None:
            kid = self.add_client_key(session, client_id, public_key_pem)
            methods.insert(0, PRIVATE_KEY_JWT)
        client.auth_methods = " ".join(methods)
        self._audit.record(
            session,
            AuditAction.CLIENT_ADDED,
            actor=actor or Actor(),
            recipient=agency_id,
            claimed_client=client_id,
            scope=client.scopes,
        )
        return NewClient(client_id, secret, kid)

    def disable_client(self, session: Session, client_id: str, actor: Actor | None = None) -> None:
        """Stop a client: no new tokens, and its live tokens are refused within a short cache time."""
        client = session.get(OAuthClient, client_id)
        if client is None:
            raise NotFound(f"no client {client_id!r}")
        if client.disabled_at is None:
            client.disabled_at = datetime.now(UTC)
            self._audit.record(
                session,
                AuditAction.CLIENT_DISABLED,
                actor=actor or Actor(),
                recipient=client.agency_id,
                claimed_client=client_id,
            )

    def add_client_key(self, session: Session, client_id: str, public_key_pem: bytes) -> str:
        jwk = public_jwk_from_pem(public_key_pem)
        kid = jwk_thumbprint(jwk)
        jwk["kid"] = kid
        if session.get(ClientKey, kid) is not None:
            raise BadRequest("this public key is already registered")
        session.add(
            ClientKey(kid=kid, client_id=client_id, public_jwk=jwk, created_at=datetime.now(UTC))
        )
        return kid

    def add_user(
        self,
        session: Session,
        *,
        username: str,
        display_name: str,
        password: str,
        agency_id: str,
        role: Role,
        actor: Actor | None = None,
        clearance: int = 0,
        email: str | None = None,
    ) -> User:
        if session.get(Agency, agency_id) is None:
            raise NotFound(f"no agency {agency_id!r}")
        username = username.strip().lower()
        if session.scalar(select(User).where(User.username == username)) is not None:
            raise BadRequest(f"user {username!r} already exists")
        if clearance not in (0, 1, 2):
            raise BadRequest("clearance is 0 (none), 1 (police information) or 2 (intelligence)")
        if len(password) < 12:
            raise BadRequest("passwords must be at least 12 characters")
        if email is not None:
            email = email.strip().lower()
            if "@" not in email or len(email) > 320:
                raise BadRequest("a work email looks like name@example.gov.uk")
            if session.scalar(select(User).where(User.email == email)) is not None:
                raise BadRequest("another user has that work email")
        user = User(
            id=str(uuid.uuid4()),
            username=username,
            display_name=display_name,
            password_hash=hash_password(password),
            agency_id=agency_id,
            role=Role(role).value,
            clearance=clearance,
            email=email,
            created_at=datetime.now(UTC),
        )
        session.add(user)
        self._audit.record(
            session, AuditAction.USER_ADDED, actor=actor or Actor(), recipient=agency_id
        )
        return user


def public_jwk_from_pem(pem: bytes) -> dict[str, Any]:
    """A public JWK from a PEM public key (RSA >= 2048 bits or EC P-256)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise BadRequest("not a PEM public key") from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise BadRequest("RSA keys must be at least 2048 bits")
        return dict(RSAAlgorithm.to_jwk(key, as_dict=True))
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return dict(ECAlgorithm.to_jwk(key, as_dict=True))
    raise BadRequest("public keys must be RSA (2048+ bits) or EC P-256")
