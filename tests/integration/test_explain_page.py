"""The IG officer's explain page: the question by POST, the answer in words (decision, agreement,
lawful basis, rules, fields disclosed and withheld, the person as the hub's records describe
them), every question audited, errors named beside their fields; others get 404."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import audit_entries
from tests.integration.test_signin import _csrf, _sign_in
from tests.support.adapters import EXAMPLES
from tests.support.world import PASSWORD

PAGE = "/ui/decisions/explain"


def _ask(client: Any, **form: str) -> Any:
    return client.post(PAGE, data={"csrf_token": _csrf(client, PAGE), **form})


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _rows(response: Any) -> dict[str, str]:
    """The summary lists' rows, key -> value, as a reader sees them."""
    pairs = re.findall(
        r'<dt class="govuk-summary-list__key">(.*?)</dt>\s*'
        r'<dd class="govuk-summary-list__value">(.*?)</dd>',
        response.get_data(as_text=True),
        re.S,
    )
    return {k.strip(): re.sub(r"\s+", " ", v).strip() for k, v in pairs}


def test_an_ig_officer_asks_whether_a_volunteer_would_see_a_referral(
    client: Any, services: Any, token: Any
) -> None:
    referral = (EXAMPLES / "probation-referral.json").read_bytes()
    sent = client.post(
        "/v1/adapters/probation/referrals",
        data=referral,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token('probation-south-yorkshire')}"},
    )
    assert sent.status_code == 200
    _sign_in(client, "ig.officer", PASSWORD)
    page = _text(client.get(PAGE))
    assert "Explain a sharing decision" in page and "Would be shared" not in page
    question = {
        "sender": "probation-south-yorkshire",
        "recipient": "provider-doncaster-alliance",
        "role": "volunteer",
        "clearance": "0",
        "type": "referral",
        "purpose": "resettlement",
        "person": "noms:a4821dc",
    }
    answer = _ask(client, **question)
    assert answer.status_code == 200
    text = _text(answer)
    assert "Would be shared" in text
    assert "dsa-probation-referral-forms version 2.1.0" in text
    assert "Statutory duty" in text and "Offender Rehabilitation Act 2014" in text
    rows = _rows(answer)
    assert rows["Withheld from this reader"] == (
        "riskOfSeriousHarm, riskOfReoffending, sentencePlanSummary"
    )
    assert "riskOfSeriousHarm" not in rows["Fields disclosed"]
    assert rows["Read by"] == "volunteer, clearance none"
    assert rows["Pathway"] == "2" and rows["Restricted"] == "No"
    assert rows["Case held by"] == "probation-south-yorkshire"
    [asked] = audit_entries(services, "decision.explained")
    assert asked["decision"] == "permit" and asked["subject"]
    assert "a4821dc" not in json.dumps(asked).lower()

    summary = _text(
        _ask(client, **{**question, "type": "case-summary", "purpose": "risk_management"})
    )
    assert "Would not be shared" in summary
    assert "hub-wide-restrictions/no-risk-narrative-to-volunteers" in summary


def test_the_page_names_each_mistake(client: Any, world: Any) -> None:
    _sign_in(client, "ig.officer", PASSWORD)
    bad = _ask(client, sender="nobody", recipient="", role="gardener", clearance="9", person="x")
    assert bad.status_code == 400
    text = _text(bad)
    for message in (
        "Select the agency that would send it",
        "Select the agency that would receive it",
        "Select who at the recipient would read it",
        "Select their clearance",
        "Select the kind of message",
        "Select the purpose",
        "Enter an identifier like noms:A4821DC",
    ):
        assert message in text
    unknown = _ask(
        client,
        sender="courts-sheffield",
        recipient="provider-doncaster-alliance",
        type="conviction",
        purpose="case_management",
        person="noms:Z9999ZZ",
    )
    assert unknown.status_code == 400
    assert "The hub knows no one by that identifier" in _text(unknown)


def test_only_ig_officers_reach_the_explain_page(client: Any, world: Any) -> None:
    _sign_in(client, "case.manager", PASSWORD)
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, data={"csrf_token": _csrf(client, "/ui/")}).status_code == 404
