from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from hub.settings import ConfigError, Settings


def test_production_refuses_to_start_without_its_secrets(tmp_path: Path) -> None:
    env = {
        "HUB_DATABASE_URL": "postgresql://db/hub",
        "HUB_ISSUER": "https://hub.example",
        "HUB_VAR_DIR": str(tmp_path),
    }
    with pytest.raises(ConfigError, match="HUB_MASTER_KEY"):
        Settings.from_env(env)
    with pytest.raises(ConfigError, match="HUB_DATABASE_URL"):
        Settings.from_env({"HUB_VAR_DIR": str(tmp_path)})
    assert not any(tmp_path.iterdir())  # nothing generated in production


def test_demo_generates_private_key_files_once(tmp_path: Path) -> None:
    env = {"HUB_ENV": "demo", "HUB_VAR_DIR": str(tmp_path)}
    first = Settings.from_env(env)
    assert first.database_url == f"sqlite:///{tmp_path / 'hub.db'}"
    key_file = tmp_path / "keys" / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Settings.from_env(env).master_key == first.master_key
    assert first.master_key != first.secret_key


def test_keys_must_be_32_bytes_of_base64(tmp_path: Path) -> None:
    env = {"HUB_ENV": "demo", "HUB_VAR_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="base64"):
        Settings.from_env({**env, "HUB_MASTER_KEY": "not base64!"})
    with pytest.raises(ConfigError, match="32 bytes"):
        Settings.from_env({**env, "HUB_MASTER_KEY": base64.b64encode(os.urandom(16)).decode()})
    with pytest.raises(ConfigError, match="integer"):
        Settings.from_env({**env, "HUB_MAX_BODY_BYTES": "lots"})


def test_settings_never_show_secrets(tmp_path: Path) -> None:
    settings = Settings.from_env({"HUB_ENV": "demo", "HUB_VAR_DIR": str(tmp_path)})
    assert base64.b64encode(settings.master_key).decode() not in repr(settings)
    assert "master_key" not in repr(settings)
