"""A practitioner's alerts: the reconviction alerts, convictions, risk escalations and referrals
delivered to their agency for them (they hold the person's case there) or for no one yet (the
agency's allocation queue), each showing only what the agreements let *this person* see (their
role and vetting, decided again on every read, never more than their agency received).

Every item shown is a `message.read` entry naming the user; acknowledging, and recording that
support continues after a reconviction (seed 000 lines 528-547: staff wanted support kept, not
withdrawn), are entries too. An `immediate` risk escalation stays first until acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.domain.callers import is_uuid, iso
from hub.domain.errors import BadRequest, NotFound
from hub.domain.records import RecordKind
from hub.domain.vocab import AuditAction, MessageType, Role
from hub.security.crypto import open_sealed
from hub.services.audit import AuditLog
from hub.services.identity import Identity
from hub.services.inbox import acknowledge
from hub.services.messages import ROUTED_TO_PEOPLE, MessageService
from hub.services.records import SubjectRecords
from hub.services.signin import SignedInUser
from hub.services.subjects import SubjectDirectory
from hub.store.db import Database
from hub.store.models import Agency, Delivery, Message, Subject, User
from policies.engine import Reader

PRACTITIONERS = frozenset({Role.CASE_MANAGER, Role.OFFENDER_MANAGER, Role.IOM_OFFICER})
SUPPORT_CONTINUES = "support_continues"
RESPONDABLE = frozenset({MessageType.RECONVICTION_ALERT.value, MessageType.CONVICTION.value})
LIMIT = 50
ROUTED_TYPES = sorted(t.value for t in ROUTED_TO_PEOPLE)


@dataclass
class Item:
    id: str
    position: int
    kind: str
    received_at: datetime
    person: str  # the identifier the sender used (CRN, PNC, NOMS), as the recipient received it
    fields: dict[str, Any]
    mine: bool  # assigned to this user (False: the agency's allocation queue)
    urgency: str | None = None
    trigger: dict[str, Any] | None = None
    acknowledged_at: datetime | None = None
    response: str | None = None
    responded_at: datetime | None = None
    withheld: list[str] = field(
        default_factory=list
    )  # fields the agency has but this user may not see

    @property
    def pinned(self) -> bool:
        return self.urgency == "immediate" and self.acknowledged_at is None

    @property
    def may_respond(self) -> bool:
        return self.kind in RESPONDABLE and self.response is None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.kind,
            "receivedAt": iso(self.received_at),
            "person": self.person,
            "assignedToMe": self.mine,
            "urgency": self.urgency,
            "matchedTrigger": self.trigger,
            "acknowledgedAt": iso(self.acknowledged_at),
            "response": self.response,
            "data": self.fields,
        }


class Caseload:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        identity: Identity,
        messages: MessageService,
        records: SubjectRecords,
        subjects: SubjectDirectory,
    ) -> None:
        self._subjects = subjects
        self._db = db
        self._audit = audit
        self._identity = identity
        self._messages = messages
        self._records = records

    @staticmethod
    def allowed(user: SignedInUser) -> bool:
        return user.role in PRACTITIONERS

    def items(self, user: SignedInUser, after: int | None = None, limit: int = LIMIT) -> list[Item]:
        """This user's items: the newest `limit`, with every unacknowledged immediate escalation
        however old, at the top; or (`after`, for a live stream) those after it, oldest first."""
        with self._db.transaction() as session:
            mine = self._query(session, user)
            if after is not None:
                query = mine.where(Delivery.id > after).order_by(Delivery.id).limit(limit)
                return [self._item(session, user, *row) for row in session.execute(query).all()]
            rows = session.execute(mine.order_by(Delivery.id.desc()).limit(limit)).all()
            pinned = session.execute(
                mine.where(Delivery.urgency == "immediate", Delivery.acked_at.is_(None))
                .order_by(Delivery.id.desc())
                .limit(limit)
            ).all()
            seen: set[int] = set()
            found = []
            for row in [*pinned, *rows]:
                if row[0].id not in seen:
                    seen.add(row[0].id)
                    found.append(self._item(session, user, *row))
        found.sort(key=lambda item: (not item.pinned, -item.position))
        return found

    def latest_position(self, user: SignedInUser) -> int:
        with self._db.transaction(readonly=True) as session:
            found = session.scalar(
                self._query(session, user)
                .with_only_columns(Delivery.id)
                .order_by(Delivery.id.desc())
            )
            return found or 0

    def acknowledge(self, user: SignedInUser, item_id: str, request_id: str | None) -> None:
        with self._db.transaction() as session:
            delivery, message, subject = self._find(session, user, item_id)
            acknowledge(
                session,
                self._audit,
                delivery,
                message,
                subject,
                user.actor,
                by=f"user:{user.id}",
                request_id=request_id,
            )

    def support_continues(self, user: SignedInUser, item_id: str, request_id: str | None) -> None:
        """Record that support continues for the person despite this conviction."""
        with self._db.transaction() as session:
            delivery, message, subject = self._find(session, user, item_id)
            if message.type not in RESPONDABLE:
                raise BadRequest("only a conviction or a reconviction alert takes this response")
            now = datetime.now(UTC)
            done = session.execute(
                update(Delivery)
                .where(Delivery.id == delivery.id, Delivery.response.is_(None))
                .values(
                    response=SUPPORT_CONTINUES,
                    responded_at=now,
                    responded_by=f"user:{user.id}",
                    acked_at=delivery.acked_at or now,
                    acked_by_client_id=delivery.acked_by_client_id or f"user:{user.id}",
                )
            )
            if getattr(done, "rowcount", 0) == 1:
                self._audit.record(
                    session,
                    AuditAction.DELIVERY_RESPONDED,
                    actor=user.actor,
                    request_id=request_id,
                    subject=self._audit.pseudonym(subject.id),
                    message_id=message.id,
                    message_type=message.type,
                    recipient=user.agency_id,
                    reasons=(SUPPORT_CONTINUES,),
                )

    # -- helpers ----------------------------------------------------------------------------------

    def _query(self, session: Session, user: SignedInUser) -> Any:
        """The user's items: assigned to them, or to no one at their agency (the allocation
        queue: none named, or named someone with no active account here)."""
        mine, colleagues = self._digests(session, user)
        return (
            select(Delivery, Message, Subject)
            .join(Message, Message.id == Delivery.message_id)
            .join(Subject, Subject.id == Message.subject_id)
            .where(
                Delivery.recipient_agency_id == user.agency_id,
                Message.type.in_(ROUTED_TYPES),
                Delivery.assignee.in_(sorted(mine))
                | Delivery.assignee.is_(None)
                | Delivery.assignee.not_in(sorted(colleagues)),
            )
        )

    def _digests(self, session: Session, user: SignedInUser) -> tuple[set[str], set[str]]:
        """The digests that stand for this user, and for anyone at their agency (kept for the
        transaction)."""
        remembered = session.info.setdefault("hub.caseload.digests", {})
        if user.id in remembered:
            found: tuple[set[str], set[str]] = remembered[user.id]
            return found
        people = session.execute(
            select(User.email, User.display_name).where(
                User.agency_id == user.agency_id, User.disabled_at.is_(None)
            )
        ).all()
        # A name stands for a person only when no colleague shares it: an item for "John Smith"
        # at an agency with two goes to the allocation queue (their work emails still match).
        displays = [d.strip().lower() for _, d in people if d]
        unique = {d for d in displays if displays.count(d) == 1}
        colleagues = {self._identity.holder_digest(e) for e, _ in people if e} | {
            self._identity.holder_digest(d) for d in unique
        }
        names = {n for n in user.names if "@" in n or n in unique}
        remembered[user.id] = ({self._identity.holder_digest(n) for n in names}, colleagues)
        return remembered[user.id]  # type: ignore[no-any-return]

    def _find(
        self, session: Session, user: SignedInUser, item_id: str
    ) -> tuple[Delivery, Message, Subject]:
        if not is_uuid(item_id) or not self.allowed(user):
            raise NotFound("no such alert")
        row = session.execute(
            self._query(session, user).where(Delivery.public_id == item_id)
        ).first()
        if row is None:
            raise NotFound("no such alert")  # another's, or another agency's: as if none
        return row[0], row[1], row[2]

    def _item(
        self,
        session: Session,
        user: SignedInUser,
        delivery: Delivery,
        message: Message,
        subject: Subject,
    ) -> Item:
        key = self._identity.data_key(subject)
        data = json.loads(open_sealed(key, message.payload_enc, message.id.encode()))
        person = open_sealed(key, message.subject_ref, b"ref:" + message.id.encode()).decode()
        if person.startswith("hub:"):  # a hub alert: shown by the numbers this agency holds
            root = self._identity.root(session, subject)
            known = self._subjects.identifiers_known_to(
                session, user.agency_id, self._identity.members(session, root.id)
            )
            person = ", ".join(known) or person
        sender = session.get(Agency, message.source_agency_id)
        recipient = session.get(Agency, user.agency_id)
        assert sender is not None and recipient is not None
        # What this user may see: decided for them (role and vetting), within what the agency got.
        decision = self._messages.decide(
            session,
            sender,
            recipient,
            MessageType(message.type),
            message.purpose,
            subject,
            user=Reader(user.role.value, user.clearance),
        )
        allowed = set(decision.fields) if decision.permit else set()
        visible = [name for name in delivery.fields if name in allowed and name in data]
        withheld = sorted(set(delivery.fields) - set(visible))
        trigger = None
        if message.type == MessageType.RISK_ESCALATION.value and "triggerCode" in visible:
            trigger = self._matched_trigger(session, subject, data.get("triggerCode"))
        self._audit.record(
            session,
            AuditAction.MESSAGE_READ,
            actor=user.actor,
            subject=self._audit.pseudonym(subject.id),
            message_id=message.id,
            message_type=message.type,
            recipient=user.agency_id,
            agreement_id=delivery.agreement_id or None,
            agreement_version=delivery.agreement_version or None,
            fields=tuple(sorted(visible)),
        )
        return Item(
            id=delivery.public_id,
            position=delivery.id,
            kind=message.type,
            received_at=delivery.created_at,
            person=person,
            fields={name: data[name] for name in visible},
            mine=delivery.assignee in self._digests(session, user)[0],
            urgency=delivery.urgency,
            trigger=trigger,
            acknowledged_at=delivery.acked_at,
            response=delivery.response,
            responded_at=delivery.responded_at,
            withheld=withheld,
        )

    def _matched_trigger(
        self, session: Session, subject: Subject, code: Any
    ) -> dict[str, Any] | None:
        """The trigger set at allocation (probation's case summary) this escalation names."""
        root = self._identity.root(session, subject)
        current = self._records.current(session, root.id).get(RecordKind.TRIGGERS.value)
        triggers = (current or {}).get("value", {}).get("triggers") or []
        for trigger in triggers:
            if isinstance(trigger, dict) and trigger.get("code") == code:
                return {k: trigger[k] for k in ("code", "description", "setOn") if k in trigger}
        return None
