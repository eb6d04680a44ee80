"""Canonical messages to the provider in its case management system's shapes: its own events
back as its events document, a referral as the referral form it already takes, and a conviction
(a reconviction alert) as one flat record its system can import. Anything else (a case summary,
a release) is delivered as the canonical message."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from adapters.base import Rendered
from adapters.outbound import Identifiers, TypeRenderer, as_json, dispatch, present
from adapters.probation.referrals import referral_form
from adapters.provider.events import NATIVE_KINDS, events_document
from hub.domain.vocab import AgencyKind, MessageType, SubjectScheme

UNITS = {"D": "day", "W": "week", "M": "month", "Y": "year"}


def conviction_record(data: dict[str, Any], identifiers: Mapping[str, str]) -> dict[str, Any]:
    offence = data.get("offence") or {}
    severity = data.get("severity") or {}
    court = data.get("court") or {}
    disposal = data.get("disposal") or {}
    duration = disposal.get("duration") or {}
    length = None
    if duration.get("unit") in UNITS and duration.get("value") is not None:
        value = duration["value"]
        length = f"{value} {UNITS[duration['unit']]}{'' if value == 1 else 's'}"
    return present(
        nomsNumber=identifiers.get(SubjectScheme.NOMS),
        pnc=identifiers.get(SubjectScheme.PNC),
        offenceCode=offence.get("code"),
        offenceTitle=offence.get("title"),
        offenceDate=offence.get("committedOn"),
        modeOfTrial=offence.get("modeOfTrial"),
        severityBand=severity.get("band"),
        flags=severity.get("flags"),
        convictionDate=data.get("convictionDate"),
        courtCode=court.get("code"),
        courtName=court.get("name"),
        disposal=disposal.get("label"),
        disposalCode=disposal.get("cjsCode"),
        disposalLength=length,
        plea=data.get("plea"),
        caseUrn=data.get("caseUrn"),
    )


def _event(message_type: MessageType, data: dict[str, Any], ids: Mapping[str, str]) -> Rendered:
    return as_json(events_document(message_type, data, ids))


RENDERERS: dict[MessageType, TypeRenderer] = {
    MessageType.REFERRAL: lambda data, ids: as_json(referral_form(data, ids)),
    MessageType.CONVICTION: lambda data, ids: as_json(conviction_record(data, ids)),
    **{message_type: partial(_event, message_type) for message_type in NATIVE_KINDS},
}


def render(
    message_type: MessageType, data: dict[str, Any], identifiers: Identifiers = None
) -> Rendered:
    return dispatch(AgencyKind.PROVIDER, RENDERERS, message_type, data, identifiers)
