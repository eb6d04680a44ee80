"""Native documents in, through the sending agency's adapter, record by record.

Each record the adapter reads is checked against its canonical schema, resolved to a person,
stored as a message, turned into the hub's own records, and delivered where it names a recipient
and an agreement allows it. All the records accepted from one document commit together in one
transaction. Everything that can refuse a record (a bad field, a refused disclosure, an event id
reused with other content) is checked before anything is written for it, so a refused record
leaves nothing behind and the rest are kept. The answer names
every record: accepted (with its message id), held for an identity review, rejected (which
field, why) or skipped (nothing to share, e.g. an organisation as defendant).

A record's event id comes from the native document (hearing and offence ids, a row's content),
so sending the same document again adds nothing: each record answers as it did the first time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, NamedTuple

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.base import CanonicalRecord, Document, DocumentError, RecordError
from hub.api.schemas import DEFAULT_ROUTES, load_data
from hub.domain.callers import Caller
from hub.domain.errors import (
    DuplicateEvent,
    HubError,
    SharingRefused,
    UnreadableDocument,
    WrongAgencyKind,
)
from hub.domain.matching import Details
from hub.domain.records import facts_of
from hub.domain.vocab import AuditAction, MessageType, Purpose
from hub.services.alerts import ReconvictionAlerts
from hub.services.audit import AuditLog, discard_pending, pending_mark
from hub.services.consents import ConsentRegister
from hub.services.identity import Identity
from hub.services.messages import OWNER_ROUTED, MessageService, request_digest
from hub.services.records import SubjectRecords
from hub.store.db import Database
from hub.store.models import Agency, Delivery, Message, Subject

# Native documents carry no purpose; each canonical type is shared for the purpose it serves.
PURPOSES: dict[MessageType, Purpose] = {
    MessageType.REFERRAL: Purpose.RESETTLEMENT,
    MessageType.CASE_SUMMARY: Purpose.RISK_MANAGEMENT,
    MessageType.RISK_ESCALATION: Purpose.RISK_MANAGEMENT,
}


def purpose_of(message_type: MessageType) -> Purpose:
    return PURPOSES.get(message_type, Purpose.CASE_MANAGEMENT)


class Known(NamedTuple):
    """A message already stored for an event id (only what answering a resend needs, so a large
    document does not keep every message it stored in memory)."""

    id: str
    request_digest: str
    subject_id: str
    held_by: str | None


@dataclass
class RecordOutcome:
    record: str
    status: str  # "accepted" | "held" | "rejected" | "skipped"
    type: str | None = None
    message_id: str | None = None
    subject: str | None = None
    delivered_to: list[str] = field(default_factory=list)
    already_received: bool = False
    field: str | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"record": self.record, "status": self.status}
        if self.type:
            body["type"] = MessageType(self.type).ce_type
        if self.message_id:
            body["messageId"] = self.message_id
            body["subject"] = self.subject
            body["deliveredTo"] = self.delivered_to
            if self.already_received:
                body["alreadyReceived"] = True
        if self.status == "held":
            body["reason"] = self.reason
        if self.status in ("rejected", "skipped"):
            body["field"] = self.field
            body["reason"] = self.reason
        return body


@dataclass
class DocumentReport:
    document: str
    outcomes: list[RecordOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def rejected(self) -> int:
        return self.count("rejected")

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "accepted": self.count("accepted"),
            "held": self.count("held"),
            "rejected": self.rejected,
            "skipped": self.count("skipped"),
            "records": [o.to_json() for o in self.outcomes],
        }


class DocumentService:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        identity: Identity,
        messages: MessageService,
        records: SubjectRecords,
        consents: ConsentRegister,
        alerts: ReconvictionAlerts,
        routes: tuple[str, ...] = DEFAULT_ROUTES,
    ) -> None:
        self._alerts = alerts
        self._consents = consents
        self._db = db
        self._audit = audit
        self._identity = identity
        self._messages = messages
        self._records = records
        self._routes = routes

    def check_sender(self, caller: Caller, document: Document) -> None:
        """Only an agency of the document's kind may send it (before reading the body)."""
        with self._db.transaction(readonly=True) as session:
            agency = session.get(Agency, caller.agency_id)
            kind = agency.kind if agency else None
        if kind != document.agency_kind:
            raise WrongAgencyKind(
                f"{document.agency_kind} documents come from {document.agency_kind} agencies; "
                f"yours is {kind or 'unknown'}"
            )

    def receive(
        self,
        caller: Caller,
        document: Document,
        stream: IO[bytes],
        progress: Callable[[int, int], None] | None = None,
    ) -> DocumentReport:
        self.check_sender(caller, document)
        try:
            parsed = document.parse(stream)
        except DocumentError as error:
            raise UnreadableDocument(str(error)) from None
        report = DocumentReport(f"{document.agency_kind}/{document.name}")
        report.outcomes.extend(_refused("rejected", e) for e in parsed.errors)
        report.outcomes.extend(_refused("skipped", e) for e in parsed.skipped)
        valid: list[CanonicalRecord] = []
        for record in parsed.records:
            try:
                load_data(record.type, record.data, self._routes)
            except ValidationError as error:
                path, reason = next(_flatten(error.messages, "data"))
                report.outcomes.append(
                    RecordOutcome(
                        record.record, "rejected", record.type.value, field=path, reason=reason
                    )
                )
                continue
            valid.append(record)
        first = len(report.outcomes)
        for attempt in range(1, ATTEMPTS + 1):
            del report.outcomes[first:]
            try:
                with self._db.transaction() as session:
                    self._all(session, caller, valid, report, progress)
                break
            except IntegrityError:
                # Another request linked one of these identifiers (or sent one of these events)
                # between our look-up and our commit: nothing was kept, so read it all again.
                if attempt == ATTEMPTS:
                    raise
        return report

    def _all(
        self,
        session: Session,
        caller: Caller,
        valid: list[CanonicalRecord],
        report: DocumentReport,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        # Records are taken a chunk at a time: the chunk's identifiers, candidates and event ids
        # are looked up in a few queries, its rows are written in one flush (the unit of work
        # orders the tables by their foreign keys and batches each table's inserts), and its
        # audit entries in one statement. What a record creates is visible to the records after
        # it through the identity batch, flushed or not.
        self._identity.begin_batch(session)
        known: dict[str, Known] = {}
        done = 0
        for start in range(0, len(valid), CHUNK):
            chunk = valid[start : start + CHUNK]
            self._identity.prefetch(
                session,
                [ref for record in chunk for ref in record.identifiers],
                [r.person.date_of_birth for r in chunk if r.person.date_of_birth is not None],
            )
            wanted = [_event_id(r.event_id) for r in chunk if _event_id(r.event_id) not in known]
            for ce_id, message_id, request, subject_id, held_by in session.execute(
                select(
                    Message.ce_id,
                    Message.id,
                    Message.request_digest,
                    Message.subject_id,
                    Message.held_by_review,
                ).where(Message.source_agency_id == caller.agency_id, Message.ce_id.in_(wanted))
            ):
                known[ce_id] = Known(message_id, request, subject_id, held_by)
            with session.no_autoflush:
                for record in chunk:
                    report.outcomes.append(self._one(session, caller, record, known))
                    done += 1
                    if progress is not None:
                        progress(done, len(valid))
            session.flush()
        self._audit.record(
            session,
            AuditAction.DOCUMENT_RECEIVED,
            actor=caller.actor,
            request_id=caller.request_id,
            reasons=(
                f"document:{report.document}",
                *(f"{s}:{report.count(s)}" for s in ("accepted", "held", "rejected", "skipped")),
            ),
        )

    def _one(
        self,
        session: Session,
        caller: Caller,
        record: CanonicalRecord,
        known: dict[str, Known],
    ) -> RecordOutcome:
        """Everything that can refuse a record is checked before anything is written, so a
        refused record leaves nothing behind without a savepoint per record."""
        outcome = RecordOutcome(record.record, "accepted", record.type.value)
        try:
            self._store(session, caller, record, outcome, known)
        except SharingRefused as refusal:
            # Nothing was written for the record; its refusal is recorded, as a refused message's is.
            self._audit.record(session, AuditAction.MESSAGE_REFUSED, **refusal.audit_fields)
            return RecordOutcome(
                record.record,
                "rejected",
                record.type.value,
                field="recipient",
                reason=refusal.detail,
            )
        except HubError as error:
            errors = error.extra.get("errors")
            where = next(iter(errors)) if isinstance(errors, dict) and errors else "record"
            return RecordOutcome(
                record.record, "rejected", record.type.value, field=where, reason=error.detail
            )
        return outcome

    def _store(
        self,
        session: Session,
        caller: Caller,
        record: CanonicalRecord,
        outcome: RecordOutcome,
        known: dict[str, Known],
    ) -> None:
        event_id = _event_id(record.event_id)
        digest = request_digest(
            {
                "type": record.type.value,
                "identifiers": [str(ref) for ref in record.identifiers],
                "data": record.data,
                "recipient": record.recipient,
            }
        )
        existing = known.get(event_id)  # sent before, or earlier in this document
        if existing is not None:
            if existing.request_digest != digest:
                raise DuplicateEvent(
                    "this record was already received with different content; the hub does not "
                    "take amendments to a record yet",
                    errors={"record": [f"first received as message {existing.id}"]},
                )
            outcome.message_id = existing.id
            subject = session.get(Subject, existing.subject_id)
            assert subject is not None
            outcome.subject = self._identity.root(session, subject).id
            outcome.delivered_to = list(
                session.scalars(
                    select(Delivery.recipient_agency_id)
                    .where(Delivery.message_id == existing.id)
                    .order_by(Delivery.id)
                )
            )
            outcome.already_received = True
            if existing.held_by is not None:
                outcome.status, outcome.reason = "held", HELD
            return
        purpose = purpose_of(record.type).value
        person = record.person
        details = Details.of(
            person.last_name, person.date_of_birth, person.first_name, person.postcode
        )
        recipient = decision = None
        if record.recipient is None:
            resolution = self._identity.resolve(
                session, record.identifiers, details, caller.actor, caller.request_id
            )
        else:
            # The decision is on the person the record resolves to (their pathway, consent),
            # and resolving may create or link someone: it runs in a savepoint that a refusal
            # rolls back, so a refused record still leaves nothing behind.
            sender, recipient = self._messages.parties(session, caller.agency_id, record.recipient)
            mark = pending_mark(session)  # a rollback below discards only this record's entries
            savepoint = session.begin_nested()
            resolution = self._identity.resolve(
                session, record.identifiers, details, caller.actor, caller.request_id
            )
            decision = self._messages.decide(
                session, sender, recipient, record.type, purpose, resolution.subject
            )
            if not decision.permit:
                savepoint.rollback()
                discard_pending(session, mark)  # entries for what was just rolled back
                self._identity.begin_batch(session)  # what the batch learnt was rolled back
                raise self._messages.refusal(
                    caller, record.type, purpose, recipient, decision, None
                )
            savepoint.commit()
        subject = resolution.subject
        message = self._messages.store(
            session,
            caller,
            subject,
            ce_id=event_id,
            message_type=record.type,
            purpose=purpose,
            data=record.data,
            subject_ref=str(record.identifiers[0]) if record.identifiers else f"hub:{subject.id}",
            event_time=None,
            request_digest=digest,
            recipient=recipient.id if recipient else None,
            held_by_review=resolution.review_id,
        )
        known[event_id] = Known(message.id, digest, subject.id, resolution.review_id)
        if resolution.review_id is None:  # a held record's facts wait for its review
            self._records.apply(
                session,
                subject,
                facts_of(record.type, record.data),
                caller.actor,
                message.id,
                caller.request_id,
                new_subject=resolution.created,
            )
            self._consents.apply_message(
                session, subject, record.type, record.data, caller.actor, caller.request_id
            )
            if record.type is MessageType.CONVICTION:
                self._alerts.on_conviction(session, caller, subject, message, record.data)
        outcome.message_id, outcome.subject = message.id, resolution.root_id
        if resolution.review_id is not None:
            outcome.status, outcome.reason = "held", HELD
        elif recipient is not None and decision is not None:
            self._messages.deliver(
                session, caller.actor, caller.request_id, message, subject, recipient, decision
            )
            outcome.delivered_to = [recipient.id]
        elif record.type in OWNER_ROUTED:
            # No recipient named: to whoever holds the case (an escalation: probation).
            outcome.delivered_to = self._messages.deliver_to_case_owners(
                session, caller, message, subject, OWNER_ROUTED[record.type]
            )


ATTEMPTS = 3
CHUNK = 500
HELD = (
    "the hub cannot yet be sure who this record is about (close to someone already known, or "
    "identifiers that belong to different people); nothing about it is shared until an identity "
    "review decides"
)


def _event_id(native: str) -> str:
    """Event ids are at most 200 characters; a longer native id is replaced by its digest."""
    return native if len(native) <= 200 else "sha256:" + hashlib.sha256(native.encode()).hexdigest()


def _refused(status: str, error: RecordError) -> RecordOutcome:
    return RecordOutcome(error.record, status, field=error.field, reason=error.reason)


def _flatten(messages: Any, prefix: str) -> Iterator[tuple[str, str]]:
    """Marshmallow's nested messages as (path, reason) pairs, e.g. ("data.offence.code", ...)."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from _flatten(value, f"{prefix}.{key}" if key != "_schema" else prefix)
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        yield prefix, "; ".join(messages)
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            yield from _flatten(value, f"{prefix}[{index}]")
    else:
        yield prefix, str(messages)
