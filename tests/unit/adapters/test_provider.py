"""The provider's case management events to canonical records, event by event."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from marshmallow import ValidationError

from adapters.base import DocumentError, ParseResult
from adapters.provider import parse_events
from hub.api.schemas import DEFAULT_ROUTES
from hub.domain.identifiers import CANONICAL
from hub.domain.vocab import MessageType
from tests.support.adapters import EXAMPLES, as_message

EXAMPLE = EXAMPLES / "provider-events.json"
SOURCE = "provider-doncaster-alliance"


def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


def event(kind: str) -> dict[str, Any]:
    return next(e for e in example()["events"] if e["kind"] == kind)


def parse(document: Any) -> ParseResult:
    return parse_events(json.dumps(document).encode())


def test_the_published_events() -> None:
    result = parse_events(EXAMPLE.read_bytes())
    assert result.errors == [] and result.skipped == []
    assert [(r.record, r.type) for r in result.records] == [
        ("event 1 (needs_assessment)", MessageType.NEEDS_ASSESSMENT),
        ("event 2 (consent)", MessageType.CONSENT),
        ("event 3 (handover)", MessageType.HANDOVER),
        ("event 4 (engagement)", MessageType.ENGAGEMENT),
        ("event 5 (rag_rating)", MessageType.RAG_RATING),
        ("event 6 (risk_escalation)", MessageType.RISK_ESCALATION),
    ]
    assert [[str(i) for i in r.identifiers] for r in result.records] == [["noms:A4821DC"]] * 5 + [
        ["noms:A4821DC", "pnc:2011/0482113C"]
    ]
    assert [r.data for r in result.records] == [
        {
            "assessedOn": "2025-10-01",
            "needs": [
                {"route": "accommodation", "level": "severe", "notes": "No address for release"},
                {"route": "substance_misuse", "level": "severe"},
                {"route": "finance_debt", "level": "some"},
            ],
        },
        {
            "signedOn": "2025-10-01",
            "validUntil": "2026-11-19",
            "recipients": ["probation", "iom", "courts", "prison", "provider"],
            # The provider writes `case-management`; the hub's purpose codes have underscores.
            "purposes": ["case_management", "risk_management"],
            "exclusions": [],
            "evidence": {
                "documentRef": "CMS/consent/A4821DC/2025-10-01.pdf",
                "sha256": "3f1b2d5c8e9a0b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c",
            },
        },
        {
            "on": "2025-10-02",
            "from": {"name": "Gemma Lister", "email": "gemma.lister@alliance.example"},
            "to": {"name": "Tom Birch", "email": "tom.birch@alliance.example"},
        },
        {"contactOn": "2025-11-20", "method": "face_to_face", "attended": True},
        {"rating": "amber", "ratedOn": "2025-11-27", "reason": "Engaging; tenancy at risk"},
        {
            "triggerCode": "ACCOM_LOSS",
            "observedOn": "2025-12-04",
            "description": "Landlord has served notice; staying with associates who use drugs",
            "urgency": "urgent",
        },
    ]
    for record in result.records:
        assert re.fullmatch(
            r"provider:[a-z_]+:A4821DC:\d{4}-\d{2}-\d{2}:[0-9a-f]{16}", record.event_id
        )
        # Each is a valid canonical message as it stands, unchanged by the hub's checks.
        assert as_message(record, SOURCE).data == record.data
    assert len({r.event_id for r in result.records}) == 6


def test_event_ids_follow_the_content() -> None:
    first = [r.event_id for r in parse_events(EXAMPLE.read_bytes()).records]
    # The same events sent again, laid out differently: the same ids, so nothing is added.
    again = example()
    again["events"] = [dict(reversed(list(e.items()))) for e in again["events"]]
    assert [r.event_id for r in parse(again).records] == first
    changed = example()
    changed["events"][4]["rating"] = "red"
    ids = [r.event_id for r in parse(changed).records]
    assert ids[:4] == first[:4] and ids[4] != first[4] and ids[5] == first[5]


def test_an_event_repeated_in_one_document_counts_once() -> None:
    document = example()
    document["events"].append(copy.deepcopy(document["events"][3]))
    document["events"].append({**document["events"][3], "attended": False})
    result = parse(document)
    assert len(result.records) == 7 and result.errors == []
    assert [(s.record, s.field, s.reason) for s in result.skipped] == [
        ("event 7 (engagement)", "events[6]", "the same as event 4")
    ]


def test_consent_withdrawn_with_and_without_evidence() -> None:
    evidence = {"documentRef": "CMS/withdrawal/A4821DC.pdf", "sha256": "AB" * 32}
    document = {
        "events": [
            {"kind": "consent_withdrawn", "pnc": "11/482113C", "withdrawnOn": "2026-01-05"},
            {
                "kind": "consent_withdrawn",
                "nomsNumber": "a4821dc",
                "withdrawnOn": "2026-01-05",
                "evidence": evidence,
            },
        ]
    }
    first, second = parse(document).records
    assert [str(i) for i in first.identifiers] == ["pnc:2011/0482113C"]
    assert first.data == {"withdrawnOn": "2026-01-05"}
    assert [str(i) for i in second.identifiers] == ["noms:A4821DC"]
    assert second.data == {
        "withdrawnOn": "2026-01-05",
        "evidence": {"documentRef": "CMS/withdrawal/A4821DC.pdf", "sha256": "ab" * 32},
    }
    for record in (first, second):
        assert record.type is MessageType.CONSENT_WITHDRAWN
        as_message(record, SOURCE)


@pytest.mark.parametrize(
    ("index", "change", "field", "reason"),
    [
        (5, {"pnc": "2011/0482113D"}, "pnc", "not a valid PNC ID: the check letter does not match"),
        (0, {"nomsNumber": "4821"}, "nomsNumber", "not a valid prison number"),
        (0, {"nomsNumber": None}, "nomsNumber", "prison number or PNC ID is needed"),
        (1, {"kind": "birthday"}, "kind", "unknown kind: expected one of needs_assessment"),
        (1, {"kind": None}, "kind", "missing"),
        (0, {"assessedOn": "01/10/2025"}, "assessedOn", "not a date: expected YYYY-MM-DD"),
        (0, {"assessedOn": None}, "assessedOn", "missing"),
        (0, {"needs": []}, "needs", "at least one"),
        (0, {"needs": [{"route": "health", "level": "high"}]}, "needs[0].level", "expected none"),
        (
            0,
            {"needs": [{"route": "health", "level": "some"}, {"route": "health", "level": "none"}]},
            "needs[1].route",
            "already assessed in needs[0]",
        ),
        (0, {"needs": "health"}, "needs", "must be a list"),
        (1, {"validUntil": "2025-09-30"}, "validUntil", "cannot precede"),
        (1, {"recipients": []}, "recipients", "missing"),
        (1, {"recipients": ["Probation Service!"]}, "recipients[0]", "agency kind or agency id"),
        (1, {"purposes": ["marketing"]}, "purposes[0]", "expected one of resettlement"),
        (1, {"evidence": None}, "evidence.documentRef", "missing"),
        (
            1,
            {"evidence": {"documentRef": "x.pdf", "sha256": "3f1b"}},
            "evidence.sha256",
            "64 hex digits",
        ),
        (2, {"to": {"name": "Tom Birch", "email": "tom.birch"}}, "to.email", "not an email"),
        (2, {"from": "Gemma"}, "from", "must be an object"),
        (3, {"attended": "yes"}, "attended", "true or false"),
        (3, {"method": "carrier pigeon"}, "method", "expected face_to_face, phone or other"),
        (4, {"rating": "purple"}, "rating", "expected red_not_engaging, red, amber or green"),
        (4, {"reason": "x" * 2001}, "reason", "longer than 2000 characters"),
        (5, {"urgency": "whenever"}, "urgency", "expected routine, urgent or immediate"),
        (5, {"description": ""}, "description", "missing"),
        (5, {"observedOn": 20251204}, "observedOn", "must be text"),
    ],
)
def test_a_bad_event_is_named_and_the_others_accepted(
    index: int, change: dict[str, Any], field: str, reason: str
) -> None:
    document = example()
    document["events"][index].update(change)
    result = parse(document)
    assert len(result.records) == 5
    [error] = result.errors
    assert error.record.startswith(f"event {index + 1}")
    assert error.field == f"events[{index}].{field}"
    assert reason in error.reason


def test_an_event_that_is_not_an_object() -> None:
    document = example()
    document["events"].insert(0, "needs_assessment")
    result = parse(document)
    assert len(result.records) == 6
    assert [(e.record, e.field, e.reason) for e in result.errors] == [
        ("event 1", "events[0]", "must be an object")
    ]


def test_the_canonical_schema_checks_routes_against_the_configured_list() -> None:
    document = {"events": [{**event("needs_assessment")}]}
    document["events"][0]["needs"][1]["route"] = "veterans"
    [record] = parse(document).records
    as_message(record, SOURCE)  # on the ten-route list
    document["events"][0]["needs"][1]["route"] = "astrology"
    [record] = parse(document).records
    with pytest.raises(ValidationError) as info:
        as_message(record, SOURCE)
    assert info.value.messages == {
        "data": {"needs": {1: {"route": ["not a configured reoffending route: 'astrology'"]}}}
    }
    assert "astrology" not in DEFAULT_ROUTES


@pytest.mark.parametrize(
    "raw", [b"{", b"[]", b"{}", b'{"events": {}}', b'{"events": "all"}', b"\xff", b""]
)
def test_unreadable_documents(raw: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_events(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


def _records_or_own_error(raw: bytes) -> ParseResult | None:
    """Anything else escaping (a KeyError, a TypeError) fails the property."""
    try:
        result = parse_events(raw)
    except DocumentError as error:
        assert str(error)
        return None
    for record in result.records:
        assert record.identifiers
        for ref in record.identifiers:
            assert CANONICAL[ref.scheme](ref.value) == ref.value
    for problem in result.errors + result.skipped:
        assert problem.record.startswith("event ") and problem.field.startswith("events[")
        assert problem.reason
    return result


@given(st.binary(max_size=300))
def test_any_bytes_give_records_or_the_adapters_own_error(raw: bytes) -> None:
    _records_or_own_error(raw)


@given(json_values)
def test_any_json_gives_records_or_the_adapters_own_error(value: Any) -> None:
    _records_or_own_error(json.dumps(value).encode())


@given(st.lists(json_values, max_size=4))
def test_any_events_give_records_or_the_adapters_own_error(events: list[Any]) -> None:
    _records_or_own_error(json.dumps({"events": events}).encode())


# Every field but the routes (checked against the deployment's list by the canonical schema),
# and values that are right for some field, so that the fields are tried across kinds.
FIELDS = sorted({name for e in example()["events"] for name in e} - {"needs"})
VALUES = sorted({v for e in example()["events"] for v in e.values() if isinstance(v, str)})


@given(
    st.integers(min_value=0, max_value=5),
    st.dictionaries(st.sampled_from(FIELDS), json_values | st.sampled_from(VALUES)),
)
def test_any_field_gives_a_valid_event_or_a_named_error(index: int, change: dict[str, Any]) -> None:
    document = example()
    document["events"][index].update(change)
    result = _records_or_own_error(json.dumps(document).encode())
    assert result is not None
    assert len(result.records) + len(result.errors) + len(result.skipped) == 6
    for record in result.records:
        # Every event the adapter lets through is a valid canonical message.
        assert as_message(record, SOURCE).data == record.data
