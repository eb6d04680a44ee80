"""`hub simulate` against a running gunicorn, as `make run` starts it: four simulated weeks of
the synthetic population at full speed arrive (releases stored, referrals in the provider's inbox,
a reconviction alert in probation's for every conviction), the log holds counts and no one's name
or number, and a second run continues the first. SIGINT and SIGTERM stop it cleanly, even while it
still waits for the hub to answer."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from hub.demo import AGENCIES
from hub.simulate import DAY_COUNTS, demo_staff
from hub.store.db import Database
from hub.store.models import Message
from hub.synthetic import Population
from tests.support.server import BIN, RunningHub, free_port

START = date(2025, 1, 6)  # a fixed Monday in the past: the same documents on any day the test runs
DAYS = 28
SEED = 2011
ALERT = "uk.gov.justice.hub.reconviction-alert.v1"
REFERRAL = "uk.gov.justice.hub.referral.v1"


def simulate(hub: RunningHub, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "hub"),
            "simulate",
            "--url",
            hub.url,
            "--speed",
            "0",
            "--seed",
            str(SEED),
            *args,
        ],
        env=hub.env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def totals(output: str) -> dict[str, int]:
    [line] = [line for line in output.splitlines() if line.startswith("simulate: finished")]
    return {k: int(v) for k, v in (pair.split("=") for pair in line.split(": ", 2)[2].split())}


def inbox(hub: RunningHub, agency_id: str) -> Counter[str]:
    """The types of everything in the agency's inbox."""
    creds = hub.credentials[agency_id]
    token = requests.post(
        hub.token_endpoint,
        data={"grant_type": "client_credentials", "scope": "inbox:read"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    found: Counter[str] = Counter()
    params: dict[str, str | int] = {"limit": 100}
    while True:
        page = requests.get(
            hub.url + "/v1/inbox",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        found.update(item["message"]["type"] for item in page["items"])
        if not page["has_more"]:
            return found
        params["after"] = page["next_cursor"]


def test_four_simulated_weeks_reach_the_agencies_and_the_log_names_no_one(
    hub_server: RunningHub, database_url: str
) -> None:
    run = simulate(hub_server, "--start", START.isoformat(), "--days", str(DAYS))
    assert run.returncode == 0, run.stderr
    sent = totals(run.stdout)

    # What the population planned for those days (the same seed and start: the same people).
    population = Population(SEED, START, demo_staff())
    planned: Counter[str] = Counter()
    for offset in range(DAYS):
        planned.update(population.day(START + timedelta(days=offset)).counts)
    assert {name: sent[name] for name in DAY_COUNTS} == {name: planned[name] for name in DAY_COUNTS}
    assert sent["rejected"] == 0 and sent["held"] == 0 and sent["accepted"] > 1000
    assert planned["released"] > 150 and planned["convictions"] >= 1

    # Releases are stored (prisoner records and release events); nobody is sent them yet.
    db = Database(database_url)
    try:
        with db.transaction(readonly=True) as session:
            releases = session.scalar(
                select(func.count()).select_from(Message).where(Message.type == "release")
            )
    finally:
        db.engine.dispose()
    assert releases == planned["prisoners"] + planned["released"]
    # Referral forms reach the provider; probation holds every case from its referral on, so
    # each conviction (a reconviction, or an offence from before release) alerts it.
    assert inbox(hub_server, "provider-doncaster-alliance")[REFERRAL] == planned["referrals"]
    assert inbox(hub_server, "probation-south-yorkshire")[ALERT] == planned["convictions"]
    assert inbox(hub_server, "iom-sheffield")[ALERT] <= planned["convictions"]

    output = run.stdout + run.stderr
    assert all(line.startswith("simulate: ") for line in output.splitlines())
    for person in population.people:
        for personal in person.personal():
            assert personal not in output

    # Another run with the same seed continues where that one stopped.
    again = simulate(hub_server, "--days", "3")
    assert again.returncode == 0, again.stderr
    following = (START + timedelta(days=DAYS)).isoformat()
    assert again.stdout.startswith(f"simulate: continuing at {following}")
    assert totals(again.stdout)["rejected"] == 0


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_stops_it_cleanly_while_it_waits_for_the_hub(
    tmp_path: Path, signal_number: int
) -> None:
    credentials = tmp_path / "credentials.json"
    fake = {a: {"client_id": a, "client_secret": "not-a-secret", "kid": a} for a, _, _ in AGENCIES}
    credentials.write_text(json.dumps(fake))
    log = tmp_path / "simulate.log"
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            [str(BIN / "hub"), "simulate", "--url", url, "--credentials", str(credentials)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HUB_VAR_DIR": str(tmp_path / "var")},
        )
    try:
        deadline = time.monotonic() + 60
        while "waiting for the hub" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert f"waiting for the hub at {url} to answer" in log.read_text()
        process.send_signal(signal_number)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert log.read_text().splitlines()[-1] == "simulate: stopped after 0 simulated days"
