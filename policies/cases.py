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
    user = { role = "volunteer", clearance = 0 } # who reads it (optional: the agency's system)
    expect = "deny"
    fields = []                                 # for "permit": exactly these, in this order
    withheld = []                               # for "permit": withheld from the user's role

A case file may say `as_of = 2026-12-01`: its cases are decided as on that day (so an agreement's
review date passing fails `hub policy lint`, which warns ahead of it, not every example at once).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Any

from policies.engine import (
    AgreementError,
    Agreements,
    Consent,
    DisclosureDecision,
    DisclosureRequest,
    Party,
    Reader,
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
            document = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise AgreementError(f"{path}: not valid TOML: {error}") from None
        as_of = document.get("as_of")
        if as_of is not None and not isinstance(as_of, date):
            raise AgreementError(f"{path}: 'as_of' must be a date (YYYY-MM-DD)")
        deciding = engine.as_of(as_of) if as_of else engine
        for number, case in enumerate(document.get("cases", []), start=1):
            name = str(case.get("name", f"case {number}"))
            try:
                request = _request(case)
            except (KeyError, TypeError, ValueError) as error:
                raise AgreementError(f"{path}: {name}: {error}") from None
            yield _check(path.name, name, case, deciding.decide(request))


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
    if expected == "permit" and "withheld" in case and list(decision.withheld) != case["withheld"]:
        return CaseResult(
            file,
            name,
            False,
            f"expected withheld {case['withheld']}, got {list(decision.withheld)}",
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
    if "case_owners" in subject:
        subject["case_owners"] = frozenset(subject["case_owners"])
    terms = dict(case.get("consent", {}))
    consent = (
        Consent.covering(
            terms.get("purposes", []), terms.get("recipients", []), terms.get("exclusions", [])
        )
        if terms.get("given")
        else Consent()
    )
    user = case.get("user")
    reader = None
    if user is not None:
        if not isinstance(user, dict) or set(user) - {"role", "clearance"}:
            raise ValueError("'user' is { role = ..., clearance = ... }")
        reader = Reader(str(user["role"]), int(user.get("clearance", 0)))
    return DisclosureRequest(
        user=reader,
        sender=_party(case["sender"]),
        recipient=_party(case["recipient"], int(case.get("recipient_clearance", 0))),
        message_type=str(case["type"]),
        purpose=str(case["purpose"]),
        subject=SubjectAttributes(**subject),
        consent=consent,
        classification=str(case.get("classification", "personal")),
    )
