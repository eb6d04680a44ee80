"""The audit log's integrity beyond the single-process tamper tests in test_transparency_log.py:

- several hub processes writing (and rolling back) at once on PostgreSQL leave exactly the
  committed entries, numbered 0..n-1 in each writer's own order, while two more processes
  integrate and verify the tree concurrently;
- what a database owner can do with the triggers out of the way (insert entries, swap them,
  rebuild the tree, replace or re-sign checkpoints) makes verification fail, naming the entry or
  the checkpoint;
- verification streams over many checkpoints and small chunks (a small `BATCH`) and still names
  the first bad entry or checkpoint.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import queue
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from audit import merkle
from audit.entry import Actor, AuditRecord, canonical_json
from audit.note import DASH, Checkpoint, Signer, verify_checkpoint
from hub.bootstrap import Services, build
from hub.domain.vocab import AuditAction
from hub.services import transparency
from hub.services.audit import SEQUENCE_LOCK, discard_pending, pending_mark
from hub.settings import Settings
from hub.store.models import AuditEntry

AUDIT_TABLES = ("audit_entries", "audit_nodes", "audit_checkpoints", "audit_keys")
PERSON = "person-audit-integrity"
# verify() without pinned keys says which keys it trusted.
DB_KEYS = " (signatures checked with the keys the database holds)"


class _RolledBack(Exception):
    """Raised inside a transaction to roll it (and its audit entries) back."""


# -- helpers ---------------------------------------------------------------------------------------


def _record(services: Services, count: int, tag: str, per_transaction: int = 3) -> None:
    """`count` entries, a few per transaction, with request ids `<tag>-<n>`."""
    done = 0
    while done < count:
        with services.db.transaction() as session:
            for _ in range(min(per_transaction, count - done)):
                services.audit.record(
                    session,
                    AuditAction.TOKEN_ISSUED,
                    actor=Actor(agency="courts-sheffield", client="integrity-test"),
                    request_id=f"{tag}-{done:04d}",
                    subject=services.audit.pseudonym(PERSON),
                )
                done += 1


def _rows(services: Services) -> list[tuple[int, str, str | None, str | None]]:
    """(seq, entry, request_id, subject_pseudonym) of every entry, in seq order."""
    with services.db.transaction(readonly=True) as session:
        return [
            (seq, entry, request_id, subject)
            for seq, entry, request_id, subject in session.execute(
                text(
                    "SELECT seq, entry, request_id, subject_pseudonym FROM audit_entries "
                    "ORDER BY seq, id"
                )
            )
        ]


def _checkpoints(services: Services) -> list[tuple[int, bytes, str]]:
    """(tree_size, root_hash, note) of every checkpoint, in the order they were written."""
    with services.db.transaction(readonly=True) as session:
        return [
            (size, bytes(root), note)
            for size, root, note in session.execute(
                text("SELECT tree_size, root_hash, note FROM audit_checkpoints ORDER BY id")
            )
        ]


def _tree_of(entries: list[str]) -> merkle.MemoryNodes:
    """The whole tree of these entries, computed here (not by the hub)."""
    tree = merkle.MemoryNodes()
    tree.extend([merkle.leaf_hash(e.encode()) for e in entries])
    return tree


def _stored_nodes(services: Services) -> dict[merkle.Key, bytes]:
    with services.db.transaction(readonly=True) as session:
        return {
            (level, idx): bytes(value)
            for level, idx, value in session.execute(
                text("SELECT level, idx, hash FROM audit_nodes")
            )
        }


@contextmanager
def _as_owner(services: Services) -> Iterator[Connection]:
    """A connection as a database owner could use it: the append-only triggers out of the way
    (PostgreSQL: replica mode for this transaction; SQLite: the triggers dropped)."""
    with services.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for table in AUDIT_TABLES:
                for operation in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{operation}"))
        yield conn


def _entry_json(conn: Connection, seq: int) -> dict[str, Any]:
    value = conn.execute(text("SELECT entry FROM audit_entries WHERE seq = :s"), {"s": seq})
    return dict(json.loads(value.scalar_one()))


def _set_entry(conn: Connection, seq: int, obj: dict[str, Any]) -> None:
    conn.execute(
        text("UPDATE audit_entries SET entry = :e WHERE seq = :s"),
        {"e": canonical_json(obj).decode(), "s": seq},
    )


def _forged(seq: int, request_id: str = "forged") -> dict[str, Any]:
    """The row of an entry the owner makes up, well formed and numbered `seq`."""
    record = AuditRecord(
        action=AuditAction.MESSAGE_READ,
        time=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        actor=Actor(agency="police-south-yorkshire"),
        request_id=request_id,
        decision="permit",
    )
    return {
        "seq": seq,
        "recorded_at": record.time,
        "action": record.action,
        "actor_agency_id": record.actor.agency,
        "decision": record.decision,
        "request_id": request_id,
        "entry": canonical_json(dict(record.to_json_obj(), seq=seq)).decode(),
    }


def _rebuild_tree(conn: Connection, size: int) -> merkle.MemoryNodes:
    """Replace the stored tree with the tree of the first `size` entries as they are now."""
    entries = list(
        conn.scalars(
            text("SELECT entry FROM audit_entries WHERE seq < :n ORDER BY seq"), {"n": size}
        )
    )
    tree = _tree_of(entries)
    conn.execute(text("DELETE FROM audit_nodes"))
    conn.execute(
        text("INSERT INTO audit_nodes (level, idx, hash) VALUES (:level, :idx, :hash)"),
        [{"level": lv, "idx": ix, "hash": h} for (lv, ix), h in sorted(tree.store.items())],
    )
    return tree


def _outsider(origin: str) -> Signer:
    """A signer with the log's name but a key the hub never had."""
    return Signer(origin, Ed25519PrivateKey.generate())


def _resign(conn: Connection, signer: Signer, origin: str, tree: merkle.MemoryNodes) -> None:
    """Give every checkpoint the rebuilt tree's root, signed by `signer`."""
    for size in list(conn.scalars(text("SELECT tree_size FROM audit_checkpoints"))):
        root = merkle.root(tree, size)
        conn.execute(
            text("UPDATE audit_checkpoints SET root_hash = :r, note = :n WHERE tree_size = :s"),
            {"r": root, "n": signer.sign(Checkpoint(origin, size, root).body()), "s": size},
        )


# -- 1. concurrent writers and integrators (separate OS processes) -------------------------------

WRITERS = 4
TRANSACTIONS = 120  # per writer
INTEGRATORS = 2
WAIT = 300  # seconds before a process that never answers fails the test


def _request_id(worker: int, txn: int, index: int) -> str:
    return f"w{worker}-{txn:04d}-{index}"


def _writer(settings: Settings, worker: int, results: Any) -> None:
    """One hub process: many small transactions, some rolled back, some with a savepoint rolled
    back. Puts (worker, the request ids committed in commit order, error)."""
    try:
        services = build(settings)
        committed: list[str] = []
        subject = services.audit.pseudonym(PERSON)
        for txn in range(TRANSACTIONS):
            size = 1 + txn % 3
            kept = [_request_id(worker, txn, i) for i in range(size)]
            try:
                with services.db.transaction() as session:
                    for rid in kept:
                        services.audit.record(
                            session,
                            AuditAction.TOKEN_ISSUED,
                            actor=Actor(agency=f"writer-{worker}"),
                            request_id=rid,
                            subject=subject,
                        )
                    if txn % 7 == 5:  # a savepoint rolled back drops only its own entries
                        mark = pending_mark(session)
                        savepoint = session.begin_nested()
                        services.audit.record(
                            session,
                            AuditAction.TOKEN_REFUSED,
                            actor=Actor(agency=f"writer-{worker}"),
                            request_id=_request_id(worker, txn, 9),
                        )
                        savepoint.rollback()
                        discard_pending(session, mark)
                    if txn % 5 == 3:
                        raise _RolledBack
            except _RolledBack:
                continue
            committed.extend(kept)
        services.close()
        results.put((worker, committed, None))
    except BaseException:
        results.put((worker, [], traceback.format_exc()))


def _integrator(settings: Settings, worker: int, start: Any, stop: Any, results: Any) -> None:
    """Integrates (and now and then verifies) until told to stop. Puts (worker, the head sizes
    integrate() returned, failed verifications, error)."""
    try:
        services = build(settings)
        sizes: list[int] = []
        failures: list[str] = []
        if not start.wait(WAIT):
            raise TimeoutError("never told to start")
        rounds = 0
        while not stop.is_set():
            sizes.append(services.transparency.integrate().size)
            rounds += 1
            if rounds % 10 == 0:
                result = services.transparency.verify(by=f"integrator-{worker}")
                if not result.ok:
                    failures.append(result.detail)
        sizes.append(services.transparency.integrate().size)
        services.close()
        results.put((worker, sizes, failures, None))
    except BaseException:
        results.put((worker, [], [], traceback.format_exc()))


def _advisory_waiters(conn: psycopg.Connection[Any], key: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (key >> 32, key & 0xFFFFFFFF),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _until(condition: Callable[[], bool], what: str, processes: list[Any], results: Any) -> None:
    """Wait for `condition`, failing at once (with the workers' tracebacks) if one has died."""
    deadline = time.monotonic() + WAIT
    while not condition():
        if any(p.exitcode is not None for p in processes) or time.monotonic() > deadline:
            answers = []
            while True:
                try:
                    answers.append(results.get(timeout=1))
                except queue.Empty:
                    break
            exits = {p.name: p.exitcode for p in processes}
            raise AssertionError(f"gave up waiting: {what}; exit codes {exits}; {answers}")
        time.sleep(0.05)


def _results(results: Any, count: int, processes: list[Any]) -> list[tuple[Any, ...]]:
    answers = []
    for _ in range(count):
        try:
            answer = results.get(timeout=WAIT)
        except queue.Empty:
            alive = [p.name for p in processes if p.is_alive()]
            raise AssertionError(f"no answer from a worker; still running: {alive}") from None
        assert answer[-1] is None, answer[-1]  # the worker's traceback
        answers.append(answer)
    return answers


@pytest.mark.backends("postgresql")  # several hub processes writing at once (SQLite has one writer)
def test_concurrent_writers_and_integrators_leave_a_gap_free_verified_log(
    backend: str, settings: Settings, services: Services
) -> None:
    ctx = multiprocessing.get_context("spawn")
    writer_results, integrator_results = ctx.Queue(), ctx.Queue()
    start, stop = ctx.Event(), ctx.Event()
    writers = [
        ctx.Process(target=_writer, args=(settings, w, writer_results), name=f"writer-{w}")
        for w in range(WRITERS)
    ]
    integrators = [
        ctx.Process(
            target=_integrator,
            args=(settings, i, start, stop, integrator_results),
            name=f"integrator-{i}",
        )
        for i in range(INTEGRATORS)
    ]
    processes = writers + integrators
    with psycopg.connect(settings.database_url, autocommit=True) as lock:
        # Hold the numbering lock until every writer is waiting for it at its first commit, so
        # the writers contend from their first transaction on, however the OS schedules them.
        lock.execute("SELECT pg_advisory_lock(%s)", (SEQUENCE_LOCK,))
        try:
            for process in processes:
                process.start()
            _until(
                lambda: _advisory_waiters(lock, SEQUENCE_LOCK) == WRITERS,
                "every writer waiting to number its first entries",
                processes,
                writer_results,
            )
            lock.execute("SELECT pg_advisory_unlock(%s)", (SEQUENCE_LOCK,))
            _until(lambda: bool(_rows(services)), "the first entries committed", [], writer_results)
            start.set()  # the integrators start on a log that is not empty
            written = _results(writer_results, WRITERS, processes)
            stop.set()
            integrated = _results(integrator_results, INTEGRATORS, processes)
        finally:
            start.set()
            stop.set()
            for process in processes:
                process.join(timeout=30)
                if process.is_alive():  # only when the test failed already
                    process.terminate()
                    process.join()
    assert [p.exitcode for p in processes] == [0] * len(processes)

    committed = {worker: ids for worker, ids, _ in written}
    total = sum(len(ids) for ids in committed.values())
    rows = _rows(services)
    # Exactly the committed entries: nothing rolled back (whole transactions or savepoints).
    assert len(rows) == total
    assert sorted(r[2] or "" for r in rows) == sorted(i for ids in committed.values() for i in ids)
    assert not any((r[2] or "").endswith("-9") for r in rows)
    # Numbered 0..n-1, each entry's canonical JSON carrying its row's number.
    assert [r[0] for r in rows] == list(range(total))
    for seq, entry, request_id, subject in rows:
        obj = json.loads(entry)
        assert obj["seq"] == seq and obj["request_id"] == request_id
        assert entry == canonical_json(obj).decode()
        # Every process had the same master key: the same person, the same pseudonym.
        assert subject == obj["subject"] == services.audit.pseudonym(PERSON)
    # Each writer's entries in its own commit order, each transaction's entries together.
    for worker, ids in committed.items():
        assert [r[2] for r in rows if r[2] and r[2].startswith(f"w{worker}-")] == ids
    transactions = [(r[2] or "").rsplit("-", 1)[0] for r in rows]
    blocks = [t for i, t in enumerate(transactions) if i == 0 or transactions[i - 1] != t]
    assert len(blocks) == len(set(blocks)), "a transaction's entries were split up"
    # The lock queue is first come, first served: the first commits are one from each writer.
    assert sorted(b.split("-")[0] for b in blocks[:WRITERS]) == [f"w{w}" for w in range(WRITERS)]

    # The integrators never saw a bad log, and each saw the tree only grow.
    for _worker, sizes, failures, _ in integrated:
        assert failures == []
        assert sizes == sorted(sizes) and sizes[-1] == total
    head = services.transparency.integrate()
    assert head.size == total
    result = services.transparency.verify()
    assert result.ok, result.detail
    checkpoints = _checkpoints(services)
    assert result.detail == f"{total} entries and {len(checkpoints)} checkpoints verified" + DB_KEYS
    sizes = [size for size, _, _ in checkpoints]
    assert sizes == sorted(set(sizes)), "checkpoints written out of order or twice for one size"
    assert sizes[-1] == total
    returned = {s for _, seen, _, _ in integrated for s in seen}
    assert returned <= set(sizes)
    # The tree the integrators built between them is the tree of the entries, node for node,
    # and every checkpoint signs that tree's root at its size.
    tree = _tree_of([r[1] for r in rows])
    assert _stored_nodes(services) == tree.store
    verifiers = services.transparency.verifiers()
    for size, root, note in checkpoints:
        assert root == merkle.root(tree, size)
        assert verify_checkpoint(note, verifiers) == Checkpoint(
            services.transparency.origin, size, root
        )


# -- 2. what a database owner could do ------------------------------------------------------------

# The log the owner tampers with: entries 0..15, checkpoints of sizes 10 and 16.
FIRST, SECOND = 10, 16


def _insert_beyond_the_end(conn: Connection, services: Services) -> None:
    # Not a continuation (16 is next): the log can never be integrated past the gap.
    conn.execute(insert(AuditEntry), [_forged(SECOND + 3)])


def _insert_duplicate(conn: Connection, services: Services) -> None:
    conn.execute(text("DROP INDEX ix_audit_entries_seq"))
    conn.execute(insert(AuditEntry), [_forged(5)])


def _insert_in_the_middle_renumbering(conn: Connection, services: Services) -> None:
    # Make room at 5 (rows and their JSON renumbered), then put the forged entry there.
    for seq in range(SECOND - 1, 4, -1):
        obj = _entry_json(conn, seq)
        conn.execute(
            text("UPDATE audit_entries SET seq = :n WHERE seq = :s"), {"n": seq + 1, "s": seq}
        )
        _set_entry(conn, seq + 1, dict(obj, seq=seq + 1))
    conn.execute(insert(AuditEntry), [_forged(5)])


def _swap(conn: Connection, a: int, b: int, keep_seq: bool) -> None:
    first, second = _entry_json(conn, a), _entry_json(conn, b)
    if keep_seq:
        first["seq"], second["seq"] = b, a
    _set_entry(conn, a, second)
    _set_entry(conn, b, first)


def _swap_entries(conn: Connection, services: Services) -> None:
    _swap(conn, 3, 8, keep_seq=False)


def _swap_entries_renumbered(conn: Connection, services: Services) -> None:
    _swap(conn, 3, 8, keep_seq=True)


def _swap_entries_and_rebuild_tree(conn: Connection, services: Services) -> None:
    _swap(conn, 3, 8, keep_seq=True)
    _rebuild_tree(conn, SECOND)


def _swap_entries_rebuild_and_resign(conn: Connection, services: Services) -> None:
    _swap(conn, 3, 8, keep_seq=True)
    tree = _rebuild_tree(conn, SECOND)
    _resign(conn, _outsider(services.transparency.origin), services.transparency.origin, tree)


def _note_signed_by_another_key(conn: Connection, services: Services) -> None:
    # The same checkpoint (size and root unchanged), signed by a key the hub never had.
    root = conn.execute(
        text("SELECT root_hash FROM audit_checkpoints WHERE tree_size = :s"), {"s": SECOND}
    ).scalar_one()
    origin = services.transparency.origin
    note = _outsider(origin).sign(Checkpoint(origin, SECOND, bytes(root)).body())
    conn.execute(
        text("UPDATE audit_checkpoints SET note = :n WHERE tree_size = :s"),
        {"n": note, "s": SECOND},
    )


def _note_signed_under_the_hubs_key_id(conn: Connection, services: Services) -> None:
    # A different root, signed by another key but carrying the hub's key name and id.
    hub_key = services.transparency.verifiers()[0]
    origin = services.transparency.origin
    root = bytes(32)
    note = _outsider(origin).sign(Checkpoint(origin, FIRST, root).body())
    body, _, signature = note.rpartition(f"\n{DASH} {origin} ")
    raw = base64.b64decode(signature.strip(), validate=True)
    forged = f"{body}\n{DASH} {hub_key.name} {base64.b64encode(hub_key.id + raw[4:]).decode()}\n"
    conn.execute(
        text("UPDATE audit_checkpoints SET note = :n, root_hash = :r WHERE tree_size = :s"),
        {"n": forged, "r": root, "s": FIRST},
    )


def _root_hash_replaced(conn: Connection, services: Services) -> None:
    conn.execute(
        text("UPDATE audit_checkpoints SET root_hash = :r WHERE tree_size = :s"),
        {"r": merkle.EMPTY_ROOT, "s": SECOND},
    )


def _note_of_another_checkpoint(conn: Connection, services: Services) -> None:
    # A genuine note and root, but the first checkpoint's, on the second.
    note, root = conn.execute(
        text("SELECT note, root_hash FROM audit_checkpoints WHERE tree_size = :s"), {"s": FIRST}
    ).one()
    conn.execute(
        text("UPDATE audit_checkpoints SET note = :n, root_hash = :r WHERE tree_size = :s"),
        {"n": note, "r": root, "s": SECOND},
    )


def _tree_size_replaced(conn: Connection, services: Services) -> None:
    conn.execute(text(f"UPDATE audit_checkpoints SET tree_size = 12 WHERE tree_size = {SECOND}"))


def _leaf_replaced(conn: Connection, services: Services) -> None:
    conn.execute(
        text("UPDATE audit_nodes SET hash = :h WHERE level = 0 AND idx = 7"),
        {"h": merkle.leaf_hash(b"something else")},
    )


def _inner_node_replaced(conn: Connection, services: Services) -> None:
    conn.execute(
        text("UPDATE audit_nodes SET hash = :h WHERE level = 2 AND idx = 1"), {"h": bytes(32)}
    )


def _node_deleted(conn: Connection, services: Services) -> None:
    conn.execute(text("DELETE FROM audit_nodes WHERE level = 1 AND idx = 3"))


@pytest.mark.parametrize(
    ("tamper", "named", "bad_seq"),
    [
        pytest.param(_insert_beyond_the_end, "entry 16 is missing", 16, id="insert-past-the-end"),
        pytest.param(
            _insert_duplicate,
            "entry 5 is duplicated",
            5,
            id="insert-duplicate-seq",
        ),
        pytest.param(
            _insert_in_the_middle_renumbering,
            "entry 5 does not match its leaf in the tree",
            5,
            id="insert-middle-renumbered",
        ),
        pytest.param(_swap_entries, "entry 3 says it is entry 8 (moved)", 3, id="swap"),
        pytest.param(
            _swap_entries_renumbered,
            "entry 3 does not match its leaf in the tree",
            3,
            id="swap-renumbered",
        ),
        pytest.param(
            _swap_entries_and_rebuild_tree,
            f"checkpoint of size {FIRST}: the entries do not hash to its root",
            None,
            id="swap-and-rebuild-tree",
        ),
        pytest.param(
            _swap_entries_rebuild_and_resign,
            f"checkpoint of size {FIRST}: no known key signed this note",
            FIRST,
            id="swap-rebuild-and-resign",
        ),
        pytest.param(
            _note_signed_by_another_key,
            f"checkpoint of size {SECOND}: no known key signed this note",
            SECOND,
            id="note-another-key",
        ),
        pytest.param(
            _note_signed_under_the_hubs_key_id,
            f"checkpoint of size {FIRST}: no known key signed this note",
            FIRST,
            id="note-forged-under-hub-key-id",
        ),
        pytest.param(
            _root_hash_replaced,
            f"checkpoint of size {SECOND}: its stored root is not the signed one",
            None,
            id="root-hash-replaced",
        ),
        pytest.param(
            _note_of_another_checkpoint,
            f"checkpoint of size {SECOND}: its signed note says otherwise",
            None,
            id="note-of-another-checkpoint",
        ),
        pytest.param(
            _tree_size_replaced,
            "checkpoint of size 12: its signed note says otherwise",
            None,
            id="tree-size-replaced",
        ),
        pytest.param(
            _leaf_replaced, "entry 7 does not match its leaf in the tree", 7, id="leaf-replaced"
        ),
        pytest.param(
            _inner_node_replaced,
            "the tree's node over entries 4 to 7 is not their hash",
            4,
            id="inner-node-replaced",
        ),
        pytest.param(
            _node_deleted,
            "missing",
            6,
            id="node-deleted",
        ),
    ],
)
def test_owner_tampering_fails_verification_naming_the_place(
    services: Services,
    tamper: Callable[[Connection, Services], None],
    named: str,
    bad_seq: int | None,
) -> None:
    _record(services, FIRST, "a")
    services.transparency.integrate()
    _record(services, SECOND - FIRST, "b")
    services.transparency.integrate()
    assert [size for size, _, _ in _checkpoints(services)] == [FIRST, SECOND]
    before = services.transparency.verify()
    assert before.ok and before.size == SECOND, before.detail

    with _as_owner(services) as conn:
        tamper(conn, services)
    result = services.transparency.verify()
    assert not result.ok
    assert named in result.detail, result.detail
    if bad_seq is not None:
        assert result.bad_seq == bad_seq, result
    # The failed run is on record, as found.
    last = services.transparency.last_verification()
    assert last is not None and not last.ok and last.detail == result.detail


def test_a_forged_entry_past_the_end_blocks_the_log_and_stays_named(services: Services) -> None:
    """After a row numbered past the end, the hub numbers new entries after it: the tree can
    never grow past the gap, and verification keeps naming the first missing entry."""
    _record(services, SECOND, "a")
    services.transparency.integrate()
    with _as_owner(services) as conn:
        _insert_beyond_the_end(conn, services)
    _record(services, 2, "later")
    assert [r[0] for r in _rows(services)][-3:] == [SECOND + 3, SECOND + 4, SECOND + 5]
    assert services.transparency.integrate().size == SECOND
    result = services.transparency.verify()
    assert not result.ok and result.detail == f"entry {SECOND} is missing", result
    assert result.bad_seq == SECOND


# -- 3. many checkpoints, small chunks -----------------------------------------------------------

ROUNDS = (3, 11, 0, 1, 20, 6, 9, 2)  # entries recorded before each integrate()
UNINTEGRATED = 5  # recorded after the last integrate()


def _expected_checkpoints(batch: int) -> list[int]:
    """integrate() signs a checkpoint per `batch` entries read, and one for the remainder."""
    sizes: list[int] = []
    size = total = 0
    for count in ROUNDS:
        total += count
        while True:
            read = min(batch, total - size)
            if read == 0 and sizes:
                break
            size += read
            sizes.append(size)
            if read < batch:
                break
    return sizes


@pytest.fixture
def chunked(services: Services, monkeypatch: pytest.MonkeyPatch, request: Any) -> Services:
    monkeypatch.setattr(transparency, "BATCH", request.param)
    for number, count in enumerate(ROUNDS):
        _record(services, count, f"r{number}", per_transaction=4)
        services.transparency.integrate()
    _record(services, UNINTEGRATED, "late")
    return services


BATCHES = [1, 3, 7, 64]


@pytest.mark.parametrize("chunked", BATCHES, indirect=True)
def test_many_checkpoints_verify_in_small_chunks(chunked: Services) -> None:
    services, batch = chunked, transparency.BATCH
    total = sum(ROUNDS) + UNINTEGRATED
    checkpoints = _checkpoints(services)
    sizes = [size for size, _, _ in checkpoints]
    assert sizes == _expected_checkpoints(batch)
    rows = _rows(services)
    assert [r[0] for r in rows] == list(range(total))
    tree = _tree_of([r[1] for r in rows])
    verifiers = services.transparency.verifiers()
    for size, root, note in checkpoints:
        assert root == merkle.root(tree, size)
        assert verify_checkpoint(note, verifiers).root == root

    progress: list[tuple[int, int]] = []
    result = services.transparency.verify(progress=lambda done, of: progress.append((done, of)))
    assert result.ok, result.detail
    assert result.detail == f"{total} entries and {len(checkpoints)} checkpoints verified" + DB_KEYS
    assert result.size == total
    # Streamed: one progress call per chunk of `batch` entries.
    ends = [*range(batch, total, batch), total]
    assert progress == [(end, total) for end in ends]

    # A proof from the middle of the log, against a checkpoint in the middle.
    middle = sizes[len(sizes) // 2]
    leaf = merkle.leaf_hash(rows[middle - 1][1].encode())
    path = services.transparency.inclusion(middle - 1, middle)
    assert merkle.verify_inclusion(leaf, middle - 1, middle, path, merkle.root(tree, middle))


@pytest.mark.parametrize("chunked", BATCHES, indirect=True)
def test_a_tampered_entry_in_a_middle_chunk_is_named(chunked: Services) -> None:
    services, batch = chunked, transparency.BATCH
    total = sum(ROUNDS) + UNINTEGRATED
    target = 23
    with _as_owner(services) as conn:
        obj = _entry_json(conn, target)
        _set_entry(conn, target, dict(obj, request_id="rewritten"))
    progress: list[tuple[int, int]] = []
    result = services.transparency.verify(progress=lambda done, of: progress.append((done, of)))
    assert not result.ok
    assert result.detail == f"entry {target} does not match its leaf in the tree"
    assert result.bad_seq == target
    # Every chunk before the bad one was read and reported, none after.
    assert progress == [(end, total) for end in range(batch, target + 1, batch)]


@pytest.mark.parametrize("chunked", BATCHES, indirect=True)
def test_entries_and_tree_rewritten_name_the_first_checkpoint_after(chunked: Services) -> None:
    services = chunked
    target = 23
    sizes = [size for size, _, _ in _checkpoints(services)]
    with _as_owner(services) as conn:
        obj = _entry_json(conn, target)
        _set_entry(conn, target, dict(obj, request_id="rewritten"))
        _rebuild_tree(conn, sizes[-1])
    result = services.transparency.verify()
    assert not result.ok
    first_after = min(s for s in sizes if s > target)
    assert result.detail == (
        f"checkpoint of size {first_after}: the entries do not hash to its root "
        "(entries and tree were rewritten after it was signed)"
    )


def test_an_empty_log_verifies(services: Services) -> None:
    """A new hub's log: `hub audit verify` integrates first (a checkpoint of size 0)."""
    head = services.transparency.integrate()
    assert head.size == 0 and head.root == merkle.EMPTY_ROOT
    result = services.transparency.verify()
    assert result.ok, result.detail
    assert result.detail == "0 entries and 1 checkpoints verified" + DB_KEYS
