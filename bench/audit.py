"""Benchmark: the tamper-evident audit log (an RFC 6962 Merkle-tree transparency log). Prints

1. the message path with and without its audit writes: `POST /v1/messages` in process (the Flask
   app on the hub's services, through a test client: token check, validation, decision,
   encryption, storage, delivery, commit) in messages per second, with `AuditLog.append` as the
   hub has it, and with `AuditLog.append` replaced by a no-op inside this process. The no-op run
   is a baseline measurement only (the hub never runs without its audit writes); the ratio
   with/without is what the audit log costs a message. The two alternate in short blocks, so
   the disk's slow spells fall on both alike;
2. inclusion proofs (`TransparencyLog.inclusion`, a read transaction and the O(log n) nodes a
   proof needs) at 1,000 entries and at 1,000,000 (`--entries`): mean microseconds per proof over
   random leaves, the proof length, and the ratio large/small (expect log growth, about 2x, not
   1000x). The large log is filled as the hub writes it (canonical JSON with its "seq", in
   executemany batches) and then integrated by `TransparencyLog.integrate()` itself;
3. `hub audit verify` (`TransparencyLog.verify()`: every entry read, parsed and hashed, every
   stored node and checkpoint checked) over the large log in entries per second, against plain
   SHA-256 of the same entry bytes already read into memory (the baseline), and their ratio.

    .venv/bin/python bench/audit.py                    # SQLite in a temporary directory
    .venv/bin/python bench/audit.py --entries 100000   # a quick run
    HUB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/audit.py

Setup times (filling, integrating) are printed too. Figures, not assertions: the only checks are
that the hub answered 202 and that the proofs it gave verify.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sqlalchemy import func, select  # noqa: E402

from audit import merkle  # noqa: E402
from audit.entry import Actor, AuditRecord, canonical_json, format_time  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.bootstrap import Services, build, load_policy  # noqa: E402
from hub.domain.vocab import AuditAction, Decision  # noqa: E402
from hub.services.audit import AuditLog  # noqa: E402
from hub.store.models import AuditEntry  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.support.databases import PostgresFactory, SqliteFactory  # noqa: E402
from tests.support.world import conviction_event, make_world  # noqa: E402

AGREEMENTS_DAY = date(2026, 12, 1)  # as tests/conftest.py decides the seed agreements
FILL_BATCH = 50_000


@contextmanager
def hub(factory: SqliteFactory | PostgresFactory, var: Path) -> Iterator[Services]:
    """A hub's services on a fresh migrated database (dropped afterwards)."""
    url = factory.create()
    settings = make_settings(url, var)
    services = build(settings, policy=load_policy(settings).as_of(AGREEMENTS_DAY))
    try:
        yield services
    finally:
        services.close()
        factory.drop(url)


# -- 1. the message path with and without audit writes ---------------------------------------------


def _no_audit(self: AuditLog, session: Any, entry: AuditRecord) -> None:
    """The baseline's `AuditLog.append`: records nothing (this process only)."""


@contextmanager
def audit_writes(enabled: bool) -> Iterator[None]:
    real = AuditLog.__dict__["append"]
    if not enabled:
        setattr(AuditLog, "append", _no_audit)  # noqa: B010
    try:
        yield
    finally:
        setattr(AuditLog, "append", real)  # noqa: B010


@dataclass
class MessageFigures:
    with_audit: float  # messages per second over all the blocks of that mode
    without_audit: float
    pair_ratios: list[float]  # with/without of each pair of neighbouring blocks
    entries_per_message: float
    sent: int
    seconds: float


def message_path(services: Services, seconds: float, block: int) -> MessageFigures:
    """Blocks of `block` messages, alternately with and without audit writes (which goes first
    alternates too), until each mode has run `seconds`: a slow spell of the disk or the
    tables growing falls on both modes alike."""
    world = make_world(services)
    app = create_app(services.settings, services)
    app.config["TESTING"] = True
    client = app.test_client()
    creds = world["courts-sheffield"]
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    r = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {r.get_json()['access_token']}"}

    def send() -> None:
        r = client.post(
            "/v1/messages",
            data=json.dumps(conviction_event()),
            content_type="application/cloudevents+json",
            headers=headers,
        )
        assert r.status_code == 202, r.get_data(as_text=True)

    def last_seq() -> int:
        with services.db.transaction(readonly=True) as session:
            return int(session.scalar(select(func.coalesce(func.max(AuditEntry.seq), -1))))

    def run(enabled: bool, count: int) -> tuple[float, int]:
        """(seconds for `count` messages, audit entries they wrote)"""
        before = last_seq()
        with audit_writes(enabled):
            began = time.perf_counter()
            for _ in range(count):
                send()
            elapsed = time.perf_counter() - began
        return elapsed, last_seq() - before

    began = time.perf_counter()
    for enabled in (True, False):
        run(enabled, 20)  # warm-up
    spent = {True: 0.0, False: 0.0}
    entries = blocks = 0
    ratios = []
    while min(spent.values()) < seconds:
        pair = {}
        for enabled in (True, False) if len(ratios) % 2 == 0 else (False, True):
            pair[enabled], written = run(enabled, block)
            spent[enabled] += pair[enabled]
            if enabled:
                entries += written
            else:
                assert written == 0, "the baseline wrote audit entries"
        blocks += 1
        ratios.append(pair[False] / pair[True])  # rates: (block / with) / (block / without)
    return MessageFigures(
        blocks * block / spent[True],
        blocks * block / spent[False],
        ratios,
        entries / (blocks * block),
        2 * (blocks * block + 20),
        time.perf_counter() - began,
    )


# -- filling a log as the hub writes it --------------------------------------------------------------


def _templates() -> list[AuditRecord]:
    """The entries a message leaves (accepted, delivered) and a token request's, as the hub
    records them; the fill varies their time, person, message and request."""
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    courts = Actor(agency="courts-sheffield", client="courts-sheffield")
    common: dict[str, Any] = dict(
        time=now,
        actor=courts,
        request_id="0" * 32,
        subject="0" * 64,
        message_id="00000000-0000-4000-8000-000000000000",
        message_type="conviction",
        purpose="case_management",
        recipient="provider-doncaster-alliance",
        payload_digest="0" * 64,
    )
    return [
        AuditRecord(action=AuditAction.MESSAGE_ACCEPTED.value, **common),
        AuditRecord(
            action=AuditAction.MESSAGE_DELIVERED.value,
            decision=Decision.PERMIT.value,
            agreement_id="dsa-courts-conviction-information",
            agreement_version="2.0.0",
            lawful_basis="consent",
            policy_hash="0" * 64,
            reasons=("dsa-courts-conviction-information: flow 2",),
            fields=("offence", "convictionDate", "court", "disposal"),
            **common,
        ),
        AuditRecord(
            action=AuditAction.TOKEN_ISSUED.value,
            time=now,
            actor=courts,
            request_id="0" * 32,
            scope="messages:send inbox:read",
            status=200,
        ),
    ]


def fill(services: Services, count: int) -> float:
    """Append `count` entries after the log's last one (canonical JSON with "seq" inside, as
    `hub.services.audit._write_pending` writes them), in executemany batches; seconds taken."""
    began = time.perf_counter()
    table = AuditEntry.__table__
    templates = [(t, t.to_json_obj()) for t in _templates()]
    people = [hashlib.sha256(b"person %d" % n).hexdigest() for n in range(5000)]
    base = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with services.db.transaction(readonly=True) as session:
        start = session.scalar(select(func.coalesce(func.max(AuditEntry.seq) + 1, 0)))
    assert start is not None
    for first in range(start, start + count, FILL_BATCH):
        rows = []
        for seq in range(first, min(first + FILL_BATCH, start + count)):
            record, obj = templates[seq % len(templates)]
            when = base + timedelta(milliseconds=seq * 7)
            message = f"00000000-0000-4000-8000-{seq // 3:012x}"
            request = f"{seq // 3:032x}"
            changes: dict[str, Any] = {"seq": seq, "time": format_time(when)}
            changes["request_id"] = request
            subject = None
            if "message_id" in obj:
                subject = people[(seq // 3) % len(people)]
                changes.update(
                    message_id=message,
                    subject=subject,
                    payload_digest=hashlib.sha256(message.encode()).hexdigest(),
                )
            rows.append(
                {
                    "seq": seq,
                    "recorded_at": when,
                    "action": record.action,
                    "actor_agency_id": record.actor.agency,
                    "recipient_agency_id": record.recipient,
                    "subject_pseudonym": subject,
                    "message_id": message if subject else None,
                    "decision": record.decision,
                    "request_id": request,
                    "entry": canonical_json(dict(obj, **changes)).decode(),
                }
            )
        with services.db.engine.begin() as conn:
            conn.execute(table.insert(), rows)
    return time.perf_counter() - began


# -- 2. inclusion proofs --------------------------------------------------------------------------


@dataclass
class ProofFigures:
    size: int
    count: int
    mean_us: float
    p50_us: float
    p99_us: float
    length: int


def proofs(services: Services, size: int, count: int, budget: float, seed: int) -> ProofFigures:
    """Up to `count` proofs of random leaves, or as many as `budget` seconds allow (at least 20)."""
    log = services.transparency
    rng = random.Random(seed)  # noqa: S311 (which leaves to prove, not a secret)
    indices = [rng.randrange(size) for _ in range(count)]
    # The proofs must verify against the signed root (a check of the hub, not of its speed).
    root = log.root_at(size)
    with services.db.transaction(readonly=True) as session:
        for index in indices[:5]:
            entry = session.scalar(select(AuditEntry.entry).where(AuditEntry.seq == index))
            assert entry is not None
            proof = log.inclusion(index, size)
            leaf = merkle.leaf_hash(entry.encode())
            assert merkle.verify_inclusion(leaf, index, size, proof, root), index
    times = []
    lengths = set()
    began = time.perf_counter()
    for index in indices:
        t0 = time.perf_counter()
        proof = log.inclusion(index, size)
        t1 = time.perf_counter()
        times.append(t1 - t0)
        lengths.add(len(proof))
        if budget and t1 - began > budget and len(times) >= 20:
            break
    times.sort()
    return ProofFigures(
        size,
        len(times),
        statistics.mean(times) * 1e6,
        times[len(times) // 2] * 1e6,
        times[min(len(times) - 1, int(0.99 * len(times)))] * 1e6,
        max(lengths),
    )


# -- 3. verification against plain SHA-256 ---------------------------------------------------------


def sha256_baseline(services: Services) -> tuple[float, float, int]:
    """(seconds reading the entries in seq order, seconds hashing their bytes, entries): the
    entries are read in chunks, and only the hashing of each chunk, held in memory, is timed."""
    read = hashed = 0.0
    total = 0
    with services.db.transaction(readonly=True) as session:
        t0 = time.perf_counter()
        rows = session.execute(
            select(AuditEntry.entry).order_by(AuditEntry.seq).execution_options(yield_per=50_000)
        )
        for chunk in rows.partitions():
            data = [entry.encode() for (entry,) in chunk]
            t1 = time.perf_counter()
            read += t1 - t0
            for value in data:
                hashlib.sha256(value).digest()
            t0 = time.perf_counter()
            hashed += t0 - t1
            total += len(data)
    return read, hashed, total


class Stopped(Exception):
    def __init__(self, done: int, total: int) -> None:
        super().__init__(f"stopped at {done} of {total}")
        self.done, self.total = done, total


@dataclass
class VerifyFigures:
    ok: bool | None  # None: stopped at the budget, before the end
    detail: str
    verified: int
    total: int
    seconds: float


def verify(services: Services, budget: float) -> VerifyFigures:
    """`TransparencyLog.verify()`; past `budget` seconds (0: none), stopped through its progress
    callback, and the rate taken over the entries verified by then."""
    began = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if budget and done < total and time.perf_counter() - began > budget:
            raise Stopped(done, total)

    try:
        result = services.transparency.verify(progress)
    except Stopped as stop:
        return VerifyFigures(None, "", stop.done, stop.total, time.perf_counter() - began)
    return VerifyFigures(
        result.ok, result.detail, result.size, result.size, time.perf_counter() - began
    )


def timed(what: Callable[[], Any]) -> tuple[Any, float]:
    began = time.perf_counter()
    result = what()
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="the large log's size")
    parser.add_argument("--small", type=int, default=1_000, help="the small log's size")
    parser.add_argument("--proofs", type=int, default=2_000, help="random proofs per size")
    parser.add_argument(
        "--proof-seconds", type=float, default=20.0, help="budget per size (0: none)"
    )
    parser.add_argument(
        "--verify-seconds", type=float, default=60.0, help="budget for verify (0: none)"
    )
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="message path: seconds per mode"
    )
    parser.add_argument("--block", type=int, default=25, help="message path: messages per block")
    parser.add_argument(
        "--postgres", default=None, help="admin URL; default $HUB_BENCH_POSTGRES_URL"
    )
    args = parser.parse_args()

    pg_admin = args.postgres or os.environ.get("HUB_BENCH_POSTGRES_URL")
    backend = "postgresql" if pg_admin else "sqlite"
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        factory: SqliteFactory | PostgresFactory = (
            PostgresFactory(pg_admin) if pg_admin else SqliteFactory(Path(tmp))
        )
        try:
            with hub(factory, var) as services:
                messages = message_path(services, args.seconds, args.block)

            with hub(factory, var) as services:
                small_fill = fill(services, args.small)
                _, small_integrate = timed(services.transparency.integrate)
                small = proofs(services, args.small, args.proofs, args.proof_seconds, seed=1)

            with hub(factory, var) as services:
                large_fill = fill(services, args.entries)
                head, large_integrate = timed(services.transparency.integrate)
                large = proofs(services, args.entries, args.proofs, args.proof_seconds, seed=2)
                early = proofs(services, args.small, args.proofs, args.proof_seconds, seed=3)
                checked = verify(services, args.verify_seconds)
                read_seconds, hash_seconds, hashed = sha256_baseline(services)
        finally:
            factory.close()
    total = time.perf_counter() - began

    quartiles = statistics.quantiles(messages.pair_ratios, n=4)
    print(f"audit bench: {backend}, one process, total {total:.1f}s")
    print(
        f"1. POST /v1/messages in process (Flask test client): blocks of {args.block} messages, "
        f"alternately with and without audit writes, {args.seconds:g}s per mode; "
        f"{messages.sent} messages in {messages.seconds:.1f}s"
    )
    print(
        f"  with audit writes:                              {messages.with_audit:8.1f} msg/s"
        f"   ({messages.entries_per_message:.2f} audit entries per message)"
    )
    print(f"  baseline: AuditLog.append a no-op (bench only): {messages.without_audit:8.1f} msg/s")
    print(
        f"  ratio with/without: {messages.with_audit / messages.without_audit:.3f}   "
        f"(over {len(messages.pair_ratios)} neighbouring pairs of blocks: median "
        f"{statistics.median(messages.pair_ratios):.3f}, quartiles {quartiles[0]:.3f} to "
        f"{quartiles[2]:.3f})"
    )
    print(
        f"2. inclusion proofs (TransparencyLog.inclusion) of random leaves: up to {args.proofs} "
        f"per size, at most {args.proof_seconds:g}s each"
    )
    print(
        f"  setup: {args.small:,} entries filled in {small_fill:.2f}s, integrated in "
        f"{small_integrate:.2f}s; {args.entries:,} filled in {large_fill:.1f}s "
        f"({args.entries / large_fill:,.0f} entries/s), integrated in {large_integrate:.1f}s "
        f"({args.entries / large_integrate:,.0f} entries/s; newest checkpoint {head.size:,})"
    )
    for label, figures in (
        (f"log of {args.small:,}", small),
        (f"log of {args.entries:,}", large),
        (f"tree size {args.small:,} in the log of {args.entries:,}", early),
    ):
        print(
            f"  {label + ':':<42} {figures.mean_us:9.1f} us/proof mean   p50 "
            f"{figures.p50_us:9.1f}   p99 {figures.p99_us:9.1f}   {figures.length:2d} hashes   "
            f"({figures.count} proofs)"
        )
    print(
        f"  ratio {args.entries:,}/{args.small:,}: {large.mean_us / small.mean_us:.2f}x the time, "
        f"{large.length / small.length:.2f}x the hashes"
    )
    verify_rate = checked.verified / checked.seconds
    sha_rate = hashed / hash_seconds
    if checked.ok is None:
        outcome = (
            f"stopped at the {args.verify_seconds:g}s budget after {checked.verified:,} of "
            f"{checked.total:,} entries (a full run at this rate: {checked.total / verify_rate:,.0f}s)"
        )
    else:
        outcome = f"ok={checked.ok}: {checked.detail}"
    print(f"3. hub audit verify over {checked.total:,} entries: {outcome}")
    print(
        f"  TransparencyLog.verify():                              {verify_rate:12,.0f} entries/s"
        f"   ({checked.seconds:.1f}s)"
    )
    print(
        f"  baseline: hashlib.sha256 of the entry bytes in memory: {sha_rate:12,.0f} entries/s"
        f"   ({hash_seconds:.2f}s; reading them in seq order took {read_seconds:.1f}s, "
        f"{hashed / read_seconds:,.0f} entries/s)"
    )
    print(f"  ratio verify/sha256: {verify_rate / sha_rate:.4f}")


if __name__ == "__main__":
    main()
