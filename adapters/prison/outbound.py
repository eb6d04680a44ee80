"""A canonical release back to the prison in the prisoner-record shape (Prisoner Search), the
shape the prison sends the hub. A done release adds the record's status after release
(`INACTIVE OUT`) and the movement's reason code."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.base import Rendered
from adapters.outbound import Identifiers, TypeRenderer, as_json, dispatch, present
from hub.domain.vocab import AgencyKind, MessageType, SubjectScheme

STATUSES = {"planned": "ACTIVE IN", "released": "INACTIVE OUT"}


def prisoner_record(data: dict[str, Any], identifiers: Mapping[str, str]) -> dict[str, Any]:
    return present(
        prisonerNumber=identifiers.get(SubjectScheme.NOMS),
        pncNumber=identifiers.get(SubjectScheme.PNC),
        croNumber=identifiers.get(SubjectScheme.CRO),
        status=STATUSES.get(data.get("status", "")),
        prisonId=data.get("prison"),
        legalStatus=data.get("legalStatus"),
        sentenceStartDate=data.get("sentenceStartDate"),
        releaseDate=data.get("releaseDate"),
        conditionalReleaseDate=data.get("conditionalReleaseDate"),
        licenceExpiryDate=data.get("licenceExpiryDate"),
        topupSupervisionExpiryDate=data.get("supervisionExpiryDate"),
        mostSeriousOffence=data.get("mostSeriousOffence"),
        lastMovementReasonCode=data.get("movementReasonCode"),
        dischargeArea=data.get("dischargeArea"),
    )


RENDERERS: dict[MessageType, TypeRenderer] = {
    MessageType.RELEASE: lambda data, ids: as_json(prisoner_record(data, ids))
}


def render(
    message_type: MessageType, data: dict[str, Any], identifiers: Identifiers = None
) -> Rendered:
    return dispatch(AgencyKind.PRISON, RENDERERS, message_type, data, identifiers)
