"""One contract for the short-lived store, run against every implementation: the in-memory fake
used in unit tests, SQLite, PostgreSQL and Redis (the last two where configured)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.store.db import Database
from hub.store.ephemeral import (
    EphemeralStore,
    MemoryEphemeralStore,
    RedisEphemeralStore,
    SqlEphemeralStore,
)
from hub.store.migrate import upgrade
from tests.conftest import backends, redis_available
from tests.support import databases

STORES = ["memory", *backends(), *(["redis"] if redis_available() else [])]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EphemeralStore]:
    kind = request.param
    if kind == "memory":
        yield MemoryEphemeralStore()
    elif kind == "redis":
        yield RedisEphemeralStore(databases.redis_url() or "", prefix=f"test:{uuid.uuid4().hex}:")
    elif kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'e.db'}"
        upgrade(url)
        db = Database(url)
        yield SqlEphemeralStore(db)
        db.dispose()
    else:
        factory = databases.PostgresFactory(databases.postgres_url() or "")
        url = factory.create()
        db = Database(url)
        yield SqlEphemeralStore(db)
        db.dispose()
        factory.drop(url)
        factory.close()


def test_add_once(store: EphemeralStore) -> None:
    assert store.add_once("jti:a", 60) is True
    assert store.add_once("jti:a", 60) is False
    assert store.add_once("jti:b", 60) is True


def test_counters(store: EphemeralStore) -> None:
    assert store.count("c") == 0
    assert [store.incr("c", 60) for _ in range(3)] == [1, 2, 3]
    assert store.count("c") == 3
    store.reset("c")
    assert store.count("c") == 0
    assert store.incr("c", 60) == 1


def test_store_answers(store: EphemeralStore) -> None:
    store.ping()


def test_memory_entries_expire() -> None:
    clock = Clock()
    store = MemoryEphemeralStore(clock)
    store.add_once("k", 10)
    store.incr("n", 10)
    clock.now += 11
    assert store.add_once("k", 10) is True
    assert store.count("n") == 0


def test_sql_entries_expire(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    upgrade(url)
    db = Database(url)
    store = SqlEphemeralStore(db)
    from datetime import UTC, datetime, timedelta

    from hub.store.models import ExpiringKey

    with db.transaction() as session:
        session.add(
            ExpiringKey(key="old", count=4, expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.add(
            ExpiringKey(key="older", count=1, expires_at=datetime.now(UTC) - timedelta(seconds=5))
        )
    assert store.count("old") == 0
    store.add_once("live", 60)
    assert store.purge_expired() == 2
    assert store.count("live") == 1
    assert store.add_once("old", 10) is True
    db.dispose()
