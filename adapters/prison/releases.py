"""HMPPS `prisoner.released` domain events and prisoner records to release records.

Only `reason == "RELEASED"` is a release to the community; transfers, court appearances,
temporary absences and releases to hospital are acknowledged and not treated as releases
(shared/formats/README.md, "prison").
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from adapters.base import CanonicalRecord, DocumentError, ParseResult, PersonDetails, RecordError
from adapters.fields import FieldError, iso_date, obj, text
from hub.domain.identifiers import (
    InvalidIdentifier,
    canonical_cro,
    canonical_noms,
    canonical_pnc,
)
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, SubjectScheme

RELEASED_EVENT = "prison-offender-events.prisoner.released"


def _load(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DocumentError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise DocumentError("expected a JSON object")
    return document


def parse_release_event(raw: bytes) -> ParseResult:
    event = _load(raw)
    result = ParseResult()
    label = "release event"
    if event.get("eventType") != RELEASED_EVENT:
        raise DocumentError(f"eventType must be {RELEASED_EVENT}")
    try:
        info = obj(event.get("additionalInformation"), "additionalInformation")
        reason = text(info.get("reason"), "additionalInformation.reason").upper()
        noms = _noms(info.get("nomsNumber"), "additionalInformation.nomsNumber")
        occurred = _timestamp(event.get("occurredAt"), "occurredAt")
        if reason != "RELEASED":
            result.skipped.append(
                RecordError(
                    label,
                    "additionalInformation.reason",
                    f"{reason or 'no reason'}: not a release to the community",
                )
            )
            return result
        prison = text(info.get("prisonId"), "additionalInformation.prisonId")
        movement = text(
            info.get("nomisMovementReasonCode"), "additionalInformation.nomisMovementReasonCode"
        )
    except FieldError as bad:
        result.errors.append(RecordError(label, bad.field, bad.reason))
        return result
    data: dict[str, Any] = {"status": "released", "releaseDate": occurred.date().isoformat()}
    if prison and len(prison) <= 10:
        data["prison"] = prison
    if movement and len(movement) <= 10:
        data["movementReasonCode"] = movement
    result.records.append(
        CanonicalRecord(
            record=label,
            event_id=f"prison-released:{noms}:{occurred.isoformat()}",
            type=MessageType.RELEASE,
            identifiers=(SubjectRef(SubjectScheme.NOMS, noms),),
            data=data,
        )
    )
    return result


def parse_prisoner(raw: bytes) -> ParseResult:
    prisoner = _load(raw)
    result = ParseResult()
    label = f"prisoner {prisoner.get('prisonerNumber', '?')}"
    try:
        identifiers = [
            SubjectRef(SubjectScheme.NOMS, _noms(prisoner.get("prisonerNumber"), "prisonerNumber"))
        ]
        for name, scheme, canonical in (
            ("pncNumber", SubjectScheme.PNC, canonical_pnc),
            ("croNumber", SubjectScheme.CRO, canonical_cro),
        ):
            value = text(prisoner.get(name), name)
            if value:
                try:
                    identifiers.append(SubjectRef(scheme, canonical(value)))
                except InvalidIdentifier as error:
                    raise FieldError(name, str(error)) from None
        release_date = iso_date(prisoner.get("releaseDate"), "releaseDate")
        if release_date is None:
            raise FieldError(
                "releaseDate", "missing: a prisoner record tells the hub about a release"
            )
        data: dict[str, Any] = {"status": "planned", "releaseDate": release_date.isoformat()}
        for source, target, limit in (
            ("dischargeArea", "dischargeArea", 100),
            ("legalStatus", "legalStatus", 40),
            ("mostSeriousOffence", "mostSeriousOffence", 300),
        ):
            value = text(prisoner.get(source), source)
            if value:
                data[target] = value[:limit]
        for source, target in (
            ("sentenceStartDate", "sentenceStartDate"),
            ("conditionalReleaseDate", "conditionalReleaseDate"),
            ("licenceExpiryDate", "licenceExpiryDate"),
            ("topupSupervisionExpiryDate", "supervisionExpiryDate"),
        ):
            when = iso_date(prisoner.get(source), source)
            if when is not None:
                data[target] = when.isoformat()
        person = PersonDetails(
            first_name=text(prisoner.get("firstName"), "firstName") or None,
            last_name=text(prisoner.get("lastName"), "lastName") or None,
            date_of_birth=iso_date(prisoner.get("dateOfBirth"), "dateOfBirth"),
        )
    except FieldError as bad:
        result.errors.append(RecordError(label, bad.field, bad.reason))
        return result
    result.records.append(
        CanonicalRecord(
            record=label,
            event_id=f"prisoner:{identifiers[0].value}:release:{data['releaseDate']}",
            type=MessageType.RELEASE,
            identifiers=tuple(identifiers),
            data=data,
            person=person,
        )
    )
    return result


def _noms(value: Any, field: str) -> str:
    try:
        return canonical_noms(text(value, field))
    except InvalidIdentifier as error:
        raise FieldError(field, str(error)) from None


def _timestamp(value: Any, field: str) -> datetime:
    raw = text(value, field)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise FieldError(field, "not a timestamp: expected ISO 8601 with an offset") from None
    if moment.tzinfo is None:
        raise FieldError(field, "the timestamp needs an offset (e.g. +00:00)")
    return moment
