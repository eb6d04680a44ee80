"""People as the API and the review pages see them: resolve, read, and settle identity reviews.

An agency may see a person when it has sent or received a message about them (or about anyone
merged with them); anyone else gets `404`, exactly as for a person who does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from audit.entry import Actor
from hub.domain.callers import Caller, is_uuid, iso
from hub.domain.errors import Conflict, NotFound
from hub.domain.matching import AUTO_MATCH, Details
from hub.domain.messages import SubjectRef
from hub.domain.records import facts_of
from hub.domain.vocab import AuditAction, MessageType
from hub.security.crypto import open_sealed
from hub.services.alerts import ReconvictionAlerts
from hub.services.audit import AuditLog
from hub.services.consents import ConsentRegister, ConsentTerms
from hub.services.identity import PENDING, Identity
from hub.services.messages import MessageService, recipient_clearance
from hub.services.records import SubjectRecords
from hub.store.db import Database
from hub.store.models import Agency, ConsentRecord, Delivery, IdentityReview, Message, Subject
from policies.engine import Reader


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
        self,
        db: Database,
        audit: AuditLog,
        identity: Identity,
        messages: MessageService,
        records: SubjectRecords,
        consents: ConsentRegister,
        alerts: ReconvictionAlerts,
    ) -> None:
        self._alerts = alerts
        self._consents = consents
        self._db = db
        self._audit = audit
        self._identity = identity
        self._messages = messages
        self._records = records

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

    def visible_id(self, caller: Caller, subject_id: str) -> str:
        """The person's hub id (after merges) if the caller's agency may know of them; else
        NotFound, exactly as for an unknown id."""
        with self._db.transaction(readonly=True) as session:
            return self._visible_root(session, caller.agency_id, subject_id).id

    def read(self, caller: Caller, subject_id: str) -> dict[str, Any]:
        with self._db.transaction() as session:
            root = self._visible_root(session, caller.agency_id, subject_id)
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
                "identifiers": self.identifiers_known_to(session, caller.agency_id, members),
                "status": root.status,
                "awaitingIdentityReview": pending is not None,
                "mergedFrom": [m for m in members if m != root.id],
            }

    # -- explaining decisions ------------------------------------------------------------------

    def explain(
        self,
        actor: Actor,
        request_id: str | None,
        sender_id: str,
        recipient_id: str,
        message_type: MessageType,
        purpose: str,
        subject_id: str | None,
        user: Reader | None = None,
        *,
        visible_to: str | None,
        person: SubjectRef | None = None,
    ) -> dict[str, Any]:
        """A dry run: would the sender be allowed to send this type to this recipient (read by a
        user in this role, or by its system), about this person (as the hub's records and consent
        register describe them now), by which policies, with which fields? Nothing is sent; the
        question is audited. `visible_to`: the agency asking, which must be allowed to know the
        person (None for an IG officer, who may ask about anyone, by `person` identifier too;
        the answer then also says what the hub's records say of them)."""
        with self._db.transaction() as session:
            root = None
            if person is not None and visible_to is None:
                holder = self._identity.find(session, person)
                root = self._identity.root(session, holder) if holder else None
                if root is None:
                    raise NotFound("the hub knows no one by that identifier")
            elif subject_id and visible_to is not None:
                root = self._visible_root(session, visible_to, subject_id)
            elif subject_id:
                subject = session.get(Subject, subject_id) if is_uuid(subject_id) else None
                root = self._identity.root(session, subject) if subject else None
                if root is None:
                    raise NotFound("no such person")
            sender, recipient = self._messages.parties(session, sender_id, recipient_id)
            decision = self._messages.decide(
                session, sender, recipient, message_type, purpose, root, user
            )
            self._audit.record(
                session,
                AuditAction.DECISION_EXPLAINED,
                actor=actor,
                request_id=request_id,
                subject=self._audit.pseudonym(root.id) if root else None,
                message_type=message_type.value,
                purpose=purpose,
                recipient=recipient.id,
                decision=decision.decision,
                policy_hash=decision.policy_hash,
                reasons=decision.reasons,
                fields=decision.fields,
            )
            return {
                "decision": decision.decision,
                "reasons": list(decision.reasons),
                "policies": list(decision.policies),
                "agreement": (
                    {"id": decision.agreement_id, "version": decision.agreement_version}
                    if decision.agreement_id
                    else None
                ),
                "lawfulBasis": decision.lawful_basis,
                "fields": list(decision.fields),
                "withheld": list(decision.withheld),
                "reader": (
                    {"role": user.role, "clearance": user.clearance}
                    if user
                    else {"role": "system", "clearance": recipient_clearance(recipient)}
                ),
                "policyHash": decision.policy_hash,
                **({"person": self._described(session, root)} if root and not visible_to else {}),
            }

    def _described(self, session: Session, root: Subject) -> dict[str, Any]:
        """What the rules knew of the person (for an IG officer's explanation; no identifiers)."""
        found = self._records.attributes(session, root.id)
        consent = self._consents.in_force(session, root.id)
        return {
            "id": root.id,
            "roshLevel": found.rosh_level or None,
            "mappa": (
                {"category": found.mappa_category, "level": found.mappa_level}
                if found.mappa_category
                else None
            ),
            "iomCohort": found.iom_cohort,
            "tier": found.tier or None,
            "pathway": found.pathway or None,
            "restricted": found.restricted,
            "dischargeArea": found.discharge_area or None,
            "caseOwners": sorted(found.case_owners),
            "consent": sorted(f"{r} for {p}" for r, p in consent.grants) if consent.given else [],
            "consentExclusions": sorted(consent.exclusions),
        }

    def agencies(self) -> list[tuple[str, str, str]]:
        """Every agency (id, name, kind), for choosing a sender and recipient."""
        with self._db.transaction(readonly=True) as session:
            return [
                (a.id, a.name, a.kind)
                for a in session.scalars(select(Agency).order_by(Agency.kind, Agency.id))
            ]

    # -- consent ------------------------------------------------------------------------------

    def give_consent(self, caller: Caller, subject_id: str, terms: ConsentTerms) -> dict[str, Any]:
        """Record a person's consent, for every agency's disclosures to consult."""
        with self._db.transaction() as session:
            root = self._visible_root(session, caller.agency_id, subject_id)
            record = self._consents.record(session, root, terms, caller.actor, caller.request_id)
            return self._consents.describe(session, record)

    def consents(self, caller: Caller, subject_id: str) -> list[dict[str, Any]]:
        with self._db.transaction() as session:
            root = self._visible_root(session, caller.agency_id, subject_id)
            self._audit.record(
                session,
                AuditAction.CONSENT_READ,
                actor=caller.actor,
                request_id=caller.request_id,
                subject=self._audit.pseudonym(root.id),
            )
            return [
                self._consents.describe(session, c) for c in self._consents.of(session, root.id)
            ]

    def withdraw_consent(self, caller: Caller, consent_id: str, on: date) -> dict[str, Any]:
        """Withdraw a consent (the person may tell any agency that deals with them); it stops
        every disclosure decided from now on."""
        with self._db.transaction() as session:
            record = (
                session.get(ConsentRecord, consent_id, with_for_update=True)
                if is_uuid(consent_id)
                else None
            )
            if record is None:
                raise NotFound("no such consent")
            self._visible_root(session, caller.agency_id, record.subject_id)
            if record.status != "active":
                raise Conflict("this consent was already withdrawn")
            self._consents.withdraw(session, [record], on, caller.actor, caller.request_id)
            return self._consents.describe(session, record)

    def _visible_root(self, session: Session, agency_id: str, subject_id: str) -> Subject:
        subject = session.get(Subject, subject_id) if is_uuid(subject_id) else None
        root = self._identity.root(session, subject) if subject else None
        if root is None or not self._visible(session, agency_id, root.id):
            raise NotFound("no such person")
        return root

    def identifiers_known_to(
        self, session: Session, agency_id: str, members: Sequence[str]
    ) -> list[str]:
        """The identifiers the caller's own messages (sent or received) named the person by.
        The hub may know more (another agency's numbers); which of those an agency may learn is
        for the sharing agreements, so none are disclosed here."""
        found: set[str] = set()
        for message in session.scalars(
            select(Message).where(Message.subject_id.in_(members), self._dealt_with(agency_id))
        ):
            subject = session.get(Subject, message.subject_id)
            assert subject is not None
            ref = open_sealed(
                self._identity.data_key(subject), message.subject_ref, b"ref:" + message.id.encode()
            ).decode()
            if not ref.startswith("hub:"):
                found.add(ref)
        return sorted(found)

    @staticmethod
    def _dealt_with(agency_id: str) -> Any:
        """Messages the agency sent, or received."""
        return or_(
            Message.source_agency_id == agency_id,
            Message.id.in_(
                select(Delivery.message_id).where(Delivery.recipient_agency_id == agency_id)
            ),
        )

    def _visible(self, session: Session, agency_id: str, root_id: str) -> bool:
        """An agency may know of a person it has dealt with (sent or received a message about),
        unless the agreements hide them from it (a restricted person: answers are 404)."""
        members = self._identity.members(session, root_id)
        dealt_with = (
            session.scalar(
                select(Message.id)
                .where(Message.subject_id.in_(members), self._dealt_with(agency_id))
                .limit(1)
            )
            is not None
        )
        if not dealt_with:
            return False
        agency = session.get(Agency, agency_id)
        root = session.get(Subject, root_id)
        return (
            agency is not None
            and root is not None
            and self._messages.may_know(session, agency, root)
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
            # The list shows no one's details: they are opened (and audited) one review at a time.
            return [self._view(session, r, details=False) for r in rows]

    def review(self, actor: Actor, review_id: str, request_id: str | None = None) -> ReviewView:
        """One review with every side's details (names, dates of birth): each person shown is
        audited as read."""
        with self._db.transaction() as session:
            review = session.get(IdentityReview, review_id) if is_uuid(review_id) else None
            if review is None:
                raise NotFound("no such identity review")
            view = self._view(session, review)
            for side in (view.incoming, *view.candidates):
                self._audit.record(
                    session,
                    AuditAction.SUBJECT_READ,
                    actor=actor,
                    request_id=request_id,
                    subject=self._audit.pseudonym(side.subject_id),
                    reasons=("identity-review",),
                )
            return view

    def decide(
        self,
        actor: Actor,
        review_id: str,
        outcome: str,
        into: str | None = None,
        request_id: str | None = None,
    ) -> int:
        """Settle a review and release what it held: each record's facts are recorded for its
        person and each message that named a recipient is delivered if an agreement still
        allows it. Returns how many messages were delivered."""
        if not is_uuid(review_id):
            raise NotFound("no such identity review")
        with self._db.transaction() as session:
            released = self._identity.decide(session, review_id, outcome, actor, into, request_id)
            held = session.scalars(
                select(Message)
                .where(Message.id.in_(released))
                .order_by(Message.received_at, Message.id)
            ).all()
            return self._release(session, actor, held, request_id)

    def undo(self, actor: Actor, review_id: str, request_id: str | None = None) -> None:
        """Undo the merge a review decided; the review then waits for a decision again."""
        if not is_uuid(review_id):
            raise NotFound("no such identity review")
        with self._db.transaction() as session:
            self._identity.undo(session, review_id, actor, request_id)

    def _release(
        self, session: Session, actor: Actor, held: Sequence[Message], request_id: str | None
    ) -> int:
        """The held records' facts, and delivery of those that named a recipient (decided now,
        with the policies now in force)."""
        delivered = 0
        for message in held:
            subject = session.get(Subject, message.subject_id)
            assert subject is not None
            data = json.loads(
                open_sealed(
                    self._identity.data_key(subject), message.payload_enc, message.id.encode()
                )
            )
            self._records.apply(
                session,
                subject,
                facts_of(MessageType(message.type), data),
                actor,
                message.id,
                request_id,
            )
            self._consents.apply_message(
                session, subject, MessageType(message.type), data, actor, request_id
            )
            if message.type == MessageType.CONVICTION.value:
                # Held until the review said who it is about: the alert goes now.
                self._alerts.on_conviction(
                    session,
                    Caller(message.source_agency_id, message.sender_client_id, request_id),
                    subject,
                    message,
                    data,
                )
            if message.recipient_agency_id is None:
                continue
            sender, recipient = self._messages.parties(
                session, message.source_agency_id, message.recipient_agency_id
            )
            decision = self._messages.decide(
                session, sender, recipient, MessageType(message.type), message.purpose, subject
            )
            if not decision.permit:
                self._messages.record_refusal(
                    session, actor, request_id, message, subject, recipient, decision
                )
                continue
            self._messages.deliver(
                session, actor, request_id, message, subject, recipient, decision
            )
            delivered += 1
        return delivered

    def _view(self, session: Session, review: IdentityReview, details: bool = True) -> ReviewView:
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
                details=self._identity.details(session, members) if details else [],
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
