"""The consent register: a person's consent, held by the hub for every agency.

Any agency that deals with the person may record the consent they signed (with a reference to,
and a digest of, the signed form) or its withdrawal; every agency's disclosures consult it. So a
consent the provider took is honoured when the courts or probation send, and a withdrawal takes
effect for every disclosure decided after it (including messages held and released later).
Each change and each read is audited.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor
from hub.domain.vocab import AuditAction, MessageType
from hub.security.crypto import open_sealed, seal
from hub.services.audit import AuditLog
from hub.services.identity import Identity
from hub.store.models import ConsentRecord, Subject
from policies.engine import Consent

ACTIVE, WITHDRAWN = "active", "withdrawn"


@dataclass(frozen=True)
class ConsentTerms:
    given_on: date
    recipients: Sequence[str]
    purposes: Sequence[str]
    evidence_ref: str
    evidence_sha256: str
    valid_from: date | None = None
    valid_until: date | None = None
    exclusions: Sequence[str] = ()
    data_classes: Sequence[str] = ()


class ConsentRegister:
    def __init__(self, audit: AuditLog, identity: Identity) -> None:
        self._audit = audit
        self._identity = identity

    def record(
        self,
        session: Session,
        subject: Subject,
        terms: ConsentTerms,
        actor: Actor,
        request_id: str | None = None,
    ) -> ConsentRecord:
        consent_id = str(uuid.uuid4())
        evidence = json.dumps(
            {"documentRef": terms.evidence_ref, "sha256": terms.evidence_sha256}
        ).encode()
        record = ConsentRecord(
            id=consent_id,
            subject_id=subject.id,
            status=ACTIVE,
            given_on=terms.given_on,
            valid_from=terms.valid_from or terms.given_on,
            valid_until=terms.valid_until,
            recipients=sorted({r.strip().lower() for r in terms.recipients}),
            purposes=sorted(set(terms.purposes)),
            data_classes=sorted(set(terms.data_classes)),
            exclusions=sorted({x.strip().lower() for x in terms.exclusions}),
            evidence_enc=seal(
                self._identity.data_key(subject), evidence, f"consent:{consent_id}".encode()
            ),
            recorded_by_agency=actor.agency or "",
            recorded_by=actor.user or actor.client or "",
            recorded_at=datetime.now(UTC),
        )
        session.add(record)
        self._audit.record(
            session,
            AuditAction.CONSENT_RECORDED,
            actor=actor,
            request_id=request_id,
            subject=self._audit.pseudonym(subject.id),
            lawful_basis="consent",
            reasons=(
                f"consent:{consent_id}",
                *(f"purpose:{p}" for p in record.purposes),
                *(f"recipient:{r}" for r in record.recipients),
                *(f"excluded:{r}" for r in record.exclusions),
            ),
        )
        return record

    def withdraw(
        self,
        session: Session,
        records: Sequence[ConsentRecord],
        on: date,
        actor: Actor,
        request_id: str | None = None,
    ) -> int:
        withdrawn = 0
        for record in records:
            if record.status != ACTIVE:
                continue
            record.status = WITHDRAWN
            record.withdrawn_on = on
            record.withdrawn_by_agency = actor.agency
            withdrawn += 1
            self._audit.record(
                session,
                AuditAction.CONSENT_WITHDRAWN,
                actor=actor,
                request_id=request_id,
                subject=self._audit.pseudonym(record.subject_id),
                lawful_basis="consent",
                reasons=(f"consent:{record.id}",),
            )
        return withdrawn

    def apply_message(
        self,
        session: Session,
        subject: Subject,
        message_type: MessageType,
        data: dict[str, Any],
        actor: Actor,
        request_id: str | None = None,
    ) -> None:
        """A consent or withdrawal that arrived as an agency's document (the provider's case
        management system) goes into the register like one recorded through the API."""
        if message_type is MessageType.CONSENT:
            evidence = data.get("evidence") or {}
            self.record(
                session,
                subject,
                ConsentTerms(
                    given_on=date.fromisoformat(data["signedOn"]),
                    valid_until=(
                        date.fromisoformat(data["validUntil"]) if data.get("validUntil") else None
                    ),
                    recipients=data.get("recipients", []),
                    purposes=data.get("purposes", []),
                    exclusions=data.get("exclusions", []),
                    evidence_ref=str(evidence.get("documentRef", "")),
                    evidence_sha256=str(evidence.get("sha256", "")),
                ),
                actor,
                request_id,
            )
        elif message_type is MessageType.CONSENT_WITHDRAWN:
            root = self._identity.root(session, subject)
            on = date.fromisoformat(data["withdrawnOn"])
            # A withdrawal ends the consents given before it, not one signed afterwards (a late
            # document must not cancel a newer consent).
            self.withdraw(
                session,
                [c for c in self.of(session, root.id, active_only=True) if c.given_on <= on],
                on,
                actor,
                request_id,
            )

    def of(self, session: Session, root_id: str, active_only: bool = False) -> list[ConsentRecord]:
        members = self._identity.members(session, root_id)
        query = select(ConsentRecord).where(ConsentRecord.subject_id.in_(members))
        if active_only:
            query = query.where(ConsentRecord.status == ACTIVE)
        return list(session.scalars(query.order_by(ConsentRecord.recorded_at, ConsentRecord.id)))

    def in_force(
        self,
        session: Session,
        root_id: str,
        today: date | None = None,
        data_class: str | None = None,
    ) -> Consent:
        """What the person has consented to today, across every consent in force (recorded by
        any agency): each consent's own (recipient, purpose) pairs, less every exclusion. With
        `data_class` (the message's classification), only consents that cover it count: one
        listing data classes covers those alone, and one excluding a class does not cover it."""
        today = today or date.today()
        current = [
            c
            for c in self.of(session, root_id, active_only=True)
            if c.valid_from <= today
            and (c.valid_until is None or today <= c.valid_until)
            and (
                data_class is None
                or (
                    (not c.data_classes or data_class in c.data_classes)
                    and data_class not in c.exclusions
                )
            )
        ]
        if not current:
            return Consent()
        return Consent(
            given=True,
            grants=frozenset((r, p) for c in current for r in c.recipients for p in c.purposes),
            exclusions=frozenset(x for c in current for x in c.exclusions),
        )

    def describe(self, session: Session, record: ConsentRecord) -> dict[str, Any]:
        evidence = json.loads(
            open_sealed(
                self._identity.data_key_of(session, record.subject_id),
                record.evidence_enc,
                f"consent:{record.id}".encode(),
            )
        )
        return {
            "id": record.id,
            "status": record.status,
            "givenOn": record.given_on.isoformat(),
            "validFrom": record.valid_from.isoformat(),
            "validUntil": record.valid_until.isoformat() if record.valid_until else None,
            "recipients": record.recipients,
            "purposes": record.purposes,
            "dataClasses": record.data_classes,
            "exclusions": record.exclusions,
            "evidence": evidence,
            "recordedBy": record.recorded_by_agency,
            "withdrawnOn": record.withdrawn_on.isoformat() if record.withdrawn_on else None,
        }
