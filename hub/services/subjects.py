"""People as the API and the review pages see them: resolve, read, and settle identity reviews.

An agency may see a person when it has sent or received a message about them (or about anyone
merged with them); anyone else gets `404`, exactly as for a person who does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit.entry import Actor
from hub.domain.callers import Caller, is_uuid, iso
from hub.domain.errors import Conflict, NotFound
from hub.domain.matching import AUTO_MATCH, Details
from hub.domain.messages import SubjectRef
from hub.domain.vocab import AuditAction, MessageType
from hub.services.audit import AuditLog
from hub.services.identity import MERGED, PENDING, Identity
from hub.services.messages import MessageService
from hub.store.db import Database
from hub.store.models import Delivery, IdentityReview, Message, Subject


@dataclass(frozen=True)
class ReviewSide:
    subject_id: str
    identifiers: list[str]
    details: list[Details]
    score: float | None = None


@dataclass(frozen=True)
class ReviewView:
    id: str
    reason: str
    status: str
    created_at: str
    held_messages: int
    incoming: ReviewSide
    candidates: list[ReviewSide]
    decided_subject_id: str | None = None


class SubjectDirectory:
    def __init__(
        self, db: Database, audit: AuditLog, identity: Identity, messages: MessageService
    ) -> None:
        self._db = db
        self._audit = audit
        self._identity = identity
        self._messages = messages

    # -- the API ----------------------------------------------------------------------------------

    def resolve(
        self, caller: Caller, identifiers: Sequence[SubjectRef], details: Details | None
    ) -> dict[str, Any]:
        """The hub id of a person the caller may see, by identifier or by a confident match on
        name, date of birth and postcode. Never creates anyone, never guesses."""
        with self._db.transaction() as session:
            found: Subject | None = None
            how = "identifier"
            for ref in identifiers:
                holder = self._identity.find(session, ref)
                if holder is not None:
                    found = self._identity.root(session, holder)
                    break
            score = None
            if found is None and details is not None and not identifiers:
                candidates = self._identity.match_details(session, details)
                if len(candidates) == 1 and candidates[0].score >= AUTO_MATCH:
                    found, how, score = (
                        session.get(Subject, candidates[0].subject_id),
                        "details",
                        candidates[0].score,
                    )
            visible = found is not None and self._visible(session, caller.agency_id, found.id)
            self._audit.record(
                session,
                AuditAction.SUBJECT_RESOLVED,
                actor=caller.actor,
                request_id=caller.request_id,
                subject=self._audit.pseudonym(found.id) if found and visible else None,
                reasons=(how if visible else "no-match",),
            )
            if not visible or found is None:
                raise NotFound("no person you may see matches")
            body: dict[str, Any] = {"id": found.id, "subject": f"hub:{found.id}", "matchedBy": how}
            if score is not None:
                body["score"] = score
            return body

    def read(self, caller: Caller, subject_id: str) -> dict[str, Any]:
        with self._db.transaction() as session:
            subject = session.get(Subject, subject_id) if is_uuid(subject_id) else None
            root = self._identity.root(session, subject) if subject else None
            if root is None or not self._visible(session, caller.agency_id, root.id):
                raise NotFound("no such person")
            members = self._identity.members(session, root.id)
            pending = session.scalar(
                select(IdentityReview.id).where(
                    IdentityReview.subject_id.in_(members), IdentityReview.status == PENDING
                )
            )
            self._audit.record(
                session,
                AuditAction.SUBJECT_READ,
                actor=caller.actor,
                request_id=caller.request_id,
                subject=self._audit.pseudonym(root.id),
            )
            return {
                "id": root.id,
                "subject": f"hub:{root.id}",
                "identifiers": [str(r) for r in self._identity.identifiers(session, members)],
                "status": root.status,
                "awaitingIdentityReview": pending is not None,
                "mergedFrom": [m for m in members if m != root.id],
            }

    def _visible(self, session: Session, agency_id: str, root_id: str) -> bool:
        members = self._identity.members(session, root_id)
        return (
            session.scalar(
                select(Message.id)
                .where(
                    Message.subject_id.in_(members),
                    or_(
                        Message.source_agency_id == agency_id,
                        Message.id.in_(
                            select(Delivery.message_id).where(
                                Delivery.recipient_agency_id == agency_id
                            )
                        ),
                    ),
                )
                .limit(1)
            )
            is not None
        )

    # -- the review queue (pages for authorised users) ---------------------------------------------

    def reviews(self, status: str = PENDING) -> list[ReviewView]:
        with self._db.transaction(readonly=True) as session:
            rows = session.scalars(
                select(IdentityReview)
                .where(IdentityReview.status == status)
                .order_by(IdentityReview.created_at, IdentityReview.id)
                .limit(200)
            ).all()
            return [self._view(session, r) for r in rows]

    def review(self, actor: Actor, review_id: str) -> ReviewView:
        """One review with both sides' details (names, dates of birth): the read is audited."""
        with self._db.transaction() as session:
            review = session.get(IdentityReview, review_id) if is_uuid(review_id) else None
            if review is None:
                raise NotFound("no such identity review")
            self._audit.record(
                session,
                AuditAction.SUBJECT_READ,
                actor=actor,
                subject=self._audit.pseudonym(review.subject_id),
                reasons=("identity-review",),
            )
            return self._view(session, review)

    def decide(
        self,
        actor: Actor,
        review_id: str,
        outcome: str,
        into: str | None = None,
        request_id: str | None = None,
    ) -> int:
        """Settle a review and deliver what it held; returns how many messages were delivered."""
        if not is_uuid(review_id):
            raise NotFound("no such identity review")
        with self._db.transaction() as session:
            held = session.scalars(
                select(Message)
                .where(Message.held_by_review == review_id)
                .where(Message.recipient_agency_id.is_not(None))
                .order_by(Message.received_at, Message.id)
            ).all()
            self._identity.decide(session, review_id, outcome, actor, into, request_id)
            return self._release(session, actor, held, request_id)

    def undo(self, actor: Actor, review_id: str, request_id: str | None = None) -> None:
        """Undo the merge a review decided; the review then waits for a decision again."""
        if not is_uuid(review_id):
            raise NotFound("no such identity review")
        with self._db.transaction() as session:
            review = session.get(IdentityReview, review_id, with_for_update=True)
            if review is None:
                raise NotFound("no such identity review")
            if review.status != MERGED:
                raise Conflict("only a merge can be undone")
            self._identity.unmerge(session, review.subject_id, actor, request_id)

    def _release(
        self, session: Session, actor: Actor, held: Sequence[Message], request_id: str | None
    ) -> int:
        """Deliver the held messages that named a recipient, if an agreement still allows it
        (decided now, with the policies now in force)."""
        delivered = 0
        for message in held:
            sender, recipient = self._messages.parties(
                session, message.source_agency_id, message.recipient_agency_id or ""
            )
            decision = self._messages.decide(
                sender, recipient, MessageType(message.type), message.purpose
            )
            subject = session.get(Subject, message.subject_id)
            assert subject is not None
            if not decision.permit:
                self._audit.record(
                    session,
                    AuditAction.MESSAGE_REFUSED,
                    actor=actor,
                    request_id=request_id,
                    subject=self._audit.pseudonym(subject.id),
                    message_id=message.id,
                    message_type=message.type,
                    recipient=recipient.id,
                    decision="deny",
                    policy_hash=decision.policy_hash,
                    reasons=decision.reasons,
                )
                continue
            self._messages.deliver(
                session, actor, request_id, message, subject, recipient, decision
            )
            delivered += 1
        return delivered

    def _view(self, session: Session, review: IdentityReview) -> ReviewView:
        def side(subject_id: str, score: float | None = None) -> ReviewSide:
            # A candidate's side leaves out the incoming record, even once merged into it.
            members = [
                m
                for m in self._identity.members(session, subject_id)
                if m == subject_id or m != review.subject_id
            ]
            return ReviewSide(
                subject_id=subject_id,
                identifiers=[str(r) for r in self._identity.identifiers(session, members)],
                details=self._identity.details(session, members),
                score=score,
            )

        held = len(
            session.scalars(select(Message.id).where(Message.held_by_review == review.id)).all()
        )
        return ReviewView(
            id=review.id,
            reason=review.reason,
            status=review.status,
            created_at=iso(review.created_at) or "",
            held_messages=held,
            incoming=side(review.subject_id),
            candidates=[side(c["subject"], c["score"]) for c in review.candidates],
            decided_subject_id=review.decided_subject_id,
        )
