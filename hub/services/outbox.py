"""The transactional outbox and its relays: at least once, in order, nothing lost.

`Outbox.enqueue` runs inside the transaction that makes a delivery, beside its audit entries: one
`live` row (wake the recipient's open streams) and one `webhook` row per subscription of the
recipient agency. They commit together or not at all, so a delivery that was acknowledged to its
sender (202) is always sent, whatever crashes after.

Relays run in every serving process (`Services.start_background`) and share the rows:

- the live relay publishes notices (no personal data) and marks the rows sent; a commit in this
  process wakes it at once, others find rows within a second;
- the webhook relay sends each subscription's rows in order (a row waits while an older one for
  the same subscription is pending, so a receiver that was down gets them in order once back).
  A row is leased (`claimed_until`) while sent: if the process dies mid-send, another relay takes
  it when the lease ends, so a receiver may see an event twice (at least once) and de-duplicates
  by its id, whose content never changes. Each attempt is an audit entry; after
  `HUB_WEBHOOK_MAX_ATTEMPTS` the row is dead-lettered until the subscriber replays it.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session, aliased

from hub import logs
from hub.services.live import Notice, Notifier
from hub.store.db import Database
from hub.store.models import Delivery, OutboxItem, Subscription

LIVE, WEBHOOK = "live", "webhook"
PENDING, SENT, DEAD, CANCELLED = "pending", "sent", "dead", "cancelled"
RETRY_CAP = 3600  # seconds: the longest wait between two attempts
_AFTER_COMMIT = "hub.after_commit"
log = logs.get_logger("hub.outbox")


class Outbox:
    def __init__(self) -> None:
        self._nudges: list[Callable[[], None]] = []

    def on_commit(self, nudge: Callable[[], None]) -> None:
        """Call `nudge` after any transaction that queued rows commits (this process's relay)."""
        self._nudges.append(nudge)

    def enqueue(self, session: Session, delivery: Delivery, message_type: str) -> None:
        now = datetime.now(UTC)
        session.add(
            OutboxItem(
                delivery_id=delivery.public_id,
                channel=LIVE,
                state=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        for subscription in session.scalars(
            select(Subscription).where(
                Subscription.agency_id == delivery.recipient_agency_id,
                Subscription.deleted_at.is_(None),
            )
        ):
            if subscription.types and message_type not in subscription.types:
                continue
            session.add(
                OutboxItem(
                    delivery_id=delivery.public_id,
                    channel=WEBHOOK,
                    subscription_id=subscription.id,
                    state=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        hooks = session.info.setdefault(_AFTER_COMMIT, [])
        for nudge in self._nudges:
            if nudge not in hooks:
                hooks.append(nudge)

    def counts(self, session: Session) -> dict[str, int]:
        """Rows by channel and state (for /metrics and operators): no personal data."""
        return {
            f"{channel}.{state}": count
            for channel, state, count in session.execute(
                select(OutboxItem.channel, OutboxItem.state, func.count()).group_by(
                    OutboxItem.channel, OutboxItem.state
                )
            )
        }


def _after_commit(session: Session) -> None:
    for nudge in session.info.pop(_AFTER_COMMIT, []):
        nudge()


def _after_rollback(session: Session, previous: Any) -> None:
    if previous.parent is None:  # the whole transaction (a savepoint's rollback keeps the rest)
        session.info.pop(_AFTER_COMMIT, None)


def install_commit_hooks() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


install_commit_hooks()


def backoff(attempts: int, base: int, rng: random.Random | None = None) -> float:
    """Seconds before attempt `attempts + 1`: exponential from `base`, capped, with "equal
    jitter" (half fixed, half random) so receivers coming back are not hit all at once."""
    ceiling = min(RETRY_CAP, base * 2 ** max(0, attempts - 1))
    return float(ceiling / 2 + (rng or random).uniform(0, ceiling / 2))  # noqa: S311 (jitter)


def newest_deliveries(db: Database, after: int) -> dict[str, int]:
    """The newest delivery position of each agency that has one after `after`."""
    with db.transaction(readonly=True) as session:
        return {
            agency: position
            for agency, position in session.execute(
                select(Delivery.recipient_agency_id, func.max(Delivery.id))
                .where(Delivery.id > after)
                .group_by(Delivery.recipient_agency_id)
            )
        }


class LiveRelay:
    """Publishes pending live rows as notices, oldest first, and marks them sent."""

    def __init__(self, db: Database, notifier: Notifier, batch: int = 500) -> None:
        self._db = db
        self._notifier = notifier
        self._batch = batch

    def run_once(self) -> int:
        with self._db.transaction() as session:
            rows = session.execute(
                select(OutboxItem.id, Delivery.recipient_agency_id, Delivery.id)
                .join(Delivery, Delivery.public_id == OutboxItem.delivery_id)
                .where(OutboxItem.channel == LIVE, OutboxItem.state == PENDING)
                .order_by(OutboxItem.id)
                .limit(self._batch)
                .with_for_update(of=OutboxItem, skip_locked=True)
            ).all()
            if not rows:
                return 0
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_([row[0] for row in rows]))
                .values(state=SENT, done_at=datetime.now(UTC), attempts=OutboxItem.attempts + 1)
            )
        # Published after the commit, so a slow Redis never holds the database's write lock. A
        # notice lost here (the process gone in between) costs latency only: streams re-read
        # the database at every keep-alive.
        self._notifier.publish([Notice(agency, position) for _, agency, position in rows])
        return len(rows)


class Claim:
    """One webhook row a relay holds the lease on, with what it needs to send it."""

    def __init__(
        self,
        row_id: int,
        delivery_id: str,
        subscription_id: str,
        attempts: int,
        lease: datetime | None = None,
    ) -> None:
        self.lease = lease  # the relay holds the row while `claimed_until` is still this
        self.row_id = row_id
        self.delivery_id = delivery_id
        self.subscription_id = subscription_id
        self.attempts = attempts
        self.meta: dict[str, Any] = {}  # what the attempt's audit entry names (set by the sender)


class WebhookRelay:
    """Claims the oldest pending row of each subscription that is due, and hands it to `send`."""

    def __init__(
        self,
        db: Database,
        send: Callable[[Claim], tuple[bool, int | None, str]],
        record: Callable[[Session, Claim, bool, int | None, str, str], None],
        *,
        max_attempts: int,
        retry_base: int,
        lease: int,
        batch: int = 5,
    ) -> None:
        self._db = db
        self._send = send
        self._record = record
        self._max_attempts = max_attempts
        self._retry_base = retry_base
        self._lease = lease
        self._batch = batch

    def claim(self) -> list[Claim]:
        now = datetime.now(UTC)
        with self._db.transaction() as session:
            older = aliased(OutboxItem)
            # The head of each subscription's queue: no older pending row for it.
            heads = (
                select(OutboxItem)
                .where(
                    OutboxItem.channel == WEBHOOK,
                    OutboxItem.state == PENDING,
                    OutboxItem.next_attempt_at <= now,
                    (OutboxItem.claimed_until.is_(None)) | (OutboxItem.claimed_until < now),
                    ~select(older.id)
                    .where(
                        and_(
                            older.subscription_id == OutboxItem.subscription_id,
                            older.state == PENDING,
                            older.id < OutboxItem.id,
                        )
                    )
                    .exists(),
                )
                .order_by(OutboxItem.id)
                .limit(self._batch)
                .with_for_update(of=OutboxItem, skip_locked=True)
            )
            rows = list(session.scalars(heads))
            lease = now + timedelta(seconds=self._lease)
            for row in rows:
                row.claimed_until = lease
            return [
                Claim(row.id, row.delivery_id, row.subscription_id or "", row.attempts, lease)
                for row in rows
            ]

    def run_once(self) -> int:
        claims = self.claim()
        for claim in claims:
            try:
                delivered, status, detail = self._send(claim)
            except Exception as error:  # noqa: BLE001 (a failed send is a failed attempt)
                delivered, status, detail = False, None, type(error).__name__
            self._finish(claim, delivered, status, detail)
        return len(claims)

    def _finish(self, claim: Claim, delivered: bool, status: int | None, detail: str) -> None:
        now = datetime.now(UTC)
        attempts = claim.attempts + 1
        with self._db.transaction() as session:
            row = session.get(OutboxItem, claim.row_id, with_for_update=True)
            if row is None or row.state != PENDING or row.claimed_until != claim.lease:
                # Cancelled, or another relay took it over after this lease ran out: that relay
                # owns the row, but what this one sent is still a disclosure to record.
                if not detail.startswith("not sent: "):
                    self._record(session, claim, delivered, status, detail, "superseded")
                return
            row.attempts = attempts
            row.claimed_until = None
            row.last_result = detail[:200]
            if delivered:
                row.state, row.done_at, outcome = SENT, now, "delivered"
            elif attempts >= self._max_attempts:
                row.state, row.done_at, outcome = DEAD, now, "dead-lettered"
            else:
                wait = backoff(attempts, self._retry_base)
                row.next_attempt_at = now + timedelta(seconds=wait)
                outcome = "retrying"
            self._record(session, claim, delivered, status, detail, outcome)
        if not delivered:
            log.info(
                "webhook.attempt_failed",
                subscription=claim.subscription_id,
                attempt=attempts,
                status=status,
                detail=detail[:100],
                outcome=outcome,
            )


class RelayThread:
    """Runs a relay's `run_once` in a loop: at once when nudged, else every `interval` seconds."""

    def __init__(self, name: str, run_once: Callable[[], int], interval: float = 1.0) -> None:
        self._run_once = run_once
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                busy = self._run_once()
            except Exception as error:  # noqa: BLE001 (log and carry on: rows stay pending)
                log.warning("outbox.relay_failed", relay=self._thread.name, error=repr(error))
                busy = 0
                self._stop.wait(self._interval)
            if not busy:
                self._wake.wait(self._interval)
