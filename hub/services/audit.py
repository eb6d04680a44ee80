"""Appending audit entries, always inside the caller's transaction (no action without its entry).

Entries are written when the transaction commits, in the order they were recorded, in one
multi-row INSERT: a document of 10,000 records writes its 50,000 entries in one statement
instead of 50,000. If the transaction rolls back, its entries go with it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from audit.entry import AuditRecord
from hub.security.crypto import KeyRing
from hub.store.models import AuditEntry

_PENDING = "hub.audit.pending"


class AuditLog:
    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring

    def pseudonym(self, subject_id: str) -> str:
        """The keyed pseudonym that stands for a person in the audit log."""
        return self._keyring.pseudonym("subject:" + subject_id)

    def record(self, session: Session, action: str, **fields: Any) -> AuditRecord:
        """Build and append an entry; `time` defaults to now."""
        fields.setdefault("time", datetime.now(UTC))
        entry = AuditRecord(action=action, **fields)
        self.append(session, entry)
        return entry

    def append(self, session: Session, entry: AuditRecord) -> None:
        pending = session.info.setdefault(_PENDING, [])
        pending.append(
            {
                "recorded_at": entry.time,
                "action": entry.action,
                "actor_agency_id": entry.actor.agency,
                "subject_pseudonym": entry.subject,
                "message_id": entry.message_id,
                "decision": entry.decision,
                "request_id": entry.request_id,
                "entry": entry.canonical().decode(),
            }
        )


def discard_pending(session: Session) -> None:
    """Forget the entries recorded since the last write (their actions were rolled back)."""
    session.info.pop(_PENDING, None)


def write_pending(session: Session) -> None:
    """Write the entries recorded so far (a long transaction does this as it goes, so they are
    not all held in memory until commit)."""
    _write_pending(session)


def _write_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, [])
    if rows:
        # One executemany, in order (measured: faster than multi-row VALUES or RETURNING
        # batches on both databases).
        session.execute(insert(AuditEntry), rows)


# Every commit (and savepoint release) writes what was recorded before it: one listener for all
# sessions, so no entry depends on a per-session registration.
event.listen(Session, "before_commit", _write_pending)
