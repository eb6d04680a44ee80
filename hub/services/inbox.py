"""An agency's inbox: what was delivered to it, in a stable order, with acknowledgement.

Each item shows only the fields its delivery's agreement disclosed. Reading an item is a
disclosure, so every item read is audited in the same transaction as the read.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import adapters
from adapters.base import NotRenderable, Rendered
from audit.entry import Actor
from hub.domain.callers import MAX_INTEGER, Caller, is_uuid, iso, whole_number
from hub.domain.errors import BadRequest, InvalidCursor, NotAcceptable, NotFound
from hub.domain.messages import SubjectRef
from hub.domain.vocab import AuditAction, MessageType
from hub.security.crypto import open_sealed
from hub.services.audit import AuditLog
from hub.services.identity import Identity
from hub.store.db import Database
from hub.store.models import Agency, Delivery, Message, Subject

MAX_LIMIT = 100


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"d1:{position}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        position = whole_number(number) if prefix == "d1" else None
        if position is None or position > MAX_INTEGER:
            raise ValueError
        return position
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(
            "the cursor is not one this hub issued; use next_cursor as given"
        ) from None


class InboxService:
    def __init__(self, db: Database, audit: AuditLog, identity: Identity) -> None:
        self._db = db
        self._audit = audit
        self._identity = identity

    def page(self, caller: Caller, after: str | None, limit: int) -> dict[str, Any]:
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(
                f"limit must be between 1 and {MAX_LIMIT}", errors={"limit": ["out of range"]}
            )
        position = decode_cursor(after) if after else 0
        with self._db.transaction() as session:
            rows = session.execute(
                select(Delivery, Message, Subject)
                .join(Message, Message.id == Delivery.message_id)
                .join(Subject, Subject.id == Message.subject_id)
                .where(Delivery.recipient_agency_id == caller.agency_id, Delivery.id > position)
                .order_by(Delivery.id)
                .limit(limit + 1)
            ).all()
            more = len(rows) > limit
            rows = rows[:limit]
            items = [self._read(session, caller, *row) for row in rows]
            last = rows[-1][0].id if rows else position
            # The page read itself, even an empty one; each item read has its own entry above.
            self._audit.record(
                session,
                AuditAction.INBOX_READ,
                actor=caller.actor,
                request_id=caller.request_id,
                recipient=caller.agency_id,
            )
            return {
                "items": items,
                "next_cursor": encode_cursor(last),
                "has_more": more,
            }

    def item(self, caller: Caller, inbox_id: str) -> dict[str, Any]:
        with self._db.transaction() as session:
            row = self._find(session, caller, inbox_id)
            return self._read(session, caller, *row)

    def native(self, caller: Caller, inbox_id: str) -> Rendered:
        """The item in the recipient agency's own shape (its adapter renders what was disclosed)."""
        item = self.item(caller, inbox_id)
        with self._db.transaction(readonly=True) as session:
            agency = session.get(Agency, caller.agency_id)
        event = item["message"]
        ref = SubjectRef.parse(event["subject"])
        message_type = MessageType.from_ce_type(event["type"])
        assert agency is not None and message_type is not None
        try:
            return adapters.render(
                agency.kind, message_type, event["data"], {ref.scheme.value: ref.value}
            )
        except NotRenderable as error:
            raise NotAcceptable(
                f"{agency.kind} has no native form for {message_type.value} messages; ask for the "
                f"canonical form (without format=native): {error}"
            ) from None

    def ack(self, caller: Caller, inbox_id: str) -> dict[str, Any]:
        with self._db.transaction() as session:
            delivery, message, subject = self._find(session, caller, inbox_id)
            acknowledge(
                session,
                self._audit,
                delivery,
                message,
                subject,
                caller.actor,
                by=caller.client_id,
                request_id=caller.request_id,
            )
            session.refresh(delivery)
            return {"id": delivery.public_id, "acknowledgedAt": iso(delivery.acked_at)}

    def _find(
        self, session: Session, caller: Caller, inbox_id: str
    ) -> tuple[Delivery, Message, Subject]:
        if not is_uuid(inbox_id):
            raise NotFound("no such inbox item")
        row = session.execute(
            select(Delivery, Message, Subject)
            .join(Message, Message.id == Delivery.message_id)
            .join(Subject, Subject.id == Message.subject_id)
            .where(Delivery.public_id == inbox_id)
        ).first()
        # Another agency's item answers exactly as one that does not exist.
        if row is None or row[0].recipient_agency_id != caller.agency_id:
            raise NotFound("no such inbox item")
        return row[0], row[1], row[2]

    def since(
        self, caller: Caller, position: int, limit: int = MAX_LIMIT
    ) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        """Deliveries to the caller's agency after `position`, oldest first, each read (and
        audited) as an event: (position, event) pairs and the last position read."""
        # Woken streams usually find nothing new for them: ask first, without the write lock.
        with self._db.transaction(readonly=True) as session:
            newer = session.scalar(
                select(Delivery.id)
                .where(Delivery.recipient_agency_id == caller.agency_id, Delivery.id > position)
                .limit(1)
            )
        if newer is None:
            return [], position
        with self._db.transaction() as session:
            query = (
                select(Delivery, Message, Subject)
                .join(Message, Message.id == Delivery.message_id)
                .join(Subject, Subject.id == Message.subject_id)
                .where(Delivery.recipient_agency_id == caller.agency_id, Delivery.id > position)
            )
            rows = session.execute(query.order_by(Delivery.id).limit(limit)).all()
            found = []
            for delivery, message, subject in rows:
                event, disclosed = self.event(session, delivery, message, subject)
                self._audit_read(session, caller, delivery, message, subject, disclosed)
                found.append((delivery.id, event))
            return found, (rows[-1][0].id if rows else position)

    def event(
        self, session: Session, delivery: Delivery, message: Message, subject: Subject
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """A delivery as streams and webhooks carry it: only what never changes (so an event id
        always comes with the same content), and the fields disclosed."""
        key = self._identity.data_key(subject)
        data = json.loads(open_sealed(key, message.payload_enc, message.id.encode()))
        subject_ref = open_sealed(key, message.subject_ref, b"ref:" + message.id.encode()).decode()
        disclosed = {name: data[name] for name in delivery.fields if name in data}
        event = {
            "id": delivery.public_id,
            "cursor": encode_cursor(delivery.id),
            "receivedAt": iso(delivery.created_at),
            "agreement": {"id": delivery.agreement_id, "version": delivery.agreement_version},
            "assignedTo": (
                open_sealed(
                    key, delivery.assignee_enc, b"assignee:" + delivery.public_id.encode()
                ).decode()
                if delivery.assignee_enc
                else None
            ),
            "urgency": delivery.urgency,
            "message": _event(
                specversion="1.0",
                id=message.id,
                source=message.source_agency_id,
                type=MessageType(message.type).ce_type,
                time=iso(message.event_time),
                subject=subject_ref,
                purpose=message.purpose,
                recipient=delivery.recipient_agency_id,
                datacontenttype="application/json",
                data=disclosed,
            ),
        }
        return event, tuple(sorted(disclosed))

    def _audit_read(
        self,
        session: Session,
        caller: Caller,
        delivery: Delivery,
        message: Message,
        subject: Subject,
        fields: tuple[str, ...],
    ) -> None:
        self._audit.record(
            session,
            AuditAction.MESSAGE_READ,
            actor=caller.actor,
            request_id=caller.request_id,
            subject=self._audit.pseudonym(subject.id),
            message_id=message.id,
            message_type=message.type,
            recipient=caller.agency_id,
            agreement_id=delivery.agreement_id or None,
            agreement_version=delivery.agreement_version or None,
            fields=fields,
        )

    def _read(
        self,
        session: Session,
        caller: Caller,
        delivery: Delivery,
        message: Message,
        subject: Subject,
    ) -> dict[str, Any]:
        event, disclosed = self.event(session, delivery, message, subject)
        self._audit_read(session, caller, delivery, message, subject, disclosed)
        return {
            "id": event["id"],
            "receivedAt": event["receivedAt"],
            "acknowledgedAt": iso(delivery.acked_at) if delivery.acked_at else None,
            "agreement": event["agreement"],
            "message": event["message"],
        }


def acknowledge(
    session: Session,
    audit: AuditLog,
    delivery: Delivery,
    message: Message,
    subject: Subject,
    actor: Actor,
    *,
    by: str,
    request_id: str | None,
) -> None:
    """Mark a delivery acknowledged (by an agency's client, or `user:<id>` on the alerts page)
    with its `inbox.acked` entry. Conditional, so two concurrent acks record one between them."""
    acked = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.acked_at.is_(None))
        .values(acked_at=datetime.now(UTC), acked_by_client_id=by)
    )
    if getattr(acked, "rowcount", 0) == 1:
        audit.record(
            session,
            AuditAction.INBOX_ACKED,
            actor=actor,
            request_id=request_id,
            subject=audit.pseudonym(subject.id),
            message_id=message.id,
            message_type=message.type,
            recipient=delivery.recipient_agency_id,
        )


def _event(**attributes: Any) -> dict[str, Any]:
    """A CloudEvent with absent optional attributes left out (not null)."""
    return {k: v for k, v in attributes.items() if v is not None}
