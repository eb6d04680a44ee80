"""A message end to end through the app: accepted, minimised, delivered, read, acknowledged, audited."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from hub.store.models import Delivery, Message
from tests.conftest import audit_entries
from tests.support.world import conviction_event, referral_event


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _send(client: Any, token: str, event: dict[str, Any], key: str | None = None) -> Any:
    headers = _auth(token)
    if key:
        headers["Idempotency-Key"] = key
    return client.post(
        "/v1/messages",
        data=json.dumps(event),
        content_type="application/cloudevents+json",
        headers=headers,
    )


def test_conviction_reaches_only_its_recipient_with_only_agreed_fields(
    client: Any, services: Any, token: Any
) -> None:
    event = conviction_event()
    sent = _send(client, token("courts-sheffield"), event)
    assert sent.status_code == 202, sent.get_json()
    message_id = sent.get_json()["id"]
    assert sent.headers["Location"] == f"/v1/messages/{message_id}"

    page = client.get("/v1/inbox", headers=_auth(token("provider-doncaster-alliance"))).get_json()
    assert [item["message"]["id"] for item in page["items"]] == [message_id]
    item = page["items"][0]
    assert item["message"]["subject"] == "pnc:2011/0482113C"
    assert item["message"]["source"] == "courts-sheffield"
    assert item["agreement"] == {"id": "dsa-courts-conviction-information", "version": "2.1.0"}
    # The provider's agreement discloses the offence, date, court and disposal, not the plea or case.
    assert item["message"]["data"] == {
        k: event["data"][k] for k in ("offence", "convictionDate", "court", "disposal")
    }

    iom = token("iom-sheffield")
    assert client.get("/v1/inbox", headers=_auth(iom)).get_json()["items"] == []
    for response in (
        client.get(f"/v1/inbox/{item['id']}", headers=_auth(iom)),
        client.post(f"/v1/inbox/{item['id']}/ack", headers=_auth(iom)),
        client.get(f"/v1/messages/{message_id}", headers=_auth(iom)),
    ):
        assert response.status_code == 404
        assert response.get_json()["type"].endswith("/not-found")
    # ... exactly as an id that does not exist at all
    missing = client.get("/v1/inbox/00000000-0000-4000-8000-000000000000", headers=_auth(iom))
    assert (
        missing.status_code == 404
        and missing.get_json()["detail"]
        == client.get(f"/v1/inbox/{item['id']}", headers=_auth(iom)).get_json()["detail"]
    )


def test_statutory_recipient_gets_the_fuller_record(client: Any, token: Any) -> None:
    event = conviction_event(recipient="probation-south-yorkshire", purpose="risk_management")
    assert _send(client, token("courts-sheffield"), event).status_code == 202
    item = client.get("/v1/inbox", headers=_auth(token("probation-south-yorkshire"))).get_json()[
        "items"
    ][0]
    assert item["message"]["data"] == event["data"]


def test_every_step_is_audited(client: Any, services: Any, token: Any) -> None:
    message_id = _send(client, token("courts-sheffield"), conviction_event()).get_json()["id"]
    provider = token("provider-doncaster-alliance")
    inbox_id = client.get("/v1/inbox", headers=_auth(provider)).get_json()["items"][0]["id"]
    assert client.post(f"/v1/inbox/{inbox_id}/ack", headers=_auth(provider)).status_code == 200

    page_reads = audit_entries(services, "inbox.read")
    assert [e["actor"]["agency"] for e in page_reads] == ["provider-doncaster-alliance"]
    about = [e for e in audit_entries(services) if e.get("message_id") == message_id]
    assert [e["action"] for e in about] == [
        "message.accepted",
        "message.delivered",
        "subject.record_changed",  # the conviction, among the hub's facts about the person
        "message.read",
        "inbox.acked",
    ]
    accepted, delivered, _recorded, read, acked = about
    assert accepted["actor"] == {"agency": "courts-sheffield", "client": "courts-sheffield"}
    assert delivered["decision"] == "permit"
    assert delivered["agreement_id"] == "dsa-courts-conviction-information"
    assert delivered["lawful_basis"] == "statutory_duty"
    assert delivered["fields"] == ["offence", "severity", "convictionDate", "court", "disposal"]
    assert read["actor"]["agency"] == acked["actor"]["agency"] == "provider-doncaster-alliance"
    assert read["fields"] == sorted(["offence", "convictionDate", "court", "disposal"])
    # One pseudonym for the person throughout, and it is not the identifier.
    assert len({e["subject"] for e in about}) == 1
    assert "2011/0482113C" not in json.dumps(about)
    assert len(accepted["payload_digest"]) == 64


def test_no_action_without_its_audit_entry(
    client: Any, services: Any, token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = token("courts-sheffield")
    real_append = services.audit.append

    def failing_append(session: Any, entry: Any) -> None:
        if entry.action == "message.delivered":
            raise RuntimeError("audit store unavailable")
        real_append(session, entry)

    monkeypatch.setattr(services.audit, "append", failing_append)
    response = _send(client, sender, conviction_event())
    assert response.status_code == 500
    assert response.get_json()["type"].endswith("/internal-error")
    with services.db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert audit_entries(services, "message.accepted") == []


def test_idempotency_key(client: Any, token: Any) -> None:
    sender = token("courts-sheffield")
    event = conviction_event()
    first = _send(client, sender, event, key="key-1")
    again = _send(client, sender, event, key="key-1")
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotency-Replayed"] == "true"

    changed = conviction_event(
        id=event["id"], data={**event["data"], "convictionDate": "2026-03-11"}
    )
    conflict = _send(client, sender, changed, key="key-1")
    assert conflict.status_code == 409
    assert conflict.get_json()["type"].endswith("/idempotency-key-reused")

    other = _send(client, sender, conviction_event(), key="key-2")
    assert other.status_code == 202 and other.get_json()["id"] != first.get_json()["id"]
    inbox = client.get("/v1/inbox", headers=_auth(token("provider-doncaster-alliance"))).get_json()
    assert len(inbox["items"]) == 2


def test_resending_an_event_id(client: Any, token: Any) -> None:
    sender = token("courts-sheffield")
    event = conviction_event()
    first = _send(client, sender, event).get_json()
    assert _send(client, sender, json.loads(json.dumps(event))).get_json() == first
    changed = dict(event, purpose="resettlement")
    response = _send(client, sender, changed)
    assert response.status_code == 409
    assert response.get_json()["type"].endswith("/duplicate-event-id")


def test_inbox_pages_with_a_stable_cursor(client: Any, token: Any) -> None:
    sender = token("courts-sheffield")
    sent = [_send(client, sender, conviction_event()).get_json()["id"] for _ in range(5)]
    provider = _auth(token("provider-doncaster-alliance"))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        url = "/v1/inbox?limit=2" + (f"&after={cursor}" if cursor else "")
        page = client.get(url, headers=provider).get_json()
        seen += [item["message"]["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if not page["has_more"]:
            break
    assert seen == sent
    assert pages == 3
    # A cursor at the end stays valid and yields only what arrives later.
    later = _send(client, sender, conviction_event()).get_json()["id"]
    page = client.get(f"/v1/inbox?after={cursor}", headers=provider).get_json()
    assert [i["message"]["id"] for i in page["items"]] == [later]

    bad = client.get("/v1/inbox?after=not-a-cursor", headers=provider)
    assert bad.status_code == 400 and bad.get_json()["type"].endswith("/invalid-cursor")
    assert client.get("/v1/inbox?limit=0", headers=provider).status_code == 400
    assert client.get("/v1/inbox?limit=abc", headers=provider).status_code == 400


def test_acknowledgement_and_the_senders_receipts(client: Any, token: Any) -> None:
    sender = token("courts-sheffield")
    message_id = _send(client, sender, conviction_event()).get_json()["id"]
    provider = _auth(token("provider-doncaster-alliance"))
    inbox_id = client.get("/v1/inbox", headers=provider).get_json()["items"][0]["id"]
    first = client.post(f"/v1/inbox/{inbox_id}/ack", headers=provider).get_json()
    second = client.post(f"/v1/inbox/{inbox_id}/ack", headers=provider).get_json()
    assert first == second and first["acknowledgedAt"]
    status = client.get(f"/v1/messages/{message_id}", headers=_auth(sender)).get_json()
    assert status["receipts"] == [
        {
            "recipient": "provider-doncaster-alliance",
            "deliveredAt": status["receipts"][0]["deliveredAt"],
            "acknowledgedAt": first["acknowledgedAt"],
        }
    ]
    assert "data" not in status


def test_referral_probation_to_provider(client: Any, token: Any) -> None:
    event = referral_event()
    assert _send(client, token("probation-south-yorkshire"), event).status_code == 202
    item = client.get("/v1/inbox", headers=_auth(token("provider-doncaster-alliance"))).get_json()[
        "items"
    ][0]
    assert item["message"]["data"] == event["data"]
    assert item["message"]["subject"] == "crn:D123456"


def test_referral_with_an_unconfigured_route(client: Any, token: Any) -> None:
    event = referral_event()
    event["data"]["routes"][0]["route"] = "astrology"
    response = _send(client, token("probation-south-yorkshire"), event)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "data": {"routes": {"0": {"route": ["not a configured reoffending route: 'astrology'"]}}}
    }


def test_the_database_holds_no_plaintext_payload(
    client: Any, services: Any, settings: Any, token: Any
) -> None:
    event = referral_event()
    event["data"]["sentencePlanSummary"] = "UNIQUE-PLAINTEXT-MARKER secure accommodation"
    assert _send(client, token("probation-south-yorkshire"), event).status_code == 202
    markers = [
        b"UNIQUE-PLAINTEXT-MARKER",
        b"priya.raman@probation.example",
        b"Housing application to Doncaster",
    ]
    if services.db.is_sqlite:
        services.db.dispose()  # checkpoint nothing away: read the file and its write-ahead log as they are
        path = Path(settings.database_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert len(raw) > 10_000
    else:
        with services.db.engine.connect() as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname='public'")
                )
            ]
            raw = b"".join(
                (
                    conn.execute(
                        text(f"SELECT coalesce(string_agg(t::text, '|'), '') FROM {name} t")
                    ).scalar()
                    or ""
                ).encode()  # noqa: S608
                for name in tables
            )
    for marker in markers:
        assert marker not in raw
    # ... and yet the recipient reads it back.
    item = client.get("/v1/inbox", headers=_auth(token("provider-doncaster-alliance"))).get_json()[
        "items"
    ][0]
    assert item["message"]["data"]["sentencePlanSummary"].startswith("UNIQUE-PLAINTEXT-MARKER")


def test_concurrent_retries_store_one_message(app: Any, services: Any, token: Any) -> None:
    sender = token("courts-sheffield")
    event = conviction_event()
    barrier = threading.Barrier(6)
    answers: list[Any] = []

    def send(use_key: bool) -> None:
        client = app.test_client()
        barrier.wait()
        response = _send(client, sender, event, key="same-key" if use_key else None)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send, args=(i % 2 == 0,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {status for status, _ in answers} == {202}
    assert len({body["id"] for _, body in answers}) == 1
    with services.db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 1
        assert session.scalar(select(func.count()).select_from(Delivery)) == 1
    assert len(audit_entries(services, "message.accepted")) == 1


def test_a_database_fault_logs_no_identifier(
    client: Any, services: Any, token: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    sender = token("courts-sheffield")
    with services.db.engine.begin() as conn:
        conn.execute(text("DROP TABLE subject_identifiers"))
    response = _send(client, sender, conviction_event())
    assert response.status_code == 500
    captured = capfd.readouterr()
    assert '"event": "request.failed"' in captured.err
    assert "2011/0482113C" not in captured.err + captured.out


def test_a_cursor_never_skips_a_delivery_that_commits_late(
    app: Any, services: Any, token: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deliveries to one recipient become visible in id order, so a reader's cursor cannot pass a
    delivery that is still committing. A is paused inside its transaction after drawing its
    delivery id; B, sent meanwhile, must not become visible ahead of it."""
    sender = token("courts-sheffield")
    provider = _auth(token("provider-doncaster-alliance"))
    # The person exists already, so neither A nor B waits on creating them.
    _send(app.test_client(), sender, conviction_event())
    start = app.test_client().get("/v1/inbox", headers=provider).get_json()["next_cursor"]
    paused, go = threading.Event(), threading.Event()
    real_append = services.audit.append
    first_thread: list[int] = []

    def pausing_append(session: Any, entry: Any) -> None:
        real_append(session, entry)
        if entry.action == "message.delivered" and threading.get_ident() in first_thread:
            session.flush()  # A's delivery id is drawn; A now stalls before committing
            paused.set()
            assert go.wait(30)

    monkeypatch.setattr(services.audit, "append", pausing_append)
    ids: dict[str, str] = {}

    def send(name: str) -> None:
        if name == "A":
            first_thread.append(threading.get_ident())
        ids[name] = _send(app.test_client(), sender, conviction_event()).get_json()["id"]

    a = threading.Thread(target=send, args=("A",))
    a.start()
    assert paused.wait(30)
    b = threading.Thread(target=send, args=("B",))
    b.start()
    b.join(timeout=1.0)  # B may finish now only if it can overtake A (the fault under test)
    reader = app.test_client()
    seen: list[str] = []
    cursor = start
    if not services.db.is_sqlite:  # on SQLite a reader's audit write waits for A's lock
        page = reader.get(f"/v1/inbox?after={start}", headers=provider).get_json()
        seen += [item["message"]["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    go.set()
    a.join(30)
    b.join(30)
    url = f"/v1/inbox?after={cursor}"
    seen += [
        item["message"]["id"] for item in reader.get(url, headers=provider).get_json()["items"]
    ]
    assert sorted(seen) == sorted(ids.values()) and len(seen) == 2


def test_concurrent_acks_record_one_acknowledgement(app: Any, services: Any, token: Any) -> None:
    _send(app.test_client(), token("courts-sheffield"), conviction_event())
    provider = _auth(token("provider-doncaster-alliance"))
    inbox_id = app.test_client().get("/v1/inbox", headers=provider).get_json()["items"][0]["id"]
    barrier = threading.Barrier(4)
    answers: list[Any] = []

    def ack() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(client.post(f"/v1/inbox/{inbox_id}/ack", headers=provider).get_json())

    threads = [threading.Thread(target=ack) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({a["acknowledgedAt"] for a in answers}) == 1
    assert len(audit_entries(services, "inbox.acked")) == 1


def test_identifiers_are_compared_in_canonical_form(client: Any, services: Any, token: Any) -> None:
    sender = token("courts-sheffield")
    first = _send(client, sender, conviction_event(subject="pnc:2011/0482113C")).get_json()["id"]
    second = _send(client, sender, conviction_event(subject="pnc:11/482113c")).get_json()["id"]
    subjects = {
        e["subject"]
        for e in audit_entries(services, "message.accepted")
        if e["message_id"] in (first, second)
    }
    assert len(subjects) == 1  # one person, however the court wrote the PNC ID
    item = client.get("/v1/inbox", headers=_auth(token("provider-doncaster-alliance"))).get_json()[
        "items"
    ][1]
    assert item["message"]["subject"] == "pnc:2011/0482113C"


def test_a_wrong_check_letter_is_an_error_not_a_new_person(
    client: Any, services: Any, token: Any
) -> None:
    response = _send(
        client, token("courts-sheffield"), conviction_event(subject="pnc:2011/0482113D")
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "subject": ["not a valid PNC ID: the check letter does not match the number"]
    }
    from hub.store.models import Subject

    with services.db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 0
