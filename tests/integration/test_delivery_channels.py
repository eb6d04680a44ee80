"""Delivery to people and through every channel, in one process on SQLite and PostgreSQL.

The documents name the demo users as case owners (probation's offender manager in the referral
and case summary, the provider's case manager in the handover, the IOM officer in the cohort), so
the court's conviction reaches each of them by name; the provider's risk escalation reaches
probation's offender manager with its urgency and the trigger set at allocation it matches; the
referral reaches the provider's allocation queue (no case manager yet). Webhooks go to a real
HTTP server, signed as Standard Webhooks; a receiver that is down is retried, dead-lettered and
replayed, each attempt audited.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from hub.api.delivery import event_stream
from hub.domain.callers import Caller
from hub.services.inbox import decode_cursor
from hub.store.models import Delivery, Message, OutboxItem
from tests.conftest import audit_entries
from tests.integration.test_adapters_api import _post
from tests.integration.test_reconviction_alerts import _hearing
from tests.integration.test_signin import _csrf, _sign_in
from tests.support.adapters import EXAMPLES
from tests.support.world import PASSWORD

PROBATION_OM = "offender.manager@probation-south-yorkshire.example"
PROVIDER_CM = "case.manager@provider-doncaster-alliance.example"
CUSTODY_CM = "custody.cm@provider-doncaster-alliance.example"
IOM_OFFICER = "Ian Oakes"
JSON = "application/json"


def _doc(name: str, change: Any = None) -> bytes:
    raw = (EXAMPLES / name).read_text(encoding="utf-8-sig")
    if name.endswith(".csv"):
        return raw.replace("PC 2231 Walsh", IOM_OFFICER).encode()
    body = json.loads(raw)
    if change:
        change(body)
    return json.dumps(body).encode()


def _referral(body: dict[str, Any]) -> None:
    body["officer"]["email"] = PROBATION_OM


def _case(body: dict[str, Any]) -> None:
    body["communityManager"]["email"] = PROBATION_OM


def _provider(handover_on: str | None = None) -> Any:
    def change(body: dict[str, Any]) -> None:
        for event in body["events"]:
            if event["kind"] == "handover":
                event["to"]["email"] = PROVIDER_CM
                event["from"]["email"] = CUSTODY_CM
                if handover_on:
                    event["on"] = handover_on

    return change


def world_documents(handover_on: str | None = None) -> list[tuple[str, str, str, bytes, str]]:
    """The documents that make the example person released, with probation, the provider and
    the IOM team holding his case, named as the demo users: (kind, name, sender, body, media)."""
    return [
        (kind, name, sender, _doc(example, change), media)
        for kind, name, example, sender, media, change in [
            ("prison", "events", "prison-released.json", "prison-doncaster", JSON, None),
            ("probation", "cases", "probation-case.json", "probation-south-yorkshire", JSON, _case),
            (
                "probation",
                "referrals",
                "probation-referral.json",
                "probation-south-yorkshire",
                JSON,
                _referral,
            ),
            (
                "provider",
                "events",
                "provider-events.json",
                "provider-doncaster-alliance",
                JSON,
                _provider(handover_on),
            ),
            ("iom", "cohort", "iom-cohort.csv", "iom-sheffield", "text/csv", None),
        ]
    ]


def _world(client: Any, token: Any, handover_on: str | None = None) -> None:
    for kind, name, sender, body, media in world_documents(handover_on):
        sent = _post(client, token(sender), kind, name, body, media)
        assert sent.status_code == 200, sent.get_json()


def _deliveries(services: Any, message_type: str) -> dict[str, Delivery]:
    with services.db.transaction(readonly=True) as session:
        return {
            d.recipient_agency_id: d
            for d in session.scalars(
                select(Delivery)
                .join(Message, Message.id == Delivery.message_id)
                .where(Message.type == message_type)
            )
        }


def test_alerts_escalations_and_referrals_reach_the_people_who_hold_the_case(
    client: Any, services: Any, token: Any
) -> None:
    _world(client, token)
    court = _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    assert court.status_code == 200, court.get_json()

    alerts = _deliveries(services, "reconviction-alert")
    named = services.identity.holder_digest
    assert {agency: d.assignee for agency, d in alerts.items()} == {
        "probation-south-yorkshire": named(PROBATION_OM),
        "provider-doncaster-alliance": named(PROVIDER_CM),
        "iom-sheffield": named(IOM_OFFICER),
    }
    [escalation] = _deliveries(services, "risk-escalation").values()
    assert escalation.recipient_agency_id == "probation-south-yorkshire"
    assert (escalation.assignee, escalation.urgency) == (named(PROBATION_OM), "urgent")
    # The referral came before the provider named a case manager: the allocation queue.
    [referral] = _deliveries(services, "referral").values()
    assert (referral.recipient_agency_id, referral.assignee) == (
        "provider-doncaster-alliance",
        None,
    )

    # Every delivery has its live notice in the outbox, written with it.
    with services.db.transaction(readonly=True) as session:
        live = set(
            session.scalars(select(OutboxItem.delivery_id).where(OutboxItem.channel == "live"))
        )
        every = set(session.scalars(select(Delivery.public_id)))
    assert every and live == every


def test_a_handover_dated_ahead_leaves_the_case_with_the_custody_case_manager(
    client: Any, services: Any, token: Any
) -> None:
    _world(client, token, handover_on=(date.today() + timedelta(days=30)).isoformat())
    _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    alerts = _deliveries(services, "reconviction-alert")
    assert alerts["provider-doncaster-alliance"].assignee == services.identity.holder_digest(
        CUSTODY_CM
    )


def _page(client: Any) -> str:
    response = client.get("/ui/alerts/")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def test_the_offender_managers_page_shows_the_escalation_first_with_its_trigger(
    client: Any, services: Any, token: Any
) -> None:
    _world(client, token)
    _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    _sign_in(client, "offender.manager", PASSWORD)
    page = _page(client)
    # The escalation (urgent) and the reconviction alert are both there, with the matched trigger.
    assert page.count('data-testid="alert"') == 2
    assert "Risk escalation" in page and "Reconviction alert" in page
    assert "Loses accommodation or is evicted (ACCOM_LOSS)" in page
    assert "Urgent" in page and "Reconvictions since release" in page
    assert "Sheffield Magistrates" in page

    # Support continues: recorded, audited, and the button is gone.
    alert = _deliveries(services, "reconviction-alert")["probation-south-yorkshire"]
    csrf = _csrf(client, "/ui/alerts/")
    done = client.post(f"/ui/alerts/{alert.public_id}/support", data={"csrf_token": csrf})
    assert done.status_code == 302
    page = _page(client)
    assert "Support continues (" in page
    [entry] = audit_entries(services, "delivery.responded")
    assert (
        entry["reasons"] == ["support_continues"]
        and entry["recipient"] == "probation-south-yorkshire"
    )
    with services.db.transaction(readonly=True) as session:
        stored = session.get(Delivery, alert.id)
        assert stored is not None and stored.response == "support_continues" and stored.acked_at

    # Someone else's alert (the provider's) answers 404; so does an IG officer asking for the page.
    other = _deliveries(services, "reconviction-alert")["provider-doncaster-alliance"]
    assert (
        client.post(
            f"/ui/alerts/{other.public_id}/acknowledge", data={"csrf_token": csrf}
        ).status_code
        == 404
    )
    client.post("/ui/sign-out", data={"csrf_token": csrf})
    _sign_in(client, "ig.officer", PASSWORD)
    assert client.get("/ui/alerts/").status_code == 404


def test_an_immediate_escalation_stays_first_until_acknowledged(
    client: Any, services: Any, token: Any
) -> None:
    def immediate(body: dict[str, Any]) -> None:
        _provider()(body)
        for event in body["events"]:
            if event["kind"] == "risk_escalation":
                event["urgency"] = "immediate"

    _world(client, token)
    # The alert arrives after the escalation (newer), yet the immediate escalation stays on top.
    sent = _post(
        client,
        token("provider-doncaster-alliance"),
        "provider",
        "events",
        _doc("provider-events.json", immediate),
        "application/json",
    )
    assert sent.status_code == 200
    _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    _sign_in(client, "offender.manager", PASSWORD)
    page = _page(client)
    kinds = [k for k in ("risk-escalation", "reconviction-alert") if f'data-kind="{k}"' in page]
    assert page.index('data-kind="risk-escalation" data-pinned="true"') < page.index(
        'data-kind="reconviction-alert"'
    )
    assert kinds
    pinned = [d for d in _escalations(services) if d.urgency == "immediate"][0]
    csrf = _csrf(client, "/ui/alerts/")
    client.post(f"/ui/alerts/{pinned.public_id}/acknowledge", data={"csrf_token": csrf})
    page = _page(client)
    assert 'data-pinned="true"' not in page
    assert any(
        e["action"] == "inbox.acked" and e["actor"].get("user") for e in audit_entries(services)
    )


def _escalations(services: Any) -> list[Delivery]:
    with services.db.transaction(readonly=True) as session:
        return list(
            session.scalars(
                select(Delivery)
                .join(Message, Message.id == Delivery.message_id)
                .where(Message.type == "risk-escalation")
            )
        )


# -- webhooks --------------------------------------------------------------------------------


class Receiver:
    """A real HTTP server that records each POST (headers and body) and answers `status`."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 204
        self.delay = 0.0  # seconds before answering (a slow receiver)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server interface)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.delay:
                    time.sleep(receiver.delay)
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def _subscribe(client: Any, token: str, url: str) -> dict[str, Any]:
    made = client.post(
        "/v1/subscriptions", json={"url": url}, headers={"Authorization": f"Bearer {token}"}
    )
    assert made.status_code == 201, made.get_json()
    return dict(made.get_json())


def _drain(services: Any) -> None:
    relay = services.webhook_relay()
    while relay.run_once():
        pass


@pytest.mark.parametrize(
    "settings_overrides", [{"webhook_retry_base": 1, "webhook_max_attempts": 2}]
)
def test_webhooks_are_signed_retried_dead_lettered_and_replayed(
    client: Any, services: Any, token: Any, receiver: Receiver
) -> None:
    probation = token("probation-south-yorkshire")
    made = _subscribe(client, probation, receiver.url)
    assert made["secret"].startswith("whsec_")
    listed = client.get(
        "/v1/subscriptions", headers={"Authorization": f"Bearer {probation}"}
    ).get_json()
    assert [s["id"] for s in listed["items"]] == [made["id"]] and "secret" not in listed["items"][0]

    _world(client, token)
    _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    _drain(services)
    # Every delivery to probation reached the receiver, in order, signed.
    bodies = []
    for headers, body in receiver.received:
        Webhook(made["secret"]).verify(body, headers)
        bodies.append(json.loads(body))
        assert headers["webhook-id"] == bodies[-1]["data"]["id"]
    positions = [decode_cursor(b["data"]["cursor"]) for b in bodies]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    types = [b["data"]["message"]["type"].split(".")[-2] for b in bodies]
    assert "reconviction-alert" in types and "risk-escalation" in types
    alert = next(b for b in bodies if "reconviction-alert" in b["data"]["message"]["type"])
    assert alert["data"]["assignedTo"] == PROBATION_OM
    assert alert["data"]["message"]["data"]["verdict"] == "reconviction"
    # A wrong secret does not verify.
    with pytest.raises(Exception, match="signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(receiver.received[0][1], receiver.received[0][0])
    sent = len(receiver.received)
    attempts = audit_entries(services, "webhook.attempted")
    assert len(attempts) == sent and all(e["status"] == 204 for e in attempts)
    assert all(e["reasons"][2] == "delivered" and e["fields"] for e in attempts)

    # The receiver fails: the next delivery is retried, then dead-lettered (2 attempts here).
    receiver.status = 503
    _post(
        client,
        token("courts-sheffield"),
        "courts",
        "hearings",
        _hearing("2026-01-05").replace(b"2b7c4e9d0a11", b"2b7c4e9d0a12"),
    )
    _drain(services)
    with services.db.transaction() as session:
        pending = list(
            session.scalars(
                select(OutboxItem).where(
                    OutboxItem.channel == "webhook", OutboxItem.state == "pending"
                )
            )
        )
        assert pending, "a failed send waits to be retried"
        for row in pending:
            row.next_attempt_at = row.created_at  # the backoff has passed
    _drain(services)
    failed = [e for e in audit_entries(services, "webhook.attempted") if e["status"] == 503]
    assert failed and {e["reasons"][2] for e in failed} <= {"retrying", "dead-lettered"}
    state = client.get(
        f"/v1/subscriptions/{made['id']}", headers={"Authorization": f"Bearer {probation}"}
    ).get_json()
    assert state["sends"]["dead"] >= 1 and state["sends"]["pending"] == 0

    # Back up: the subscriber replays the dead letters, and they arrive (same ids, same bodies).
    receiver.status = 200
    before = len(receiver.received)
    replayed = client.post(
        f"/v1/subscriptions/{made['id']}/replay",
        json={},
        headers={"Authorization": f"Bearer {probation}"},
    )
    assert replayed.status_code == 202 and replayed.get_json()["queued"] == state["sends"]["dead"]
    _drain(services)
    again = receiver.received[before:]
    assert len(again) == state["sends"]["dead"]
    first_tries = {h["webhook-id"]: b for h, b in receiver.received[sent:before]}
    for headers, body in again:
        Webhook(made["secret"]).verify(body, headers)
        assert first_tries[headers["webhook-id"]] == body  # same event id, same content

    # Another agency cannot see or touch the subscription.
    court = token("courts-sheffield")
    assert (
        client.get(
            f"/v1/subscriptions/{made['id']}", headers={"Authorization": f"Bearer {court}"}
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"/v1/subscriptions/{made['id']}", headers={"Authorization": f"Bearer {court}"}
        ).status_code
        == 404
    )
    assert (
        client.delete(
            f"/v1/subscriptions/{made['id']}", headers={"Authorization": f"Bearer {probation}"}
        ).status_code
        == 204
    )


def test_subscriptions_refuse_unsafe_urls(client: Any, token: Any) -> None:
    probation = token("probation-south-yorkshire")
    for url, reason in [
        ("ftp://example.org/x", "https"),
        ("http://example.org/hook", "https"),
        ("https://user:pw@example.org/hook", "credentials"),
        ("", "required"),
    ]:
        made = client.post(
            "/v1/subscriptions", json={"url": url}, headers={"Authorization": f"Bearer {probation}"}
        )
        assert made.status_code == 422, (url, made.get_json())
        assert reason in json.dumps(made.get_json())
    bad = client.post(
        "/v1/subscriptions",
        json={"url": "https://example.org/h", "types": ["nope"]},
        headers={"Authorization": f"Bearer {probation}"},
    )
    assert bad.status_code == 422 and "unknown message types" in bad.get_json()["detail"]


def test_the_stream_sends_each_delivery_once_in_order_and_resumes(
    client: Any, services: Any, token: Any
) -> None:
    """The stream generator itself (the e2e tests run it over HTTP): events after a position,
    woken by a notice, resuming from the last id without loss or repeat."""
    _world(client, token)
    who = Caller("probation-south-yorkshire", "probation-south-yorkshire", None)
    calls = iter([True, True, False])

    def read(after: int) -> Any:
        return services.inbox.since(who, after, 100)

    events = list(
        event_stream(services, who, 0, read=read, still_allowed=lambda: next(calls), keepalive=0.01)
    )
    ids = [
        line.split(": ", 1)[1]
        for chunk in events
        for line in chunk.splitlines()
        if line.startswith("id: ")
    ]
    assert ids and [decode_cursor(i) for i in ids] == sorted(decode_cursor(i) for i in ids)
    # Resume from the first id: only what came after it.
    calls = iter([True, False])
    again = list(
        event_stream(
            services,
            who,
            decode_cursor(ids[0]),
            read=read,
            still_allowed=lambda: next(calls),
            keepalive=0.01,
        )
    )
    resumed = [
        line.split(": ", 1)[1]
        for chunk in again
        for line in chunk.splitlines()
        if line.startswith("id: ")
    ]
    assert resumed == ids[1:]


def test_an_out_of_area_release_also_alerts_the_probation_service_covering_that_area(
    client: Any, services: Any, token: Any
) -> None:
    from hub.domain.vocab import AgencyKind

    with services.db.transaction() as session:
        services.registry.add_agency(
            session,
            agency_id="probation-west-yorkshire",
            name="West Yorkshire Probation Service",
            kind=AgencyKind.PROBATION,
            region="West Yorkshire",
            attributes={"clearance": 2, "areas": ["Leeds", "Bradford"]},
        )

    def leeds(body: dict[str, Any]) -> None:
        body["dischargeArea"] = "Leeds"

    planned = _post(
        client,
        token("prison-doncaster"),
        "prison",
        "prisoners",
        _doc("prison-prisoner.json", leeds),
        "application/json",
    )
    assert planned.status_code == 200, planned.get_json()
    _world(client, token)
    _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    alerts = _deliveries(services, "reconviction-alert")
    # The owners as before, and West Yorkshire, where he now lives: its allocation queue.
    assert alerts["probation-west-yorkshire"].assignee is None
    assert alerts["probation-south-yorkshire"].assignee == services.identity.holder_digest(
        PROBATION_OM
    )
    assert "provider-doncaster-alliance" in alerts and "iom-sheffield" in alerts


def test_webhook_targets_on_the_hubs_own_network_are_refused() -> None:
    from hub.services.webhooks import unsafe_target

    for url in (
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "https://10.0.0.5:6379/",
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://100.64.0.1/hook",  # shared address space
        "https://no-such-host.invalid/hook",
    ):
        assert unsafe_target(url), url
    assert unsafe_target("https://8.8.8.8/hook") is None


def test_a_huge_cursor_is_a_400_not_a_500(client: Any, token: Any) -> None:
    import base64

    cursor = base64.urlsafe_b64encode(b"d1:" + b"9" * 40).rstrip(b"=").decode()
    auth = {"Authorization": f"Bearer {token('probation-south-yorkshire')}"}
    assert client.get(f"/v1/inbox?after={cursor}", headers=auth).status_code == 400
    assert (
        client.get("/v1/inbox/stream", headers={**auth, "Last-Event-ID": cursor}).status_code == 400
    )


@pytest.mark.parametrize("settings_overrides", [{"webhook_allow_http": False}])
def test_production_refuses_a_webhook_to_this_machine(client: Any, token: Any) -> None:
    made = client.post(
        "/v1/subscriptions",
        json={"url": "https://127.0.0.1:9/hook"},
        headers={"Authorization": f"Bearer {token('probation-south-yorkshire')}"},
    )
    assert made.status_code == 422 and "private, loopback" in made.get_json()["detail"]


def test_a_disabled_clients_subscription_sends_nothing(
    client: Any, services: Any, token: Any, receiver: Receiver
) -> None:
    made = _subscribe(client, token("probation-south-yorkshire"), receiver.url)
    _world(client, token)  # deliveries to probation queue webhook sends
    with services.db.transaction() as session:
        services.registry.disable_client(session, "probation-south-yorkshire")
    services.clients._cache.clear()  # this process's short cache of client status: as if expired
    _drain(services)
    assert receiver.received == []
    attempts = audit_entries(services, "webhook.attempted")
    assert attempts and all("not sent: client disabled" in e["reasons"] for e in attempts)
    assert all(not e.get("fields") for e in attempts)  # nothing disclosed
    assert made["id"]


def test_a_name_two_colleagues_share_routes_to_the_allocation_queue(
    client: Any, services: Any, token: Any
) -> None:
    from hub.domain.vocab import Role

    _world(client, token)
    _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    _sign_in(client, "iom.officer", PASSWORD)
    page = _page(client)
    assert page.count('data-kind="reconviction-alert"') == 1 and "Allocation queue" not in page
    # A second "Ian Oakes" joins the team: the name no longer says which of them; both see the
    # alert in the team's allocation queue.
    with services.db.transaction() as session:
        services.registry.add_user(
            session,
            username="ian.oakes2",
            display_name="Ian Oakes",
            password=PASSWORD,
            agency_id="iom-sheffield",
            role=Role.IOM_OFFICER,
        )
    page = _page(client)
    assert page.count('data-kind="reconviction-alert"') == 1 and "Allocation queue" in page
