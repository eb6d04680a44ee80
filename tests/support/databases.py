"""Real databases for tests: a migrated template per session, a fresh copy per test.

SQLite always. PostgreSQL when HUB_TEST_POSTGRES_URL is set; with HUB_REQUIRE_SERVICES=1 a
PostgreSQL or Redis that does not answer fails the run instead of being left out.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from hub.store.migrate import upgrade


def required() -> bool:
    return os.environ.get("HUB_REQUIRE_SERVICES") == "1"


def postgres_url() -> str | None:
    return os.environ.get("HUB_TEST_POSTGRES_URL") or None


def redis_url() -> str | None:
    return os.environ.get("HUB_TEST_REDIS_URL") or None


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


class SqliteFactory:
    backend = "sqlite"

    def __init__(self, root: Path) -> None:
        self._root = root
        self._template = root / "template.db"
        upgrade(f"sqlite:///{self._template}")

    def create(self) -> str:
        path = self._root / f"{uuid.uuid4().hex}.db"
        shutil.copyfile(self._template, path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresFactory:
    backend = "postgresql"

    def __init__(self, admin_url: str) -> None:
        self._admin = _libpq(admin_url)
        self._template = f"hub_tpl_{uuid.uuid4().hex[:10]}"
        self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self._template)))
        upgrade(_with_database(admin_url, self._template))

    def _execute(self, statement: sql.Composable) -> None:
        with psycopg.connect(self._admin, autocommit=True) as conn:
            conn.execute(statement)

    def create(self) -> str:
        name = f"hub_t_{uuid.uuid4().hex[:12]}"
        self._execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(self._template)
            )
        )
        return _with_database(self._admin, name)

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    def close(self) -> None:
        self.drop(_with_database(self._admin, self._template))


def check_postgres(url: str) -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        return f"{type(error).__name__}: {error}".strip()
    return None


def check_redis(url: str) -> str | None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        return f"{type(error).__name__}: {error}"
    return None
