"""Reconviction alerts end to end in one process: the prison's release, probation's case and
referral, the provider's events and the IOM cohort establish who works with the person; the
court's resulted hearing then reaches each of them as a `reconviction-alert` (verdict, count
since release, the conviction as their agreement allows), an agency that holds no case gets
nothing, and every step is in the audit log."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import audit_entries
from tests.integration.test_adapters_api import _post
from tests.support.adapters import EXAMPLES

ALERT = "uk.gov.justice.hub.reconviction-alert.v1"
SETUP = [
    ("prison", "events", "prison-released.json", "prison-doncaster", "application/json"),
    ("probation", "cases", "probation-case.json", "probation-south-yorkshire", "application/json"),
    (
        "probation",
        "referrals",
        "probation-referral.json",
        "probation-south-yorkshire",
        "application/json",
    ),
    (
        "provider",
        "events",
        "provider-events.json",
        "provider-doncaster-alliance",
        "application/json",
    ),
    ("iom", "cohort", "iom-cohort.csv", "iom-sheffield", "text/csv"),
]


def _inbox(client: Any, token: str) -> list[dict[str, Any]]:
    listed = client.get("/v1/inbox?limit=100", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200, listed.get_json()
    return [i for i in listed.get_json()["items"] if i["message"]["type"] == ALERT]


def _world(client: Any, token: Any, *, release: bool = True, pathway: int = 2) -> None:
    for kind, name, example, sender, media in SETUP:
        if example == "prison-released.json" and not release:
            continue
        body = (EXAMPLES / example).read_bytes()
        if example == "probation-referral.json":
            body = json.dumps({**json.loads(body), "pathway": pathway}).encode()
        sent = _post(client, token(sender), kind, name, body, media)
        assert sent.status_code == 200, sent.get_json()


def _hearing(offence_on: str | None = None) -> bytes:
    hearing = json.loads((EXAMPLES / "courts-hearing-resulted.json").read_text())
    if offence_on:
        for defendant in hearing["hearing"]["prosecutionCases"][0]["defendants"]:
            for offence in defendant["offences"]:
                offence["startDate"] = offence_on
    return json.dumps(hearing).encode()


def _alerts(client: Any, token: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        agency: [i["message"] for i in _inbox(client, token(agency))]
        for agency in (
            "probation-south-yorkshire",
            "provider-doncaster-alliance",
            "iom-sheffield",
            "prison-doncaster",
            "courts-sheffield",
        )
    }


def test_a_conviction_after_release_alerts_whoever_works_with_the_person(
    client: Any, services: Any, token: Any
) -> None:
    _world(client, token)
    court = _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    assert court.status_code == 200, court.get_json()
    [conviction] = [r for r in court.get_json()["records"] if r["status"] == "accepted"]
    alerts = _alerts(client, token)
    # The provider's case manager, probation's offender manager and the IOM team (the person
    # is in its cohort) each have one alert; the prison and the court hold no case: nothing.
    for agency in ("probation-south-yorkshire", "provider-doncaster-alliance", "iom-sheffield"):
        [alert] = alerts[agency]
        data = alert["data"]
        assert alert["source"] == "courts-sheffield" and alert["recipient"] == agency
        assert data["verdict"] == "reconviction" and data["releaseDate"] == "2025-11-20"
        assert data["offence"]["code"] == "TH68010" and data["convictionDate"] == "2026-03-10"
        assert data["court"]["name"] == "Sheffield Magistrates' Court"
        assert data["disposal"]["label"] == "Community order"
        assert data["reconvictionsSinceRelease"] == 1 and data["courtOccasionsSinceRelease"] == 1
        assert data["conviction"] == conviction["messageId"]
    assert alerts["prison-doncaster"] == [] and alerts["courts-sheffield"] == []
    # The court is not told who holds the person's case.
    assert conviction["deliveredTo"] == []

    # Every step is in the audit log: the alert accepted once, delivered to three agencies.
    entries = [e for e in audit_entries(services) if e.get("message_type") == "reconviction-alert"]
    accepted = [e for e in entries if e["action"] == "message.accepted"]
    delivered = sorted(e["recipient"] for e in entries if e["action"] == "message.delivered")
    assert len(accepted) == 1
    assert delivered == [
        "iom-sheffield",
        "probation-south-yorkshire",
        "provider-doncaster-alliance",
    ]
    assert all(
        e["agreement_id"] == "dsa-courts-conviction-information"
        for e in entries
        if e["action"] == "message.delivered"
    )

    # The same hearing again: nothing new (the court's records are idempotent).
    again = _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    assert again.status_code == 200
    assert len(_alerts(client, token)["provider-doncaster-alliance"]) == 1


def test_a_voluntary_clients_alert_needs_consent_and_the_refusal_is_audited(
    client: Any, services: Any, token: Any
) -> None:
    _world(client, token, pathway=3)  # voluntary support; the consent on file has expired
    _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    alerts = _alerts(client, token)
    assert alerts["provider-doncaster-alliance"] == []
    assert len(alerts["probation-south-yorkshire"]) == 1  # statutory: no consent needed
    [refused] = [
        e
        for e in audit_entries(services, "message.refused")
        if e.get("message_type") == "reconviction-alert"
    ]
    assert refused["recipient"] == "provider-doncaster-alliance" and refused["decision"] == "deny"


def test_an_offence_before_release_is_reported_as_such(
    client: Any, services: Any, token: Any
) -> None:
    _world(client, token)
    _post(client, token("courts-sheffield"), "courts", "hearings", _hearing("2025-09-01"))
    [alert] = _alerts(client, token)["probation-south-yorkshire"]
    assert alert["data"]["verdict"] == "offence_before_release"
    assert "not a reconviction" in alert["data"]["finding"]
    assert alert["data"]["reconvictionsSinceRelease"] == 0


def test_no_release_known_no_alert(client: Any, services: Any, token: Any) -> None:
    _world(client, token, release=False)
    court = _post(client, token("courts-sheffield"), "courts", "hearings", _hearing())
    assert court.status_code == 200
    assert all(found == [] for found in _alerts(client, token).values())
    assert not [e for e in audit_entries(services) if e.get("message_type") == "reconviction-alert"]


def test_no_agency_may_send_a_reconviction_alert(client: Any, token: Any) -> None:
    sent = client.post(
        "/v1/messages",
        data=json.dumps(
            {
                "specversion": "1.0",
                "id": "forged-1",
                "source": "courts-sheffield",
                "type": ALERT,
                "subject": "noms:A4821DC",
                "purpose": "case_management",
                "recipient": "provider-doncaster-alliance",
                "data": {},
            }
        ),
        content_type="application/cloudevents+json",
        headers={"Authorization": f"Bearer {token('courts-sheffield')}"},
    )
    assert sent.status_code == 422
    assert "only the hub emits reconviction-alert" in json.dumps(sent.get_json()["errors"])


def test_a_conviction_held_for_identity_review_alerts_once_decided(
    client: Any, services: Any, token: Any
) -> None:
    from audit.entry import Actor

    _world(client, token)
    hearing = json.loads(_hearing())
    hearing["hearing"]["id"] = "clash-hearing"
    # His CRO number, but another PNC ID: the hub cannot be sure it is him.
    hearing["hearing"]["prosecutionCases"][0]["defendants"][0]["pncId"] = "2008/0123456M"
    body = _post(
        client, token("courts-sheffield"), "courts", "hearings", json.dumps(hearing).encode()
    ).get_json()
    assert body["held"] == 1
    assert _alerts(client, token)["probation-south-yorkshire"] == []  # nothing while held
    [review] = services.subjects.reviews()
    services.subjects.decide(
        Actor(agency="probation-south-yorkshire", user="ig-officer"),
        review.id,
        "merged",
        review.candidates[0].subject_id,
    )
    [alert] = _alerts(client, token)["probation-south-yorkshire"]
    assert alert["data"]["verdict"] == "reconviction"
    assert alert["data"]["reconvictionsSinceRelease"] == 1
