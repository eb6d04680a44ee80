"""A restricted person is invisible (404) to every agency but probation, set by probation's own
record (nDelius's restriction/exclusion flags); a consent limited to some data classes covers
only those; explain answers for a user in a role, with the fields withheld from that role."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import audit_entries
from tests.integration.test_consent_and_policies import _auth, _convict
from tests.support.adapters import EXAMPLES


def _refer(client: Any, probation: str, pathway: int = 2) -> str:
    referral = json.loads((EXAMPLES / "probation-referral.json").read_text())
    referral["pathway"] = pathway
    sent = client.post(
        "/v1/adapters/probation/referrals",
        data=json.dumps(referral),
        content_type="application/json",
        headers=_auth(probation),
    )
    assert sent.status_code == 200, sent.get_json()
    return str(sent.get_json()["records"][0]["subject"])


def _case(client: Any, probation: str, **changes: Any) -> Any:
    case = json.loads((EXAMPLES / "probation-case.json").read_text())
    case.update(changes)
    return client.post(
        "/v1/adapters/probation/cases",
        data=json.dumps(case),
        content_type="application/json",
        headers=_auth(probation),
    )


def test_a_restricted_person_answers_404_to_all_but_probation(
    client: Any, services: Any, token: Any
) -> None:
    probation, provider, court = (
        token("probation-south-yorkshire"),
        token("provider-doncaster-alliance"),
        token("courts-sheffield"),
    )
    person = _refer(client, probation)
    assert _convict(client, court).status_code == 202  # the provider and the court know him
    for agency in (provider, court):
        assert client.get(f"/v1/subjects/{person}", headers=_auth(agency)).status_code == 200

    # Probation's case record marks the case as limited access (an nDelius exclusion).
    marked = _case(client, probation, currentExclusion=True, currentRestriction=False)
    assert marked.status_code == 200, marked.get_json()

    resolve = {"identifiers": ["noms:A4821DC"]}
    for agency in (provider, court):
        hidden = client.get(f"/v1/subjects/{person}", headers=_auth(agency))
        assert hidden.status_code == 404
        assert hidden.get_json()["title"] == "Not found"
        assert (
            client.post("/v1/subjects/resolve", json=resolve, headers=_auth(agency)).status_code
            == 404
        )
        assert (
            client.get(f"/v1/subjects/{person}/consents", headers=_auth(agency)).status_code == 404
        )
    # Nobody is told why: the answer is the same as for someone the hub never met.
    never = client.get("/v1/subjects/00000000-0000-4000-8000-000000000000", headers=_auth(court))
    hidden = client.get(f"/v1/subjects/{person}", headers=_auth(court))
    assert never.get_json()["detail"] == hidden.get_json()["detail"]
    assert client.get(f"/v1/subjects/{person}", headers=_auth(probation)).status_code == 200

    # The court's next conviction reaches probation, never the provider, and the refusal does
    # not say the person is restricted.
    refused = _convict(client, court)
    assert refused.status_code == 403
    assert "restrict" not in json.dumps(refused.get_json()).lower()
    [denied] = audit_entries(services, "message.refused")
    assert "forbidden by hub-wide-restrictions/restricted-person" in denied["reasons"]

    # Probation lifts the restriction: he is visible again.
    assert _case(client, probation, currentExclusion=False).status_code == 200
    assert client.get(f"/v1/subjects/{person}", headers=_auth(provider)).status_code == 200


def test_the_restriction_flag_must_be_a_boolean(client: Any, token: Any) -> None:
    bad = _case(client, token("probation-south-yorkshire"), currentRestriction="yes")
    assert bad.status_code == 422
    [record] = bad.get_json()["records"]
    assert record["status"] == "rejected" and record["field"] == "currentRestriction"


def test_a_consent_limited_to_some_data_classes_covers_only_those(client: Any, token: Any) -> None:
    probation, court = token("probation-south-yorkshire"), token("courts-sheffield")
    person = _refer(client, probation, pathway=3)  # voluntary: convictions need consent
    consent = {
        "givenOn": "2025-10-01",
        "recipients": ["provider"],
        "purposes": ["case_management"],
        "dataClasses": ["special_category"],  # health and substance misuse only
        "evidence": {"documentRef": "nDelius/consent/D123456.pdf", "sha256": "cd" * 32},
    }
    bad = client.post(
        f"/v1/subjects/{person}/consents",
        json={**consent, "dataClasses": ["gossip"]},
        headers=_auth(probation),
    )
    assert bad.status_code == 422 and "dataClasses" in bad.get_json()["errors"]
    created = client.post(f"/v1/subjects/{person}/consents", json=consent, headers=_auth(probation))
    assert created.status_code == 201
    # A conviction is personal data, which this consent does not cover.
    assert _convict(client, court).status_code == 403
    both = client.post(
        f"/v1/subjects/{person}/consents",
        json={**consent, "dataClasses": ["personal"], "exclusions": []},
        headers=_auth(probation),
    )
    assert both.status_code == 201
    assert _convict(client, court).status_code == 202
    # A consent excluding a data class never covers it, whatever else it says.
    client.post(f"/v1/consents/{both.get_json()['id']}/withdraw", headers=_auth(probation))
    client.post(
        f"/v1/subjects/{person}/consents",
        json={**consent, "dataClasses": [], "exclusions": ["personal"]},
        headers=_auth(probation),
    )
    assert _convict(client, court).status_code == 403


def test_explain_answers_for_a_user_in_a_role(client: Any, services: Any, token: Any) -> None:
    probation = token("probation-south-yorkshire")
    person = _refer(client, probation)
    question = {
        "recipient": "provider-doncaster-alliance",
        "type": "referral",
        "purpose": "resettlement",
        "subject": f"hub:{person}",
    }
    system = client.post("/v1/decisions/explain", json=question, headers=_auth(probation))
    assert system.get_json()["reader"] == {"role": "system", "clearance": 0}
    assert "riskOfSeriousHarm" in system.get_json()["fields"]
    volunteer = client.post(
        "/v1/decisions/explain", json={**question, "role": "volunteer"}, headers=_auth(probation)
    ).get_json()
    assert volunteer["decision"] == "permit"
    assert volunteer["withheld"] == [
        "riskOfSeriousHarm",
        "riskOfReoffending",
        "sentencePlanSummary",
    ]
    assert not set(volunteer["withheld"]) & set(volunteer["fields"])
    summary = client.post(
        "/v1/decisions/explain",
        json={
            **question,
            "type": "case-summary",
            "purpose": "risk_management",
            "role": "volunteer",
        },
        headers=_auth(probation),
    ).get_json()
    assert summary["decision"] == "deny"
    assert summary["policies"] == ["hub-wide-restrictions/no-risk-narrative-to-volunteers"]
    bad = client.post(
        "/v1/decisions/explain",
        json={**question, "role": "gardener", "clearance": 7},
        headers=_auth(probation),
    )
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"role", "clearance"}
    assert len(audit_entries(services, "decision.explained")) == 3
