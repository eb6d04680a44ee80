"""Example cases stored beside each agreement (`<agreement>.cases.toml`), run like `opa test`:
each says who sends what to whom, about whom, and the expected decision and fields.

    [[cases]]
    name = "a voluntary client's conviction needs consent"
    sender = "courts-sheffield:courts"          # agency id:kind
    recipient = "provider-doncaster-alliance:provider"
    type = "conviction"
    purpose = "case_management"
    subject = { pathway = 3 }                   # SubjectAttributes fields (optional)
    consent = { given = false }                 # Consent fields (optional)
    expect = "deny"
    fields = []                                 # for "permit": exactly these, in this order
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from policies.engine import (
    AgreementError,
    Agreements,
    Consent,
    DisclosureDecision,
    DisclosureRequest,
    Party,
    SubjectAttributes,
)


@dataclass(frozen=True)
class CaseResult:
    file: str
    name: str
    passed: bool
    detail: str


def run_cases(engine: Agreements, directory: Path) -> Iterator[CaseResult]:
    for path in sorted(directory.glob("*.cases.toml")):
        try:
            cases = tomllib.loads(path.read_text()).get("cases", [])
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise AgreementError(f"{path}: not valid TOML: {error}") from None
        for number, case in enumerate(cases, start=1):
            name = str(case.get("name", f"case {number}"))
            try:
                request = _request(case)
            except (KeyError, TypeError, ValueError) as error:
                raise AgreementError(f"{path}: {name}: {error}") from None
            yield _check(path.name, name, case, engine.decide(request))


def _check(file: str, name: str, case: dict[str, Any], decision: DisclosureDecision) -> CaseResult:
    expected = case.get("expect")
    if expected not in ("permit", "deny"):
        return CaseResult(file, name, False, "'expect' must be permit or deny")
    if decision.decision != expected:
        return CaseResult(
            file, name, False, f"expected {expected}, got {decision.decision}: {decision.reasons}"
        )
    if expected == "permit" and "fields" in case and list(decision.fields) != case["fields"]:
        return CaseResult(
            file, name, False, f"expected fields {case['fields']}, got {list(decision.fields)}"
        )
    return CaseResult(file, name, True, "; ".join(decision.reasons))


def _party(text: str, clearance: int = 0) -> Party:
    agency_id, _, kind = text.partition(":")
    if not kind:
        raise ValueError(f"a party is 'agency-id:kind', not {text!r}")
    return Party(agency_id, kind, clearance=clearance)


def _request(case: dict[str, Any]) -> DisclosureRequest:
    subject = dict(case.get("subject", {}))
    known = {f.name for f in fields(SubjectAttributes)}
    if unknown := set(subject) - known:
        raise ValueError(f"unknown subject attributes {sorted(unknown)}")
    terms = dict(case.get("consent", {}))
    consent = (
        Consent.covering(
            terms.get("purposes", []), terms.get("recipients", []), terms.get("exclusions", [])
        )
        if terms.get("given")
        else Consent()
    )
    return DisclosureRequest(
        sender=_party(case["sender"]),
        recipient=_party(case["recipient"], int(case.get("recipient_clearance", 0))),
        message_type=str(case["type"]),
        purpose=str(case["purpose"]),
        subject=SubjectAttributes(**subject),
        consent=consent,
        classification=str(case.get("classification", "personal")),
    )
