"""Accepting a message: policy decision, encryption, storage, delivery and audit in one unit of work."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
from hub.domain.vocab import AuditAction, Decision, MessageType
from hub.security.crypto import keyed_digest, seal, sha256_hex
from hub.services.audit import AuditLog
from hub.services.subjects import Subjects
from hub.store.db import Database
from hub.store.models import Agency, Delivery, IdempotencyRecord, Message
from policies.engine import DisclosureRequest, Party, PolicyDecisionPoint


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
        self, db: Database, audit: AuditLog, subjects: Subjects, policy: PolicyDecisionPoint
    ) -> None:
        self._db = db
        self._audit = audit
        self._subjects = subjects
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
        try:
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
        except IntegrityError:
            # The same event id (a resend) or idempotency key (a concurrent retry) committed first:
            # answer as the first time. Detecting this by the unique constraints keeps the usual
            # path free of look-ups.
            with self._db.transaction(readonly=True) as session:
                record = (
                    session.get(IdempotencyRecord, (caller.agency_id, idempotency_key))
                    if idempotency_key is not None
                    else None
                )
                if record is not None:
                    return _replayed(record, digest)
                existing = self._existing(session, caller, envelope, digest)
                if existing is None:
                    raise  # some other constraint: a fault, not a resend
                return existing

    def _accept(self, session: Session, caller: Caller, envelope: Envelope, digest: str) -> Answer:
        parties = {
            agency.id: agency
            for agency in session.scalars(
                select(Agency).where(Agency.id.in_([caller.agency_id, envelope.recipient]))
            )
        }
        sender, recipient = parties.get(caller.agency_id), parties.get(envelope.recipient or "")
        if sender is None or recipient is None:
            raise UnknownRecipient(
                f"no agency {envelope.recipient!r}", errors={"recipient": ["unknown agency id"]}
            )
        decision = self._policy.decide(
            DisclosureRequest(
                sender=Party(sender.id, sender.kind),
                recipient=Party(recipient.id, recipient.kind),
                message_type=envelope.type.value,
                purpose=envelope.purpose.value,
            )
        )
        common: dict[str, Any] = dict(
            actor=caller.actor,
            request_id=caller.request_id,
            message_type=envelope.type.value,
            purpose=envelope.purpose.value,
            recipient=recipient.id,
            policy_hash=decision.policy_hash,
            reasons=decision.reasons,
        )
        if not decision.permit:
            known = self._subjects.find(session, envelope.subject)
            refusal = SharingRefused(
                decision.reasons[0], reasons=list(decision.reasons), decision=Decision.DENY.value
            )
            # Nothing is stored but this refusal's audit entry, written by the error handler.
            refusal.audit_fields = dict(
                common,
                decision=Decision.DENY.value,
                subject=self._audit.pseudonym(known.id) if known else None,
            )
            raise refusal
        subject = self._subjects.find_or_create(session, envelope.subject)
        if subject is None:
            raise ValidationFailed(
                "no person has that hub id", errors={"subject": ["unknown hub id"]}
            )
        common["subject"] = self._audit.pseudonym(subject.id)
        message_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        plaintext = json.dumps(envelope.data, separators=(",", ":")).encode()
        key = self._subjects.data_key(subject)
        digest_of_payload = keyed_digest(key, plaintext)
        session.add(
            Message(
                id=message_id,
                ce_id=envelope.id,
                source_agency_id=caller.agency_id,
                sender_client_id=caller.client_id,
                type=envelope.type.value,
                subject_id=subject.id,
                subject_ref=seal(
                    key, str(envelope.subject).encode(), b"ref:" + message_id.encode()
                ),
                purpose=envelope.purpose.value,
                recipient_agency_id=recipient.id,
                event_time=envelope.time,
                received_at=now,
                payload_enc=seal(key, plaintext, message_id.encode()),
                payload_digest=digest_of_payload,
                request_digest=digest,
            )
        )
        # Inbox cursors are delivery ids, so a recipient's deliveries must become visible in id
        # order: hold the recipient's row (FOR NO KEY UPDATE, which foreign-key checks do not wait
        # for) from before the id is drawn until commit. SQLite's single writer already does this.
        session.execute(
            select(Agency.id).where(Agency.id == recipient.id).with_for_update(key_share=True)
        )
        session.flush()  # the message row before rows that refer to it (PostgreSQL checks FKs at once)
        session.add(
            Delivery(
                public_id=str(uuid.uuid4()),
                message_id=message_id,
                recipient_agency_id=recipient.id,
                agreement_id=decision.agreement_id or "",
                agreement_version=decision.agreement_version or "",
                fields=list(decision.fields),
                created_at=now,
            )
        )
        for action in (AuditAction.MESSAGE_ACCEPTED, AuditAction.MESSAGE_DELIVERED):
            self._audit.record(
                session,
                action,
                time=now,
                message_id=message_id,
                decision=Decision.PERMIT.value,
                agreement_id=decision.agreement_id,
                agreement_version=decision.agreement_version,
                lawful_basis=decision.lawful_basis,
                fields=decision.fields if action is AuditAction.MESSAGE_DELIVERED else (),
                payload_digest=digest_of_payload,
                **common,
            )
        return Answer(202, _accepted_body(message_id, recipient.id))

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
        return Answer(202, _accepted_body(found.id, found.recipient_agency_id or ""), replayed=True)

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


def _accepted_body(message_id: str, recipient: str) -> dict[str, Any]:
    return {"id": message_id, "status": "accepted", "deliveredTo": [recipient]}


def _replayed(record: IdempotencyRecord, digest: str) -> Answer:
    if record.request_digest != digest:
        raise IdempotencyConflict(
            "this Idempotency-Key was used with a different request body; use a new key"
        )
    return Answer(record.status, dict(record.response), replayed=True)
