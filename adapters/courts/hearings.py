"""A resulted hearing (Common Platform JSON) to conviction records, one per convicted offence.

A conviction is an offence with a result whose `isConvictedResult` is true, or a `convictionDate`;
its disposal is the offence's FINAL result. Acquittals, adjournments, remands and dismissals are
not convictions. See shared/formats/README.md, "courts".
"""

from __future__ import annotations

import json
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from adapters.base import CanonicalRecord, DocumentError, ParseResult, PersonDetails, RecordError
from adapters.fields import FieldError, iso_date, obj, short_text, text
from hub.domain.identifiers import InvalidIdentifier, canonical_cro, canonical_pnc
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, SubjectScheme

OFFENCE_CODE = re.compile(r"^[A-Z]{2}[0-9A-Z]{2}[0-9]{3}[A-Z]?$")
MODES = {"summary": "summary", "either way": "either_way", "indictable": "indictable"}
SEVERITY = {"summary": "summary", "either_way": "either_way", "indictable": "indictable_only"}


@cache
def _statutes() -> dict[str, frozenset[str]]:
    raw = tomllib.loads((Path(__file__).parent / "statutes.toml").read_text())
    return {flag: frozenset(codes) for flag, codes in raw.items()}


def offence_flags(offence_code: str) -> list[str]:
    statute = offence_code[:4]
    return sorted(flag for flag, codes in _statutes().items() if statute in codes)


def parse_hearing(raw: bytes) -> ParseResult:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DocumentError(f"not JSON: {error}") from None
    hearing = document.get("hearing") if isinstance(document, dict) else None
    if not isinstance(hearing, dict):
        raise DocumentError("expected an object with a 'hearing'")
    if not short_text(hearing.get("id"), 100):
        raise DocumentError("hearing.id is required (the Common Platform hearing id, as text)")
    court = hearing.get("courtCentre") or {}
    if (
        not isinstance(court, dict)
        or not short_text(court.get("code"), 20)
        or not short_text(court.get("name"), 200)
    ):
        raise DocumentError("hearing.courtCentre needs a code (up to 20 characters) and a name")
    result = ParseResult()
    number = 0
    for case_index, case in enumerate(_list(hearing, "prosecutionCases")):
        identifier = case.get("prosecutionCaseIdentifier")
        urn_value = identifier.get("caseURN") if isinstance(identifier, dict) else None
        # Opaque: kept when it is text of a sensible length, dropped otherwise.
        urn = (
            urn_value.replace(" ", "").upper()
            if isinstance(urn_value, str) and short_text(urn_value, 40)
            else ""
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
            except FieldError as bad:
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
        value = text(defendant.get(name), f"{where}.{name}")
        if value:
            try:
                identifiers.append(SubjectRef(scheme, canonical(value)))
            except InvalidIdentifier as error:
                raise FieldError(f"{where}.{name}", str(error)) from None
    at_person = f"{where}.personDefendant.personDetails"
    person_defendant = obj(defendant.get("personDefendant"), f"{where}.personDefendant")
    details = obj(person_defendant.get("personDetails"), at_person)
    address = obj(details.get("address"), f"{at_person}.address")
    person = PersonDetails(
        first_name=text(details.get("firstName"), f"{at_person}.firstName") or None,
        last_name=text(details.get("lastName"), f"{at_person}.lastName") or None,
        date_of_birth=iso_date(details.get("dateOfBirth"), f"{at_person}.dateOfBirth"),
        postcode=text(address.get("postcode"), f"{at_person}.address.postcode").upper() or None,
    )
    if not identifiers and not (person.last_name and person.date_of_birth):
        raise FieldError(
            f"{where}.pncId", "no PNC ID or CRO number, and no name and date of birth to match on"
        )
    records = []
    for index, offence in enumerate(_list(defendant, "offences", f"{where}.offences")):
        at = f"{where}.offences[{index}]"
        results = _list(offence, "judicialResults", f"{at}.judicialResults")
        convicted = offence.get("convictionDate") or any(
            r.get("isConvictedResult") for r in results
        )
        if not convicted:
            continue  # acquitted, withdrawn, adjourned: nothing to share as a conviction
        code = text(offence.get("offenceCode"), f"{at}.offenceCode").upper()
        if not OFFENCE_CODE.match(code):
            raise FieldError(f"{at}.offenceCode", "not a CJS offence code (e.g. TH68010)")
        mode = MODES.get(text(offence.get("modeOfTrial"), f"{at}.modeOfTrial").lower())
        if mode is None:
            raise FieldError(f"{at}.modeOfTrial", "expected Summary, Either Way or Indictable")
        committed = iso_date(offence.get("startDate"), f"{at}.startDate")
        conviction_date = iso_date(offence.get("convictionDate"), f"{at}.convictionDate") or next(
            (
                iso_date(r.get("orderedDate"), f"{at}.judicialResults.orderedDate")
                for r in results
                if r.get("isConvictedResult")
            ),
            None,
        )
        if committed is None or conviction_date is None:
            raise FieldError(
                f"{at}.startDate" if committed is None else f"{at}.convictionDate", "missing"
            )
        final = next(
            (r for r in results if r.get("category") == "FINAL" and r.get("isConvictedResult")),
            None,
        )
        data: dict[str, Any] = {
            "offence": {
                "code": code,
                "title": (text(offence.get("offenceTitle"), f"{at}.offenceTitle") or code)[:300],
                "modeOfTrial": mode,
                "committedOn": committed.isoformat(),
            },
            "severity": {"band": SEVERITY[mode], "flags": offence_flags(code)},
            "convictionDate": conviction_date.isoformat(),
            "court": {"code": court["code"].strip(), "name": court["name"].strip()},
        }
        if final is not None:
            data["disposal"] = _disposal(final, f"{at}.judicialResults")
        plea = text(
            obj(offence.get("plea"), f"{at}.plea").get("pleaValue"), f"{at}.plea.pleaValue"
        ).lower()
        if plea in ("guilty", "not_guilty"):
            data["plea"] = plea
        if urn:
            data["caseUrn"] = urn
        if short_text(hearing.get("id"), 100):
            data["hearingId"] = hearing["id"]
        records.append(
            CanonicalRecord(
                record=f"{label}, offence {index + 1}",
                event_id=_event_id(hearing, defendant, offence, where, index),
                type=MessageType.CONVICTION,
                identifiers=tuple(identifiers),
                data=data,
                person=person,
            )
        )
    return records


def _event_id(
    hearing: dict[str, Any],
    defendant: dict[str, Any],
    offence: dict[str, Any],
    where: str,
    index: int,
) -> str:
    """Stable for the same result sent again, distinct for every convicted offence: the
    Common Platform ids where the document has them, otherwise the defendant's and offence's
    places in the hearing."""
    offence_id = offence.get("id")
    if short_text(offence_id, 100):
        return f"hearing:{hearing['id']}:offence:{offence_id}"
    defendant_id = defendant.get("id")
    who = defendant_id if short_text(defendant_id, 100) else where
    return f"hearing:{hearing['id']}:defendant:{who}:offence#{index}"


def _disposal(result: dict[str, Any], at: str) -> dict[str, Any]:
    label = text(result.get("label"), f"{at}.label") or text(
        result.get("resultText"), f"{at}.resultText"
    )
    disposal: dict[str, Any] = {"label": label[:200] or "Sentence"}
    if short_text(result.get("cjsCode"), 10):
        disposal["cjsCode"] = result["cjsCode"]
    duration = obj(result.get("durationElement"), f"{at}.durationElement")
    value = duration.get("primaryDurationValue")
    if (
        duration.get("primaryDurationUnit") in ("D", "W", "M", "Y")
        and type(value) is int
        and 0 <= value <= 10000
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
            raise FieldError(field, "must be a list")
        raise DocumentError(f"{name} must be a list")
    return [item for item in value if isinstance(item, dict)]
