"""PNC, CRO, CRN and prison numbers (shared/formats/README.md, "Identifiers")."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.identifiers import (
    ALPHABET,
    InvalidIdentifier,
    canonical_crn,
    canonical_cro,
    canonical_noms,
    canonical_pnc,
    check_letter,
)

TODAY = lambda: date(2026, 11, 23)  # noqa: E731


@pytest.mark.parametrize(
    ("given_form", "canonical"),
    [
        ("2008/0123456M", "2008/0123456M"),
        ("08/123456M", "2008/0123456M"),  # the worked example: 80123456 mod 23 = 12 -> M
        ("79/163001B", "1979/0163001B"),
        ("02/73319Z", "2002/0073319Z"),
        ("2011/0482113C", "2011/0482113C"),
        ("20110482113C", "2011/0482113C"),  # slash optional with a full serial
        ("080123456M", "2008/0123456M"),
        (" 2011/0482113c ", "2011/0482113C"),
    ],
)
def test_pnc_canonical_forms(given_form: str, canonical: str) -> None:
    assert canonical_pnc(given_form, TODAY) == canonical


@pytest.mark.parametrize(
    ("given_form", "reason"),
    [
        ("2008/0123456N", "check letter"),
        ("1908/0123456M", "year 1908"),
        ("2008-0123456M", "expected"),
        ("08123456M", "expected"),  # no slash and a short serial: where would the year end?
        ("", "expected"),
    ],
)
def test_pnc_errors_name_the_identifier(given_form: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason) as info:
        canonical_pnc(given_form, TODAY)
    assert info.value.kind == "PNC ID"
    assert given_form.strip() == "" or given_form not in str(info.value)


def test_two_digit_years_follow_the_current_year() -> None:
    assert canonical_pnc(f"26/1{check_letter(260000001)}", TODAY).startswith("2026/")
    letter = check_letter(int("270000001"))
    assert canonical_pnc(f"27/1{letter}", TODAY) == f"1927/0000001{letter}"


@pytest.mark.parametrize(
    ("given_form", "canonical"),
    [("65656/91H", "065656/91H"), ("123456/10F", "123456/10F"), ("SF05/482703J", "SF05/482703J")],
)
def test_cro_canonical_forms(given_form: str, canonical: str) -> None:
    assert canonical_cro(given_form) == canonical


def test_cro_wrong_check_letter() -> None:
    with pytest.raises(InvalidIdentifier, match="CRO number: the check letter"):
        canonical_cro("65656/91J")


def test_crn_and_prison_numbers() -> None:
    assert canonical_crn("d123456") == "D123456"
    assert canonical_noms("a4821dc") == "A4821DC"
    for bad in ("123456", "DD12345", "D1234567"):
        with pytest.raises(InvalidIdentifier, match="CRN"):
            canonical_crn(bad)
    with pytest.raises(InvalidIdentifier, match="prison number"):
        canonical_noms("A1234B")


years = st.integers(min_value=1927, max_value=2026)
serials = st.integers(min_value=0, max_value=9_999_999)
cro_serials = st.integers(min_value=0, max_value=999_999)


def _pnc(year: int, serial: int) -> str:
    return f"{year}/{serial:07d}{check_letter(int(f'{year % 100:02d}{serial:07d}'))}"


def _cro(serial: int, yy: int) -> str:
    return f"{serial:06d}/{yy:02d}{check_letter(int(f'{yy:02d}{serial:06d}'))}"


@given(years, serials)
def test_pnc_canonicalisation_is_idempotent(year: int, serial: int) -> None:
    canonical = canonical_pnc(_pnc(year, serial), TODAY)
    assert canonical_pnc(canonical, TODAY) == canonical
    short = f"{year % 100:02d}/{serial}{canonical[-1]}"
    assert canonical_pnc(short, TODAY) == canonical


@given(years, serials, st.data())
def test_pnc_check_catches_every_single_substitution(
    year: int, serial: int, data: st.DataObject
) -> None:
    valid = _pnc(year, serial)
    position = data.draw(st.integers(min_value=0, max_value=len(valid) - 1))
    replacement = data.draw(
        st.sampled_from("0123456789/" + ALPHABET).filter(lambda c: c != valid[position])
    )
    altered = valid[:position] + replacement + valid[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        canonical_pnc(altered, TODAY)


@given(cro_serials, st.integers(min_value=0, max_value=99))
def test_cro_canonicalisation_is_idempotent(serial: int, yy: int) -> None:
    canonical = canonical_cro(_cro(serial, yy))
    assert canonical_cro(canonical) == canonical
    assert canonical_cro(f"{serial}/{yy:02d}{canonical[-1]}") == canonical


@given(cro_serials, st.integers(min_value=0, max_value=99), st.data())
def test_cro_check_catches_every_single_substitution(
    serial: int, yy: int, data: st.DataObject
) -> None:
    valid = _cro(serial, yy)
    position = data.draw(st.integers(min_value=0, max_value=len(valid) - 1))
    replacement = data.draw(
        st.sampled_from("0123456789/" + ALPHABET).filter(lambda c: c != valid[position])
    )
    altered = valid[:position] + replacement + valid[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        canonical_cro(altered)


@given(st.text(max_size=20))
def test_any_text_is_canonical_or_refused(text: str) -> None:
    for canonical in (
        lambda t: canonical_pnc(t, TODAY),
        canonical_cro,
        canonical_crn,
        canonical_noms,
    ):
        try:
            result = canonical(text)
        except InvalidIdentifier:
            continue
        assert canonical(result) == result
