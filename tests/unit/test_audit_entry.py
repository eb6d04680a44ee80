from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from audit.entry import Actor, AuditRecord, canonical_json, format_time

T = datetime(2026, 11, 23, 20, 30, 0, 123456, tzinfo=UTC)


def test_canonical_json_is_sorted_and_compact() -> None:
    entry = AuditRecord(
        action="message.delivered",
        time=T,
        actor=Actor(agency="courts-sheffield", client="c1"),
        subject="a" * 64,
        fields=("offence", "court"),
        decision="permit",
    )
    raw = entry.canonical()
    assert raw == (
        b'{"action":"message.delivered","actor":{"agency":"courts-sheffield","client":"c1"},'
        b'"decision":"permit","fields":["offence","court"],"subject":"' + b"a" * 64 + b'",'
        b'"time":"2026-11-23T20:30:00.123Z","v":1}'
    )
    assert json.loads(raw)["fields"] == ["offence", "court"]


def test_absent_fields_are_left_out() -> None:
    obj = AuditRecord(action="x", time=T).to_json_obj()
    assert obj == {"action": "x", "time": "2026-11-23T20:30:00.123Z", "v": 1}


def test_the_subject_must_be_a_pseudonym() -> None:
    with pytest.raises(ValueError, match="pseudonym"):
        AuditRecord(action="x", time=T, subject="pnc:2011/0482113C")


def test_times_must_be_aware_and_are_written_in_utc() -> None:
    with pytest.raises(ValueError):
        AuditRecord(action="x", time=datetime(2026, 1, 1))  # noqa: DTZ001
    bst = timezone(timedelta(hours=1))
    assert format_time(datetime(2026, 6, 1, 13, 0, tzinfo=bst)) == "2026-06-01T12:00:00.000Z"


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=8), _json, max_size=6))
def test_the_fast_canonical_form_is_exactly_rfc_8785(obj: dict[str, Any]) -> None:
    try:
        expected = rfc8785.dumps(obj)
    except Exception as error:  # JCS refuses some values (lone surrogates, huge integers)
        with pytest.raises(type(error)):
            canonical_json(obj)
        return
    assert canonical_json(obj) == expected
