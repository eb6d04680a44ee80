"""A probation case summary (nDelius case details with the OASys risk summary) to one canonical
`case-summary`, and back.

nDelius holds the registrations (the RoSH level, MAPPA, IOM nominal and the others), OASys the risk
summary and the predictors; the summary brings them together for the agencies working the case
(shared/formats/README.md, "probation: case summary"). Only active registrations are shared: an
ended one says nothing about the risk now. The event id is built from the content, so the same
summary sent twice adds nothing and an updated one is a new message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from adapters.base import CanonicalRecord, DocumentError, ParseResult, PersonDetails, RecordError
from adapters.fields import (
    FieldError,
    bounded,
    email,
    flag,
    identifier,
    iso_date,
    items,
    obj,
    short_text,
    text,
)
from adapters.outbound import present
from hub.domain.identifiers import canonical_crn, canonical_cro, canonical_noms, canonical_pnc
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, SubjectScheme

RISK_LEVELS = ("LOW", "MEDIUM", "HIGH", "VERY_HIGH")
ROSH = {"RLRH": "LOW", "RMRH": "MEDIUM", "RHRH": "HIGH", "RVHR": "VERY_HIGH"}
MAPPA = "MAPP"
MAPPA_CODES = {"M1": 1, "M2": 2, "M3": 3}
IOM_NOMINAL = "IIOM"
RSR_LEVELS = ("LOW", "MEDIUM", "HIGH")
NARRATIVE = (
    "whoIsAtRisk",
    "natureOfRisk",
    "riskImminence",
    "riskIncreaseFactors",
    "riskMitigationFactors",
)
NARRATIVE_LIMIT = 4000  # longer OASys text is cut here; the whole of it stays in OASys
OTHER_IDS = (
    ("pncNumber", SubjectScheme.PNC, canonical_pnc),
    ("croNumber", SubjectScheme.CRO, canonical_cro),
    ("nomsNumber", SubjectScheme.NOMS, canonical_noms),
)


def parse_case(raw: bytes) -> ParseResult:
    try:
        case = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DocumentError(f"not JSON: {error}") from None
    if not isinstance(case, dict):
        raise DocumentError("expected a JSON object (one case summary)")
    result = ParseResult()
    crn = case.get("crn")
    label = (
        f"case {crn.strip()}" if isinstance(crn, str) and short_text(crn, 20) else "case summary"
    )
    try:
        result.records.append(_case(case, label))
    except FieldError as bad:
        result.errors.append(RecordError(label, bad.field, bad.reason))
    return result


def _case(case: dict[str, Any], label: str) -> CanonicalRecord:
    crn = identifier(case.get("crn"), "crn", canonical_crn)
    if not crn:
        raise FieldError("crn", "missing: a case summary is about one probation case")
    identifiers = [SubjectRef(SubjectScheme.CRN, crn)]
    other = obj(case.get("otherIds"), "otherIds")
    for name, scheme, canonical in OTHER_IDS:
        value = identifier(other.get(name), f"otherIds.{name}", canonical)
        if value:
            identifiers.append(SubjectRef(scheme, value))
    person = PersonDetails(
        first_name=text(case.get("firstName"), "firstName") or None,
        last_name=text(case.get("surname"), "surname") or None,
        date_of_birth=iso_date(case.get("dateOfBirth"), "dateOfBirth"),
    )
    registered = _registrations(case)
    # nDelius marks a limited-access case: a restriction (only named staff may see it) or an
    # exclusion (named staff may not). Either way the hub treats the person as restricted.
    restriction = flag(case.get("currentRestriction"), "currentRestriction")
    exclusion = flag(case.get("currentExclusion"), "currentExclusion")
    restricted = (
        None if restriction is None and exclusion is None else bool(restriction or exclusion)
    )
    summary = obj(case.get("riskSummary"), "riskSummary")
    overall = text(summary.get("overallRiskLevel"), "riskSummary.overallRiskLevel").upper()
    if overall and overall not in RISK_LEVELS:
        raise FieldError("riskSummary.overallRiskLevel", "expected LOW, MEDIUM, HIGH or VERY_HIGH")
    data: dict[str, Any] = present(
        # OASys's overall level is the assessed one; the registration, where there is no
        # assessment, is the flag nDelius shows.
        roshLevel=overall or registered.rosh,
        mappa=registered.mappa,
        iomNominal=registered.iom,
        registrations=registered.active if "registrations" in case else None,
        riskSummary=_risk_summary(summary) or None,
        predictors=_predictors(obj(case.get("predictors"), "predictors")) or None,
        communityManager=_manager(obj(case.get("communityManager"), "communityManager")) or None,
        triggers=_triggers(case) if "triggers" in case else None,
        restricted=restricted,
    )
    digest = hashlib.sha256(
        rfc8785.dumps({"identifiers": [str(ref) for ref in identifiers], "data": data})
    ).hexdigest()[:16]
    return CanonicalRecord(
        record=label,
        event_id=f"probation-case:{crn}:{digest}",
        type=MessageType.CASE_SUMMARY,
        identifiers=tuple(identifiers),
        data=data,
        person=person,
    )


class _Registered:
    """What the active registrations say: the list itself, and the RoSH, MAPPA and IOM status
    read from it."""

    def __init__(self) -> None:
        self.active: list[dict[str, Any]] = []
        self.rosh: str | None = None
        self.mappa: dict[str, int] | None = None
        self.iom: dict[str, str] | None = None


def _registrations(case: dict[str, Any]) -> _Registered:
    registered = _Registered()
    entries = items(case.get("registrations"), "registrations")
    for index, entry in enumerate(entries):
        at = f"registrations[{index}]"
        entry = obj(entry, at)
        active = entry.get("active", True)
        if not isinstance(active, bool):
            raise FieldError(f"{at}.active", "must be true or false")
        if not active:
            continue  # ended: says nothing about the risk now
        kind = obj(entry.get("type"), f"{at}.type")
        code = bounded(kind.get("code"), f"{at}.type.code", 20, required=True).upper()
        start = iso_date(entry.get("startDate"), f"{at}.startDate")
        registered.active.append(
            present(
                code=code,
                description=text(kind.get("description"), f"{at}.type.description")[:200] or None,
                startDate=start.isoformat() if start else None,
            )
        )
        if code in ROSH:
            # Two active RoSH registrations is a data error; the higher level is the safe reading.
            levels = [ROSH[code]] + ([registered.rosh] if registered.rosh else [])
            registered.rosh = max(levels, key=RISK_LEVELS.index)
        elif code == MAPPA and registered.mappa is None:
            registered.mappa = {
                "category": _mappa_code(entry, "category", at),
                "level": _mappa_code(entry, "level", at),
            }
        elif code == IOM_NOMINAL and registered.iom is None:
            category = obj(entry.get("category"), f"{at}.category")
            code_text = bounded(category.get("code"), f"{at}.category.code", 10).upper()
            registered.iom = present(category=code_text or None)
    if len(registered.active) > 100:
        raise FieldError("registrations", "more than 100 active registrations")
    return registered


def _mappa_code(entry: dict[str, Any], name: str, at: str) -> int:
    field = f"{at}.{name}.code"
    code = text(obj(entry.get(name), f"{at}.{name}").get("code"), field).upper()
    if code not in MAPPA_CODES:
        raise FieldError(field, f"a MAPPA {name} must be M1, M2 or M3")
    return MAPPA_CODES[code]


def _risk_summary(summary: dict[str, Any]) -> dict[str, Any]:
    risk: dict[str, Any] = {}
    for name in NARRATIVE:
        value = text(summary.get(name), f"riskSummary.{name}")
        if value:
            risk[name] = value[:NARRATIVE_LIMIT]
    at = "riskSummary.riskInCommunity"
    groups: dict[str, list[str]] = {}
    for level, names in obj(summary.get("riskInCommunity"), at).items():
        key = level.strip().upper()
        if key not in RISK_LEVELS:
            raise FieldError(at, "each key must be a level: LOW, MEDIUM, HIGH or VERY_HIGH")
        for index, group in enumerate(items(names, f"{at}.{key}")):
            name = text(group, f"{at}.{key}[{index}]")[:100]
            if name:
                groups.setdefault(key, []).append(name)
    if groups:
        risk["riskInCommunity"] = {key: names[:20] for key, names in groups.items()}
    return risk


def _predictors(predictors: dict[str, Any]) -> dict[str, Any]:
    rsr = obj(predictors.get("rsr"), "predictors.rsr")
    level = text(rsr.get("scoreLevel"), "predictors.rsr.scoreLevel").upper()
    if level and level not in RSR_LEVELS:
        raise FieldError("predictors.rsr.scoreLevel", "expected LOW, MEDIUM or HIGH")
    return present(
        ogrs3TwoYear=_percent(predictors.get("ogrs3TwoYear"), "predictors.ogrs3TwoYear", True),
        rsrPercentage=_percent(rsr.get("percentageScore"), "predictors.rsr.percentageScore"),
        rsrLevel=level or None,
    )


def _percent(value: Any, field: str, whole: bool = False) -> int | float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field, "must be a number")
    if not 0 <= value <= 100:  # NaN fails this too
        raise FieldError(field, "expected a percentage from 0 to 100")
    if whole:
        if isinstance(value, float) and not value.is_integer():
            raise FieldError(field, "expected a whole percentage")
        return int(value)
    return value


def _manager(manager: dict[str, Any]) -> dict[str, Any]:
    at = "communityManager"
    name = obj(manager.get("name"), f"{at}.name")
    full_name = " ".join(
        part
        for part in (
            text(name.get("forename"), f"{at}.name.forename"),
            text(name.get("surname"), f"{at}.name.surname"),
        )
        if part
    )
    team = obj(manager.get("team"), f"{at}.team")
    team_code = bounded(team.get("code"), f"{at}.team.code", 20)
    team_description = text(team.get("description"), f"{at}.team.description")[:200]
    if team_description and not team_code:
        raise FieldError(f"{at}.team.code", "missing: a team is named by its code")
    return present(
        code=bounded(manager.get("code"), f"{at}.code", 20) or None,
        name=full_name[:200] or None,
        email=email(manager.get("email"), f"{at}.email") or None,
        team=present(code=team_code, description=team_description or None) if team_code else None,
    )


def _triggers(case: dict[str, Any]) -> list[dict[str, Any]]:
    triggers = []
    for index, entry in enumerate(items(case.get("triggers"), "triggers")):
        at = f"triggers[{index}]"
        entry = obj(entry, at)
        set_on = iso_date(entry.get("setOn"), f"{at}.setOn")
        triggers.append(
            present(
                code=bounded(entry.get("code"), f"{at}.code", 40, required=True),
                description=text(entry.get("description"), f"{at}.description")[:500] or None,
                setOn=set_on.isoformat() if set_on else None,
            )
        )
    if len(triggers) > 50:
        raise FieldError("triggers", "more than 50 triggers")
    return triggers


def case_document(data: dict[str, Any], identifiers: Mapping[str, str]) -> dict[str, Any]:
    """A canonical case summary (or the fields of it a recipient may see) in the case shape."""
    registrations = []
    codes = set()
    for registration in data.get("registrations") or []:
        code = registration.get("code")
        codes.add(code)
        native: dict[str, Any] = present(
            type=present(code=code, description=registration.get("description")),
            startDate=registration.get("startDate"),
            active=True,
        )
        registrations.append(native)
        if code == MAPPA and data.get("mappa"):
            native.update(_native_mappa(data["mappa"]))
        elif code == IOM_NOMINAL and (data.get("iomNominal") or {}).get("category"):
            native["category"] = {"code": data["iomNominal"]["category"]}
    # The summary's own fields, where the registrations given do not already carry them.
    if data.get("mappa") and MAPPA not in codes:
        registrations.append(
            {"type": {"code": MAPPA}, "active": True, **_native_mappa(data["mappa"])}
        )
    if data.get("iomNominal") is not None and IOM_NOMINAL not in codes:
        category = data["iomNominal"].get("category")
        registrations.append(
            present(
                type={"code": IOM_NOMINAL},
                category={"code": category} if category else None,
                active=True,
            )
        )
    risk = data.get("riskSummary") or {}
    predictors = data.get("predictors") or {}
    rsr = present(
        percentageScore=predictors.get("rsrPercentage"), scoreLevel=predictors.get("rsrLevel")
    )
    manager = data.get("communityManager") or {}
    forename, _, surname = (manager.get("name") or "").rpartition(" ")
    return present(
        crn=identifiers.get(SubjectScheme.CRN),
        otherIds=present(**{name: identifiers.get(scheme) for name, scheme, _ in OTHER_IDS})
        or None,
        registrations=registrations if "registrations" in data or registrations else None,
        riskSummary=present(
            overallRiskLevel=data.get("roshLevel"),
            **{name: risk.get(name) for name in NARRATIVE},
            riskInCommunity=risk.get("riskInCommunity"),
        )
        or None,
        predictors=present(ogrs3TwoYear=predictors.get("ogrs3TwoYear"), rsr=rsr or None) or None,
        communityManager=present(
            code=manager.get("code"),
            name=present(forename=forename or None, surname=surname or None) or None,
            email=manager.get("email"),
            team=manager.get("team"),
        )
        or None,
        triggers=data.get("triggers"),
        currentRestriction=data.get("restricted"),
    )


def _native_mappa(mappa: dict[str, Any]) -> dict[str, Any]:
    return present(
        category={"code": f"M{mappa['category']}"} if mappa.get("category") else None,
        level={"code": f"M{mappa['level']}"} if mappa.get("level") else None,
    )
