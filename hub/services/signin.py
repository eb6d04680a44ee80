"""Signing people in to the pages: passwords, sessions, and a limit on failed attempts.

Every failed sign-in gets the same answer whether or not the account exists; failures are
counted per account name and per client address (both hashed), so guessing is slowed for
accounts that exist and for those that do not alike.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from audit.entry import Actor
from hub.domain.errors import TooManyRequests
from hub.domain.vocab import AuditAction, Role
from hub.security.passwords import verify_password
from hub.services.audit import AuditLog
from hub.store.db import Database
from hub.store.ephemeral import EphemeralStore
from hub.store.models import Agency, User, WebSession

GENERIC_FAILURE = "The username or password is not right"


@dataclass(frozen=True)
class SignedInUser:
    id: str
    username: str
    display_name: str
    role: Role
    agency_id: str
    agency_name: str
    clearance: int = 0
    email: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(agency=self.agency_id, user=self.id)

    @property
    def names(self) -> frozenset[str]:
        """How documents may name this person as a case owner (lower case): work email, name."""
        return frozenset(n.strip().lower() for n in (self.email, self.display_name) if n)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SignInService:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        counters: EphemeralStore,
        *,
        max_failures: int,
        window: int,
        session_ttl: int,
    ) -> None:
        self._db = db
        self._audit = audit
        self._counters = counters
        self._max_failures = max_failures
        self._window = window
        self._session_ttl = session_ttl

    def sign_in(
        self, username: str, password: str, client_address: str, request_id: str | None
    ) -> str:
        """A new session token for a correct password; raises ValueError (generic) or TooManyRequests."""
        name = username.strip().lower()
        pair = f"signin:pair:{_digest(name + chr(0) + client_address)}"
        # Failures counted per account from everywhere (high: so a stranger cannot cheaply lock
        # an officer out) and per address (so one machine cannot sweep many accounts).
        failures = (
            (f"signin:user:{_digest(name)}", self._max_failures * 10),
            (f"signin:addr:{_digest(client_address)}", self._max_failures * 4),
        )
        # This attempt is counted before the password is checked, so parallel guesses cannot
        # all slip in under the limit; a correct password clears the count.
        attempts = self._counters.incr(pair, self._window)
        if attempts > self._max_failures or any(
            self._counters.count(key) >= limit for key, limit in failures
        ):
            self._record_failure(None, request_id, "rate-limited")
            raise TooManyRequests("Too many failed attempts. Wait 15 minutes, then try again.")
        with self._db.transaction(readonly=True) as session:
            user = session.scalar(select(User).where(User.username == name))
            stored_hash = user.password_hash if user and user.disabled_at is None else None
        if not verify_password(stored_hash, password) or user is None:
            for key, _limit in failures:
                self._counters.incr(key, self._window)
            self._record_failure(None, request_id, "bad-credentials")
            raise ValueError(GENERIC_FAILURE)
        self._counters.reset(pair)
        token = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._db.transaction() as session:
            session.add(
                WebSession(
                    token_hash=_digest(token),
                    user_id=user.id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=self._session_ttl),
                )
            )
            self._audit.record(
                session,
                AuditAction.SIGNIN_SUCCEEDED,
                actor=Actor(agency=user.agency_id, user=user.id),
                request_id=request_id,
            )
        return token

    def _record_failure(self, actor: Actor | None, request_id: str | None, reason: str) -> None:
        with self._db.transaction() as session:
            self._audit.record(
                session,
                AuditAction.SIGNIN_FAILED,
                actor=actor or Actor(),
                request_id=request_id,
                reasons=(reason,),
            )

    def current_user(self, token: str) -> SignedInUser | None:
        with self._db.transaction(readonly=True) as session:
            row = session.execute(
                select(WebSession, User, Agency)
                .join(User, User.id == WebSession.user_id)
                .join(Agency, Agency.id == User.agency_id)
                .where(WebSession.token_hash == _digest(token))
            ).first()
            if row is None:
                return None
            web_session, user, agency = row
            if web_session.expires_at <= datetime.now(UTC) or user.disabled_at is not None:
                return None
            return SignedInUser(
                id=user.id,
                username=user.username,
                display_name=user.display_name,
                role=Role(user.role),
                agency_id=agency.id,
                agency_name=agency.name,
                clearance=user.clearance,
                email=user.email,
            )

    def sign_out(self, token: str, user: SignedInUser, request_id: str | None) -> None:
        with self._db.transaction() as session:
            session.execute(delete(WebSession).where(WebSession.token_hash == _digest(token)))
            self._audit.record(
                session, AuditAction.SIGNED_OUT, actor=user.actor, request_id=request_id
            )
