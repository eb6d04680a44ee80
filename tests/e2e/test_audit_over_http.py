"""The audit log through a running gunicorn: each worker's integrator brings entries under a
signed checkpoint within the configured maximum merge delay, without anyone asking for one; an
agency's witness (`hub audit witness URL --state FILE`, a separate process speaking HTTP) accepts
the log as it grows."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from tests.support.server import BIN, start_hub, stop


def _tree_and_entries(database_url: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            size = conn.execute(text("SELECT coalesce(max(tree_size), 0) FROM audit_checkpoints"))
            count = conn.execute(text("SELECT count(*) FROM audit_entries"))
            return int(size.scalar_one()), int(count.scalar_one())
    finally:
        engine.dispose()


def integrated(database_url: str) -> None:
    """Wait until a signed checkpoint covers every entry committed so far (liveness: a minute)."""
    _, committed = _tree_and_entries(database_url)
    deadline = time.monotonic() + 60
    while _tree_and_entries(database_url)[0] < committed:
        assert time.monotonic() < deadline, "no checkpoint covered the entries"
        time.sleep(0.2)


def _witness(url: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (the hub command, fixed arguments)
        [str(BIN / "hub"), "audit", "witness", url, "--state", str(state)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": str(BIN)},  # no HUB_* settings: the witness needs no hub configuration
    )


def test_entries_are_integrated_without_being_asked_and_a_witness_follows(
    database_url: str, tmp_path: Path
) -> None:
    process, hub = start_hub(
        tmp_path / "var", database_url, extra_env={"HUB_AUDIT_MAX_MERGE_DELAY": "1"}
    )
    try:
        # `hub demo` wrote entries before the server started; no one has read a checkpoint.
        creds = hub.credentials["courts-sheffield"]
        issued = requests.post(
            hub.token_endpoint,
            data={"grant_type": "client_credentials"},
            auth=(creds["client_id"], creds["client_secret"]),
            timeout=10,
        )
        assert issued.status_code == 200
        integrated(database_url)  # without anyone reading a checkpoint

        state = tmp_path / "witness.json"
        first = _witness(hub.url, state)
        assert first.returncode == 0, first.stderr
        assert "trusting on first use" in first.stderr and "first checkpoint stored" in first.stdout
        requests.post(hub.token_endpoint, data={"grant_type": "client_credentials"}, timeout=10)
        integrated(database_url)
        second = _witness(hub.url, state)
        assert second.returncode == 0, second.stderr
        assert "consistent with the stored checkpoint" in second.stdout

        # The demo's IG tools client reads every agency's entries.
        tools = hub.credentials["ig_audit_tools"]
        ig_token = requests.post(
            hub.token_endpoint,
            data={"grant_type": "client_credentials", "scope": tools["scope"]},
            auth=(tools["client_id"], tools["client_secret"]),
            timeout=10,
        ).json()["access_token"]
        read = requests.get(
            hub.url + "/v1/audit/entries?action=token.issued",
            headers={"Authorization": f"Bearer {ig_token}"},
            timeout=10,
        )
        assert read.status_code == 200
        agencies = {json.loads(i["entry"])["actor"]["agency"] for i in read.json()["items"]}
        assert {"courts-sheffield", "probation-south-yorkshire"} <= agencies
    finally:
        stop(process)
    unreachable = _witness(hub.url, tmp_path / "witness.json")
    assert unreachable.returncode == 2 and "cannot witness" in unreachable.stderr
