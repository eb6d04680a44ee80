"""The courts adapter on the published example and on bad hearings, record by record."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.base import DocumentError
from adapters.courts import parse_hearing
from adapters.courts.hearings import offence_flags
from hub.domain.messages import SubjectRef
from tests.support.adapters import EXAMPLES, as_message

EXAMPLE = EXAMPLES / "courts-hearing-resulted.json"


def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def parse(document: dict[str, Any]) -> Any:
    return parse_hearing(json.dumps(document).encode())


def test_the_published_example() -> None:
    result = parse(example())
    assert result.errors == [] and result.skipped == []
    # Defendant 1: theft convicted (community order), obstruction withdrawn. Defendant 2: adjourned.
    assert len(result.records) == 1
    record = result.records[0]
    assert record.identifiers == (
        SubjectRef.parse("pnc:2011/0482113C"),
        SubjectRef.parse("cro:123456/10F"),
    )
    assert (
        record.event_id
        == "hearing:6f1c8a52-3d0b-4f5e-9b1a-2b7c4e9d0a11:offence:f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"
    )
    assert (
        record.person.last_name == "Hargreaves" and str(record.person.date_of_birth) == "1991-07-14"
    )
    assert record.data == {
        "offence": {
            "code": "TH68010",
            "title": "Theft from a shop",
            "modeOfTrial": "either_way",
            "committedOn": "2026-02-02",
        },
        "severity": {"band": "either_way", "flags": []},
        "convictionDate": "2026-03-10",
        "court": {"code": "B14LO00", "name": "Sheffield Magistrates' Court"},
        "disposal": {
            "label": "Community order",
            "cjsCode": "1116",
            "duration": {"unit": "M", "value": 12},
        },
        "plea": "guilty",
        "caseUrn": "14SY1234526",
        "hearingId": "6f1c8a52-3d0b-4f5e-9b1a-2b7c4e9d0a11",
    }
    # The record is a valid canonical conviction as it stands.
    envelope = as_message(record, "courts-sheffield")
    assert envelope.data == record.data


def _five_defendants() -> dict[str, Any]:
    document = example()
    case = document["hearing"]["prosecutionCases"][0]
    first = case["defendants"][0]
    case["defendants"] = []
    for n in range(5):
        defendant = copy.deepcopy(first)
        defendant["id"] = f"defendant-{n}"
        for offence in defendant["offences"]:
            offence["id"] = f"{offence['id']}-{n}"
        case["defendants"].append(defendant)
    return document


@pytest.mark.parametrize(
    ("spoil", "field", "reason"),
    [
        (
            lambda d: d.update(pncId="2011/0482113D"),
            "pncId",
            "not a valid PNC ID: the check letter does not match",
        ),
        (lambda d: d.update(croNumber="123456/10G"), "croNumber", "not a valid CRO number"),
        (
            lambda d: d["offences"][0].update(convictionDate="10/03/2026"),
            "offences[0].convictionDate",
            "not a date",
        ),
        (
            lambda d: d["offences"][0].update(modeOfTrial="Sometimes"),
            "offences[0].modeOfTrial",
            "expected Summary",
        ),
        (lambda d: d.update(offences="none"), "offences", "must be a list"),
    ],
)
def test_one_bad_defendant_is_named_and_the_others_accepted(
    spoil: Any, field: str, reason: str
) -> None:
    document = _five_defendants()
    spoil(document["hearing"]["prosecutionCases"][0]["defendants"][2])
    result = parse(document)
    assert len(result.records) == 4
    assert {r.record.split(",")[0] for r in result.records} == {
        f"defendant {n} (id defendant-{n - 1})" for n in (1, 2, 4, 5)
    }
    [error] = result.errors
    assert error.record == "defendant 3 (id defendant-2)"
    assert error.field == f"prosecutionCases[0].defendants[2].{field}"
    assert reason in error.reason


def test_an_organisation_is_skipped_with_the_reason() -> None:
    document = example()
    defendant = document["hearing"]["prosecutionCases"][0]["defendants"][1]
    del defendant["personDefendant"]
    defendant["legalEntityDefendant"] = {"organisation": {"name": "Acme Ltd"}}
    result = parse(document)
    assert len(result.records) == 1 and result.errors == []
    assert [s.reason for s in result.skipped] == ["an organisation, not a person"]


def test_not_convicted_is_not_a_conviction() -> None:
    document = example()
    offence = document["hearing"]["prosecutionCases"][0]["defendants"][0]["offences"][0]
    offence.pop("convictionDate")
    offence["judicialResults"] = [
        {"label": "Not guilty", "category": "FINAL", "isConvictedResult": False}
    ]
    assert parse(document).records == []


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[]", b'{"hearing": 5}', b'{"hearing": {"courtCentre": {}}}']
)
def test_unreadable_documents(raw: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_hearing(raw)


def test_statute_flags() -> None:
    assert offence_flags("OF61004") == ["violence"]
    assert offence_flags("SX03001") == ["sexual"]
    assert offence_flags("TH68010") == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@given(json_values)
def test_any_json_gives_records_or_the_adapters_own_error(value: Any) -> None:
    _records_or_own_error(json.dumps(value).encode())


@given(
    st.dictionaries(
        st.sampled_from(["pncId", "croNumber", "offences", "personDefendant", "id"]), json_values
    )
)
def test_any_defendant_gives_records_or_the_adapters_own_error(fields: dict[str, Any]) -> None:
    document = example()
    document["hearing"]["prosecutionCases"][0]["defendants"][0].update(fields)
    _records_or_own_error(json.dumps(document).encode())


@given(st.binary(max_size=200))
def test_any_bytes_give_records_or_the_adapters_own_error(raw: bytes) -> None:
    _records_or_own_error(raw)


def _records_or_own_error(raw: bytes) -> None:
    """Anything else escaping (a KeyError, an AttributeError) fails the property."""
    try:
        result = parse_hearing(raw)
    except DocumentError as error:
        assert str(error)
        return
    for record in result.records:
        assert record.identifiers or record.person.last_name
        # Every record is a valid canonical conviction.
        as_message(record, "courts-sheffield")
    for problem in result.errors + result.skipped:
        assert problem.record.startswith("defendant ") and problem.field and problem.reason
