"""The audit log as a transparency log: entries integrated into an RFC 6962 Merkle tree, signed
checkpoints (C2SP tlog-checkpoint), inclusion and consistency proofs, and verification.

Entries are numbered when their action commits (`hub.services.audit`); integrating them into
the tree is this separate step, as Trillian's sequencer does: it reads the entries after the
newest checkpoint, stores each leaf and every perfect subtree it completes (`audit_nodes`), and
signs a checkpoint of the new size. Reading the checkpoint and `hub audit verify` run it first
(a timer bounding how long an entry waits is not wired yet). On PostgreSQL one
integrator at a time holds an advisory lock; SQLite's single writer does the same.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, select, text, tuple_
from sqlalchemy.orm import Session

from audit import merkle
from audit.note import Checkpoint, Signer, Verifier, open_note
from hub.security.crypto import KeyRing
from hub.store.db import Database
from hub.store.models import AuditCheckpoint, AuditEntry, AuditKey, AuditNode, AuditVerification

INTEGRATE_LOCK = 0x6875622D74726565  # "hub-tree"
BATCH = 5000


class DbNodes:
    """The tree's stored nodes, read through a session (`audit.merkle.NodeReader`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def nodes(self, keys: Iterable[merkle.Key]) -> Mapping[merkle.Key, bytes]:
        wanted = sorted(set(keys))
        found: dict[merkle.Key, bytes] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for level, idx, value in self._session.execute(
                select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(
                    tuple_(AuditNode.level, AuditNode.idx).in_(chunk)
                )
            ):
                found[(level, idx)] = value
        missing = [k for k in wanted if k not in found]
        if missing:
            raise LookupError(f"the audit tree is missing nodes {missing[:3]}")
        return found


@dataclass(frozen=True)
class Head:
    size: int
    root: bytes
    note: str
    created_at: datetime


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    size: int
    detail: str
    bad_seq: int | None = None


class TransparencyLog:
    def __init__(self, db: Database, keyring: KeyRing, origin: str) -> None:
        self._db = db
        self._keyring = keyring
        self.origin = origin

    # -- keys --------------------------------------------------------------------------------

    def _signer(self, session: Session) -> Signer:
        row = session.scalar(
            select(AuditKey).order_by(AuditKey.created_at.desc(), AuditKey.key_id).limit(1)
        )
        if row is None:
            return self._new_key(session)
        raw = self._keyring.open_secret("audit-key:" + row.key_id, row.private_key_enc)
        return Signer(row.name, Ed25519PrivateKey.from_private_bytes(raw))

    def _new_key(self, session: Session) -> Signer:
        private = Ed25519PrivateKey.generate()
        signer = Signer(self.origin, private)
        key_id = signer.verifier.id.hex()
        session.add(
            AuditKey(
                key_id=key_id,
                name=self.origin,
                public_key=signer.verifier.public,
                private_key_enc=self._keyring.seal_secret(
                    "audit-key:" + key_id, private.private_bytes_raw()
                ),
                created_at=datetime.now(UTC),
            )
        )
        session.flush()
        return signer

    def rotate_key(self) -> Verifier:
        """Sign from now on with a new key; the old ones stay, to verify what they signed."""
        with self._db.transaction() as session:
            self._lock(session)
            return self._new_key(session).verifier

    def verifiers(self) -> list[Verifier]:
        """Every checkpoint key the hub has used, newest first."""
        with self._db.transaction(readonly=True) as session:
            return self._verifiers(session)

    @staticmethod
    def _verifiers(session: Session) -> list[Verifier]:
        rows = session.scalars(
            select(AuditKey).order_by(AuditKey.created_at.desc(), AuditKey.key_id)
        )
        return [Verifier(r.name, bytes.fromhex(r.key_id), r.public_key) for r in rows]

    # -- integrating -------------------------------------------------------------------------

    @staticmethod
    def _lock(session: Session) -> None:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INTEGRATE_LOCK})

    def integrate(self) -> Head:
        """Bring the tree up to date with every committed entry; return the newest checkpoint."""
        while True:
            with self._db.transaction() as session:
                self._lock(session)
                head, more = self._integrate(session)
            if not more:
                return head

    def _integrate(self, session: Session) -> tuple[Head, bool]:
        latest = session.scalar(
            select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
        )
        size = latest.tree_size if latest else 0
        rows = session.execute(
            select(AuditEntry.seq, AuditEntry.entry)
            .where(AuditEntry.seq >= size)
            .order_by(AuditEntry.seq)
            .limit(BATCH)
        ).all()
        # Sequence numbers are given under a lock at commit, so they arrive without gaps.
        leaves = []
        for expected, (seq, entry) in enumerate(rows, start=size):
            if seq != expected:
                break
            leaves.append(merkle.leaf_hash(entry.encode()))
        if latest is not None and not leaves:
            return _head(latest), False
        reader = DbNodes(session)
        new, root = merkle.append(reader, size, leaves)
        if new:
            session.execute(
                insert(AuditNode),
                [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in sorted(new.items())],
            )
        new_size = size + len(leaves)
        signer = self._signer(session)
        note = signer.sign(Checkpoint(self.origin, new_size, root).body())
        checkpoint = AuditCheckpoint(
            tree_size=new_size,
            root_hash=root,
            key_id=signer.verifier.id.hex(),
            note=note,
            created_at=datetime.now(UTC),
        )
        session.add(checkpoint)
        session.flush()
        return _head(checkpoint), len(rows) == BATCH

    # -- reading -----------------------------------------------------------------------------

    def checkpoint(self) -> Head:
        return self.integrate()

    def inclusion(self, index: int, size: int) -> list[bytes]:
        with self._db.transaction(readonly=True) as session:
            self._within(session, size)
            return merkle.inclusion_proof(DbNodes(session), index, size)

    def consistency(self, first: int, second: int) -> list[bytes]:
        with self._db.transaction(readonly=True) as session:
            self._within(session, second)
            return merkle.consistency_proof(DbNodes(session), first, second)

    def root_at(self, size: int) -> bytes:
        with self._db.transaction(readonly=True) as session:
            self._within(session, size)
            return merkle.root(DbNodes(session), size)

    @staticmethod
    def _within(session: Session, size: int) -> None:
        latest = session.scalar(
            select(AuditCheckpoint.tree_size).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
        )
        if size > (latest or 0):
            raise ValueError(f"the newest checkpoint covers {latest or 0} entries, not {size}")

    # -- verifying ---------------------------------------------------------------------------

    def verify(
        self, progress: Callable[[int, int], None] | None = None, by: str = "hub audit verify"
    ) -> VerifyResult:
        """Recompute every leaf and the tree from the entries; check every stored node, every
        checkpoint's signature and root. The first failure is named by sequence number."""
        result = self._verify(progress)
        with self._db.transaction() as session:
            session.add(
                AuditVerification(
                    verified_at=datetime.now(UTC),
                    tree_size=result.size,
                    ok=result.ok,
                    detail=result.detail,
                    verified_by=by,
                )
            )
        return result

    def _verify(self, progress: Callable[[int, int], None] | None) -> VerifyResult:
        memory = merkle.MemoryNodes()
        with self._db.transaction(readonly=True) as session:
            checkpoints = session.scalars(
                select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)
            ).all()
            verifiers = self._verifiers(session)
            total = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
            total = -1 if total is None else total
            last_seen = -1
            rows = session.execute(
                select(AuditEntry.seq, AuditEntry.entry).order_by(AuditEntry.seq)
            ).yield_per(5000)
            for expected, (seq, entry) in enumerate(rows):
                if seq != expected:
                    what = "missing" if seq > expected else "duplicated"
                    return VerifyResult(False, expected, f"entry {expected} is {what}", expected)
                try:
                    inner = _entry_seq(entry)
                except ValueError:
                    return VerifyResult(False, seq, f"entry {seq} is not canonical JSON", seq)
                if inner != seq:
                    return VerifyResult(
                        False, seq, f"entry {seq} says it is entry {inner} (moved)", seq
                    )
                memory.extend([merkle.leaf_hash(entry.encode())])
                last_seen = seq
                if progress is not None and (seq % 1000 == 0 or seq == total):
                    progress(seq + 1, total + 1)
            size = last_seen + 1
            # The stored tree must be the tree of these entries.
            stored_size = checkpoints[-1].tree_size if checkpoints else 0
            for start in range(0, min(size, stored_size), 5000):
                end = min(start + 5000, size, stored_size)
                stored = DbNodes(session).nodes((0, i) for i in range(start, end))
                for i in range(start, end):
                    if stored[(0, i)] != memory.store[(0, i)]:
                        return VerifyResult(
                            False, i, f"entry {i} does not match its leaf in the tree", i
                        )
            for checkpoint in checkpoints:
                where = f"checkpoint of size {checkpoint.tree_size}"
                try:
                    body, _ = open_note(checkpoint.note, verifiers)
                    signed = Checkpoint.parse_body(body)
                except ValueError as error:
                    return VerifyResult(False, size, f"{where}: {error}", checkpoint.tree_size)
                if signed.size != checkpoint.tree_size or signed.origin != self.origin:
                    return VerifyResult(False, size, f"{where}: its note says otherwise")
                if signed.size > size:
                    return VerifyResult(
                        False,
                        size,
                        f"{where}: the log holds only {size} entries (entry {size} onwards "
                        "is missing)",
                        size,
                    )
                if merkle.root(memory, signed.size) != signed.root:
                    # The stored leaves matched the entries (checked above): entries and tree
                    # were both rewritten after this checkpoint was signed.
                    return VerifyResult(
                        False, size, f"{where}: the entries do not hash to its root"
                    )
        return VerifyResult(
            True,
            size,
            f"{size} entries and {len(checkpoints)} checkpoints verified",
        )

    def latest(self) -> Head | None:
        with self._db.transaction(readonly=True) as session:
            row = session.scalar(
                select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
            )
            return _head(row) if row else None

    def last_verification(self) -> AuditVerification | None:
        with self._db.transaction(readonly=True) as session:
            row = session.scalar(
                select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1)
            )
            if row is not None:
                session.expunge(row)
            return row


def _head(row: AuditCheckpoint) -> Head:
    return Head(row.tree_size, row.root_hash, row.note, row.created_at)


def _entry_seq(entry: str) -> int:
    value = json.loads(entry)
    seq = value.get("seq") if isinstance(value, dict) else None
    if not isinstance(seq, int):
        raise ValueError("no sequence number")
    return seq


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


@dataclass(frozen=True)
class EntryFilter:
    subject_ids: tuple[str, ...] | None = None  # the person's hub ids (every merged record)
    agency: str | None = None  # acted, or received
    action: str | None = None
    decision: str | None = None
    message_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    own_agency: str | None = None  # only this agency's own actions (callers without audit:read)


def find_entries(
    session: Session,
    pseudonym: Callable[[str], str],
    where: EntryFilter,
    after: int | None,
    limit: int,
) -> list[tuple[int, str]]:
    """(seq, canonical JSON) of the entries matching, oldest first, after the cursor."""
    query = select(AuditEntry.seq, AuditEntry.entry).order_by(AuditEntry.seq).limit(limit)
    if after is not None:
        query = query.where(AuditEntry.seq > after)
    if where.subject_ids is not None:
        query = query.where(
            AuditEntry.subject_pseudonym.in_([pseudonym(s) for s in where.subject_ids])
        )
    if where.agency:
        query = query.where(
            (AuditEntry.actor_agency_id == where.agency)
            | (AuditEntry.recipient_agency_id == where.agency)
        )
    if where.own_agency:
        query = query.where(AuditEntry.actor_agency_id == where.own_agency)
    if where.action:
        query = query.where(AuditEntry.action == where.action)
    if where.decision:
        query = query.where(AuditEntry.decision == where.decision)
    if where.message_id:
        query = query.where(AuditEntry.message_id == where.message_id)
    if where.since:
        query = query.where(AuditEntry.recorded_at >= where.since)
    if where.until:
        query = query.where(AuditEntry.recorded_at < where.until)
    return [(seq, entry) for seq, entry in session.execute(query)]
