"""Delivery when things fail, against a real hub process: a webhook receiver that is down and
comes back gets what it missed (each failed attempt audited); a hub killed with SIGKILL in the
middle of a burst of 1,000 court results delivers, once restarted, every alert it had accepted:
none lost (a receiver may see one twice, never with different content)."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from hub.store.db import normalise_url
from tests.e2e.test_live_alerts import SCOPES, _audit, _world
from tests.e2e.test_server_flow import session_for
from tests.integration.test_delivery_channels import Receiver
from tests.support.adapters import EXAMPLES
from tests.support.server import RunningHub, free_port, start_hub, stop

ALERT = "reconviction-alert"
FAST = {"HUB_WEBHOOK_RETRY_BASE": "1", "HUB_OUTBOX_LEASE": "2", "HUB_AUDIT_MAX_MERGE_DELAY": "1"}


def _hearing() -> bytes:
    """The example resulted hearing as a new one (new hearing and offence ids)."""
    raw = (EXAMPLES / "courts-hearing-resulted.json").read_text()
    for old in (
        "6f1c8a52-3d0b-4f5e-9b1a-2b7c4e9d0a11",
        "f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b",
        "a9b8c7d6-e5f4-4321-9abc-def012345678",
        "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e",
    ):
        raw = raw.replace(old, str(uuid.uuid4()))
    return raw.encode()


def _rows(database_url: str, sql: str) -> list[Any]:
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()


def _probation_alert_deliveries(database_url: str) -> set[str]:
    return {
        row[0]
        for row in _rows(
            database_url,
            "SELECT d.public_id FROM deliveries d JOIN messages m ON m.id = d.message_id "
            f"WHERE m.type = '{ALERT}' AND d.recipient_agency_id = 'probation-south-yorkshire'",
        )
    }


def _wait_for(check: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return bool(check())


@pytest.fixture
def hub(database_url: str, tmp_path: Path) -> Iterator[tuple[Any, RunningHub]]:
    process, running = start_hub(tmp_path / "var", database_url, workers=1, extra_env=FAST)
    box = [process]
    try:
        yield box, running
    finally:
        stop(box[0])


def test_a_receiver_that_was_down_gets_what_it_missed_once_back(
    hub: tuple[Any, RunningHub], database_url: str
) -> None:
    _, running = hub
    port = free_port()
    url = f"http://127.0.0.1:{port}/hook"
    probation = session_for(running, "probation-south-yorkshire", SCOPES)
    made = probation.post(f"{running.url}/v1/subscriptions", json={"url": url}, timeout=30)
    assert made.status_code == 201, made.text
    # Nothing listens on the port: every send fails and is retried with backoff.
    _world(running)
    court = session_for(running, "courts-sheffield", SCOPES)
    sent = court.post(
        f"{running.url}/v1/adapters/courts/hearings",
        data=_hearing(),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert sent.status_code == 200
    wanted = _probation_alert_deliveries(database_url)
    assert len(wanted) == 1

    def failed_attempts() -> list[dict[str, Any]]:
        return [
            e
            for e in _audit(database_url)
            if e["action"] == "webhook.attempted" and "retrying" in e.get("reasons", [])
        ]

    assert _wait_for(lambda: len(failed_attempts()) >= 2, 30), "failed sends are retried"
    assert all(e.get("status") is None for e in failed_attempts())  # no HTTP answer at all

    receiver = Receiver(port)
    try:
        assert _wait_for(lambda: wanted <= {h["webhook-id"] for h, _ in receiver.received}, 60), (
            "delivered once the receiver is back"
        )
        ids = [h["webhook-id"] for h, _ in receiver.received]
        # In order: what probation had before the alert first, the alert among them once.
        assert len(ids) == len(set(ids))
        delivered = [
            e
            for e in _audit(database_url)
            if e["action"] == "webhook.attempted" and "delivered" in e.get("reasons", [])
        ]
        assert len(delivered) >= len(ids)
    finally:
        receiver.close()


def test_a_hub_killed_mid_burst_loses_no_accepted_alert(
    hub: tuple[Any, RunningHub], database_url: str, tmp_path: Path
) -> None:
    box, running = hub
    receiver = Receiver()
    receiver.delay = 0.05  # slower than the burst: sends are still owed when the hub dies
    try:
        probation = session_for(running, "probation-south-yorkshire", SCOPES)
        made = probation.post(
            f"{running.url}/v1/subscriptions", json={"url": receiver.url}, timeout=30
        )
        assert made.status_code == 201
        _world(running)
        court = session_for(running, "courts-sheffield", SCOPES)
        token = court.token["access_token"]
        answered: list[int] = []
        failed: list[str] = []
        lock = threading.Lock()
        counter = iter(range(1000))

        def send() -> None:
            http = requests.Session()
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                try:
                    response = http.post(
                        f"{running.url}/v1/adapters/courts/hearings",
                        data=_hearing(),
                        headers=headers,
                        timeout=30,
                    )
                    with lock:
                        answered.append(response.status_code)
                except requests.RequestException as error:
                    with lock:
                        failed.append(type(error).__name__)

        senders = [threading.Thread(target=send) for _ in range(6)]
        for thread in senders:
            thread.start()
        # Kill the process mid-burst (after a few hundred answers), without warning.
        assert _wait_for(lambda: len(answered) >= 300, 240)
        os.killpg(box[0].pid, signal.SIGKILL)
        box[0].wait()
        for thread in senders:
            thread.join()
        assert 300 <= answered.count(200) < 1000 and failed, (len(answered), len(failed))
        accepted = _probation_alert_deliveries(database_url)
        # Every 200 was a committed conviction with its alert (and maybe some that died unanswered).
        assert len(accepted) >= answered.count(200)
        owed = accepted - {h["webhook-id"] for h, _ in receiver.received}
        assert owed, "the kill came while alerts were still owed to the receiver"

        # Restart (same database, keys and port): the relays send everything that was owed.
        process, _ = start_hub(
            tmp_path / "var",
            database_url,
            workers=1,
            extra_env={**FAST, "HUB_ISSUER": running.url},
            log_name="server-restarted.log",
            port=int(running.url.rsplit(":", 1)[1]),
        )
        box[0] = process
        assert _wait_for(
            lambda: accepted <= {h["webhook-id"] for h, _ in receiver.received}, 180
        ), f"{len(accepted - {h['webhook-id'] for h, _ in receiver.received})} alerts not delivered"
        # At least once, and the same id never with different content.
        bodies: dict[str, bytes] = {}
        for headers, body in receiver.received:
            bodies.setdefault(headers["webhook-id"], body)
            assert bodies[headers["webhook-id"]] == body
        # Nothing stuck: every outbox row has been sent.
        assert _wait_for(
            lambda: (
                _rows(database_url, "SELECT count(*) FROM outbox WHERE state = 'pending'")[0][0]
                == 0
            ),
            60,
        )
        print(
            f"burst: {answered.count(200)} answered 200, {len(failed)} unanswered, "
            f"{len(accepted)} alerts committed, {len(owed)} owed at the kill, "
            f"{len(receiver.received)} webhook posts "
            f"({len(receiver.received) - len(bodies)} repeats)"
        )
    finally:
        receiver.close()
