from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from hub.api.schemas import load_envelope
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, SubjectScheme
from tests.support.world import conviction_event


@pytest.mark.parametrize(
    ("text", "scheme", "value"),
    [
        ("pnc:2011/0482113C", SubjectScheme.PNC, "2011/0482113C"),
        ("PNC: 11/482113c", SubjectScheme.PNC, "2011/0482113C"),
        ("crn:d123456", SubjectScheme.CRN, "D123456"),
        ("noms:a4821dc", SubjectScheme.NOMS, "A4821DC"),
        ("cro:65656/91H", SubjectScheme.CRO, "065656/91H"),
        ("cro:SF05/482703J", SubjectScheme.CRO, "SF05/482703J"),
    ],
)
def test_subject_references_are_canonical(text: str, scheme: SubjectScheme, value: str) -> None:
    ref = SubjectRef.parse(text)
    assert (ref.scheme, ref.value) == (scheme, value)


@pytest.mark.parametrize(
    "text",
    [
        "2011/0482113C",
        "nhs:123",
        "crn:123456",
        "noms:A1234B",
        "hub:not-a-uuid",
        "pnc:2011/0482113D",
        "cro:65656/91J",
    ],
)
def test_bad_subject_references(text: str) -> None:
    with pytest.raises(ValueError):
        SubjectRef.parse(text)


def test_envelope_loads_and_drops_nulls() -> None:
    event = conviction_event()
    event["data"]["disposal"]["cjsCode"] = None
    envelope = load_envelope(event)
    assert envelope.type is MessageType.CONVICTION
    assert "cjsCode" not in envelope.data["disposal"]


def test_missing_and_unknown_fields_are_named() -> None:
    event = conviction_event()
    del event["purpose"]
    event["data"]["colour"] = "blue"
    with pytest.raises(ValidationError) as info:
        load_envelope(event)
    assert info.value.messages == {
        "purpose": ["Missing data for required field."],
        "data": {"colour": ["Unknown field."]},
    }
    del event["data"]["colour"]
    event["purpose"] = "case_management"
    event["data"]["sneaky"] = 1
    with pytest.raises(ValidationError) as info:
        load_envelope(event)
    assert info.value.messages == {"data": {"sneaky": ["Unknown field."]}}


def test_conviction_cannot_precede_its_offence() -> None:
    event = conviction_event()
    event["data"]["convictionDate"] = "2026-01-01"
    with pytest.raises(ValidationError) as info:
        load_envelope(event)
    assert info.value.messages == {"data": {"convictionDate": ["cannot precede the offence date"]}}


def test_body_must_be_an_object() -> None:
    with pytest.raises(ValidationError):
        load_envelope([1, 2, 3])


VALID_DATA: dict[MessageType, dict[str, Any]] = {
    MessageType.CASE_SUMMARY: {
        "roshLevel": "HIGH",
        "mappa": {"category": 2, "level": 1},
        "registrations": [{"code": "MAPP", "startDate": "2025-08-10"}],
        "predictors": {"ogrs3TwoYear": 78, "rsrPercentage": 2.1, "rsrLevel": "LOW"},
        "triggers": [{"code": "ACCOM_LOSS"}],
    },
    MessageType.NEEDS_ASSESSMENT: {
        "assessedOn": "2025-10-01",
        "needs": [{"route": "accommodation", "level": "severe"}],
    },
    MessageType.RAG_RATING: {"rating": "red_not_engaging", "ratedOn": "2025-11-27"},
    MessageType.ENGAGEMENT: {"contactOn": "2025-11-20", "method": "phone", "attended": False},
    MessageType.RISK_ESCALATION: {
        "triggerCode": "other",
        "observedOn": "2025-12-04",
        "description": "Threats to a member of staff",
        "urgency": "immediate",
    },
    MessageType.HANDOVER: {
        "on": "2025-10-02",
        "from": {"name": "Gemma Lister", "email": "gemma.lister@alliance.example"},
        "to": {"name": "Tom Birch", "email": "tom.birch@alliance.example"},
    },
    MessageType.CONSENT: {
        "signedOn": "2025-10-01",
        "recipients": ["probation", "provider-doncaster-alliance"],
        "purposes": ["case_management"],
        "evidence": {"documentRef": "CMS/consent/1.pdf", "sha256": "ab" * 32},
    },
    MessageType.CONSENT_WITHDRAWN: {"withdrawnOn": "2026-01-05"},
}


def _event(message_type: MessageType, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "e-1",
        "source": "provider-doncaster-alliance",
        "type": message_type.ce_type,
        "subject": "noms:A4821DC",
        "purpose": "case_management",
        "data": data,
    }


@pytest.mark.parametrize("message_type", list(VALID_DATA))
def test_the_new_types_load_and_refuse_unknown_fields(message_type: MessageType) -> None:
    envelope = load_envelope(_event(message_type, VALID_DATA[message_type]))
    assert envelope.type is message_type
    with pytest.raises(ValidationError) as info:
        load_envelope(_event(message_type, {**VALID_DATA[message_type], "colour": "blue"}))
    assert info.value.messages == {"data": {"colour": ["Unknown field."]}}


def test_consent_gets_empty_exclusions_and_handover_keeps_its_from() -> None:
    consent = load_envelope(_event(MessageType.CONSENT, VALID_DATA[MessageType.CONSENT]))
    assert consent.data["exclusions"] == []
    handover = load_envelope(_event(MessageType.HANDOVER, VALID_DATA[MessageType.HANDOVER]))
    assert handover.data == VALID_DATA[MessageType.HANDOVER]


@pytest.mark.parametrize(
    ("message_type", "change", "path"),
    [
        (MessageType.CASE_SUMMARY, {"roshLevel": "SEVERE"}, ("roshLevel",)),
        (MessageType.CASE_SUMMARY, {"mappa": {"category": 4, "level": 1}}, ("mappa", "category")),
        (MessageType.CASE_SUMMARY, {"predictors": {"ogrs3TwoYear": 101}}, ("predictors",)),
        (MessageType.NEEDS_ASSESSMENT, {"assessedOn": "01/10/2025"}, ("assessedOn",)),
        (MessageType.NEEDS_ASSESSMENT, {"needs": []}, ("needs",)),
        (MessageType.RAG_RATING, {"rating": "purple"}, ("rating",)),
        (MessageType.ENGAGEMENT, {"attended": "true"}, ("attended",)),
        (MessageType.ENGAGEMENT, {"attended": 1}, ("attended",)),
        (MessageType.RISK_ESCALATION, {"urgency": "soon"}, ("urgency",)),
        (MessageType.RISK_ESCALATION, {"description": "x" * 4001}, ("description",)),
        (MessageType.HANDOVER, {"to": {"name": "Tom", "email": "tom"}}, ("to", "email")),
        (MessageType.CONSENT, {"validUntil": "2025-09-30"}, ("validUntil",)),
        (MessageType.CONSENT, {"purposes": ["case-management"]}, ("purposes",)),
        (MessageType.CONSENT, {"recipients": []}, ("recipients",)),
        (
            MessageType.CONSENT,
            {"evidence": {"documentRef": "x", "sha256": "AB" * 32}},
            ("evidence", "sha256"),
        ),
        (MessageType.CONSENT_WITHDRAWN, {"withdrawnOn": None}, ("withdrawnOn",)),
    ],
)
def test_the_new_types_name_the_failing_field(
    message_type: MessageType, change: dict[str, Any], path: tuple[str, ...]
) -> None:
    with pytest.raises(ValidationError) as info:
        load_envelope(_event(message_type, {**VALID_DATA[message_type], **change}))
    messages: Any = info.value.messages
    for key in ("data", *path):
        assert isinstance(messages, dict) and key in messages, (path, info.value.messages)
        messages = messages[key]


def test_needs_routes_are_the_configured_ones() -> None:
    data = {"assessedOn": "2025-10-01", "needs": [{"route": "veterans", "level": "some"}]}
    load_envelope(_event(MessageType.NEEDS_ASSESSMENT, data))  # on the ten-route list
    with pytest.raises(ValidationError) as info:
        load_envelope(_event(MessageType.NEEDS_ASSESSMENT, data), routes=("accommodation",))
    assert info.value.messages == {
        "data": {"needs": {0: {"route": ["not a configured reoffending route: 'veterans'"]}}}
    }
