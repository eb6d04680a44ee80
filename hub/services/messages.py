"""Accepting a message: policy decision, encryption, storage, delivery and audit in one unit of work."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol

import rfc8785
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from audit.entry import Actor
from hub.domain.callers import Caller, is_uuid, iso
from hub.domain.errors import (
    DuplicateEvent,
    IdempotencyConflict,
    NotFound,
    SharingRefused,
    SourceMismatch,
    UnknownRecipient,
    ValidationFailed,
)
from hub.domain.messages import Envelope
from hub.domain.records import case_owner, facts_of
from hub.domain.vocab import AuditAction, Decision, MessageType, SubjectScheme
from hub.security.crypto import keyed_digest, open_sealed, seal, sha256_hex
from hub.services.audit import AuditLog
from hub.services.consents import ConsentRegister
from hub.services.identity import Identity
from hub.services.outbox import Outbox
from hub.services.records import SubjectRecords
from hub.store.db import Database
from hub.store.models import (
    Agency,
    Delivery,
    IdempotencyRecord,
    Message,
    OverrideReview,
    Subject,
)
from policies.engine import (
    Consent,
    DisclosureDecision,
    DisclosureRequest,
    Party,
    PolicyDecisionPoint,
    Reader,
    SubjectAttributes,
)

# The messages delivered to a person at the recipient (the case owner there), not only the agency.
ROUTED_TO_PEOPLE = frozenset(
    {
        MessageType.REFERRAL,
        MessageType.RISK_ESCALATION,
        MessageType.CONVICTION,
        MessageType.RECONVICTION_ALERT,
    }
)
URGENCIES = ("immediate", "urgent", "routine")  # most pressing first
# Messages that may name no recipient: they go to whoever holds the case at agencies of these kinds.
OWNER_ROUTED = {MessageType.RISK_ESCALATION: frozenset({"probation"})}


class ConvictionHandler(Protocol):
    def on_conviction(
        self,
        session: Session,
        caller: Caller,
        subject: Subject,
        conviction: Message,
        data: dict[str, Any],
    ) -> list[str]: ...


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False  # the first answer to an earlier request with the same key or event


def request_digest(body: Any) -> str:
    """SHA-256 of the RFC 8785 form: the same JSON, however formatted, has one digest."""
    return sha256_hex(rfc8785.dumps(body))


class MessageService:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        identity: Identity,
        policy: PolicyDecisionPoint,
        records: SubjectRecords,
        consents: ConsentRegister,
        outbox: Outbox | None = None,
    ) -> None:
        self._outbox = outbox or Outbox()
        # Set by the composition root (the alerts use this service to deliver).
        self.alerts: ConvictionHandler | None = None
        self._db = db
        self._audit = audit
        self._identity = identity
        self._records = records
        self._consents = consents
        self._policy = policy

    def accept(
        self, caller: Caller, envelope: Envelope, digest: str, idempotency_key: str | None
    ) -> Answer:
        if envelope.source != caller.agency_id:
            raise SourceMismatch(
                f"source must be your agency id ({caller.agency_id!r})",
                errors={"source": ["is not the caller's agency"]},
            )
        if envelope.recipient is None:
            raise ValidationFailed(
                "recipient is required: routing by who works with the person is not enabled yet",
                errors={"recipient": ["Missing data for required field."]},
            )
        for attempt in (1, 2):
            try:
                return self._attempt(caller, envelope, digest, idempotency_key)
            except IntegrityError:
                # The same event id (a resend) or idempotency key (a concurrent retry) committed
                # first: answer as the first time. Detecting this by the unique constraints keeps
                # the usual path free of look-ups.
                with self._db.transaction(readonly=True) as session:
                    record = (
                        session.get(IdempotencyRecord, (caller.agency_id, idempotency_key))
                        if idempotency_key is not None
                        else None
                    )
                    if record is not None:
                        return _replayed(record, digest)
                    existing = self._existing(session, caller, envelope, digest)
                if existing is not None:
                    return existing
                # Otherwise another request linked this person's identifier first: once more,
                # and this time the person is found.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _attempt(
        self, caller: Caller, envelope: Envelope, digest: str, idempotency_key: str | None
    ) -> Answer:
        with self._db.transaction() as session:
            if idempotency_key is not None:
                record = session.get(IdempotencyRecord, (caller.agency_id, idempotency_key))
                if record is not None:
                    return _replayed(record, digest)
            answer = self._accept(session, caller, envelope, digest)
            if idempotency_key is not None:
                session.add(
                    IdempotencyRecord(
                        agency_id=caller.agency_id,
                        key=idempotency_key,
                        request_digest=digest,
                        status=answer.status,
                        response=answer.body,
                        created_at=datetime.now(UTC),
                    )
                )
            return answer

    def _accept(self, session: Session, caller: Caller, envelope: Envelope, digest: str) -> Answer:
        sender, recipient = self.parties(session, caller.agency_id, envelope.recipient or "")
        known = self._identity.find(session, envelope.subject)
        decision = self.decide(
            session, sender, recipient, envelope.type, envelope.purpose.value, known
        )
        overridden = False
        if not decision.permit:
            # A public-protection override may stand in for a missing permission, never against
            # a restriction that forbids (those are the policies a denial names).
            if envelope.override is None or decision.policies:
                raise self.refusal(
                    caller, envelope.type, envelope.purpose.value, recipient, decision, known
                )
            decision = DisclosureDecision(
                permit=True,
                reasons=("public-protection override, pending IG review", *decision.reasons),
                policy_hash=decision.policy_hash,
                agreement_id=OVERRIDE,
                agreement_version="",
                lawful_basis="public_protection",
                fields=tuple(envelope.data),
            )
            overridden = True
        # The person found for the decision is the one the message is stored against: only
        # someone new is resolved (created) now.
        if known is not None:
            subject = known
        elif envelope.subject.scheme is SubjectScheme.HUB:
            raise ValidationFailed(
                "no person has that hub id", errors={"subject": ["unknown hub id"]}
            )
        else:
            subject = self._identity.resolve(
                session, [envelope.subject], None, caller.actor, caller.request_id
            ).subject
        message = self.store(
            session,
            caller,
            subject,
            ce_id=envelope.id,
            message_type=envelope.type,
            purpose=envelope.purpose.value,
            data=envelope.data,
            subject_ref=str(envelope.subject),
            event_time=envelope.time,
            request_digest=digest,
            recipient=recipient.id,
        )
        self.deliver(
            session, caller.actor, caller.request_id, message, subject, recipient, decision
        )
        # What the message states about the person (releases, owners, convictions, consent), as
        # for a document; a conviction raises its reconviction alert. Not for a message accepted
        # only on a public-protection override: that waits for IG review, and must not make its
        # sender a case owner or record a consent meanwhile.
        if not overridden:
            self._records.apply(
                session,
                subject,
                facts_of(envelope.type, envelope.data),
                caller.actor,
                message.id,
                caller.request_id,
                new_subject=known is None,
            )
            self._consents.apply_message(
                session, subject, envelope.type, envelope.data, caller.actor, caller.request_id
            )
            if envelope.type is MessageType.CONVICTION and self.alerts is not None:
                self.alerts.on_conviction(session, caller, subject, message, envelope.data)
        if overridden:
            assert envelope.override is not None
            review_id = str(uuid.uuid4())
            session.add(
                OverrideReview(
                    id=review_id,
                    message_id=message.id,
                    subject_id=subject.id,
                    sender_agency_id=caller.agency_id,
                    recipient_agency_id=recipient.id,
                    message_type=envelope.type.value,
                    justification_enc=seal(
                        self._identity.data_key(subject),
                        envelope.override.encode(),
                        f"override:{review_id}".encode(),
                    ),
                    status="pending",
                    created_at=datetime.now(UTC),
                )
            )
            self._audit.record(
                session,
                AuditAction.OVERRIDE_USED,
                actor=caller.actor,
                request_id=caller.request_id,
                subject=self._audit.pseudonym(subject.id),
                message_id=message.id,
                message_type=envelope.type.value,
                purpose=envelope.purpose.value,
                recipient=recipient.id,
                lawful_basis="public_protection",
                decision=Decision.PERMIT.value,
                policy_hash=decision.policy_hash,
                reasons=(f"override-review:{review_id}",),
            )
        return Answer(202, _accepted_body(message.id, [recipient.id]))

    # -- the steps, shared with documents arriving through an adapter ----------------------------

    def parties(self, session: Session, sender_id: str, recipient_id: str) -> tuple[Agency, Agency]:
        found = {
            agency.id: agency
            for agency in session.scalars(
                select(Agency).where(Agency.id.in_([sender_id, recipient_id]))
            )
        }
        sender, recipient = found.get(sender_id), found.get(recipient_id)
        if sender is None or recipient is None:
            raise UnknownRecipient(
                f"no agency {recipient_id!r}", errors={"recipient": ["unknown agency id"]}
            )
        return sender, recipient

    def decide(
        self,
        session: Session,
        sender: Agency,
        recipient: Agency,
        message_type: MessageType,
        purpose: str,
        subject: Subject | None,
        user: Reader | None = None,
    ) -> DisclosureDecision:
        """The agreements' decision, on the person as the hub's own records describe them
        (attributes and consent), never as the sender says. `user`: the person at the recipient
        who will read it (role and vetting); None for the recipient agency's system."""
        [decision] = self.decide_each(
            session, sender, [recipient], message_type, purpose, subject, user=user
        )
        return decision

    def decide_each(
        self,
        session: Session,
        sender: Agency,
        recipients: Sequence[Agency],
        message_type: MessageType,
        purpose: str,
        subject: Subject | None,
        *,
        user: Reader | None = None,
        person: SubjectAttributes | None = None,
    ) -> list[DisclosureDecision]:
        """`decide` for several recipients of one message: the person's records and consent are
        read once (`person`: their attributes, when the caller has read them already)."""
        root = self._identity.root(session, subject) if subject is not None else None
        if person is None:
            person = self._records.attributes(session, root.id) if root else SubjectAttributes()
        kind = classification(message_type, sender.kind)
        consent = self._consents.in_force(session, root.id, data_class=kind) if root else Consent()
        return [
            self._policy.decide(
                DisclosureRequest(
                    sender=_party(sender),
                    recipient=_party(recipient),
                    message_type=message_type.value,
                    purpose=purpose,
                    subject=person,
                    consent=consent,
                    classification=kind,
                    user=user,
                )
            )
            for recipient in recipients
        ]

    def record_refusal(
        self,
        session: Session,
        actor: Actor,
        request_id: str | None,
        message: Message,
        subject: Subject,
        recipient: Agency,
        decision: DisclosureDecision,
    ) -> None:
        """The `message.refused` entry for a stored message the agreements keep from a
        recipient (decided after it was accepted: on release from review, or a hub alert)."""
        self._audit.record(
            session,
            AuditAction.MESSAGE_REFUSED,
            actor=actor,
            request_id=request_id,
            subject=self._audit.pseudonym(subject.id),  # as `deliver` names the person
            message_id=message.id,
            message_type=message.type,
            purpose=message.purpose,
            recipient=recipient.id,
            decision=Decision.DENY.value,
            policy_hash=decision.policy_hash,
            reasons=decision.reasons,
        )

    def may_know(self, session: Session, agency: Agency, root: Subject) -> bool:
        """May this agency learn that the hub knows the person (the agreements' `know` rules:
        a restricted person is hidden from all but probation)?"""
        return self._policy.may_know(_party(agency), self._records.attributes(session, root.id))

    def refusal(
        self,
        caller: Caller,
        message_type: MessageType,
        purpose: str,
        recipient: Agency,
        decision: DisclosureDecision,
        subject: Subject | None,
    ) -> SharingRefused:
        """The error for a denied disclosure, carrying its audit entry (nothing else is stored)."""
        reasons = decision.reasons
        if any(p.endswith("/restricted-person") for p in decision.policies):
            # Saying why would tell the sender the person is restricted.
            reasons = ("no agreement permits this disclosure",)
        refusal = SharingRefused(reasons[0], reasons=list(reasons), decision=Decision.DENY.value)
        refusal.audit_fields = dict(
            actor=caller.actor,
            request_id=caller.request_id,
            message_type=message_type.value,
            purpose=purpose,
            recipient=recipient.id,
            policy_hash=decision.policy_hash,
            reasons=decision.reasons,
            decision=Decision.DENY.value,
            subject=self._audit.pseudonym(subject.id) if subject else None,
        )
        return refusal

    def store(
        self,
        session: Session,
        caller: Caller,
        subject: Subject,
        *,
        ce_id: str,
        message_type: MessageType,
        purpose: str,
        data: dict[str, Any],
        subject_ref: str,
        event_time: datetime | None,
        request_digest: str,
        recipient: str | None = None,
        held_by_review: str | None = None,
    ) -> Message:
        """The message, sealed under the person's data key, and its `message.accepted` entry."""
        message_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        plaintext = json.dumps(data, separators=(",", ":")).encode()
        key = self._identity.data_key(subject)
        message = Message(
            id=message_id,
            ce_id=ce_id,
            source_agency_id=caller.agency_id,
            sender_client_id=caller.client_id,
            type=message_type.value,
            subject_id=subject.id,
            subject_ref=seal(key, subject_ref.encode(), b"ref:" + message_id.encode()),
            purpose=purpose,
            recipient_agency_id=recipient,
            event_time=event_time,
            received_at=now,
            payload_enc=seal(key, plaintext, message_id.encode()),
            payload_digest=keyed_digest(key, plaintext),
            request_digest=request_digest,
            held_by_review=held_by_review,
        )
        session.add(message)
        self._audit.record(
            session,
            AuditAction.MESSAGE_ACCEPTED,
            time=now,
            actor=caller.actor,
            request_id=caller.request_id,
            subject=self._audit.pseudonym(subject.id),
            message_id=message_id,
            message_type=message_type.value,
            purpose=purpose,
            recipient=recipient,
            payload_digest=message.payload_digest,
        )
        return message

    def deliver(
        self,
        session: Session,
        actor: Actor,
        request_id: str | None,
        message: Message,
        subject: Subject,
        recipient: Agency,
        decision: DisclosureDecision,
    ) -> None:
        """Put a permitted message in the recipient's inbox, with its `message.delivered` entry."""
        # Inbox cursors are delivery ids, so a recipient's deliveries must become visible in id
        # order: hold the recipient's row (FOR NO KEY UPDATE, which foreign-key checks do not wait
        # for) from before the id is drawn until commit. SQLite's single writer already does this.
        session.execute(
            select(Agency.id).where(Agency.id == recipient.id).with_for_update(key_share=True)
        )
        now = datetime.now(UTC)
        assignee, urgency = self._route(session, message, subject, recipient)
        public_id = str(uuid.uuid4())
        delivery = Delivery(
            public_id=public_id,
            message_id=message.id,
            recipient_agency_id=recipient.id,
            agreement_id=decision.agreement_id or "",
            agreement_version=decision.agreement_version or "",
            fields=list(decision.fields),
            created_at=now,
            assignee=self._identity.holder_digest(assignee) if assignee else None,
            assignee_enc=(
                seal(
                    self._identity.data_key(subject),
                    assignee.encode(),
                    b"assignee:" + public_id.encode(),
                )
                if assignee
                else None
            ),
            urgency=urgency,
        )
        session.add(delivery)
        # Its live notice and webhook sends commit with it and its audit entry (the outbox).
        self._outbox.enqueue(session, delivery, message.type)
        self._audit.record(
            session,
            AuditAction.MESSAGE_DELIVERED,
            time=now,
            actor=actor,
            request_id=request_id,
            subject=self._audit.pseudonym(subject.id),
            message_id=message.id,
            message_type=message.type,
            purpose=message.purpose,
            recipient=recipient.id,
            decision=Decision.PERMIT.value,
            agreement_id=decision.agreement_id,
            agreement_version=decision.agreement_version,
            lawful_basis=decision.lawful_basis,
            policy_hash=decision.policy_hash,
            reasons=decision.reasons,
            fields=decision.fields,
            payload_digest=message.payload_digest,
        )

    def deliver_to_case_owners(
        self,
        session: Session,
        caller: Caller,
        message: Message,
        subject: Subject,
        kinds: frozenset[str],
    ) -> list[str]:
        """Deliver a message that names no recipient to the agencies of these kinds whose staff
        hold the person's case (a provider's risk escalation goes to the probation service that
        owns the case); each under the agreements, refusals audited. The agencies delivered to."""
        root = self._identity.root(session, subject)
        person = self._records.attributes(session, root.id)
        owners = sorted(person.case_owners - {caller.agency_id})
        recipients = [
            agency
            for agency in session.scalars(select(Agency).where(Agency.id.in_(owners)))
            if agency.kind in kinds
        ]
        sender = session.get(Agency, caller.agency_id)
        if not recipients or sender is None:
            return []
        return self.deliver_each(session, caller, message, subject, sender, recipients, person)

    def deliver_each(
        self,
        session: Session,
        caller: Caller,
        message: Message,
        subject: Subject,
        sender: Agency,
        recipients: Sequence[Agency],
        person: SubjectAttributes,
    ) -> list[str]:
        """Decide a stored message for each recipient (the person's records read once) and
        deliver it where permitted; each refusal is an audit entry. The agencies delivered to."""
        decisions = self.decide_each(
            session,
            sender,
            recipients,
            MessageType(message.type),
            message.purpose,
            subject,
            person=person,
        )
        delivered = []
        for recipient, decision in zip(recipients, decisions, strict=True):
            if decision.permit:
                self.deliver(
                    session, caller.actor, caller.request_id, message, subject, recipient, decision
                )
                delivered.append(recipient.id)
            else:
                self.record_refusal(
                    session, caller.actor, caller.request_id, message, subject, recipient, decision
                )
        return delivered

    def _route(
        self, session: Session, message: Message, subject: Subject, recipient: Agency
    ) -> tuple[str | None, str | None]:
        """Who at the recipient the message is for, and its urgency: a referral, a risk
        escalation, a conviction or a reconviction alert goes to the person who holds the case
        there now (None: the agency's allocation queue); other messages to the agency."""
        message_type = MessageType(message.type)
        if message_type not in ROUTED_TO_PEOPLE:
            return None, None
        root = self._identity.root(session, subject)
        current = self._records.current(session, root.id)
        assignee = case_owner(current, recipient.id, recipient.kind, date.today())
        urgency = None
        if message_type is MessageType.RISK_ESCALATION:
            key = self._identity.data_key(subject)
            data = json.loads(open_sealed(key, message.payload_enc, message.id.encode()))
            found = data.get("urgency")
            urgency = found if found in URGENCIES else None
        return assignee, urgency

    def _existing(
        self, session: Session, caller: Caller, envelope: Envelope, digest: str
    ) -> Answer | None:
        """CloudEvents ids are unique per source: a resend of the same event gets the first answer."""
        found = session.scalar(
            select(Message).where(
                Message.source_agency_id == caller.agency_id, Message.ce_id == envelope.id
            )
        )
        if found is None:
            return None
        if found.request_digest != digest:
            raise DuplicateEvent(
                "this event id was already used by your agency with different content"
            )
        delivered = session.scalars(
            select(Delivery.recipient_agency_id)
            .where(Delivery.message_id == found.id)
            .order_by(Delivery.id)
        ).all()
        return Answer(202, _accepted_body(found.id, list(delivered)), replayed=True)

    def status(self, caller: Caller, message_id: str) -> dict[str, Any]:
        """The sender's view: where its message went, never its content."""
        with self._db.transaction() as session:
            message = session.get(Message, message_id) if is_uuid(message_id) else None
            if message is None or message.source_agency_id != caller.agency_id:
                raise NotFound("no such message")
            deliveries = session.scalars(
                select(Delivery).where(Delivery.message_id == message.id).order_by(Delivery.id)
            ).all()
            self._audit.record(
                session,
                AuditAction.MESSAGE_STATUS_READ,
                actor=caller.actor,
                request_id=caller.request_id,
                message_id=message.id,
                message_type=message.type,
            )
            return {
                "id": message.id,
                "eventId": message.ce_id,
                "type": MessageType(message.type).ce_type,
                "receivedAt": iso(message.received_at),
                "receipts": [
                    {
                        "recipient": d.recipient_agency_id,
                        "deliveredAt": iso(d.created_at),
                        "acknowledgedAt": iso(d.acked_at) if d.acked_at else None,
                    }
                    for d in deliveries
                ],
            }


OVERRIDE = "public-protection-override"


def recipient_clearance(agency: Agency) -> int:
    """The agency's vetting for police information (0 none, 1 information, 2 intelligence)."""
    clearance = agency.attributes.get("clearance", 0) if agency.attributes else 0
    return clearance if isinstance(clearance, int) and not isinstance(clearance, bool) else 0


def _party(agency: Agency) -> Party:
    return Party(
        agency.id, agency.kind, region=agency.region, clearance=recipient_clearance(agency)
    )


def classification(message_type: MessageType, sender_kind: str) -> str:
    """What kind of information a message is, for the rules that treat kinds differently: a
    police IOM team's case information is police intelligence."""
    if sender_kind == "iom" and message_type is MessageType.CASE_SUMMARY:
        return "police_intelligence"
    if message_type in (MessageType.CASE_SUMMARY, MessageType.NEEDS_ASSESSMENT):
        return "special_category"  # health, substance misuse, offending behaviour
    return "personal"


def _accepted_body(message_id: str, recipients: list[str]) -> dict[str, Any]:
    return {"id": message_id, "status": "accepted", "deliveredTo": recipients}


def _replayed(record: IdempotencyRecord, digest: str) -> Answer:
    if record.request_digest != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was used with a different request body; use a new key"
        )
    return Answer(record.status, dict(record.response), replayed=True)
