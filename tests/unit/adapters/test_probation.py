"""The probation referral adapter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from marshmallow import ValidationError

from adapters.base import DocumentError
from adapters.probation import parse_referral
from tests.support.adapters import EXAMPLES, as_message

EXAMPLE = EXAMPLES / "probation-referral.json"


def _form() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def test_the_published_referral() -> None:
    form = _form()
    [record] = parse_referral(EXAMPLE.read_bytes()).records
    assert [str(i) for i in record.identifiers] == ["crn:D123456", "noms:A4821DC"]
    assert record.recipient == "provider-doncaster-alliance"
    assert "referredTo" not in record.data
    envelope = as_message(record, "probation-south-yorkshire", "resettlement")
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
        as_message(record, "probation-south-yorkshire", "resettlement")
    assert "route" in json.dumps(info.value.messages)


@pytest.mark.parametrize("raw", [b"{", b"[1]"])
def test_unreadable_documents(raw: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_referral(raw)
