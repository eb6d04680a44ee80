"""The headline, end to end: two hub processes on one database (PostgreSQL with Redis fanning
live notices out; SQLite with each process polling), a court's resulted hearing posted to one,
and the provider case manager's browser, connected to the other, shows the reconviction alert
without reloading. Probation's webhook receiver (a real HTTP server) gets it signed; the IOM
inbox has it; the prison (no agreement, holds no case) has nothing; the audit log has each step.
Then the SSE API: a client that disconnects resumes from its last event id, nothing lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, expect
from sqlalchemy import create_engine, text
from standardwebhooks.webhooks import Webhook

from hub.store.db import normalise_url
from tests.conftest import ARTIFACTS, redis_available
from tests.e2e.test_server_flow import session_for
from tests.integration.test_delivery_channels import Receiver, world_documents
from tests.integration.test_reconviction_alerts import _hearing
from tests.support import databases
from tests.support.server import RunningHub, start_hub, stop

ALERT = "uk.gov.justice.hub.reconviction-alert.v1"
SCOPES = "messages:send messages:read inbox:read subjects:read"


@pytest.fixture
def fanout(backend: str) -> str:
    """How live notices cross processes: Redis beside PostgreSQL (as CI runs it), polling the
    database otherwise."""
    return "redis" if backend == "postgresql" and redis_available() else "polling"


@pytest.fixture
def two_hubs(
    database_url: str, tmp_path: Path, fanout: str
) -> Iterator[tuple[RunningHub, RunningHub]]:
    var = tmp_path / "var"
    env = {"HUB_AUDIT_MAX_MERGE_DELAY": "1", "HUB_WEBHOOK_RETRY_BASE": "1"}
    if fanout == "redis":
        env["HUB_REDIS_URL"] = databases.redis_url() or ""
    first, a = start_hub(var, database_url, workers=1, extra_env=env, log_name="server-a.log")
    try:
        second, b = start_hub(
            var,
            database_url,
            workers=1,
            extra_env={**env, "HUB_ISSUER": a.url},
            log_name="server-b.log",
        )
    except BaseException:
        stop(first)
        raise
    b.credentials = a.credentials
    try:
        yield a, b
    finally:
        stop(second)
        stop(first)


def _post_document(
    hub: RunningHub, agency: str, kind: str, name: str, body: bytes, media: str
) -> dict[str, Any]:
    session = session_for(hub, agency, SCOPES)
    sent = session.post(
        f"{hub.url}/v1/adapters/{kind}/{name}",
        data=body,
        headers={"Content-Type": media},
        timeout=30,
    )
    assert sent.status_code == 200, sent.text
    return dict(sent.json())


def _world(hub: RunningHub) -> None:
    for kind, name, sender, body, media in world_documents():
        _post_document(hub, sender, kind, name, body, media)


def _inbox_alerts(
    hub: RunningHub, agency: str, via: RunningHub | None = None
) -> list[dict[str, Any]]:
    """`agency`'s alerts; the token from `hub` (the issuer), the call to `via` (another process)."""
    session = session_for(hub, agency, SCOPES)
    listed = session.get(f"{(via or hub).url}/v1/inbox?limit=100", timeout=30)
    assert listed.status_code == 200, listed.text
    return [i for i in listed.json()["items"] if i["message"]["type"] == ALERT]


def _audit(database_url: str) -> list[dict[str, Any]]:
    engine = create_engine(normalise_url(database_url))
    try:
        with engine.connect() as conn:
            return [
                json.loads(row[0])
                for row in conn.execute(text("SELECT entry FROM audit_entries ORDER BY seq"))
            ]
    finally:
        engine.dispose()


def _sign_in(page: Any, hub: RunningHub, role: str) -> None:
    user = next(u for u in hub.credentials["users"] if u["role"] == role)
    page.goto(hub.url + "/ui/sign-in")
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password", exact=True).fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-bar")).to_be_visible()


def test_an_alert_accepted_by_one_process_appears_in_a_browser_on_the_other(
    browser: Browser,
    two_hubs: tuple[RunningHub, RunningHub],
    database_url: str,
    backend: str,
    fanout: str,
) -> None:
    a, b = two_hubs
    receiver = Receiver()
    try:
        probation = session_for(a, "probation-south-yorkshire", SCOPES)
        made = probation.post(f"{a.url}/v1/subscriptions", json={"url": receiver.url}, timeout=30)
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        _world(a)

        context = browser.new_context(viewport={"width": 1100, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        _sign_in(page, b, "case_manager")
        page.goto(b.url + "/ui/alerts/")
        expect(page.get_by_test_id("live-status")).to_have_attribute(
            "data-state", "live", timeout=15_000
        )
        before = page.get_by_test_id("alert").count()

        # The court posts to the other process; the alert appears here without a reload.
        court = _post_document(
            a, "courts-sheffield", "courts", "hearings", _hearing(), "application/json"
        )
        assert any(r["status"] == "accepted" for r in court["records"])
        alert = page.locator('[data-testid="alert"][data-kind="reconviction-alert"]')
        expect(alert).to_have_count(1, timeout=15_000)
        assert page.get_by_test_id("alert").count() == before + 1
        expect(alert).to_contain_text("Theft")
        expect(alert).to_contain_text("Sheffield Magistrates' Court")
        expect(alert).to_contain_text("Reconvictions since release")
        page.screenshot(path=str(ARTIFACTS / f"alerts-live-{backend}.png"), full_page=True)

        # Support continues, recorded from the page.
        alert.get_by_test_id("support-continues").click()
        expect(page.locator(".govuk-notification-banner")).to_contain_text("support continues")
        assert not errors, errors

        # Probation's webhook receiver got the alert, signed with its secret.
        for _ in range(100):
            hooks = [(h, json.loads(body)) for h, body in receiver.received]
            if any(d["data"]["message"]["type"] == ALERT for _, d in hooks):
                break
            page.wait_for_timeout(200)
        alerts = [(h, d) for h, d in hooks if d["data"]["message"]["type"] == ALERT]
        assert len(alerts) == 1
        headers, body = alerts[0]
        raw = next(r for h, r in receiver.received if h["webhook-id"] == headers["webhook-id"])
        Webhook(secret).verify(raw, headers)
        assert body["data"]["message"]["data"]["verdict"] == "reconviction"

        # The IOM inbox has it; the prison has nothing (no agreement, holds no case).
        [iom] = _inbox_alerts(a, "iom-sheffield", via=b)
        assert iom["message"]["data"]["reconvictionsSinceRelease"] == 1
        assert _inbox_alerts(a, "prison-doncaster") == []

        # Every step is in the audit log.
        entries = [e for e in _audit(database_url) if e.get("message_type") == "reconviction-alert"]
        actions = [(e["action"], e.get("recipient")) for e in entries]
        assert ("message.accepted", None) in actions
        for agency in ("probation-south-yorkshire", "provider-doncaster-alliance", "iom-sheffield"):
            assert ("message.delivered", agency) in actions
        assert ("webhook.attempted", "probation-south-yorkshire") in actions
        assert ("delivery.responded", "provider-doncaster-alliance") in actions
        reads = [
            e for e in entries if e["action"] == "message.read" and e.get("actor", {}).get("user")
        ]
        assert reads and all(e["recipient"] == "provider-doncaster-alliance" for e in reads)
        assert not any(e.get("recipient") == "prison-doncaster" for e in entries)
        context.close()
    finally:
        receiver.close()


def _read_events(response: requests.Response, count: int) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    event_id = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: ") and event_id is not None:
            found.append((event_id, json.loads(line[6:])))
            event_id = None
            if len(found) == count:
                break
    return found


def test_an_sse_client_that_disconnects_resumes_from_its_last_event(
    two_hubs: tuple[RunningHub, RunningHub],
) -> None:
    a, b = two_hubs
    _world(a)
    provider = session_for(a, "provider-doncaster-alliance", SCOPES)
    token = provider.token["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    everything = provider.get(f"{a.url}/v1/inbox?limit=100", timeout=30).json()["items"]
    assert everything

    # Read the first event from process B, then drop the connection.
    with requests.get(
        f"{b.url}/v1/inbox/stream", headers=headers, stream=True, timeout=30
    ) as first:
        assert first.status_code == 200 and first.headers["Content-Type"].startswith(
            "text/event-stream"
        )
        seen = _read_events(first, 1)
    assert [e["id"] for _, e in seen] == [everything[0]["id"]]

    # Meanwhile the court's conviction makes a new alert for the provider.
    _post_document(a, "courts-sheffield", "courts", "hearings", _hearing(), "application/json")

    # Resume on process A from the last id: the rest, then the alert; nothing twice, none lost.
    resume = {**headers, "Last-Event-ID": seen[-1][0]}
    with requests.get(
        f"{a.url}/v1/inbox/stream", headers=resume, stream=True, timeout=30
    ) as second:
        rest = _read_events(second, len(everything))
    ids = [e["id"] for _, e in seen + rest]
    assert len(ids) == len(set(ids))
    assert ids[: len(everything)] == [i["id"] for i in everything]
    assert rest[-1][1]["message"]["type"] == ALERT
    # The same event id always carries the same content (acknowledgement state is not in it).
    again = provider.get(f"{a.url}/v1/inbox/{ids[0]}", timeout=30).json()
    assert seen[0][1]["message"] == again["message"]
