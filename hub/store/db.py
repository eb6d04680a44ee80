"""The engine and the unit of work. One `Database` per app, built by the composition root."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (SQLAlchemy would otherwise look for psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        url = normalise_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # hide_parameters: a database error's message must never carry values (identifiers,
        # usernames) into the logs.
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
        if self.is_sqlite:
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin_immediate)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(
            self.engine.execution_options(hub_readonly=True), expire_on_commit=False
        )

    @contextmanager
    def transaction(self, *, readonly: bool = False) -> Iterator[Session]:
        """A unit of work: everything inside commits together or not at all.

        `readonly` lets SQLite readers run beside a writer instead of queueing for its lock.
        """
        session = (self._readers if readonly else self._sessions)()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take over transaction control from pysqlite so BEGIN IMMEDIATE below is honoured.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=FULL")  # an accepted (202) message survives a power cut
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Writers queue on the database lock at BEGIN instead of failing mid-transaction.
    readonly = conn.get_execution_options().get("hub_readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")
