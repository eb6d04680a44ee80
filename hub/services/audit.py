"""Appending audit entries, always inside the caller's transaction (no action without its entry).

Entries are held until the transaction commits, then numbered and written in one statement: each
gets the next sequence number (its leaf index in the audit log's Merkle tree), so the log has no
gaps and no duplicates and its order is commit order, however many hub processes write. On
PostgreSQL the numbering holds a transaction-scoped advisory lock from the write to the commit
(a few milliseconds); SQLite's single writer serialises commits already. If the transaction
rolls back, its entries go with it; a savepoint rolled back drops only what was recorded in it
(`pending_mark` / `discard_pending`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session

from audit.entry import AuditRecord, canonical_json
from hub.security.crypto import KeyRing
from hub.store.models import AuditEntry

_PENDING = "hub.audit.pending"
# pg_advisory_xact_lock key for numbering entries ("hub-audit" as an integer).
SEQUENCE_LOCK = 0x6875622D61756474


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
                "recipient_agency_id": entry.recipient,
                "subject_pseudonym": entry.subject,
                "message_id": entry.message_id,
                "decision": entry.decision,
                "request_id": entry.request_id,
                "entry": entry.to_json_obj(),
            }
        )


def pending_mark(session: Session) -> int:
    """Where the entries recorded so far end (before a savepoint)."""
    return len(session.info.get(_PENDING, []))


def discard_pending(session: Session, since: int = 0) -> None:
    """Forget the entries recorded since `since` (their actions were rolled back)."""
    pending = session.info.get(_PENDING)
    if pending is not None:
        del pending[since:]


def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: its entries wait for the outermost commit
    rows = session.info.pop(_PENDING, [])
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEQUENCE_LOCK})
    start = session.scalar(select(func.coalesce(func.max(AuditEntry.seq) + 1, 0)))
    assert start is not None
    for offset, row in enumerate(rows):
        obj = dict(row["entry"], seq=start + offset)
        row["seq"] = start + offset
        row["entry"] = canonical_json(obj).decode()
    # One executemany, in order (measured: faster than multi-row VALUES or RETURNING batches).
    session.execute(insert(AuditEntry), rows)


# The outermost commit writes what was recorded: one listener for all sessions, so no entry
# depends on a per-session registration.
event.listen(Session, "before_commit", _write_pending)
