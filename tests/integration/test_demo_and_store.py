"""The demo world, and what the database itself guarantees."""

from __future__ import annotations

import json
import stat
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from hub.demo import AGENCIES, create_demo_world
from tests.conftest import audit_entries


def test_demo_world_and_its_credentials(services: Any) -> None:
    created, path = create_demo_world(services)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = json.loads(path.read_text())
    assert set(creds) == {agency_id for agency_id, _, _ in AGENCIES} | {"users", "ig_audit_tools"}
    assert (
        creds["ig_audit_tools"]["scope"] == "audit:read"
        and creds["ig_audit_tools"]["client_secret"]
    )
    for agency_id, _, _ in AGENCIES:
        entry = creds[agency_id]
        assert entry["client_id"] == agency_id
        assert entry["private_key_pem"].startswith("-----BEGIN PRIVATE KEY-----")
        assert entry["client_secret"] and entry["kid"]
    roles = {user["role"] for user in creds["users"]}
    assert {"ig_officer", "case_manager"} <= roles
    assert all(len(user["password"]) >= 12 for user in creds["users"])
    # Secrets are in the file, never in the database or the audit log.
    raw_audit = json.dumps(audit_entries(services))
    assert creds["courts-sheffield"]["client_secret"] not in raw_audit
    again, _ = create_demo_world(services)
    assert not again


def test_audit_entries_cannot_be_changed_or_removed(services: Any, world: Any) -> None:
    assert audit_entries(services)
    for statement in ("UPDATE audit_entries SET action = 'x'", "DELETE FROM audit_entries"):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            services.db.transaction() as session,
        ):
            session.execute(text(statement))
    if not services.db.is_sqlite:
        with (
            pytest.raises(DatabaseError, match="append-only"),
            services.db.transaction() as session,
        ):
            session.execute(text("TRUNCATE audit_entries"))
    assert audit_entries(services)
