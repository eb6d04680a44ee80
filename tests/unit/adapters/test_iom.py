"""The IOM cohort CSV adapter, and CSV that cannot become a formula."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.base import DocumentError
from adapters.csvsafe import neutralise, to_csv
from adapters.iom import parse_cohort
from hub.domain.identifiers import canonical_pnc
from tests.support.adapters import EXAMPLES, as_message

EXAMPLE = EXAMPLES / "iom-cohort.csv"
HEADER = "pnc,surname,forenames,date_of_birth,iom_category,status,offender_group,adopted_on,iom_officer,team"


def test_the_published_example() -> None:
    raw = EXAMPLE.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the example carries a byte-order mark
    result = parse_cohort(raw)
    assert result.errors == [] and result.skipped == []
    assert [str(r.identifiers[0]) for r in result.records] == [
        "pnc:2011/0482113C",
        "pnc:1979/0163001B",
        "pnc:2002/0073319Z",
    ]
    second = result.records[1]
    assert second.data == {
        "status": "adopted",
        "category": "flex",
        "offenderGroup": "SAC",
        "adoptedOn": "2025-10-15",
        "officer": "PC 1187 Khan",
        "team": "Sheffield IOM",
    }
    assert (second.person.last_name, second.person.first_name) == ("O'Neill", "Patrick James")
    assert str(second.person.date_of_birth) == "1979-02-03"
    assert result.records[2].data["status"] == "deselected"
    for record in result.records:  # each is a valid canonical message as it stands
        as_message(record, "iom-sheffield")


def test_crlf_quoted_commas_and_a_stream() -> None:
    raw = (
        HEADER + "\r\n"
        '2011/0482113C,"Hargreaves, Jr",Daniel,14/07/1991,Fixed,Adopted,SAC,01/09/2025,"Walsh, PC 2231",Doncaster IOM\r\n'
    ).encode()
    stream = io.BytesIO(raw)
    result = parse_cohort(stream)
    assert not stream.closed
    assert result.records[0].person.last_name == "Hargreaves, Jr"
    assert result.records[0].data["officer"] == "Walsh, PC 2231"


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ("2011/0482113D,A,B,14/07/1991,Fixed,Adopted,SAC,01/09/2025,,", "pnc", "check letter"),
        (
            "2011/0482113C,A,B,1991-07-14,Fixed,Adopted,SAC,01/09/2025,,",
            "date_of_birth",
            "DD/MM/YYYY",
        ),
        (
            "2011/0482113C,A,B,14/07/1991,Sometimes,Adopted,SAC,01/09/2025,,",
            "iom_category",
            "Fixed, Flex or Free",
        ),
        (
            "2011/0482113C,A,B,14/07/1991,Fixed,Maybe,SAC,01/09/2025,,",
            "status",
            "Adopted or Deselected",
        ),
        ("2011/0482113C,A,B,14/07/1991,Fixed,Adopted,SAC,31/02/2025,,", "adopted_on", "DD/MM/YYYY"),
        ("2011/0482113C,A,B,14/07/1991,Fixed", "row", "5 cells where the header has 10"),
    ],
)
def test_a_bad_row_is_named_and_the_others_accepted(row: str, field: str, reason: str) -> None:
    good = "79/163001B,O'Neill,Patrick,03/02/1979,Flex,Adopted,SAC,15/10/2025,,"
    result = parse_cohort(f"{HEADER}\n{good}\n{row}\n".encode())
    assert [r.record for r in result.records] == ["row 2"]
    [error] = result.errors
    assert (error.record, error.field) == ("row 3", field)
    assert reason in error.reason


def test_a_row_repeated_in_one_document_counts_once() -> None:
    row = "79/163001B,O'Neill,Patrick,03/02/1979,Flex,Adopted,SAC,15/10/2025,,"
    result = parse_cohort(f"{HEADER}\n{row}\n\n{row}\n".encode())
    assert len(result.records) == 1
    assert [(s.record, s.reason) for s in result.skipped] == [("row 4", "the same as row 2")]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"pnc,surname\n2011/0482113C,A\n", "lacks the columns"),
        (HEADER.encode() + b'\n"unterminated,A,B\n', "malformed CSV"),
        (b"\xff\xfe" + HEADER.encode("utf-16-le"), "not UTF-8"),
        (b"", "lacks the columns"),
    ],
)
def test_unreadable_documents(raw: bytes, reason: str) -> None:
    with pytest.raises(DocumentError, match=reason):
        parse_cohort(raw)


def _records_or_own_error(raw: bytes) -> None:
    """Anything else escaping (a KeyError, an IndexError) fails the property."""
    try:
        result = parse_cohort(raw)
    except DocumentError as error:
        assert str(error)
        return
    for record in result.records:
        assert canonical_pnc(record.identifiers[0].value) == record.identifiers[0].value
    for problem in result.errors + result.skipped:
        assert problem.record.startswith("row ") and problem.reason


@given(st.binary(max_size=400))
def test_any_bytes_give_records_or_the_adapters_own_error(raw: bytes) -> None:
    _records_or_own_error(raw)


@given(st.lists(st.text(max_size=12), min_size=10, max_size=10).map(",".join))
def test_any_row_gives_records_or_the_adapters_own_error(row: str) -> None:
    _records_or_own_error(f"{HEADER}\n{row}\n".encode())


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_cells_that_would_be_formulas_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert to_csv(["h"], [[cell]]).splitlines()[1].lstrip('"').startswith("'")


def test_ordinary_cells_are_untouched() -> None:
    assert neutralise("Doncaster IOM") == "Doncaster IOM"
    assert neutralise(None) == ""
    assert to_csv(["a", "b"], [["x, y", 3]]) == 'a,b\r\n"x, y",3\r\n'
