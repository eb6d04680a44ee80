"""The audit log as a transparency log: entries integrated into an RFC 6962 Merkle tree, signed
checkpoints (C2SP tlog-checkpoint), inclusion and consistency proofs, and verification.

Entries are numbered when their action commits (`hub.services.audit`); integrating them into
the tree is this separate step, as Trillian's sequencer does: it reads the entries after the
newest checkpoint, stores each leaf and every perfect subtree it completes (`audit_nodes`), and
signs a checkpoint of the new size. Every serving process runs an `Integrator` that does so at
least twice per maximum merge delay (`HUB_AUDIT_MAX_MERGE_DELAY`), so no entry waits longer;
reading the checkpoint and `hub audit verify` integrate first too. On PostgreSQL one
integrator at a time holds an advisory lock (the others find nothing left to do); SQLite's
single writer does the same.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import and_, func, insert, or_, select, text
from sqlalchemy.orm import Session

from audit import merkle
from audit.entry import Actor
from audit.note import Checkpoint, Signer, Verifier, open_note
from hub import logs
from hub.domain.errors import HubError
from hub.domain.vocab import AuditAction
from hub.security.crypto import KeyRing
from hub.services.audit import AuditLog
from hub.store.db import Database
from hub.store.models import AuditCheckpoint, AuditEntry, AuditKey, AuditNode, AuditVerification

INTEGRATE_LOCK = 0x6875622D74726565  # "hub-tree"
BATCH = 5000


class TreeDamaged(HubError):
    """The stored tree does not match its newest checkpoint: nothing more is signed on top of it
    until `hub audit verify` has named what changed."""

    code, status, title = "audit-tree-damaged", 503, "The audit tree is damaged"


class DbNodes:
    """The tree's stored nodes, read through a session (`audit.merkle.NodeReader`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def nodes(self, keys: Iterable[merkle.Key]) -> Mapping[merkle.Key, bytes]:
        wanted = sorted(set(keys))
        found = self.found(wanted)
        missing = [k for k in wanted if k not in found]
        if missing:
            raise LookupError(f"the audit tree is missing nodes {missing[:3]}")
        return found

    def spans(self, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:
        """The stored nodes from the lowest to the highest index of these keys on each level:
        one range scan per level (a verifier's chunk completes contiguous runs of nodes)."""
        bounds: dict[int, tuple[int, int]] = {}
        for level, idx in keys:
            low, high = bounds.get(level, (idx, idx))
            bounds[level] = (min(low, idx), max(high, idx))
        found: dict[merkle.Key, bytes] = {}
        for level, (low, high) in bounds.items():
            for idx, value in self._session.execute(
                select(AuditNode.idx, AuditNode.hash).where(
                    AuditNode.level == level, AuditNode.idx.between(low, high)
                )
            ):
                found[(level, idx)] = value
        return found

    def found(self, keys: Iterable[merkle.Key]) -> dict[merkle.Key, bytes]:
        """Those of these nodes that are stored, in one query per 500: `level = ? AND idx IN
        (...)` per level, OR-ed (SQLite uses the primary key for that, but scans the whole tree
        for a row-value `(level, idx) IN (...)` list)."""
        wanted = sorted(set(keys))
        found: dict[merkle.Key, bytes] = {}
        for start in range(0, len(wanted), 500):
            by_level: dict[int, list[int]] = {}
            for level, idx in wanted[start : start + 500]:
                by_level.setdefault(level, []).append(idx)
            where = or_(
                *(
                    and_(AuditNode.level == level, AuditNode.idx.in_(indexes))
                    for level, indexes in by_level.items()
                )
            )
            for level, idx, value in self._session.execute(
                select(AuditNode.level, AuditNode.idx, AuditNode.hash).where(where)
            ):
                found[(level, idx)] = value
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
    def __init__(
        self,
        db: Database,
        keyring: KeyRing,
        origin: str,
        audit: AuditLog,
        pinned: list[Verifier] | None = None,
    ) -> None:
        self._db = db
        self._audit = audit
        self._keyring = keyring
        self.pinned = list(pinned or [])  # verifier keys configured outside the database
        self.origin = origin  # for the first key only; after that, the keys' name
        self._logger = logs.get_logger("hub.audit")

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

    def rotate_key(self, actor: Actor) -> Verifier:
        """Sign from now on with a new key; the old ones stay, to verify what they signed. The
        rotation is an audit entry, and the checkpoint that covers it is the first signed with
        the new key (so witnesses meet the new key at once)."""
        with self._db.transaction() as session:
            self._lock(session)
            verifier = self._new_key(session).verifier
            self._audit.record(
                session,
                AuditAction.AUDIT_KEY_ROTATED,
                actor=actor,
                reasons=(f"key:{verifier.id.hex()}",),
            )
        self.integrate()
        return verifier

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
                self._logger.error("audit.sequence_gap", missing_seq=expected, found_seq=seq)
                break
            leaves.append(merkle.leaf_hash(entry.encode()))
        if latest is not None and not leaves:
            return _head(latest), False
        reader = DbNodes(session)
        if latest is not None:
            # Build only on the tree the newest checkpoint signed: its right edge must fold to
            # that root (a changed or missing node would otherwise be signed into the future).
            edge = merkle.decompose(0, size)
            stored = reader.found(edge)
            if (
                len(stored) != len(edge)
                or merkle.fold([stored[k] for k in edge]) != latest.root_hash
            ):
                self._logger.error("audit.tree_damaged", tree_size=size)
                raise TreeDamaged(
                    f"the stored tree does not match the checkpoint of size {size}; "
                    "run `hub audit verify` to find what changed"
                )
        new, root = merkle.append(reader, size, leaves)
        if new:
            session.execute(
                insert(AuditNode),
                [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in sorted(new.items())],
            )
        new_size = size + len(leaves)
        signer = self._signer(session)
        # The log's origin is its keys' name, fixed when the first key was made: a later change
        # of HUB_ISSUER does not change the origin witnesses hold the log to.
        note = signer.sign(Checkpoint(signer.name, new_size, root).body())
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
        """The newest checkpoint. Serving it writes nothing (the integrators sign checkpoints,
        within the maximum merge delay) except on a new hub's very first call."""
        return self.latest() or self.integrate()

    def inclusion(self, index: int, size: int) -> list[bytes]:
        with self._db.transaction(readonly=True) as session:
            self._within(session, size)
            return _intact(lambda: merkle.inclusion_proof(DbNodes(session), index, size))

    def consistency(self, first: int, second: int) -> list[bytes]:
        with self._db.transaction(readonly=True) as session:
            self._within(session, second)
            return _intact(lambda: merkle.consistency_proof(DbNodes(session), first, second))

    def root_at(self, size: int) -> bytes:
        """The root of the tree of the first `size` entries (any size a checkpoint covers)."""
        with self._db.transaction(readonly=True) as session:
            self._within(session, size)
            return _intact(lambda: [merkle.root(DbNodes(session), size)])[0]

    @staticmethod
    def _within(session: Session, size: int) -> None:
        latest = session.scalar(
            select(AuditCheckpoint.tree_size).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
        )
        if size > (latest or 0):
            raise ValueError(f"the newest checkpoint covers {latest or 0} entries, not {size}")

    # -- verifying ---------------------------------------------------------------------------

    def verify(
        self,
        progress: Callable[[int, int], None] | None = None,
        by: str = "hub audit verify",
        keys: list[Verifier] | None = None,
    ) -> VerifyResult:
        """Recompute every leaf and the tree from the entries; check every stored node, every
        checkpoint's signature and root. The first failure is named by sequence number.

        Checkpoints are checked against `keys` when given, else the configured verifier keys
        (HUB_AUDIT_VERIFIER_KEYS), both kept outside the database: a database owner could add a
        key of their own to `audit_keys` and re-sign a rewritten tree. Failing both, against the
        keys the database holds, and the result says so."""
        result = self._verify(progress, keys or self.pinned or None)
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

    def _verify(
        self, progress: Callable[[int, int], None] | None, keys: list[Verifier] | None
    ) -> VerifyResult:
        """One pass over the entries in order, holding only the tree's right edge: each chunk's
        leaves and the subtrees they complete are compared with the stored tree, and each
        checkpoint (read a page at a time, its signature checked) has its root compared when
        the pass reaches its size."""
        edge = merkle.CompactRange()
        with self._db.transaction(readonly=True) as session:
            verifiers = keys if keys else self._verifiers(session)
            stored_size = session.scalar(
                select(func.coalesce(func.max(AuditCheckpoint.tree_size), 0))
            )
            assert stored_size is not None
            checkpoints = _checkpoints(session, verifiers)
            last = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1))
            total = 0 if last is None else last + 1
            rows = session.execute(
                select(AuditEntry.seq, AuditEntry.entry).order_by(AuditEntry.seq)
            ).yield_per(BATCH)
            count = 0  # checkpoints compared
            due = next(checkpoints, None)  # the next checkpoint to compare
            while isinstance(due, Checkpoint) and due.size == 0:
                if due.root != merkle.EMPTY_ROOT:
                    return VerifyResult(False, 0, "checkpoint of size 0: not the empty tree's root")
                count, due = count + 1, next(checkpoints, None)
            if isinstance(due, VerifyResult):
                return due
            for chunk in rows.partitions():
                leaves: list[bytes] = []
                for seq, entry in chunk:
                    expected = edge.size + len(leaves)
                    if seq > expected:
                        return VerifyResult(
                            False, expected, f"entry {expected} is missing", expected
                        )
                    if seq < expected:
                        return VerifyResult(False, seq, f"entry {seq} is duplicated", seq)
                    try:
                        inner = _entry_seq(entry)
                    except ValueError:
                        return VerifyResult(
                            False, seq, f"entry {seq} is not JSON naming its number", seq
                        )
                    if inner != seq:
                        return VerifyResult(
                            False, seq, f"entry {seq} says it is entry {inner} (moved)", seq
                        )
                    leaves.append(merkle.leaf_hash(entry.encode()))
                # Extend up to each checkpoint boundary inside the chunk, comparing its root.
                done = 0
                while done < len(leaves):
                    stop = len(leaves)
                    if due is not None:
                        stop = min(stop, done + due.size - edge.size)
                    bad = self._compare(session, edge.extend(leaves[done:stop]), stored_size)
                    if bad is not None:
                        return bad
                    done = stop
                    while due is not None and due.size == edge.size:
                        if edge.root() != due.root:
                            return VerifyResult(
                                False,
                                edge.size,
                                f"checkpoint of size {edge.size}: the entries do not hash to "
                                "its root (entries and tree were rewritten after it was signed)",
                            )
                        count, due = count + 1, next(checkpoints, None)
                        if isinstance(due, VerifyResult):
                            return due
                if progress is not None:
                    progress(edge.size, total)
            size = edge.size
            if due is not None:
                return VerifyResult(
                    False,
                    size,
                    f"checkpoint of size {due.size}: the log holds only {size} entries "
                    f"(entry {size} onwards is missing)",
                    size,
                )
        trust = "" if keys else " (signatures checked with the keys the database holds)"
        return VerifyResult(True, size, f"{size} entries and {count} checkpoints verified{trust}")

    @staticmethod
    def _compare(
        session: Session, computed: dict[merkle.Key, bytes], stored_size: int
    ) -> VerifyResult | None:
        """The stored tree must hold exactly the nodes recomputed from the entries (those the
        newest checkpoint covers; later entries are not integrated yet)."""
        keys = sorted(
            (k for k in computed if (k[1] + 1) << k[0] <= stored_size),
            key=lambda k: ((k[1] + 1) << k[0], k[0]),
        )
        if not keys:
            return None
        stored = DbNodes(session).spans(keys)
        for level, idx in keys:
            value = stored.get((level, idx))
            if value != computed[(level, idx)]:
                first, last = idx << level, ((idx + 1) << level) - 1
                if value is None:
                    detail = f"the tree is missing its node over entries {first} to {last}"
                elif level == 0:
                    detail = f"entry {first} does not match its leaf in the tree"
                else:
                    detail = f"the tree's node over entries {first} to {last} is not their hash"
                return VerifyResult(False, first, detail, first)
        return None

    def backlog(self) -> tuple[int, datetime | None]:
        """How many committed entries no checkpoint covers yet, and when the oldest was recorded."""
        with self._db.transaction(readonly=True) as session:
            size = session.scalar(select(func.coalesce(func.max(AuditCheckpoint.tree_size), 0)))
            count, oldest = session.execute(
                select(func.count(), func.min(AuditEntry.recorded_at)).where(AuditEntry.seq >= size)
            ).one()
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)  # SQLite keeps no offset; the hub writes UTC
            return int(count), oldest

    def inclusions(self, indexes: list[int], size: int) -> list[list[bytes]]:
        """Inclusion proofs for many entries in one transaction (an export's)."""
        with self._db.transaction(readonly=True) as session:
            self._within(session, size)
            nodes = DbNodes(session)
            return [merkle.inclusion_proof(nodes, i, size) for i in indexes]

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


class Integrator:
    """A daemon thread that integrates committed entries every half of the maximum merge delay,
    so an entry waits at most the delay (plus one integration) before a checkpoint covers it.
    One per serving process; they share the work through the integration lock. A failure is
    logged and retried at the next tick; an entry that waited longer than the delay is logged
    as a missed merge delay for the operator."""

    def __init__(self, log: TransparencyLog, max_delay: float) -> None:
        self._log = log
        self._interval = max_delay / 2
        self._max_delay = max_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._logger = logs.get_logger("hub.audit")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="hub-audit-integrator", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._max_delay)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.tick()

    def tick(self) -> None:
        try:
            waiting, oldest = self._log.backlog()
            if not waiting:
                return  # nothing to sign: no write transaction (SQLite's one writer stays free)
            waited = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
            if waited > self._max_delay:
                self._logger.warning(
                    "audit.merge_delay_missed",
                    waited_seconds=round(waited, 1),
                    max_merge_delay=self._max_delay,
                )
            self._log.integrate()
        except Exception:  # noqa: BLE001 (a database blip must not end the thread; retried)
            self._logger.exception("audit.integrate_failed")


def _checkpoints(
    session: Session, verifiers: list[Verifier]
) -> Iterator[Checkpoint | VerifyResult]:
    """Every checkpoint, smallest first, a page at a time, each as its signed claim once its
    signature, size, origin (the signing key's name) and stored root agree; else the failure."""
    after = -1
    while True:
        page = session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.tree_size > after)
            .order_by(AuditCheckpoint.tree_size)
            .limit(1000)
        ).all()
        for row in page:
            where = f"checkpoint of size {row.tree_size}"
            try:
                body, signers = open_note(row.note, verifiers)
                claim = Checkpoint.parse_body(body)
            except ValueError as error:
                yield VerifyResult(False, row.tree_size, f"{where}: {error}", row.tree_size)
                return
            if claim.size != row.tree_size or claim.origin not in {v.name for v in signers}:
                yield VerifyResult(False, row.tree_size, f"{where}: its signed note says otherwise")
                return
            if claim.root != row.root_hash:
                yield VerifyResult(
                    False, row.tree_size, f"{where}: its stored root is not the signed one"
                )
                return
            yield claim
        if len(page) < 1000:
            return
        after = page[-1].tree_size


def _intact(proof: Callable[[], list[bytes]]) -> list[bytes]:
    try:
        return proof()
    except LookupError:
        raise TreeDamaged(
            "the audit tree is missing nodes this proof needs; run `hub audit verify`"
        ) from None


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
    party: str | None = None  # only entries this agency acted in or received (its disclosures)
    disclosures: bool = False  # only decisions about a recipient
    below: int | None = None  # only entries a checkpoint of this size covers


def _matching(query: Any, pseudonym: Callable[[str], str], where: EntryFilter) -> Any:
    if where.below is not None:
        query = query.where(AuditEntry.seq < where.below)
    if where.disclosures:
        # A decision about a recipient (not the sender's own `message.accepted`, which names
        # the recipient it asked for but decides nothing).
        query = query.where(
            AuditEntry.recipient_agency_id.is_not(None), AuditEntry.decision.is_not(None)
        )
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
    if where.party:
        query = query.where(
            (AuditEntry.actor_agency_id == where.party)
            | (AuditEntry.recipient_agency_id == where.party)
        )
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
    return query


def count_entries(pseudonym: Callable[[str], str], where: EntryFilter) -> Any:
    """A statement counting the entries matching."""
    return _matching(select(func.count()).select_from(AuditEntry), pseudonym, where)


def find_entries(
    session: Session,
    pseudonym: Callable[[str], str],
    where: EntryFilter,
    after: int | None,
    limit: int,
    *,
    newest_first: bool = False,
) -> list[tuple[int, str]]:
    """(seq, canonical JSON) of the entries matching, after the cursor: oldest first, or newest
    first (then the cursor is the last entry of the previous page, and the page goes on below)."""
    order = AuditEntry.seq.desc() if newest_first else AuditEntry.seq
    query = select(AuditEntry.seq, AuditEntry.entry).order_by(order).limit(limit)
    if after is not None:
        query = query.where(AuditEntry.seq < after if newest_first else AuditEntry.seq > after)
    query = _matching(query, pseudonym, where)
    return [(seq, entry) for seq, entry in session.execute(query)]
