"""The tools that hold the hub to account, on SQLite and PostgreSQL: `hub audit export` and the
offline verifier (`python -m audit.verify`, run with the hub, Flask and SQLAlchemy unimportable),
and the witness, which must notice a history rewritten after it stored a checkpoint."""

from __future__ import annotations

import base64
import getpass
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from audit.entry import Actor
from audit.note import Verifier
from audit.verify import verify_file
from audit.witness import FetchError, HistoryRewritten, UntrustedKey, load_state, witness
from hub.cli import main
from tests.conftest import audit_entries
from tests.integration.test_transparency_log import _send

REPO = Path(__file__).resolve().parents[2]


def _cli(settings: Any, *args: str) -> Any:
    env = {
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": settings.database_url,
        "HUB_VAR_DIR": str(settings.var_dir),
        "HUB_ISSUER": settings.issuer,
        "HUB_MASTER_KEY": base64.b64encode(settings.master_key).decode(),
        "HUB_SECRET_KEY": base64.b64encode(settings.secret_key).decode(),
    }
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def _hub_key(services: Any) -> str:
    services.transparency.integrate()
    return str(services.transparency.verifiers()[0])


def _as_owner(services: Any, *statements: str) -> None:
    """Rewrite the log as the database's owner could, with the append-only triggers bypassed."""
    with services.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'audit%'")
            ).scalars()
            for name in list(names):
                conn.execute(text(f'DROP TRIGGER "{name}"'))
        for statement in statements:
            conn.execute(text(statement))


def _rewrite_history(services: Any, statement: str) -> None:
    """Change entries and rebuild the whole tree and its checkpoints, re-signed with the hub's
    own key: a rewrite that leaves nothing inconsistent inside the database."""
    _as_owner(services, statement, "DELETE FROM audit_nodes", "DELETE FROM audit_checkpoints")
    services.transparency.integrate()
    assert services.transparency.verify().ok  # the database alone cannot tell


def test_a_complete_export_verifies_offline_and_a_changed_one_does_not(
    client: Any, services: Any, token: Any, settings: Any, tmp_path: Path
) -> None:
    _send(client, token("courts-sheffield"))
    key = _hub_key(services)
    path = tmp_path / "audit.jsonl"
    result = _cli(settings, "audit", "export", str(path))
    assert result.exit_code == 0, result.output
    header, *entries = path.read_text().splitlines()
    head = json.loads(header)
    assert head["complete"] is True and head["count"] == len(entries) == head["treeSize"]
    report = verify_file(path, [Verifier.parse(key)])
    assert report.ok and report.pinned, report.detail
    assert f"at size {head['treeSize']}" in report.detail

    # The export was itself audited (after the checkpoint it carries).
    exported = [
        json.loads(e) for (e,) in _rows(services, "SELECT entry FROM audit_entries ORDER BY seq")
    ]
    assert exported[-1]["action"] == "audit.exported"
    assert exported[-1]["actor"] == {"user": f"cli:{getpass.getuser()}"}

    # With the standard library alone (the hub, Flask and SQLAlchemy cannot be imported).
    offline = _offline(path, "--key", key)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout.startswith("ok: every entry of the tree verified")

    changed = tmp_path / "changed.jsonl"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace('"v\\":1', '"v\\":2', 1)
    changed.write_text("\n".join(lines) + "\n")
    bad = _offline(changed, "--key", key)
    assert bad.returncode == 1 and "does not hash to" not in bad.stdout
    assert "the entries do not hash to the checkpoint's root" in bad.stderr

    dropped = tmp_path / "dropped.jsonl"
    dropped.write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    assert "entry 1 is missing" in _offline(dropped, "--key", key).stderr

    # Without the hub's key the verdict is withheld (exit 3), whoever signed the file.
    unpinned = _offline(path)
    assert unpinned.returncode == 3 and "NOT VERIFIED" in unpinned.stderr
    assert _offline(path, "--trust-file-keys").returncode == 0
    # A file signed by someone else: consistent on its own keys, refused against the hub's.
    other = _rewrite_header(path, tmp_path / "other.jsonl")
    assert verify_file(other, []).ok
    refused = _offline(other, "--key", key)
    assert refused.returncode == 1 and "checkpoint does not verify" in refused.stderr
    assert _offline(tmp_path / "missing.jsonl").returncode == 2


def test_a_person_export_carries_inclusion_proofs(
    client: Any, services: Any, token: Any, settings: Any, tmp_path: Path
) -> None:
    court = token("courts-sheffield")
    _send(client, court)
    _send(client, court)
    key = Verifier.parse(_hub_key(services))
    path = tmp_path / "person.jsonl"
    person = "pnc:2011/0482113C"
    result = _cli(settings, "audit", "export", str(path), "--person", person)
    assert result.exit_code == 0, result.output
    header, *entries = path.read_text().splitlines()
    assert json.loads(header)["complete"] is False
    items = [json.loads(e) for e in entries]
    subjects = {json.loads(i["entry"]).get("subject") for i in items}
    assert items and len(subjects) == 1 and None not in subjects
    assert all(i["inclusion"] for i in items)
    assert verify_file(path, [key]).ok

    forged = json.loads(entries[0])
    forged["inclusion"][0] = forged["inclusion"][1] if len(forged["inclusion"]) > 1 else "AAAA"
    path.write_text("\n".join([header, json.dumps(forged), *entries[1:]]) + "\n")
    report = verify_file(path, [key])
    assert not report.ok and report.bad_seq == forged["seq"], report.detail

    unknown = _cli(
        settings, "audit", "export", str(tmp_path / "x.jsonl"), "--person", "crn:Z999999"
    )
    assert unknown.exit_code == 1 and "knows no one" in unknown.output
    assert not (tmp_path / "x.jsonl").exists()


def _rows(services: Any, sql: str) -> list[Any]:
    with services.db.engine.connect() as conn:
        return list(conn.execute(text(sql)))


def _offline(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    blocked = "import sys; [sys.modules.__setitem__(m, None) for m in ('hub', 'flask', 'sqlalchemy', 'policies')]; "
    run = "import runpy; runpy.run_module('audit.verify', run_name='__main__')"
    return subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-c", blocked + run, str(path), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def _rewrite_header(path: Path, target: Path) -> Path:
    """The same entries under a checkpoint signed with a key that is not the hub's."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from audit.note import Checkpoint, Signer, verify_checkpoint

    header, *rest = path.read_text().splitlines()
    head = json.loads(header)
    signed = verify_checkpoint(head["checkpoint"], [Verifier.parse(k) for k in head["keys"]])
    signer = Signer(signed.origin, Ed25519PrivateKey.generate())
    head["checkpoint"] = signer.sign(Checkpoint(signed.origin, signed.size, signed.root).body())
    head["keys"] = [str(signer.verifier)]
    target.write_text("\n".join([json.dumps(head), *rest]) + "\n")
    return target


def _fetch(client: Any, services: Any) -> Any:
    def fetch(path: str) -> str:
        if path == "/v1/audit/checkpoint":
            services.transparency.integrate()  # the serving processes' integrator, in effect
        answer = client.get(path)
        if answer.status_code != 200:
            raise FetchError(f"GET {path} answered {answer.status_code}")
        return str(answer.text)

    return fetch


def test_the_witness_accepts_growth_and_catches_a_rewritten_history(
    client: Any, services: Any, token: Any, tmp_path: Path
) -> None:
    court = token("courts-sheffield")
    _send(client, court)
    state_file = tmp_path / "witness.json"
    first = witness(_fetch(client, services), state_file, [])
    assert first.previous_size is None and first.trusted_new_keys  # trusted on first use
    stored = load_state(state_file)
    assert stored is not None and stored.size == first.checkpoint.size

    _send(client, court)
    second = witness(_fetch(client, services), state_file, [])
    assert second.previous_size == first.checkpoint.size < second.checkpoint.size
    assert "consistent with the stored checkpoint" in second.describe()
    before = state_file.read_text()

    # The operator changes an early entry and rebuilds tree and checkpoints with the hub's key.
    _rewrite_history(
        services,
        "UPDATE audit_entries SET entry = replace(entry, '\"time\"', '\"timE\"') WHERE seq = 1",
    )
    _send(client, court)
    with pytest.raises(HistoryRewritten, match="entries before .* were changed"):
        witness(_fetch(client, services), state_file, [])
    assert state_file.read_text() == before  # the stored checkpoint is kept
    (found,) = tmp_path.glob("witness.json.evidence-*.json")
    evidence = json.loads(found.read_text())
    assert evidence["stored_checkpoint"] == load_state(state_file).checkpoint  # type: ignore[union-attr]
    assert evidence["new_checkpoint"] != evidence["stored_checkpoint"]


def test_the_witness_catches_a_rolled_back_log_and_an_unknown_key(
    client: Any, services: Any, token: Any, tmp_path: Path
) -> None:
    court = token("courts-sheffield")
    _send(client, court)
    _send(client, court)
    state_file = tmp_path / "witness.json"
    size = witness(_fetch(client, services), state_file, []).checkpoint.size
    _rewrite_history(services, f"DELETE FROM audit_entries WHERE seq >= {size // 2}")
    with pytest.raises(HistoryRewritten, match="shrank"):
        witness(_fetch(client, services), state_file, [])

    # A rotated key is not trusted until the agency passes it with --key.
    state_file.unlink()
    witness(_fetch(client, services), state_file, [])
    new_key = services.transparency.rotate_key(Actor(user="test"))
    rotated = audit_entries(services, "audit.key_rotated")
    assert rotated[-1]["reasons"] == [f"key:{new_key.id.hex()}"]
    # The checkpoint covering the rotation is already signed with the new key.
    with pytest.raises(UntrustedKey, match="pass it with --key"):
        witness(_fetch(client, services), state_file, [])
    _send(client, court)
    with pytest.raises(UntrustedKey, match="pass it with --key"):
        witness(_fetch(client, services), state_file, [])
    outcome = witness(_fetch(client, services), state_file, [new_key])
    assert outcome.checkpoint.size > size // 2
    assert str(new_key) in load_state(state_file).keys  # type: ignore[union-attr]


def test_verify_against_a_key_kept_outside_the_database(
    client: Any, services: Any, token: Any, settings: Any
) -> None:
    """An operator holding the database and the master key can start a new checkpoint key,
    rewrite the log and re-sign it: the database then agrees with itself, and only a verifier
    given the hub's key from elsewhere (an agency's note of it) sees the rewrite."""
    _send(client, token("courts-sheffield"))
    kept = _hub_key(services)
    assert _cli(settings, "audit", "verify", "--key", kept).exit_code == 0
    services.transparency.rotate_key(Actor(user="test"))
    _rewrite_history(
        services,
        "UPDATE audit_entries SET entry = replace(entry, '\"time\"', '\"timE\"') WHERE seq = 1",
    )
    refused = _cli(settings, "audit", "verify", "--key", kept)
    assert refused.exit_code == 1
    assert "no known key signed this note" in refused.output
    bad_key = _cli(settings, "audit", "verify", "--key", "not-a-key")
    assert bad_key.exit_code == 2 and "--key" in bad_key.output
