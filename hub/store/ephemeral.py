"""Short-lived shared state: once-only markers (a client assertion's `jti`) and windowed counters
(failed sign-ins). Redis when `HUB_REDIS_URL` is set, otherwise the database; both are shared by
every hub process. The in-memory one serves unit tests and is run by the same contract tests.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from hub.store.db import Database
from hub.store.models import ExpiringKey


class EphemeralStore(ABC):
    @abstractmethod
    def add_once(self, key: str, ttl: int) -> bool:
        """Mark `key` for `ttl` seconds; True if it was not already marked."""

    @abstractmethod
    def incr(self, key: str, ttl: int) -> int:
        """Count one more event in a window of `ttl` seconds from the first; the new count."""

    @abstractmethod
    def count(self, key: str) -> int:
        """The live count for `key` (0 when absent or expired)."""

    @abstractmethod
    def reset(self, key: str) -> None: ...

    def ping(self) -> None:  # noqa: B027 (optional: in-memory stores are always reachable)
        """Raise when the store cannot be reached."""


class MemoryEphemeralStore(EphemeralStore):
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> tuple[int, float] | None:
        item = self._items.get(key)
        if item and item[1] <= self._clock():
            del self._items[key]
            return None
        return item

    def add_once(self, key: str, ttl: int) -> bool:
        with self._lock:
            if self._live(key):
                return False
            self._items[key] = (1, self._clock() + ttl)
            return True

    def incr(self, key: str, ttl: int) -> int:
        with self._lock:
            item = self._live(key)
            count, expires = (item[0] + 1, item[1]) if item else (1, self._clock() + ttl)
            self._items[key] = (count, expires)
            return count

    def count(self, key: str) -> int:
        with self._lock:
            item = self._live(key)
            return item[0] if item else 0

    def reset(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)


class SqlEphemeralStore(EphemeralStore):
    PURGE_EVERY = 200  # writes between sweeps of expired rows

    def __init__(self, db: Database) -> None:
        self._db = db
        self._writes = 0

    def _maybe_purge(self) -> None:
        self._writes += 1
        if self._writes % self.PURGE_EVERY == 0:
            self.purge_expired()

    def add_once(self, key: str, ttl: int) -> bool:
        self._maybe_purge()
        now = datetime.now(UTC)
        try:
            with self._db.transaction() as session:
                session.execute(
                    delete(ExpiringKey).where(ExpiringKey.key == key, ExpiringKey.expires_at <= now)
                )
                session.add(ExpiringKey(key=key, count=1, expires_at=now + timedelta(seconds=ttl)))
        except IntegrityError:
            return False
        return True

    def incr(self, key: str, ttl: int) -> int:
        self._maybe_purge()
        now = datetime.now(UTC)
        for _ in range(3):
            try:
                with self._db.transaction() as session:
                    row = session.get(ExpiringKey, key, with_for_update=True)
                    if row is None or row.expires_at <= now:
                        if row is not None:
                            session.delete(row)
                            session.flush()
                        row = ExpiringKey(key=key, count=0, expires_at=now + timedelta(seconds=ttl))
                        session.add(row)
                    row.count += 1
                    return row.count
            except IntegrityError:
                continue  # a concurrent first increment won; count on top of it
        raise RuntimeError("could not increment a counter under contention")

    def count(self, key: str) -> int:
        now = datetime.now(UTC)
        with self._db.transaction(readonly=True) as session:
            row = session.scalar(select(ExpiringKey).where(ExpiringKey.key == key))
            return row.count if row and row.expires_at > now else 0

    def reset(self, key: str) -> None:
        with self._db.transaction() as session:
            session.execute(delete(ExpiringKey).where(ExpiringKey.key == key))

    def purge_expired(self) -> int:
        with self._db.transaction() as session:
            result = session.execute(
                delete(ExpiringKey).where(ExpiringKey.expires_at <= datetime.now(UTC))
            )
            return int(getattr(result, "rowcount", 0) or 0)

    def ping(self) -> None:
        self._db.ping()


class RedisEphemeralStore(EphemeralStore):
    def __init__(self, url: str, prefix: str = "hub:") -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix

    def add_once(self, key: str, ttl: int) -> bool:
        return bool(self._redis.set(self._prefix + key, 1, nx=True, ex=ttl))

    def incr(self, key: str, ttl: int) -> int:
        name = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, ttl, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def count(self, key: str) -> int:
        value = self._redis.get(self._prefix + key)
        return int(value) if value is not None else 0

    def reset(self, key: str) -> None:
        self._redis.delete(self._prefix + key)

    def ping(self) -> None:
        self._redis.ping()
