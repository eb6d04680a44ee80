"""A resulted hearing (Common Platform JSON) to conviction records, one per convicted offence.

A conviction is an offence with a result whose `isConvictedResult` is true, or a `convictionDate`;
its disposal is the offence's FINAL result. Acquittals, adjournments, remands and dismissals are
not convictions. See shared/formats/README.md, "courts".
"""

from __future__ import annotations

import json
import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from adapters.base import CanonicalRecord, DocumentError, ParseResult, PersonDetails, RecordError
from hub.domain.identifiers import InvalidIdentifier, canonical_cro, canonical_pnc
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, SubjectScheme

MODES = {"summary": "summary", "either way": "either_way", "indictable": "indictable"}
SEVERITY = {"summary": "summary", "either_way": "either_way", "indictable": "indictable_only"}


@cache
def _statutes() -> dict[str, frozenset[str]]:
    raw = tomllib.loads((Path(__file__).parent / "statutes.toml").read_text())
    return {flag: frozenset(codes) for flag, codes in raw.items()}


def offence_flags(offence_code: str) -> list[str]:
    statute = offence_code[:4]
    return sorted(flag for flag, codes in _statutes().items() if statute in codes)


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def parse_hearing(raw: bytes) -> ParseResult:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DocumentError(f"not JSON: {error}") from None
    hearing = document.get("hearing") if isinstance(document, dict) else None
    if not isinstance(hearing, dict):
        raise DocumentError("expected an object with a 'hearing'")
    court = hearing.get("courtCentre") or {}
    if not isinstance(court, dict) or not court.get("code") or not court.get("name"):
        raise DocumentError("hearing.courtCentre needs a code and a name")
    result = ParseResult()
    number = 0
    for case_index, case in enumerate(_list(hearing, "prosecutionCases")):
        urn = (
            ((case.get("prosecutionCaseIdentifier") or {}).get("caseURN") or "")
            .replace(" ", "")
            .upper()
        )
        for defendant_index, defendant in enumerate(_list(case, "defendants")):
            number += 1
            where = f"prosecutionCases[{case_index}].defendants[{defendant_index}]"
            label = f"defendant {number} (id {defendant.get('id', '?')})"
            if "legalEntityDefendant" in defendant and "personDefendant" not in defendant:
                result.skipped.append(RecordError(label, where, "an organisation, not a person"))
                continue
            try:
                records = _defendant(hearing, court, urn, defendant, label, where)
            except _Bad as bad:
                result.errors.append(RecordError(label, bad.field, bad.reason))
                continue
            result.records.extend(records)
    return result


def _defendant(
    hearing: dict[str, Any],
    court: dict[str, Any],
    urn: str,
    defendant: dict[str, Any],
    label: str,
    where: str,
) -> list[CanonicalRecord]:
    identifiers: list[SubjectRef] = []
    for name, scheme, canonical in (
        ("pncId", SubjectScheme.PNC, canonical_pnc),
        ("croNumber", SubjectScheme.CRO, canonical_cro),
    ):
        value = (defendant.get(name) or "").strip()
        if value:
            try:
                identifiers.append(SubjectRef(scheme, canonical(value)))
            except InvalidIdentifier as error:
                raise _Bad(f"{where}.{name}", str(error)) from None
    details = ((defendant.get("personDefendant") or {}).get("personDetails")) or {}
    person = PersonDetails(
        first_name=details.get("firstName") or None,
        last_name=details.get("lastName") or None,
        date_of_birth=_date(
            details.get("dateOfBirth"), f"{where}.personDefendant.personDetails.dateOfBirth"
        ),
        postcode=((details.get("address") or {}).get("postcode") or "").upper() or None,
    )
    if not identifiers and not (person.last_name and person.date_of_birth):
        raise _Bad(
            f"{where}.pncId", "no PNC ID or CRO number, and no name and date of birth to match on"
        )
    records = []
    for index, offence in enumerate(_list(defendant, "offences", f"{where}.offences")):
        at = f"{where}.offences[{index}]"
        results = [r for r in offence.get("judicialResults") or [] if isinstance(r, dict)]
        convicted = offence.get("convictionDate") or any(
            r.get("isConvictedResult") for r in results
        )
        if not convicted:
            continue  # acquitted, withdrawn, adjourned: nothing to share as a conviction
        code = str(offence.get("offenceCode") or "").strip().upper()
        if not code:
            raise _Bad(f"{at}.offenceCode", "missing")
        mode = MODES.get(str(offence.get("modeOfTrial") or "").strip().lower())
        if mode is None:
            raise _Bad(f"{at}.modeOfTrial", "expected Summary, Either Way or Indictable")
        committed = _date(offence.get("startDate"), f"{at}.startDate")
        conviction_date = _date(offence.get("convictionDate"), f"{at}.convictionDate") or next(
            (
                _date(r.get("orderedDate"), f"{at}.judicialResults.orderedDate")
                for r in results
                if r.get("isConvictedResult")
            ),
            None,
        )
        if committed is None or conviction_date is None:
            raise _Bad(
                f"{at}.startDate" if committed is None else f"{at}.convictionDate", "missing"
            )
        final = next(
            (r for r in results if r.get("category") == "FINAL" and r.get("isConvictedResult")),
            None,
        )
        data: dict[str, Any] = {
            "offence": {
                "code": code,
                "title": str(offence.get("offenceTitle") or code),
                "modeOfTrial": mode,
                "committedOn": committed.isoformat(),
            },
            "severity": {"band": SEVERITY[mode], "flags": offence_flags(code)},
            "convictionDate": conviction_date.isoformat(),
            "court": {"code": str(court["code"]), "name": str(court["name"])},
        }
        if final is not None:
            data["disposal"] = _disposal(final)
        plea = ((offence.get("plea") or {}).get("pleaValue") or "").lower()
        if plea in ("guilty", "not_guilty"):
            data["plea"] = plea
        if urn:
            data["caseUrn"] = urn
        data["hearingId"] = str(hearing.get("id") or "")
        records.append(
            CanonicalRecord(
                record=f"{label}, offence {index + 1}",
                event_id=f"hearing:{hearing.get('id')}:offence:{offence.get('id', index)}",
                type=MessageType.CONVICTION,
                identifiers=tuple(identifiers),
                data=data,
                person=person,
            )
        )
    return records


def _disposal(result: dict[str, Any]) -> dict[str, Any]:
    disposal: dict[str, Any] = {"label": str(result.get("label") or result.get("resultText") or "")}
    if result.get("cjsCode"):
        disposal["cjsCode"] = str(result["cjsCode"])
    duration = result.get("durationElement") or {}
    if duration.get("primaryDurationUnit") in ("D", "W", "M", "Y") and isinstance(
        duration.get("primaryDurationValue"), int
    ):
        disposal["duration"] = {
            "unit": duration["primaryDurationUnit"],
            "value": duration["primaryDurationValue"],
        }
    return disposal


def _list(parent: dict[str, Any], name: str, field: str | None = None) -> list[dict[str, Any]]:
    """A list of objects; a wrong shape is the record's fault when `field` names it, else the
    document's."""
    value = parent.get(name) or []
    if not isinstance(value, list):
        if field is not None:
            raise _Bad(field, "must be a list")
        raise DocumentError(f"{name} must be a list")
    return [item for item in value if isinstance(item, dict)]


def _date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise _Bad(field, "not a date: expected YYYY-MM-DD") from None
