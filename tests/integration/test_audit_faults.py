"""The audit log when things go wrong: a damaged tree is never built on (nothing more is signed,
proofs answer 503, verification still runs and names the change); bad numbers in queries are
400s and 404s, never 500s; a changed HUB_ISSUER keeps the log's origin; the integrator logs a
missed merge delay and survives a failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from audit import merkle
from audit.entry import Actor
from hub.bootstrap import build, load_policy
from hub.services.transparency import Integrator, TreeDamaged
from tests.conftest import AGREEMENTS_DAY
from tests.integration.test_audit_pages import _post
from tests.integration.test_audit_tools import _as_owner, _cli
from tests.integration.test_signin import _sign_in
from tests.integration.test_transparency_log import _send
from tests.support.world import PASSWORD


def _record(services: Any, n: int, when: datetime | None = None) -> None:
    with services.db.transaction() as session:
        for i in range(n):
            services.audit.record(
                session,
                "token.issued",
                actor=Actor(agency="courts-sheffield"),
                request_id=f"r{i}",
                **({"time": when} if when else {}),
            )


def test_a_damaged_tree_is_not_built_on(
    client: Any, services: Any, token: Any, settings: Any
) -> None:
    _send(client, token("courts-sheffield"))
    head = services.transparency.integrate()
    # A node on the tree's right edge: the one the next integration would build on.
    level, idx = merkle.decompose(0, head.size)[-1]
    first, last = idx << level, ((idx + 1) << level) - 1
    _as_owner(services, f"DELETE FROM audit_nodes WHERE level = {level} AND idx = {idx}")
    _record(services, 3)
    with pytest.raises(TreeDamaged):
        services.transparency.integrate()
    assert services.transparency.latest() == head  # nothing signed over the damage

    proof = client.get(f"/v1/audit/proofs/inclusion?index=0&tree_size={head.size}")
    assert proof.status_code == 503 and proof.mimetype == "application/problem+json"
    assert "hub audit verify" in proof.get_json()["detail"]

    result = _cli(settings, "audit", "verify")
    assert result.exit_code == 1
    assert "does not match the checkpoint" in result.output  # the refusal to integrate
    assert f"FAILED: the tree is missing its node over entries {first} to {last}" in result.output

    _sign_in(client, "ig.officer", PASSWORD)
    page = client.get("/ui/audit/entries/0")
    assert page.status_code == 200 and "does not verify" in page.text
    verified = _post(client, "/ui/audit/verification")
    assert verified.status_code == 200 and "Verification failed" in verified.text


def test_bad_numbers_are_named_not_500s(client: Any, services: Any, token: Any) -> None:
    services.transparency.integrate()
    court = token("courts-sheffield")
    huge = "9" * 25
    for path in (
        "/v1/audit/proofs/inclusion?index=%C2%B2&tree_size=1",
        f"/v1/audit/proofs/inclusion?index=0&tree_size={huge}",
        f"/v1/audit/proofs/consistency?first=1&second={huge}",
    ):
        assert client.get(path).status_code == 400, path
    entries = client.get(
        f"/v1/audit/entries?after={huge}", headers={"Authorization": f"Bearer {court}"}
    )
    assert entries.status_code == 400 and "after" in entries.get_json()["errors"]
    inbox = client.get(f"/v1/inbox?limit={huge}", headers={"Authorization": f"Bearer {court}"})
    assert inbox.status_code == 400

    _sign_in(client, "ig.officer", PASSWORD)
    assert client.get(f"/ui/audit/entries/{huge}").status_code == 404
    far = _post(client, "/ui/audit/", to="9999-12-31")
    assert far.status_code == 400 and "Enter a real date" in far.text
    paged = _post(client, "/ui/audit/", before=huge)
    assert paged.status_code == 200  # an unusable cursor starts from the newest


def test_the_origin_outlives_a_change_of_issuer(services: Any, settings: Any) -> None:
    _record(services, 2)
    first = services.transparency.integrate()
    moved = build(
        settings.with_overrides(issuer="https://hub.example.gov.uk"),
        policy=load_policy(settings).as_of(AGREEMENTS_DAY),
    )
    try:
        _record(moved, 2)
        second = moved.transparency.integrate()
        assert second.note.startswith("hub.test/audit\n") and second.size > first.size
        assert moved.transparency.verify().ok
    finally:
        moved.close()


def _events(capfd: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The hub's JSON log lines written to stderr since the last call."""
    lines = capfd.readouterr().err.splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_the_integrator_logs_a_missed_delay_and_survives_failure(
    services: Any, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    integrator = Integrator(services.transparency, max_delay=1)
    _record(services, 2, when=datetime.now(UTC) - timedelta(seconds=30))
    _events(capfd)
    integrator.tick()
    assert services.transparency.backlog() == (0, None)
    (missed,) = [e for e in _events(capfd) if e["event"] == "audit.merge_delay_missed"]
    assert missed["waited_seconds"] >= 30 and missed["max_merge_delay"] == 1
    integrator.tick()  # nothing waiting: nothing logged, nothing signed
    assert _events(capfd) == []
    assert services.transparency.latest().size == 2

    def broken() -> Any:
        raise RuntimeError("database away")

    monkeypatch.setattr(services.transparency, "integrate", broken)
    _record(services, 1)
    integrator.tick()  # logged, not raised: the thread lives on
    (failed,) = _events(capfd)
    assert failed["event"] == "audit.integrate_failed" and "database away" in failed["exception"]
