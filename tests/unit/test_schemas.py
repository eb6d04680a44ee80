from __future__ import annotations

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
