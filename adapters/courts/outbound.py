"""A canonical conviction back to the courts as a minimal Common Platform hearing fragment: one
prosecution case, one defendant, the convicted offence with its final result. It carries what the
canonical message holds (and the identifiers the hub passes), so it reads back to the same
conviction; everything else a resulted hearing has is left out, not invented."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.base import Rendered
from adapters.outbound import Identifiers, TypeRenderer, as_json, dispatch, present
from hub.domain.vocab import AgencyKind, MessageType, SubjectScheme

MODES_OF_TRIAL = {"summary": "Summary", "either_way": "Either Way", "indictable": "Indictable"}
PLEAS = {"guilty": "GUILTY", "not_guilty": "NOT_GUILTY", "none": "NO_PLEA"}


def hearing_fragment(data: dict[str, Any], identifiers: Mapping[str, str]) -> dict[str, Any]:
    offence = data.get("offence") or {}
    disposal = data.get("disposal") or {}
    duration = disposal.get("duration") or {}
    results = []
    if disposal:
        results.append(
            present(
                label=disposal.get("label"),
                category="FINAL",
                isConvictedResult=True,
                orderedDate=data.get("convictionDate"),
                cjsCode=disposal.get("cjsCode"),
                durationElement=present(
                    primaryDurationUnit=duration.get("unit"),
                    primaryDurationValue=duration.get("value"),
                )
                or None,
            )
        )
    native_offence = present(
        offenceCode=offence.get("code"),
        offenceTitle=offence.get("title"),
        modeOfTrial=MODES_OF_TRIAL.get(offence.get("modeOfTrial", "")),
        startDate=offence.get("committedOn"),
        convictionDate=data.get("convictionDate"),
        plea={"pleaValue": PLEAS[data["plea"]]} if data.get("plea") in PLEAS else None,
        judicialResults=results,
    )
    defendant = present(
        pncId=identifiers.get(SubjectScheme.PNC),
        croNumber=identifiers.get(SubjectScheme.CRO),
        offences=[native_offence],
    )
    case = present(
        prosecutionCaseIdentifier={"caseURN": data["caseUrn"]} if data.get("caseUrn") else None,
        defendants=[defendant],
    )
    return {
        "hearing": present(
            id=data.get("hearingId"),
            courtCentre=data.get("court"),
            prosecutionCases=[case],
        )
    }


RENDERERS: dict[MessageType, TypeRenderer] = {
    MessageType.CONVICTION: lambda data, ids: as_json(hearing_fragment(data, ids))
}


def render(
    message_type: MessageType, data: dict[str, Any], identifiers: Identifiers = None
) -> Rendered:
    return dispatch(AgencyKind.COURTS, RENDERERS, message_type, data, identifiers)
