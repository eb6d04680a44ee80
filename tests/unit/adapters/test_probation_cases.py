"""The probation case summary adapter (nDelius and OASys shapes) to the canonical case-summary."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.base import DocumentError, ParseResult
from adapters.probation import parse_case
from hub.domain.identifiers import CANONICAL
from tests.support.adapters import EXAMPLES, as_message

EXAMPLE = EXAMPLES / "probation-case.json"


def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def parse(document: Any) -> ParseResult:
    return parse_case(json.dumps(document).encode())


def test_the_published_case_summary() -> None:
    result = parse_case(EXAMPLE.read_bytes())
    assert result.errors == [] and result.skipped == []
    [record] = result.records
    assert record.record == "case D123456"
    assert [str(i) for i in record.identifiers] == [
        "crn:D123456",
        "pnc:2011/0482113C",
        "cro:123456/10F",
        "noms:A4821DC",
    ]
    assert (record.person.first_name, record.person.last_name) == ("Daniel", "Hargreaves")
    assert str(record.person.date_of_birth) == "1991-07-14"
    assert re.fullmatch(r"probation-case:D123456:[0-9a-f]{16}", record.event_id)
    assert record.data == {
        "roshLevel": "MEDIUM",
        "iomNominal": {"category": "I3"},
        "registrations": [
            {"code": "RMRH", "description": "Medium RoSH", "startDate": "2025-08-10"},
            {
                "code": "IIOM",
                "description": "Integrated Offender Management",
                "startDate": "2025-09-01",
            },
        ],
        "riskSummary": {
            "whoIsAtRisk": "Shop staff and security staff",
            "natureOfRisk": "Verbal aggression and pushing when challenged",
            "riskImminence": "Unlikely unless using drugs",
            "riskIncreaseFactors": "Relapse into heroin use; loss of accommodation",
            "riskMitigationFactors": "Stable tenancy; engagement with drug service",
            "riskInCommunity": {"MEDIUM": ["Staff", "Public"], "LOW": ["Known adult"]},
        },
        "predictors": {"ogrs3TwoYear": 78, "rsrPercentage": 2.1, "rsrLevel": "LOW"},
        "communityManager": {
            "code": "N07A061",
            "name": "Priya Raman",
            "email": "priya.raman@probation.example",
            "team": {"code": "N07DON", "description": "Doncaster Offender Management"},
        },
        "triggers": [
            {
                "code": "ACCOM_LOSS",
                "description": "Loses accommodation or is evicted",
                "setOn": "2025-08-10",
            },
            {
                "code": "DRUG_RELAPSE",
                "description": "Returns to Class A drug use",
                "setOn": "2025-08-10",
            },
            {
                "code": "VIOLENT_ARREST",
                "description": "Arrested for any offence of violence",
                "setOn": "2025-08-10",
            },
        ],
    }
    # A valid canonical case summary as it stands, unchanged by the hub's checks.
    envelope = as_message(record, "probation-south-yorkshire", "risk_management")
    assert envelope.data == record.data


def test_the_same_summary_is_the_same_event_and_an_updated_one_is_new() -> None:
    [first] = parse_case(EXAMPLE.read_bytes()).records
    # Resent, laid out differently and with the fields in another order: the same event.
    reordered = dict(reversed(list(example().items())))
    [again] = parse_case(json.dumps(reordered, indent=4).encode()).records
    assert again.event_id == first.event_id
    updated = example()
    updated["riskSummary"]["overallRiskLevel"] = "HIGH"
    [changed] = parse(updated).records
    assert changed.data["roshLevel"] == "HIGH"
    assert changed.event_id != first.event_id
    linked = example()
    del linked["otherIds"]["croNumber"]  # a different set of identifiers is new too
    [relinked] = parse(linked).records
    assert relinked.event_id != first.event_id


def test_ended_registrations_are_not_shared_and_others_pass_through() -> None:
    document = example()
    document["registrations"] += [
        {"type": {"code": "RCCO", "description": "Child concerns"}, "active": False},
        {"type": {"code": "weap", "description": "Weapons"}, "startDate": "2025-09-09"},
    ]
    [record] = parse(document).records
    assert [r["code"] for r in record.data["registrations"]] == ["RMRH", "IIOM", "WEAP"]
    as_message(record, "probation-south-yorkshire")


def test_mappa_and_the_rosh_level_are_read_from_the_registrations() -> None:
    document = example()
    del document["riskSummary"]["overallRiskLevel"]
    document["registrations"] += [
        {
            "type": {"code": "MAPP", "description": "MAPPA"},
            "category": {"code": "M2"},
            "level": {"code": "M1"},
            "startDate": "2025-08-10",
            "active": True,
        },
        # Two active RoSH registrations is a data error: the higher level is the safe reading.
        {"type": {"code": "RHRH", "description": "High RoSH"}, "active": True},
    ]
    [record] = parse(document).records
    assert record.data["roshLevel"] == "HIGH"
    assert record.data["mappa"] == {"category": 2, "level": 1}
    as_message(record, "probation-south-yorkshire")


def test_a_sparse_summary_has_only_what_was_sent() -> None:
    [record] = parse({"crn": "d123456", "otherIds": {"pncNumber": "11/482113C"}}).records
    assert [str(i) for i in record.identifiers] == ["crn:D123456", "pnc:2011/0482113C"]
    assert record.data == {}
    as_message(record, "probation-south-yorkshire")


@pytest.mark.parametrize(
    ("spoil", "field", "reason"),
    [
        (
            lambda d: d["otherIds"].update(pncNumber="2011/0482113D"),
            "otherIds.pncNumber",
            "not a valid PNC ID: the check letter does not match",
        ),
        (lambda d: d["otherIds"].update(nomsNumber="A48"), "otherIds.nomsNumber", "prison number"),
        (lambda d: d.update(crn="123456"), "crn", "not a valid CRN"),
        (lambda d: d.pop("crn"), "crn", "missing"),
        (lambda d: d.update(dateOfBirth="14/07/1991"), "dateOfBirth", "expected YYYY-MM-DD"),
        (
            lambda d: d["registrations"].append(
                {"type": {"code": "MAPP"}, "category": {"code": "M4"}, "level": {"code": "M1"}}
            ),
            "registrations[2].category.code",
            "M1, M2 or M3",
        ),
        (
            lambda d: d["registrations"][0].update(active="yes"),
            "registrations[0].active",
            "true or false",
        ),
        (lambda d: d["registrations"][1].pop("type"), "registrations[1].type.code", "missing"),
        (
            lambda d: d["riskSummary"].update(overallRiskLevel="SEVERE"),
            "riskSummary.overallRiskLevel",
            "expected LOW, MEDIUM, HIGH or VERY_HIGH",
        ),
        (
            lambda d: d["riskSummary"]["riskInCommunity"].update(SOME=["Staff"]),
            "riskSummary.riskInCommunity",
            "each key must be a level",
        ),
        (
            lambda d: d["predictors"].update(ogrs3TwoYear=178),
            "predictors.ogrs3TwoYear",
            "percentage from 0 to 100",
        ),
        (
            lambda d: d["predictors"].update(ogrs3TwoYear=78.5),
            "predictors.ogrs3TwoYear",
            "whole percentage",
        ),
        (
            lambda d: d["predictors"]["rsr"].update(percentageScore="2.1"),
            "predictors.rsr.percentageScore",
            "must be a number",
        ),
        (
            lambda d: d["communityManager"].update(email="priya at probation"),
            "communityManager.email",
            "not an email address",
        ),
        (lambda d: d["triggers"][1].update(setOn="10.08.2025"), "triggers[1].setOn", "not a date"),
        (lambda d: d["triggers"][2].pop("code"), "triggers[2].code", "missing"),
        (lambda d: d.update(triggers="ACCOM_LOSS"), "triggers", "must be a list"),
        (lambda d: d.update(firstName="\ud800"), "firstName", "not Unicode text"),
    ],
)
def test_a_bad_summary_names_the_field_and_the_reason(spoil: Any, field: str, reason: str) -> None:
    document = example()
    spoil(document)
    result = parse(document)
    assert result.records == []
    [error] = result.errors
    assert error.field == field and reason in error.reason
    assert error.record in ("case D123456", "case 123456", "case summary")


@pytest.mark.parametrize("raw", [b"{", b"[]", b'"case"', b"\xff\xfe", b""])
def test_unreadable_documents(raw: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_case(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


def _records_or_own_error(raw: bytes) -> None:
    """Anything else escaping (a KeyError, a TypeError) fails the property."""
    try:
        result = parse_case(raw)
    except DocumentError as error:
        assert str(error)
        return
    assert len(result.records) + len(result.errors) == 1
    for record in result.records:
        for ref in record.identifiers:
            assert CANONICAL[ref.scheme](ref.value) == ref.value
        # Every record the adapter lets through is a valid canonical case summary.
        assert as_message(record, "probation-south-yorkshire").data == record.data
    for problem in result.errors:
        assert problem.record.startswith("case ") and problem.field and problem.reason


@given(st.binary(max_size=300))
def test_any_bytes_give_records_or_the_adapters_own_error(raw: bytes) -> None:
    _records_or_own_error(raw)


@given(json_values)
def test_any_json_gives_records_or_the_adapters_own_error(value: Any) -> None:
    _records_or_own_error(json.dumps(value).encode())


@given(st.dictionaries(st.sampled_from(sorted(example())), json_values))
def test_any_field_gives_a_valid_summary_or_a_named_error(change: dict[str, Any]) -> None:
    _records_or_own_error(json.dumps({**example(), **change}).encode())


@given(
    st.sampled_from(["otherIds", "riskSummary", "predictors", "communityManager"]),
    st.dictionaries(st.text(max_size=20), json_values, max_size=4),
    st.dictionaries(
        st.sampled_from(
            [
                "pncNumber",
                "nomsNumber",
                "overallRiskLevel",
                "whoIsAtRisk",
                "riskInCommunity",
                "ogrs3TwoYear",
                "rsr",
                "code",
                "name",
                "team",
            ]
        ),
        json_values,
    ),
)
def test_any_nested_field_gives_a_valid_summary_or_a_named_error(
    name: str, noise: dict[str, Any], change: dict[str, Any]
) -> None:
    document = example()
    document[name].update(noise)
    document[name].update(change)
    _records_or_own_error(json.dumps(document).encode())


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "type": st.fixed_dictionaries(
                    {"code": st.sampled_from(["RMRH", "RVHR", "MAPP", "IIOM", "RCCO", ""])}
                ),
                "category": json_values,
                "level": st.fixed_dictionaries({"code": st.sampled_from(["M1", "M3", "M0", 3])}),
                "active": st.sampled_from([True, False, None, 1]),
                "startDate": st.sampled_from(["2025-08-10", "", None, "2025-13-01"]),
            }
        ),
        max_size=4,
    )
)
def test_any_registrations_give_a_valid_summary_or_a_named_error(
    registrations: list[dict[str, Any]],
) -> None:
    document = example()
    document["registrations"] = registrations
    _records_or_own_error(json.dumps(document).encode())


@pytest.mark.parametrize(
    ("restriction", "exclusion", "restricted"),
    [(True, None, True), (None, True, True), (False, True, True), (False, False, False)],
)
def test_a_limited_access_case_marks_the_person_restricted(
    restriction: bool | None, exclusion: bool | None, restricted: bool
) -> None:
    document = example()
    for name, value in (("currentRestriction", restriction), ("currentExclusion", exclusion)):
        if value is not None:
            document[name] = value
    [record] = parse(document).records
    assert record.data["restricted"] is restricted
    as_message(record, "probation-south-yorkshire")
    # Neither flag sent: nothing said either way (the hub keeps what it knew).
    [unsaid] = parse(example()).records
    assert "restricted" not in unsaid.data


def test_the_restriction_flags_must_be_booleans() -> None:
    result = parse({**example(), "currentExclusion": "Y"})
    assert not result.records
    [error] = result.errors
    assert error.field == "currentExclusion" and "true or false" in error.reason
