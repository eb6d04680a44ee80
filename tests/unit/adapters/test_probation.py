"""The probation referral adapter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from marshmallow import ValidationError

from adapters.base import DocumentError
from adapters.probation import parse_referral
from hub.api.schemas import load_envelope

EXAMPLE = (
    Path(__file__).resolve().parents[4]
    / "shared"
    / "formats"
    / "examples"
    / "probation-referral.json"
)


def _form() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def _as_message(record: Any) -> Any:
    return load_envelope(
        {
            "specversion": "1.0",
            "id": record.event_id,
            "source": "probation-south-yorkshire",
            "type": "uk.gov.justice.hub.referral.v1",
            "subject": str(record.identifiers[0]),
            "purpose": "resettlement",
            "recipient": record.recipient,
            "data": record.data,
        }
    )


def test_the_published_referral() -> None:
    form = _form()
    [record] = parse_referral(EXAMPLE.read_bytes()).records
    assert [str(i) for i in record.identifiers] == ["crn:D123456", "noms:A4821DC"]
    assert record.recipient == "provider-doncaster-alliance"
    assert "referredTo" not in record.data
    envelope = _as_message(record)
    assert envelope.recipient == "provider-doncaster-alliance"
    assert envelope.data["routes"] == form["routes"]
    assert envelope.data["riskOfSeriousHarm"] == "MEDIUM" and envelope.data["pathway"] == 2


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"crn": "123456"}, "crn", "CRN"),
        ({"crn": None, "nomsNumber": None}, "crn", "CRN or the prison number"),
        ({"referredTo": ""}, "referredTo", "agency id is required"),
        ({"nomsNumber": 4821}, "nomsNumber", "must be text"),
    ],
)
def test_a_bad_form_names_the_field(change: dict[str, Any], field: str, reason: str) -> None:
    form = {**_form(), **change}
    result = parse_referral(json.dumps(form).encode())
    assert result.records == []
    [error] = result.errors
    assert error.field == field and reason in error.reason


def test_the_canonical_schema_still_checks_the_content() -> None:
    form = _form()
    form["routes"][0]["route"] = "astrology"
    [record] = parse_referral(json.dumps(form).encode()).records
    with pytest.raises(ValidationError) as info:
        _as_message(record)
    assert "route" in json.dumps(info.value.messages)


@pytest.mark.parametrize("raw", [b"{", b"[1]"])
def test_unreadable_documents(raw: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_referral(raw)
