"""Sharing decided by the agreements on the person as the hub's records describe them: a
provider's voluntary (pathway 3) client's convictions reach it only with the person's consent,
which the provider recorded and the court's disclosure honours; withdrawal stops the next one."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import audit_entries
from tests.support.adapters import EXAMPLES
from tests.support.world import conviction_event

CONSENT = {
    "kind": "consent",
    "nomsNumber": "A4821DC",
    "signedOn": "2025-10-01",
    "recipients": ["probation", "provider"],
    "purposes": ["case_management"],
    "evidence": {"documentRef": "CMS/consent/A4821DC.pdf", "sha256": "ab" * 32},
}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _events(client: Any, token: str, *events: dict[str, Any]) -> Any:
    response = client.post(
        "/v1/adapters/provider/events",
        data=json.dumps({"events": list(events)}),
        content_type="application/json",
        headers=_auth(token),
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _convict(client: Any, token: str) -> Any:
    return client.post(
        "/v1/messages",
        data=json.dumps(conviction_event(subject="noms:A4821DC")),
        content_type="application/cloudevents+json",
        headers=_auth(token),
    )


def test_consent_recorded_by_the_provider_is_honoured_for_the_courts(
    client: Any, services: Any, token: Any
) -> None:
    probation, court, provider = (
        token("probation-south-yorkshire"),
        token("courts-sheffield"),
        token("provider-doncaster-alliance"),
    )
    referral = json.loads((EXAMPLES / "probation-referral.json").read_text())
    referral["pathway"] = 3  # voluntary support
    sent = client.post(
        "/v1/adapters/probation/referrals",
        data=json.dumps(referral),
        content_type="application/json",
        headers=_auth(probation),
    )
    assert sent.status_code == 200, sent.get_json()

    # No consent yet: refused, with the reason, and audited with the policy set's hash.
    refused = _convict(client, court)
    assert refused.status_code == 403
    assert any("consent" in reason for reason in refused.get_json()["reasons"])
    [denied] = audit_entries(services, "message.refused")
    assert denied["decision"] == "deny" and denied["policy_hash"] == services.policy.policy_hash

    # The provider records the person's signed consent; the court's next conviction is shared,
    # minimised to what the consent flow allows (no disposal).
    _events(client, provider, CONSENT)
    accepted = _convict(client, court)
    assert accepted.status_code == 202, accepted.get_json()
    items = client.get("/v1/inbox", headers=_auth(provider)).get_json()["items"]
    conviction = [i for i in items if i["message"]["type"].endswith("conviction.v1")]
    assert len(conviction) == 1
    # (the event carries no severity band; the statutory flow would add the disposal)
    assert sorted(conviction[0]["message"]["data"]) == ["convictionDate", "court", "offence"]
    [delivered] = [
        e
        for e in audit_entries(services, "message.delivered")
        if e["message_id"] == accepted.get_json()["id"]
    ]
    assert delivered["lawful_basis"] == "consent"
    assert delivered["reasons"] == ["permitted by dsa-courts-conviction-information/flow-3"]

    # Withdrawn: the next conviction is refused again, and the refusal audited.
    _events(
        client,
        provider,
        {"kind": "consent_withdrawn", "nomsNumber": "A4821DC", "withdrawnOn": "2025-11-01"},
    )
    again = _convict(client, court)
    assert again.status_code == 403
    assert len(audit_entries(services, "message.refused")) == 2


def test_statutory_supervision_needs_no_consent(client: Any, token: Any) -> None:
    # Pathway 2 (the published referral): the provider supervises under contract.
    client.post(
        "/v1/adapters/probation/referrals",
        data=(EXAMPLES / "probation-referral.json").read_bytes(),
        content_type="application/json",
        headers=_auth(token("probation-south-yorkshire")),
    )
    assert _convict(client, token("courts-sheffield")).status_code == 202


def test_the_consent_register_through_the_api(client: Any, services: Any, token: Any) -> None:
    probation, court = token("probation-south-yorkshire"), token("courts-sheffield")
    referral = json.loads((EXAMPLES / "probation-referral.json").read_text())
    referral["pathway"] = 3
    sent = client.post(
        "/v1/adapters/probation/referrals",
        data=json.dumps(referral),
        content_type="application/json",
        headers=_auth(probation),
    ).get_json()
    person = sent["records"][0]["subject"]
    assert _convict(client, court).status_code == 403

    consent = {
        "givenOn": "2025-10-01",
        "recipients": ["provider"],
        "purposes": ["case_management"],
        "evidence": {"documentRef": "nDelius/consent/D123456.pdf", "sha256": "cd" * 32},
    }
    bad = client.post(
        f"/v1/subjects/{person}/consents",
        json={**consent, "purposes": ["gossip"], "validUntil": "2020-01-01"},
        headers=_auth(probation),
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"purposes", "validUntil"}
    created = client.post(f"/v1/subjects/{person}/consents", json=consent, headers=_auth(probation))
    assert created.status_code == 201, created.get_json()
    record = created.get_json()
    assert record["status"] == "active" and record["recordedBy"] == "probation-south-yorkshire"

    # Recorded by probation, honoured for the courts' disclosure.
    assert _convict(client, court).status_code == 202
    listed = client.get(f"/v1/subjects/{person}/consents", headers=_auth(probation)).get_json()
    assert [c["evidence"]["documentRef"] for c in listed["items"]] == [
        "nDelius/consent/D123456.pdf"
    ]
    # An agency with no dealings with the person cannot see or change their consent.
    prison = token("prison-doncaster")
    assert client.get(f"/v1/subjects/{person}/consents", headers=_auth(prison)).status_code == 404
    assert (
        client.post(f"/v1/consents/{record['id']}/withdraw", headers=_auth(prison)).status_code
        == 404
    )

    withdrawn = client.post(f"/v1/consents/{record['id']}/withdraw", headers=_auth(probation))
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    again = client.post(f"/v1/consents/{record['id']}/withdraw", headers=_auth(probation))
    assert again.status_code == 409
    assert _convict(client, court).status_code == 403
    actions = [e["action"] for e in audit_entries(services)]
    assert actions.count("consent.recorded") == 1 and actions.count("consent.withdrawn") == 1
    assert "nDelius" not in json.dumps(audit_entries(services))


def test_explain_says_what_would_happen_and_why(client: Any, services: Any, token: Any) -> None:
    probation, court = token("probation-south-yorkshire"), token("courts-sheffield")
    referral = json.loads((EXAMPLES / "probation-referral.json").read_text())
    referral["pathway"] = 3
    person = client.post(
        "/v1/adapters/probation/referrals",
        data=json.dumps(referral),
        content_type="application/json",
        headers=_auth(probation),
    ).get_json()["records"][0]["subject"]
    question = {
        "recipient": "provider-doncaster-alliance",
        "type": "uk.gov.justice.hub.conviction.v1",
        "purpose": "case_management",
        "subject": f"hub:{person}",
    }
    # The court has had no dealings with him yet: it may not ask about him.
    assert (
        client.post("/v1/decisions/explain", json=question, headers=_auth(court)).status_code == 404
    )
    answer = client.post(
        "/v1/decisions/explain", json={**question, "type": "referral"}, headers=_auth(probation)
    ).get_json()
    assert answer.get("decision") == "permit", answer
    assert answer["policies"] == ["dsa-probation-referral-forms/flow-1"]
    assert answer["lawfulBasis"] == "statutory_duty" and "routes" in answer["fields"]
    # Without a person: the rules alone (pathway unknown, so the statutory flow).
    general = client.post(
        "/v1/decisions/explain", json={**question, "subject": None}, headers=_auth(court)
    ).get_json()
    assert general["decision"] == "permit"
    assert general["policies"] == ["dsa-courts-conviction-information/flow-2"]
    unknown = client.post(
        "/v1/decisions/explain", json={**question, "type": "gossip"}, headers=_auth(court)
    )
    assert unknown.status_code == 422
    assert len(audit_entries(services, "decision.explained")) == 2


def test_the_agreements_in_force_are_published(client: Any, token: Any) -> None:
    auth = _auth(token("provider-doncaster-alliance"))
    listing = client.get("/v1/agreements", headers=auth).get_json()
    ids = [a["id"] for a in listing["items"]]
    assert "dsa-courts-conviction-information" in ids and "hub-wide-restrictions" in ids
    one = client.get("/v1/agreements/dsa-courts-conviction-information", headers=auth).get_json()
    consent_flow = one["flows"][2]
    assert consent_flow["policy"] == "dsa-courts-conviction-information/flow-3"
    assert consent_flow["lawfulBasis"] == "consent"
    assert consent_flow["condition"] == "resource.subject.pathway == 3"
    assert client.get("/v1/agreements/dsa-nothing", headers=auth).status_code == 404
    assert client.get("/v1/agreements").status_code == 401
