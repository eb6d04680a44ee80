"""Storing the hub's own records about a person (`hub.domain.records`), each change audited."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor
from hub.domain.records import Fact, RecordKind
from hub.domain.vocab import AuditAction
from hub.security.crypto import keyed_digest, open_sealed, seal
from hub.services.audit import AuditLog
from hub.services.identity import Identity
from hub.store.models import Subject, SubjectRecord
from policies.engine import SubjectAttributes

# The newest digest of each (subject, kind) this transaction has seen or written, so a document
# that states one fact many times compares each with the last without asking the database.
_LATEST = "hub.records.latest"
# Each person's current records as this transaction last read them (by root and the records
# merged into it); writing a record forgets them. An alert reads them for every recipient.
_CURRENT = "hub.records.current"


class SubjectRecords:
    def __init__(self, identity: Identity, audit: AuditLog) -> None:
        self._identity = identity
        self._audit = audit

    def apply(
        self,
        session: Session,
        subject: Subject,
        facts: Sequence[Fact],
        actor: Actor,
        message_id: str | None,
        request_id: str | None = None,
        new_subject: bool = False,
    ) -> list[RecordKind]:
        """Record each fact that differs from the subject's newest of its kind; return the kinds
        that changed. Each change has a `subject.record_changed` entry naming the kind."""
        session.info.pop(_CURRENT, None)
        key = self._identity.data_key(subject)
        changed = []
        for fact in facts:
            plain = json.dumps(
                {"value": fact.value, "holder": fact.holder, "on": _iso(fact.effective_on)},
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
            digest = keyed_digest(key, plain)
            latest_of = session.info.setdefault(_LATEST, {})
            slot = (subject.id, fact.kind.value)
            if slot not in latest_of:
                latest_of[slot] = (
                    None  # someone the hub has only just met has no records to compare with
                    if new_subject
                    else session.scalar(
                        select(SubjectRecord.value_digest)
                        .where(
                            SubjectRecord.subject_id == subject.id,
                            SubjectRecord.kind == fact.kind.value,
                        )
                        .order_by(SubjectRecord.id.desc())
                        .limit(1)
                    )
                )
            latest = latest_of[slot]
            if latest == digest:
                continue
            latest_of[slot] = digest
            public_id = str(uuid.uuid4())
            session.add(
                SubjectRecord(
                    public_id=public_id,
                    subject_id=subject.id,
                    kind=fact.kind.value,
                    value_enc=seal(key, plain, f"record:{public_id}".encode()),
                    value_digest=digest,
                    holder=self._identity.holder_digest(fact.holder) if fact.holder else None,
                    effective_on=fact.effective_on,
                    source_agency_id=actor.agency or "",
                    message_id=message_id,
                    recorded_at=datetime.now(UTC),
                )
            )
            self._audit.record(
                session,
                AuditAction.SUBJECT_RECORD_CHANGED,
                actor=actor,
                request_id=request_id,
                subject=self._audit.pseudonym(subject.id),
                message_id=message_id,
                fields=(fact.kind.value,),
            )
            changed.append(fact.kind)
        return changed

    def attributes(self, session: Session, root_id: str) -> SubjectAttributes:
        """What sharing rules may know of the person, from the hub's current records: risk,
        MAPPA, IOM cohort and category, pathway, restriction, discharge area and the agencies
        whose staff hold the case (consent is the consent register's)."""
        current = self.current(session, root_id)

        def value(kind: RecordKind) -> dict[str, Any]:
            entry = current.get(kind.value)
            found = entry["value"] if entry else {}
            return found if isinstance(found, dict) else {}

        risk, iom, release = (
            value(RecordKind.RISK),
            value(RecordKind.IOM),
            value(RecordKind.RELEASE),
        )
        found_mappa = risk.get("mappa")
        mappa: dict[str, Any] = found_mappa if isinstance(found_mappa, dict) else {}
        in_cohort = iom.get("status") == "adopted"
        owners = frozenset(
            entry["source"]
            for kind in (
                RecordKind.PROBATION_OWNER,
                RecordKind.PROVIDER_OWNER,
                RecordKind.IOM_OWNER,
            )
            for entry in [current.get(kind.value)]
            if entry and entry["source"] and (kind is not RecordKind.IOM_OWNER or in_cohort)
        )
        return SubjectAttributes(
            rosh_level=_text(risk.get("roshLevel")),
            mappa_category=_int(mappa.get("category")),
            mappa_level=_int(mappa.get("level")),
            iom_cohort=in_cohort,
            tier=_text(iom.get("category")) if in_cohort else "",
            pathway=_int(value(RecordKind.PATHWAY).get("pathway")),
            restricted=value(RecordKind.RESTRICTION).get("restricted") is True,
            discharge_area=_text(release.get("dischargeArea")),
            case_owners=owners,
        )

    def history(self, session: Session, root_id: str, kind: RecordKind) -> list[dict[str, Any]]:
        """Every record of one kind about the person (across merged records), oldest first:
        each value, and the agency and message it came from."""
        members = self._identity.members(session, root_id)
        found = []
        for row in session.scalars(
            select(SubjectRecord)
            .where(SubjectRecord.subject_id.in_(members), SubjectRecord.kind == kind.value)
            .order_by(SubjectRecord.id)
        ):
            plain = open_sealed(
                self._identity.data_key_of(session, row.subject_id),
                row.value_enc,
                f"record:{row.public_id}".encode(),
            )
            found.append(
                {
                    "value": json.loads(plain)["value"],
                    "source": row.source_agency_id,
                    "message": row.message_id,
                }
            )
        return found

    def current(self, session: Session, root_id: str) -> dict[str, dict[str, Any]]:
        """The person's current record of each kind, across everyone merged into them: the one
        with the latest effective date (undated ones by when they arrived)."""
        members = self._identity.members(session, root_id)
        cache = session.info.setdefault(_CURRENT, {})
        remembered = cache.get((root_id, tuple(members)))
        if remembered is not None:
            return dict(remembered)
        best: dict[str, tuple[tuple[date, int], dict[str, Any]]] = {}
        for row in session.scalars(
            select(SubjectRecord).where(SubjectRecord.subject_id.in_(members))
        ):
            order = (row.effective_on or row.recorded_at.date(), row.id)
            if row.kind in best and best[row.kind][0] >= order:
                continue
            plain = open_sealed(
                self._identity.data_key_of(session, row.subject_id),
                row.value_enc,
                f"record:{row.public_id}".encode(),
            )
            opened = json.loads(plain)
            best[row.kind] = (
                order,
                {
                    "value": opened["value"],
                    "holder": opened["holder"],
                    "effectiveOn": opened["on"],
                    "source": row.source_agency_id,
                    "recordedAt": row.recorded_at.isoformat(),
                },
            )
        found = {kind: entry for kind, (_, entry) in sorted(best.items())}
        cache[(root_id, tuple(members))] = found
        return dict(found)


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _texts(value: Any) -> frozenset[str]:
    return (
        frozenset(v for v in value if isinstance(v, str))
        if isinstance(value, list)
        else frozenset()
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None
