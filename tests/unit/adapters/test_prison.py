"""The prison adapter: release events and prisoner records."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.base import DocumentError
from adapters.prison import parse_prisoner, parse_release_event
from tests.support.adapters import EXAMPLES, as_message


def _example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / name).read_text())


def test_the_published_release_event() -> None:
    result = parse_release_event((EXAMPLES / "prison-released.json").read_bytes())
    assert result.errors == [] and result.skipped == []
    [record] = result.records
    assert [str(i) for i in record.identifiers] == ["noms:A4821DC"]
    assert record.data == {
        "status": "released",
        "releaseDate": "2025-11-20",
        "prison": "DNI",
        "movementReasonCode": "CR",
    }
    assert record.event_id == "prison-released:A4821DC:2025-11-20T09:05:00+00:00"
    assert as_message(record, "prison-doncaster", "resettlement").data == record.data


def test_the_published_prisoner_record() -> None:
    result = parse_prisoner((EXAMPLES / "prison-prisoner.json").read_bytes())
    [record] = result.records
    assert [str(i) for i in record.identifiers] == [
        "noms:A4821DC",
        "pnc:2011/0482113C",
        "cro:123456/10F",
    ]
    assert record.data == {
        "status": "planned",
        "releaseDate": "2025-11-20",
        "dischargeArea": "Doncaster",
        "legalStatus": "SENTENCED",
        "mostSeriousOffence": "Burglary dwelling - with intent to steal",
        "sentenceStartDate": "2025-08-01",
        "conditionalReleaseDate": "2025-11-20",
        "licenceExpiryDate": "2026-01-31",
        "supervisionExpiryDate": "2026-11-19",
    }
    assert record.person.last_name == "Hargreaves"
    assert as_message(record, "prison-doncaster", "resettlement").data == record.data


@pytest.mark.parametrize(
    "reason",
    [
        "TRANSFERRED",
        "SENT_TO_COURT",
        "TEMPORARY_ABSENCE_RELEASE",
        "RELEASED_TO_HOSPITAL",
        "UNKNOWN",
    ],
)
def test_other_movements_are_acknowledged_not_releases(reason: str) -> None:
    event = _example("prison-released.json")
    event["additionalInformation"]["reason"] = reason
    result = parse_release_event(json.dumps(event).encode())
    assert result.records == [] and result.errors == []
    assert result.skipped[0].reason == f"{reason}: not a release to the community"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"pncNumber": "2011/0482113D"}, "pncNumber", "check letter"),
        ({"prisonerNumber": "12345"}, "prisonerNumber", "prison number"),
        ({"releaseDate": "20/11/2025"}, "releaseDate", "YYYY-MM-DD"),
        ({"releaseDate": None}, "releaseDate", "missing"),
        ({"licenceExpiryDate": 20260131}, "licenceExpiryDate", "must be text"),
    ],
)
def test_a_bad_prisoner_record_names_the_field(
    change: dict[str, Any], field: str, reason: str
) -> None:
    prisoner = _example("prison-prisoner.json")
    prisoner.update(change)
    result = parse_prisoner(json.dumps(prisoner).encode())
    assert result.records == []
    [error] = result.errors
    assert error.field == field and reason in error.reason


def test_a_release_event_without_an_offset_is_refused() -> None:
    event = _example("prison-released.json")
    event["occurredAt"] = "2025-11-20T09:05:00"
    [error] = parse_release_event(json.dumps(event).encode()).errors
    assert error.field == "occurredAt" and "offset" in error.reason


@pytest.mark.parametrize(
    "raw", [b"nope", b"[]", b'{"eventType": "prison-offender-events.prisoner.received"}']
)
def test_unreadable_documents(raw: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_release_event(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.dictionaries(st.sampled_from(list(_example("prison-prisoner.json"))), json_values))
def test_any_prisoner_record_gives_a_valid_record_or_a_named_error(change: dict[str, Any]) -> None:
    prisoner = {**_example("prison-prisoner.json"), **change}
    result = parse_prisoner(json.dumps(prisoner).encode())
    assert len(result.records) + len(result.errors) == 1
    for record in result.records:
        as_message(record, "prison-doncaster", "resettlement")


@given(
    st.dictionaries(
        st.sampled_from(["nomsNumber", "reason", "prisonId", "nomisMovementReasonCode"]),
        json_values,
    ),
    json_values,
)
def test_any_release_event_gives_a_valid_record_or_the_adapters_own_error(
    info: dict[str, Any], occurred: Any
) -> None:
    event = _example("prison-released.json")
    event["additionalInformation"].update(info)
    event["occurredAt"] = occurred
    result = parse_release_event(json.dumps(event).encode())
    assert len(result.records) + len(result.errors) + len(result.skipped) == 1
    for record in result.records:
        as_message(record, "prison-doncaster", "resettlement")
