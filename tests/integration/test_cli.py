"""The `hub` command, run in-process with click's runner against a real database."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.bootstrap import Services
from hub.cli import main
from hub.store.models import ClientKey, Message, OAuthClient, User
from tests.conftest import audit_entries
from tests.support.adapters import EXAMPLES
from tests.support.world import public_pem


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "HUB_ENV": "test",
        "HUB_DATABASE_URL": database_url,
        "HUB_VAR_DIR": str(tmp_path / "var"),
        "HUB_ISSUER": "http://hub.test",
        "HUB_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "HUB_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "HUB_LOG_LEVEL": "WARNING",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def run(*args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result


def test_agency_client_and_user(cli_env: dict[str, str], tmp_path: Path) -> None:
    from hub.bootstrap import build
    from hub.settings import Settings

    assert (
        run(
            "agency",
            "add",
            "provider-x",
            "--name",
            "Provider X",
            "--kind",
            "provider",
            "--region",
            "Yorkshire",
        ).exit_code
        == 0
    )
    duplicate = run(
        "agency",
        "add",
        "provider-x",
        "--name",
        "Provider X",
        "--kind",
        "provider",
        "--region",
        "Yorkshire",
    )
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output

    key_file = tmp_path / "key.pem"
    key_file.write_bytes(public_pem("provider-x"))
    with_key = run("client", "add", "provider-x", "--name", "CMS", "--public-key", str(key_file))
    assert (
        with_key.exit_code == 0
        and "kid:" in with_key.output
        and "client_secret" not in with_key.output
    )
    with_secret = run(
        "client", "add", "provider-x", "--name", "CMS 2", "--secret", "--scope", "inbox:read"
    )
    assert with_secret.exit_code == 0 and "client_secret:" in with_secret.output
    secret = with_secret.output.split("client_secret: ")[1].split()[0]

    added = run(
        "user",
        "add",
        "Case.Worker",
        "--name",
        "Case Worker",
        "--agency",
        "provider-x",
        "--role",
        "case_manager",
        input="a-long-enough-password\na-long-enough-password\n",
    )
    assert added.exit_code == 0, added.output

    services = build(Settings.from_env())
    with services.db.transaction(readonly=True) as session:
        clients = session.scalars(
            select(OAuthClient).where(OAuthClient.agency_id == "provider-x")
        ).all()
        assert sorted(c.auth_methods for c in clients) == ["client_secret_basic", "private_key_jwt"]
        assert all(secret not in (c.secret_hash or "") for c in clients)
        assert session.scalar(select(ClientKey.client_id)) in {c.client_id for c in clients}
        assert session.scalar(select(User.username)) == "case.worker"
    disabled = run("client", "disable", clients[0].client_id)
    assert disabled.exit_code == 0 and "disabled" in disabled.output
    assert "no client" in run("client", "disable", "nobody-here").output
    actions = [e["action"] for e in audit_entries(services)]
    assert actions == [
        "agency.added",
        "client.added",
        "client.added",
        "user.added",
        "client.disabled",
    ]
    services.close()


def test_bad_input_is_a_clear_error(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert "no agency" in run("client", "add", "nowhere", "--name", "x", "--secret").output
    not_a_key = tmp_path / "k.pem"
    not_a_key.write_text("hello")
    run("agency", "add", "iom-x", "--name", "IOM X", "--kind", "iom", "--region", "Y")
    assert (
        "not a PEM public key"
        in run("client", "add", "iom-x", "--name", "x", "--public-key", str(not_a_key)).output
    )
    short = run(
        "user",
        "add",
        "u",
        "--name",
        "U",
        "--agency",
        "iom-x",
        "--role",
        "iom_officer",
        input="short\nshort\n",
    )
    assert "at least 12 characters" in short.output


def test_production_settings_missing_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HUB_ENV", "HUB_DATABASE_URL", "HUB_MASTER_KEY", "HUB_SECRET_KEY", "HUB_ISSUER"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(
        main, ["agency", "add", "x-y", "--name", "X", "--kind", "iom", "--region", "Y"]
    )
    assert result.exit_code != 0
    assert "HUB_DATABASE_URL is required in production" in result.output
    assert "HUB_ENV=demo" in result.output and "Traceback" not in result.output


@pytest.fixture
def iom_and_court(cli_env: dict[str, str]) -> None:
    for agency_id, kind in (("iom-sheffield", "iom"), ("courts-sheffield", "courts")):
        added = run(
            "agency", "add", agency_id, "--name", agency_id, "--kind", kind, "--region", "Y"
        )
        assert added.exit_code == 0, added.output


@contextmanager
def _hub() -> Iterator[Services]:
    """The hub the commands just used (same environment), to look at what they stored."""
    from hub.bootstrap import build
    from hub.settings import Settings

    services = build(Settings.from_env())
    try:
        yield services
    finally:
        services.close()


def _messages() -> list[tuple[str, str]]:
    """Every stored message's sender and type."""
    with _hub() as services, services.db.transaction(readonly=True) as session:
        return [
            (m.source_agency_id, m.type)
            for m in session.scalars(select(Message).order_by(Message.id)).all()
        ]


def test_adapter_import_reads_a_cohort_file(iom_and_court: None) -> None:
    imported = run(
        "adapter",
        "import",
        "iom",
        "cohort",
        str(EXAMPLES / "iom-cohort.csv"),
        "--agency",
        "iom-sheffield",
    )
    assert imported.exit_code == 0, imported.output
    # The summary is the one line on stdout; the progress bar is drawn only on a terminal.
    assert imported.stdout.splitlines() == [
        "iom/cohort: 3 accepted, 0 held for identity review, 0 rejected, 0 skipped"
    ]
    assert imported.stderr == ""
    assert _messages() == [("iom-sheffield", "cohort-membership")] * 3

    # The same file again, as the endpoint: each record answers as the first time, nothing added.
    again = run(
        "adapter",
        "import",
        "iom",
        "cohort",
        str(EXAMPLES / "iom-cohort.csv"),
        "--agency",
        "iom-sheffield",
    )
    assert again.exit_code == 0 and "3 accepted" in again.stdout
    assert len(_messages()) == 3


def test_adapter_import_names_a_bad_row_keeps_the_rest_and_exits_1(
    iom_and_court: None, tmp_path: Path
) -> None:
    raw = (EXAMPLES / "iom-cohort.csv").read_text(encoding="utf-8-sig")
    assert raw.count("01/09/2025") == 1  # row 2's adopted_on
    bad = tmp_path / "cohort.csv"
    bad.write_text(raw.replace("01/09/2025", "2025-09-01"), encoding="utf-8")
    imported = run("adapter", "import", "iom", "cohort", str(bad), "--agency", "iom-sheffield")
    assert imported.exit_code == 1
    assert imported.stdout.splitlines() == [
        "rejected: row 2 adopted_on: not a date: expected DD/MM/YYYY",
        "iom/cohort: 2 accepted, 0 held for identity review, 1 rejected, 0 skipped",
    ]
    assert "Traceback" not in imported.output
    assert len(_messages()) == 2
    with _hub() as services:
        [received] = audit_entries(services, "document.received")
    assert "rejected:1" in received["reasons"] and "accepted:2" in received["reasons"]


@pytest.mark.parametrize(
    ("agency_id", "says"),
    [
        ("courts-sheffield", "iom documents come from iom agencies; yours is courts"),
        ("nowhere-at-all", "iom documents come from iom agencies; yours is unknown"),
    ],
)
def test_adapter_import_from_the_wrong_agency_is_one_line(
    iom_and_court: None, agency_id: str, says: str
) -> None:
    imported = run(
        "adapter",
        "import",
        "iom",
        "cohort",
        str(EXAMPLES / "iom-cohort.csv"),
        "--agency",
        agency_id,
    )
    assert imported.exit_code != 0
    assert imported.output.strip().splitlines() == [f"Error: {says}"]
    assert _messages() == []


def test_adapter_import_of_an_unknown_document_lists_the_known_ones(iom_and_court: None) -> None:
    imported = run(
        "adapter",
        "import",
        "iom",
        "nominals",
        str(EXAMPLES / "iom-cohort.csv"),
        "--agency",
        "iom-sheffield",
    )
    assert imported.exit_code != 0
    [line] = imported.output.strip().splitlines()
    assert line.startswith("Error: no adapter for iom nominals; known: ")
    for known in (
        "courts hearings",
        "iom cohort",
        "prison events",
        "prison prisoners",
        "probation cases",
        "probation referrals",
        "provider events",
    ):
        assert known in line
    assert _messages() == []


def test_audit_verify_and_key_rotation(cli_env: dict[str, str]) -> None:
    from sqlalchemy import text as sql

    from hub.bootstrap import build
    from hub.settings import Settings

    assert (
        run(
            "agency", "add", "courts-leeds", "--name", "Leeds", "--kind", "courts", "--region", "Y"
        ).exit_code
        == 0
    )
    first = run("audit", "verify")
    assert first.exit_code == 0, first.output
    assert "ok: 1 entries and 1 checkpoints verified" in first.output
    rotated = run("audit", "rotate-key")
    assert rotated.exit_code == 0 and "new verifier key: hub.test/audit+" in rotated.output
    assert (
        run(
            "agency", "add", "courts-york", "--name", "York", "--kind", "courts", "--region", "Y"
        ).exit_code
        == 0
    )
    again = run("audit", "verify")
    assert again.exit_code == 0, again.output  # the old checkpoint verifies with the old key
    # agency, rotation (its own checkpoint, the new key's first), agency
    assert "3 entries and 3 checkpoints verified" in again.output
    services = build(Settings.from_env())
    with services.db.engine.begin() as conn:  # a database owner rewrites history
        if conn.dialect.name == "postgresql":
            conn.execute(sql("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(sql("DROP TRIGGER audit_entries_no_update"))
        conn.execute(sql("UPDATE audit_entries SET entry = replace(entry, 'leeds', 'leedz')"))
    services.close()
    broken = run("audit", "verify")
    assert broken.exit_code == 1
    assert "entry 0" in broken.output
