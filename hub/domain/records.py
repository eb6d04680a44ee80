"""The hub's own records about a person, read out of canonical messages.

Releases, case ownership, risk, pathway, needs, RAG rating, engagement, IOM membership and consent
are the attributes sharing policies use and the facts the reconviction rule needs. Each kind has
one current value (the newest); a message that restates the current value changes nothing. Pure
functions: which facts a message states, nothing about storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from hub.domain.vocab import MessageType


class RecordKind(StrEnum):
    RELEASE = "release"
    RISK = "risk"
    TRIGGERS = "triggers"
    IOM = "iom"
    PATHWAY = "pathway"
    NEEDS = "needs"
    RAG = "rag"
    ENGAGEMENT = "engagement"
    PROBATION_OWNER = "owner.probation"
    PROVIDER_OWNER = "owner.provider"
    IOM_OWNER = "owner.iom"
    CONSENT = "consent"
    RESTRICTION = "restriction"
    CONVICTION = "conviction"  # dates, codes and severity: for the reconviction rule and figures


# A conviction's severity band from its offence's mode of trial (as the courts adapter bands it).
SEVERITY_BANDS = {"summary": "summary", "either_way": "either_way", "indictable": "indictable_only"}


@dataclass(frozen=True)
class Fact:
    kind: RecordKind
    value: dict[str, Any]
    holder: str | None = None  # the case owner it names (work email, or an officer's name)
    effective_on: date | None = None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _owner(kind: RecordKind, person: Any, on: date | None) -> list[Fact]:
    if not isinstance(person, dict):
        return []
    holder = person.get("email") or person.get("name")
    if not isinstance(holder, str) or not holder:
        return []
    return [Fact(kind, dict(person), holder.strip().lower(), on)]


def facts_of(message_type: MessageType, data: dict[str, Any]) -> list[Fact]:
    """The facts a canonical message states about its person (none for most message types)."""
    if message_type is MessageType.CONVICTION:
        offence = data.get("offence") or {}
        severity = data.get("severity") or {}
        value = {
            "offenceOn": offence.get("committedOn"),
            "convictedOn": data.get("convictionDate"),
            "offenceCode": offence.get("code"),
            "hearing": data.get("hearingId"),
            # For outcome figures by severity: the band the court gave, else the one the mode
            # of trial puts the offence in (a sender may leave `severity` out).
            "severityBand": severity.get("band")
            or SEVERITY_BANDS.get(str(offence.get("modeOfTrial"))),
            "severityFlags": sorted(severity.get("flags") or []),
        }
        return [Fact(RecordKind.CONVICTION, value, None, _day(data.get("convictionDate")))]
    if message_type is MessageType.RELEASE:
        return [Fact(RecordKind.RELEASE, dict(data), None, _day(data.get("releaseDate")))]
    if message_type is MessageType.COHORT_MEMBERSHIP:
        on = _day(data.get("adoptedOn"))
        facts = [Fact(RecordKind.IOM, dict(data), None, on)]
        if data.get("status") == "adopted" and data.get("officer"):
            owner = {
                "name": data["officer"],
                **({"team": data["team"]} if data.get("team") else {}),
            }
            facts += _owner(RecordKind.IOM_OWNER, owner, on)
        return facts
    if message_type is MessageType.REFERRAL:
        facts = [Fact(RecordKind.PATHWAY, {"pathway": data.get("pathway")})]
        return facts + _owner(RecordKind.PROBATION_OWNER, data.get("officer"), None)
    if message_type is MessageType.CASE_SUMMARY:
        risk = {
            name: data[name]
            for name in ("roshLevel", "mappa", "iomNominal", "registrations", "predictors")
            if data.get(name) is not None
        }
        facts = [Fact(RecordKind.RISK, risk)]
        if data.get("restricted") is not None:
            facts.append(Fact(RecordKind.RESTRICTION, {"restricted": bool(data["restricted"])}))
        if data.get("triggers"):
            facts.append(Fact(RecordKind.TRIGGERS, {"triggers": data["triggers"]}))
        return facts + _owner(RecordKind.PROBATION_OWNER, data.get("communityManager"), None)
    if message_type is MessageType.NEEDS_ASSESSMENT:
        return [Fact(RecordKind.NEEDS, dict(data), None, _day(data.get("assessedOn")))]
    if message_type is MessageType.RAG_RATING:
        return [Fact(RecordKind.RAG, dict(data), None, _day(data.get("ratedOn")))]
    if message_type is MessageType.ENGAGEMENT:
        return [Fact(RecordKind.ENGAGEMENT, dict(data), None, _day(data.get("contactOn")))]
    if message_type is MessageType.HANDOVER:
        # Dated ahead (a handover planned for release day), the case stays with the custody
        # case manager (`from`) until the day comes.
        return [
            Fact(
                fact.kind,
                {**fact.value, "previous": data.get("from")},
                fact.holder,
                fact.effective_on,
            )
            for fact in _owner(RecordKind.PROVIDER_OWNER, data.get("to"), _day(data.get("on")))
        ]
    if message_type is MessageType.CONSENT:
        return [
            Fact(RecordKind.CONSENT, {"state": "given", **data}, None, _day(data.get("signedOn")))
        ]
    if message_type is MessageType.CONSENT_WITHDRAWN:
        return [
            Fact(
                RecordKind.CONSENT,
                {"state": "withdrawn", **data},
                None,
                _day(data.get("withdrawnOn")),
            )
        ]
    return []


OWNER_OF = {
    "probation": RecordKind.PROBATION_OWNER,
    "provider": RecordKind.PROVIDER_OWNER,
    "iom": RecordKind.IOM_OWNER,
}


def case_owner(
    current: dict[str, dict[str, Any]], agency_id: str, agency_kind: str, today: date
) -> str | None:
    """Who at this agency holds the person's case now (work email or name, lower case), from
    the person's current records (`SubjectRecords.current`); None when no one there does. A
    provider's handover dated ahead leaves the case with the custody case manager until then."""
    kind = OWNER_OF.get(agency_kind)
    entry = current.get(kind.value) if kind else None
    if not entry or entry.get("source") != agency_id:
        return None
    value = entry.get("value")
    previous = value.get("previous") if isinstance(value, dict) else None
    on = _day(entry.get("effectiveOn"))
    if on is not None and on > today and isinstance(previous, dict):
        before = previous.get("email") or previous.get("name")
        return before.strip().lower() if isinstance(before, str) and before.strip() else None
    holder = entry.get("holder")
    return holder if isinstance(holder, str) and holder else None
