"""The audit log as a transparency log, on SQLite and PostgreSQL: every entry numbered without
gaps, integrated into the tree, covered by a signed checkpoint that verifies with the published
key; proofs verify; the database refuses UPDATE and DELETE; tampering (as a database owner
bypassing the triggers) makes verification fail naming the entry."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from sqlalchemy import text

from audit import merkle
from audit.note import Verifier, verify_checkpoint
from tests.support.world import conviction_event


def _send(client: Any, token: str) -> None:
    response = client.post(
        "/v1/messages",
        data=json.dumps(conviction_event()),
        content_type="application/cloudevents+json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 202, response.get_json()


def _checkpoint(client: Any) -> tuple[Any, list[Verifier]]:
    keys = [Verifier.parse(line) for line in client.get("/v1/audit/verifier-key").text.split()]
    note = client.get("/v1/audit/checkpoint")
    assert note.mimetype == "text/plain"
    return verify_checkpoint(note.text, keys), keys


def test_entries_are_covered_by_a_signed_checkpoint_and_proofs_verify(
    client: Any, services: Any, token: Any
) -> None:
    court = token("courts-sheffield")
    _send(client, court)
    services.transparency.integrate()  # what each serving process's integrator does
    first, _ = _checkpoint(client)
    assert first.origin == "hub.test/audit" and first.size > 0
    _send(client, court)
    assert _checkpoint(client)[0] == first  # serving a checkpoint signs nothing new
    services.transparency.integrate()
    second, _ = _checkpoint(client)
    assert second.size > first.size

    # The entries, as an IG tool reads them (audit:read is not a default scope).
    own = client.get("/v1/audit/entries?limit=500", headers={"Authorization": f"Bearer {court}"})
    assert own.status_code == 200
    items = own.get_json()["items"]
    assert items and all(
        json.loads(i["entry"])["actor"]["agency"] == "courts-sheffield" for i in items
    )
    for item in items:
        entry = json.loads(item["entry"])
        assert entry["seq"] == item["seq"]
        leaf = merkle.leaf_hash(item["entry"].encode())
        assert base64.b64decode(item["leafHash"]) == leaf
        if item["seq"] < second.size:
            proof = client.get(
                f"/v1/audit/proofs/inclusion?index={item['seq']}&tree_size={second.size}"
            ).get_json()
            path = [base64.b64decode(h) for h in proof["auditPath"]]
            assert merkle.verify_inclusion(leaf, item["seq"], second.size, path, second.root)
    consistency = client.get(
        f"/v1/audit/proofs/consistency?first={first.size}&second={second.size}"
    ).get_json()
    path = [base64.b64decode(h) for h in consistency["consistency"]]
    assert merkle.verify_consistency(first.size, second.size, first.root, second.root, path)

    # Sequence numbers have no gaps and no duplicates; the read itself was audited.
    with services.db.transaction(readonly=True) as session:
        seqs = list(session.scalars(text("SELECT seq FROM audit_entries ORDER BY seq")))
    assert seqs == list(range(len(seqs)))
    actions = [
        json.loads(i["entry"])["action"]
        for i in client.get(
            "/v1/audit/entries?action=audit.read", headers={"Authorization": f"Bearer {court}"}
        ).get_json()["items"]
    ]
    assert actions == ["audit.read"]


def test_bad_proof_requests_are_named(client: Any, services: Any) -> None:
    services.transparency.integrate()
    for query, field in (
        ("index=x&tree_size=1", "index"),
        ("index=0", "tree_size"),
        ("index=5&tree_size=2", "index"),
        ("index=0&tree_size=999999", "tree_size"),
    ):
        answer = client.get(f"/v1/audit/proofs/inclusion?{query}")
        assert answer.status_code == 400 and field in answer.get_json()["errors"], query
    assert client.get("/v1/audit/proofs/consistency?first=3&second=2").status_code == 400
    assert client.get("/v1/audit/entries").status_code == 401


def _owner_bypass(services: Any, statement: str) -> None:
    """Change the log as a database owner could: with the append-only triggers out of the way."""
    with services.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(statement))
        else:
            conn.execute(text("DROP TRIGGER audit_entries_no_update"))
            conn.execute(text("DROP TRIGGER audit_entries_no_delete"))
            conn.execute(text(statement))


def test_the_database_refuses_changes_to_the_log(services: Any, world: Any) -> None:
    services.transparency.integrate()
    for statement in (
        "UPDATE audit_entries SET action = 'x' WHERE seq = 0",
        "DELETE FROM audit_entries WHERE seq = 0",
        "DELETE FROM audit_nodes",
        "DELETE FROM audit_checkpoints",
    ):
        with pytest.raises(Exception, match="append-only"), services.db.engine.begin() as conn:
            conn.execute(text(statement))
    if services.db.engine.dialect.name == "postgresql":
        with pytest.raises(Exception, match="append-only"), services.db.engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_entries CASCADE"))
        # The application's role may only read and add.
        with (
            pytest.raises(Exception, match="permission denied"),
            services.db.engine.begin() as conn,
        ):
            conn.execute(text("SET LOCAL ROLE hub_app"))
            conn.execute(text("UPDATE audit_entries SET action = 'x' WHERE seq = 0"))


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        ("UPDATE audit_entries SET entry = replace(entry, '\"action\"', '\"actioN\"') "
         "WHERE seq = 1", "entry 1"),
        ("DELETE FROM audit_entries WHERE seq = 2", "entry 2 is missing"),
        ("UPDATE audit_entries SET seq = seq + 1000 WHERE seq = 3", "entry 3 is missing"),
        ("DELETE FROM audit_entries WHERE seq >= 4", "entry 4 onwards is missing"),
    ],
)  # fmt: skip
def test_tampering_fails_verification_naming_the_entry(
    services: Any, world: Any, tamper: str, named: str
) -> None:
    services.transparency.integrate()
    assert services.transparency.verify().ok
    _owner_bypass(services, tamper)
    result = services.transparency.verify()
    assert not result.ok
    assert named in result.detail, result.detail
