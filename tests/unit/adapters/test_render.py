"""Canonical messages out in each agency's own shape, and the registry of native documents.

Where an agency both sends and receives a type, the rendered document reads back to the same
canonical message: what the hub delivers is what the agency would have sent.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import adapters
from adapters.base import CanonicalRecord, NotRenderable
from adapters.courts import parse_hearing
from adapters.iom import parse_cohort
from adapters.prison import parse_prisoner, parse_release_event
from adapters.probation import parse_case, parse_referral
from adapters.provider import parse_events
from hub.domain.vocab import MessageType
from tests.support.adapters import EXAMPLES, as_message


def _ids(record: CanonicalRecord) -> dict[str, str]:
    return {ref.scheme.value: ref.value for ref in record.identifiers}


def _one(records: list[CanonicalRecord]) -> CanonicalRecord:
    [record] = records
    return record


def conviction() -> CanonicalRecord:
    return _one(parse_hearing((EXAMPLES / "courts-hearing-resulted.json").read_bytes()).records)


def planned_release() -> CanonicalRecord:
    return _one(parse_prisoner((EXAMPLES / "prison-prisoner.json").read_bytes()).records)


def referral() -> CanonicalRecord:
    return _one(parse_referral((EXAMPLES / "probation-referral.json").read_bytes()).records)


def case_summary() -> CanonicalRecord:
    return _one(parse_case((EXAMPLES / "probation-case.json").read_bytes()).records)


def cohort() -> list[CanonicalRecord]:
    return parse_cohort((EXAMPLES / "iom-cohort.csv").read_bytes()).records


def provider_events() -> list[CanonicalRecord]:
    withdrawn = {
        "kind": "consent_withdrawn",
        "nomsNumber": "A4821DC",
        "withdrawnOn": "2026-01-05",
        "evidence": {"documentRef": "CMS/withdrawal/A4821DC.pdf", "sha256": "ab" * 32},
    }
    document = json.loads((EXAMPLES / "provider-events.json").read_text())
    document["events"].append(withdrawn)
    return parse_events(json.dumps(document).encode()).records


def _canonical(record: CanonicalRecord) -> dict[str, Any]:
    """The data as the hub holds it once checked (and so as a renderer is given it)."""
    return as_message(record, "sender").data


def test_a_conviction_reads_back_from_the_courts_hearing_fragment() -> None:
    record = conviction()
    rendered = adapters.render("courts", MessageType.CONVICTION, _canonical(record), _ids(record))
    assert rendered.media_type == "application/json"
    back = _one(parse_hearing(rendered.body).records)
    assert back.data == record.data
    assert back.identifiers == record.identifiers


def test_a_planned_release_reads_back_from_the_prisoner_record() -> None:
    record = planned_release()
    rendered = adapters.render("prison", MessageType.RELEASE, _canonical(record), _ids(record))
    back = _one(parse_prisoner(rendered.body).records)
    assert (back.data, back.identifiers) == (record.data, record.identifiers)
    assert json.loads(rendered.body)["status"] == "ACTIVE IN"


def test_a_done_release_is_rendered_as_the_record_after_release() -> None:
    record = _one(parse_release_event((EXAMPLES / "prison-released.json").read_bytes()).records)
    rendered = adapters.render("prison", MessageType.RELEASE, _canonical(record), _ids(record))
    assert json.loads(rendered.body) == {
        "prisonerNumber": "A4821DC",
        "status": "INACTIVE OUT",
        "prisonId": "DNI",
        "releaseDate": "2025-11-20",
        "lastMovementReasonCode": "CR",
    }


@pytest.mark.parametrize("agency_kind", ["probation", "provider"])
def test_a_referral_reads_back_from_the_form(agency_kind: str) -> None:
    record = referral()
    rendered = adapters.render(agency_kind, MessageType.REFERRAL, _canonical(record), {})
    form = json.loads(rendered.body)
    assert "referredTo" not in form  # the recipient is the message's, not the data's
    form["referredTo"] = record.recipient
    back = _one(parse_referral(json.dumps(form).encode()).records)
    assert (back.data, back.identifiers, back.recipient) == (
        record.data,
        record.identifiers,
        record.recipient,
    )


def test_a_case_summary_reads_back_from_the_case_shape() -> None:
    record = case_summary()
    rendered = adapters.render(
        "probation", MessageType.CASE_SUMMARY, _canonical(record), _ids(record)
    )
    back = _one(parse_case(rendered.body).records)
    assert back.data == record.data
    assert back.identifiers == record.identifiers
    assert back.event_id == record.event_id  # and so the hub would see it as the same summary


def test_a_case_summary_with_mappa_reads_back() -> None:
    record = case_summary()
    data = {
        **_canonical(record),
        "mappa": {"category": 2, "level": 1},
        "registrations": [
            *record.data["registrations"],
            {"code": "MAPP", "description": "MAPPA", "startDate": "2025-08-10"},
        ],
    }
    rendered = adapters.render("probation", MessageType.CASE_SUMMARY, data, {"crn": "D123456"})
    assert _one(parse_case(rendered.body).records).data == data


@pytest.mark.parametrize("index", [0, 1, 2])
def test_a_cohort_membership_reads_back_from_the_one_row_csv(index: int) -> None:
    record = cohort()[index]
    rendered = adapters.render(
        "iom", MessageType.COHORT_MEMBERSHIP, _canonical(record), _ids(record)
    )
    assert rendered.media_type == "text/csv; charset=utf-8"
    back = _one(parse_cohort(rendered.body).records)
    assert (back.data, back.identifiers, back.event_id) == (
        record.data,
        record.identifiers,
        record.event_id,
    )
    assert back.person.last_name is None  # the canonical message carries no name


def test_the_cohort_csv_has_the_extract_columns() -> None:
    record = cohort()[1]
    rendered = adapters.render("iom", MessageType.COHORT_MEMBERSHIP, _canonical(record))
    assert rendered.body.decode("utf-8-sig").splitlines() == [
        "pnc,surname,forenames,date_of_birth,iom_category,status,offender_group,adopted_on,iom_officer,team",
        ",,,,Flex,Adopted,SAC,15/10/2025,PC 1187 Khan,Sheffield IOM",  # no identifiers given
    ]


def test_a_conviction_for_an_iom_team_is_a_one_row_csv() -> None:
    record = conviction()
    rendered = adapters.render("iom", MessageType.CONVICTION, _canonical(record), _ids(record))
    rows = list(csv.reader(io.StringIO(rendered.body.decode("utf-8-sig"))))
    assert rows == [
        [
            "pnc",
            "offence_code",
            "offence_title",
            "offence_date",
            "severity",
            "flags",
            "conviction_date",
            "court",
            "disposal",
            "case_urn",
        ],
        [
            "2011/0482113C",
            "TH68010",
            "Theft from a shop",
            "02/02/2026",
            "either_way",
            "",
            "10/03/2026",
            "Sheffield Magistrates' Court",
            "Community order",
            "14SY1234526",
        ],
    ]


def test_a_conviction_for_the_provider_is_one_flat_record() -> None:
    record = conviction()
    rendered = adapters.render("provider", MessageType.CONVICTION, _canonical(record), {})
    assert json.loads(rendered.body) == {
        "offenceCode": "TH68010",
        "offenceTitle": "Theft from a shop",
        "offenceDate": "2026-02-02",
        "modeOfTrial": "either_way",
        "severityBand": "either_way",
        "flags": [],
        "convictionDate": "2026-03-10",
        "courtCode": "B14LO00",
        "courtName": "Sheffield Magistrates' Court",
        "disposal": "Community order",
        "disposalCode": "1116",
        "disposalLength": "12 months",
        "plea": "guilty",
        "caseUrn": "14SY1234526",
    }


@pytest.mark.parametrize("index", range(7))
def test_the_providers_events_read_back_from_its_events_document(index: int) -> None:
    record = provider_events()[index]
    rendered = adapters.render("provider", record.type, _canonical(record), _ids(record))
    back = _one(parse_events(rendered.body).records)
    assert (back.type, back.data, back.identifiers, back.event_id) == (
        record.type,
        record.data,
        record.identifiers,
        record.event_id,
    )


def test_consent_is_rendered_in_the_providers_own_words() -> None:
    record = provider_events()[1]
    rendered = adapters.render("provider", MessageType.CONSENT, _canonical(record), _ids(record))
    [event] = json.loads(rendered.body)["events"]
    assert event["kind"] == "consent" and event["nomsNumber"] == "A4821DC"
    assert event["purposes"] == ["case-management", "risk-management"]


@pytest.mark.parametrize(
    ("message_type", "data", "column"),
    [
        (
            MessageType.COHORT_MEMBERSHIP,
            {
                "status": "adopted",
                "category": "fixed",
                "offenderGroup": "=1+1",
                "adoptedOn": "2025-09-01",
                "officer": '=HYPERLINK("http://evil.example","PC Walsh")',
                "team": "@SUM(A1:A9)",
            },
            ("offender_group", "iom_officer", "team"),
        ),
        (
            MessageType.CONVICTION,
            {
                "offence": {
                    "code": "TH68010",
                    "title": "-2+3",
                    "modeOfTrial": "either_way",
                    "committedOn": "2026-02-02",
                },
                "convictionDate": "2026-03-10",
                "court": {"code": "B14LO00", "name": "+44 Magistrates"},
                "disposal": {"label": "\tCommunity order"},
                "caseUrn": "=CMD()",
            },
            ("offence_title", "court", "disposal", "case_urn"),
        ),
    ],
)
def test_rendered_csv_cells_cannot_be_formulas(
    message_type: MessageType, data: dict[str, Any], column: tuple[str, ...]
) -> None:
    rendered = adapters.render("iom", message_type, data)
    header, row = csv.reader(io.StringIO(rendered.body.decode("utf-8-sig")))
    cells = dict(zip(header, row, strict=True))
    for name in column:
        assert cells[name].startswith("'"), name
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row)


@pytest.mark.parametrize(
    ("agency_kind", "message_type"),
    [
        ("courts", MessageType.RELEASE),
        ("courts", MessageType.REFERRAL),
        ("prison", MessageType.CONVICTION),
        ("prison", MessageType.CONSENT),
        ("probation", MessageType.RISK_ESCALATION),
        ("probation", MessageType.COHORT_MEMBERSHIP),
        ("iom", MessageType.CASE_SUMMARY),
        ("iom", MessageType.RAG_RATING),
        ("provider", MessageType.CASE_SUMMARY),
        ("provider", MessageType.RELEASE),
        ("police", MessageType.CONVICTION),
    ],
)
def test_types_without_a_native_form_are_not_renderable(
    agency_kind: str, message_type: MessageType
) -> None:
    with pytest.raises(NotRenderable):
        adapters.render(agency_kind, message_type, {})


# Every (agency kind, type) with a native form, and a canonical message of that type.
def _renderable() -> list[tuple[str, CanonicalRecord]]:
    provider = provider_events()
    return [
        ("courts", conviction()),
        ("iom", conviction()),
        ("provider", conviction()),
        ("prison", planned_release()),
        ("probation", referral()),
        ("provider", referral()),
        ("probation", case_summary()),
        *[("iom", record) for record in cohort()],
        *[("provider", record) for record in provider],
    ]


RENDERABLE = _renderable()


@given(st.sampled_from(RENDERABLE), st.data())
def test_any_subset_of_the_fields_renders(case: tuple[str, CanonicalRecord], data: Any) -> None:
    """A recipient is sent only the fields it may see: any subset renders, and nothing withheld
    (a field, an identifier not passed) appears in the document."""
    agency_kind, record = case
    full = _canonical(record)
    names = data.draw(st.sets(st.sampled_from(sorted(full))))
    subset = {name: full[name] for name in names}
    rendered = adapters.render(agency_kind, record.type, subset)
    body = rendered.body.decode("utf-8-sig")
    if rendered.media_type == "application/json":
        json.loads(body)
    else:
        assert len(list(csv.reader(io.StringIO(body)))) == 2
    for ref in record.identifiers:
        if ref.value not in json.dumps(subset):  # a referral, a document name may carry one
            assert ref.value not in body
    for name in set(full) - names:
        value = full[name]
        if isinstance(value, str) and len(value) > 12:  # long enough to be only that field's
            assert value not in body, name


EXAMPLE_FILES = {
    ("courts", "hearings"): "courts-hearing-resulted.json",
    ("prison", "events"): "prison-released.json",
    ("prison", "prisoners"): "prison-prisoner.json",
    ("probation", "cases"): "probation-case.json",
    ("probation", "referrals"): "probation-referral.json",
    ("iom", "cohort"): "iom-cohort.csv",
    ("provider", "events"): "provider-events.json",
}


def test_the_registry_lists_every_endpoint() -> None:
    assert {(d.agency_kind, d.name): d.media_type for d in adapters.documents()} == {
        path: "text/csv" if name.endswith(".csv") else "application/json"
        for path, name in EXAMPLE_FILES.items()
    }
    assert all(d.title for d in adapters.documents())
    assert adapters.document("courts", "cases") is None
    assert adapters.document("police", "hearings") is None


@pytest.mark.parametrize(("path", "name"), sorted(EXAMPLE_FILES.items()))
def test_each_document_parses_its_example_from_a_stream(path: tuple[str, str], name: str) -> None:
    document = adapters.document(*path)
    assert document is not None
    result = document.parse(io.BytesIO((EXAMPLES / name).read_bytes()))
    assert result.records and result.errors == [] and result.skipped == []
    for record in result.records:
        as_message(record, f"{path[0]}-sender")
