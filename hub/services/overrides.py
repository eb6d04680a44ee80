"""Public-protection overrides waiting for an IG officer's review, and the reviews recorded.

An override is a disclosure no agreement permitted, made because the sender wrote why public
protection required it. It is delivered at once; this queue is how information governance
checks each one afterwards. Reading a justification and recording a review are audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor
from hub.domain.callers import is_uuid, iso
from hub.domain.errors import Conflict, NotFound
from hub.domain.vocab import AuditAction, MessageType
from hub.security.crypto import open_sealed, seal
from hub.services.audit import AuditLog
from hub.services.identity import Identity
from hub.store.db import Database
from hub.store.models import OverrideReview

OUTCOMES = {"justified": "Justified", "unjustified": "Not justified"}


@dataclass(frozen=True)
class OverrideView:
    id: str
    created_at: str
    sender: str
    recipient: str
    message_type: str
    status: str
    justification: str | None = None  # only on the detail page (an audited read)
    note: str | None = None
    reviewed_at: str | None = None


class OverrideReviews:
    def __init__(self, db: Database, audit: AuditLog, identity: Identity) -> None:
        self._db = db
        self._audit = audit
        self._identity = identity

    def queue(self, status: str = "pending") -> list[OverrideView]:
        with self._db.transaction(readonly=True) as session:
            rows = session.scalars(
                select(OverrideReview)
                .where(OverrideReview.status == status)
                .order_by(OverrideReview.created_at, OverrideReview.id)
                .limit(200)
            ).all()
            return [_view(row) for row in rows]

    def show(self, actor: Actor, review_id: str, request_id: str | None = None) -> OverrideView:
        with self._db.transaction() as session:
            row = session.get(OverrideReview, review_id) if is_uuid(review_id) else None
            if row is None:
                raise NotFound("no such override")
            key = self._key(session, row)
            self._audit.record(
                session,
                AuditAction.SUBJECT_READ,
                actor=actor,
                request_id=request_id,
                subject=self._audit.pseudonym(row.subject_id),
                message_id=row.message_id,
                reasons=("override-justification",),
            )
            return _view(
                row,
                justification=open_sealed(
                    key, row.justification_enc, f"override:{row.id}".encode()
                ).decode(),
                note=(
                    open_sealed(key, row.note_enc, f"override-note:{row.id}".encode()).decode()
                    if row.note_enc
                    else None
                ),
            )

    def review(
        self,
        actor: Actor,
        review_id: str,
        outcome: str,
        note: str,
        request_id: str | None = None,
    ) -> None:
        if outcome not in OUTCOMES:
            raise Conflict("the outcome is justified or unjustified")
        with self._db.transaction() as session:
            row = (
                session.get(OverrideReview, review_id, with_for_update=True)
                if is_uuid(review_id)
                else None
            )
            if row is None:
                raise NotFound("no such override")
            if row.status != "pending":
                raise Conflict("this override was already reviewed")
            row.status = outcome
            row.note_enc = seal(
                self._key(session, row), note.encode(), f"override-note:{row.id}".encode()
            )
            row.reviewed_by = actor.user
            row.reviewed_at = datetime.now(UTC)
            self._audit.record(
                session,
                AuditAction.OVERRIDE_REVIEWED,
                actor=actor,
                request_id=request_id,
                subject=self._audit.pseudonym(row.subject_id),
                message_id=row.message_id,
                message_type=row.message_type,
                recipient=row.recipient_agency_id,
                lawful_basis="public_protection",
                reasons=(outcome,),
            )

    def _key(self, session: Session, row: OverrideReview) -> bytes:
        return self._identity.data_key_of(session, row.subject_id)


def _view(
    row: OverrideReview, justification: str | None = None, note: str | None = None
) -> OverrideView:
    return OverrideView(
        id=row.id,
        created_at=iso(row.created_at) or "",
        sender=row.sender_agency_id,
        recipient=row.recipient_agency_id,
        message_type=MessageType(row.message_type).value,
        status=row.status,
        justification=justification,
        note=note,
        reviewed_at=iso(row.reviewed_at),
    )
