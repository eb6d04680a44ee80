"""Fixtures shared by every test layer. See tests/support/databases.py for the database policy."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from hub.app import create_app
from hub.bootstrap import Services, build, load_policy
from hub.settings import Settings
from tests.support import databases
from tests.support.world import ClientCreds, make_world

# No test passes or fails on a timing: hypothesis's per-example deadline is off (a loaded CI
# machine made a 1 ms example take 265 ms once).
hypothesis_settings.register_profile("hub", deadline=None)
hypothesis_settings.load_profile("hub")

ARTIFACTS = Path(__file__).parent / "artifacts"


def pytest_configure(config: pytest.Config) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if databases.required():
        problems = []
        pg, redis_url = databases.postgres_url(), databases.redis_url()
        if not pg:
            problems.append("HUB_TEST_POSTGRES_URL is not set")
        elif why := databases.check_postgres(pg):
            problems.append(f"PostgreSQL at HUB_TEST_POSTGRES_URL does not answer: {why}")
        if not redis_url:
            problems.append("HUB_TEST_REDIS_URL is not set")
        elif why := databases.check_redis(redis_url):
            problems.append(f"Redis at HUB_TEST_REDIS_URL does not answer: {why}")
        if problems:
            raise pytest.UsageError("HUB_REQUIRE_SERVICES=1 but: " + "; ".join(problems))


def backends() -> list[str]:
    """SQLite always; PostgreSQL where it is configured and answers."""
    names = ["sqlite"]
    pg = databases.postgres_url()
    if pg and (databases.required() or databases.check_postgres(pg) is None):
        names.append("postgresql")
    return names


def redis_available() -> bool:
    url = databases.redis_url()
    return bool(url) and (databases.required() or databases.check_redis(url) is None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        # `@pytest.mark.backends("postgresql")`: a test only one database can run (no skips).
        marker = metafunc.definition.get_closest_marker("backends")
        names = [b for b in backends() if marker is None or b in marker.args]
        metafunc.parametrize("backend", names, scope="session")


@pytest.fixture(scope="session")
def _factories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {}
    yield made
    for factory in made.values():
        factory.close()


@pytest.fixture
def database_url(
    backend: str, _factories: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if backend not in _factories:
        if backend == "sqlite":
            _factories[backend] = databases.SqliteFactory(tmp_path_factory.mktemp("sqlite"))
        else:
            _factories[backend] = databases.PostgresFactory(databases.postgres_url() or "")
    factory = _factories[backend]
    url = factory.create()
    yield url
    factory.drop(url)


def make_settings(database_url: str, var_dir: Path, **overrides: Any) -> Settings:
    env = {
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": database_url,
        "HUB_VAR_DIR": str(var_dir),
        "HUB_ISSUER": "http://hub.test",
        "HUB_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "HUB_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "HUB_LOG_LEVEL": "WARNING",
    }
    return Settings.from_env(env).with_overrides(**overrides)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Settings a test changes: `@pytest.mark.parametrize("settings_overrides", [{...}])`."""
    return {}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]) -> Settings:
    return make_settings(database_url, tmp_path / "var", **settings_overrides)


# The seed agreements are decided as on this day in tests, so their review date passing fails
# `hub policy lint`'s warning and the agreements' own cases, not every test at once.
AGREEMENTS_DAY = date(2026, 12, 1)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build(settings, policy=load_policy(settings).as_of(AGREEMENTS_DAY))
    yield built
    built.close()


@pytest.fixture
def app(settings: Settings, services: Services) -> Any:
    flask_app = create_app(settings, services)
    flask_app.config["TESTING"] = True
    return flask_app


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def world(services: Services) -> dict[str, ClientCreds]:
    return make_world(services)


@pytest.fixture
def token(client: Any, world: dict[str, ClientCreds]) -> Any:
    """token(agency_id, scope=None) -> a bearer token from the real token endpoint."""

    def get(agency_id: str, scope: str | None = None) -> str:
        creds = world[agency_id]
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
        response = client.post(
            "/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return str(response.get_json()["access_token"])

    return get


def audit_entries(services: Services, action: str | None = None) -> list[dict[str, Any]]:
    """The audit log's entries (parsed canonical JSON), oldest first."""
    from sqlalchemy import select

    from hub.store.models import AuditEntry

    with services.db.transaction(readonly=True) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        entries = [json.loads(row.entry) for row in rows]
    return [e for e in entries if action is None or e["action"] == action]
