"""The `hub` command, run in-process with click's runner against a real database."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hub.cli import main
from hub.store.models import ClientKey, OAuthClient, User
from tests.conftest import audit_entries
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
