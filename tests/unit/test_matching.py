"""Matching people by name, date of birth and postcode."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.matching import AUTO_MATCH, REVIEW, Details, jaro_winkler, normalise_name, score

BORN = date(1991, 7, 14)


def person(last: str, first: str = "Daniel", born: date = BORN, postcode: str = "") -> Details:
    details = Details.of(last, born, first, postcode)
    assert details is not None
    return details


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    # Published Jaro-Winkler values (Winkler 1990; the usual textbook pairs).
    [("martha", "marhta", 0.961), ("dwayne", "duane", 0.84), ("dixon", "dicksonx", 0.813)],
)
def test_jaro_winkler_matches_the_published_values(a: str, b: str, expected: float) -> None:
    assert jaro_winkler(a, b) == pytest.approx(expected, abs=0.001)


def test_names_are_compared_without_case_accents_or_punctuation() -> None:
    assert normalise_name("O'Brien-Smith ") == normalise_name("obriensmith")
    assert normalise_name("Zoë") == "zoe"


def test_everything_agreeing_is_a_confident_match() -> None:
    assert (
        score(person("Hargreaves", postcode="DN1 2AB"), person("HARGREAVES", postcode="dn12ab"))
        == 1.0
    )


def test_name_and_date_of_birth_without_a_postcode_only_reach_review() -> None:
    value = score(person("Hargreaves"), person("Hargreaves"))
    assert REVIEW <= value < AUTO_MATCH


def test_a_near_miss_spelling_is_for_review_not_automatic() -> None:
    value = score(person("Hargreaves", postcode="DN1 2AB"), person("Hargraves", postcode="DN1 2AB"))
    assert REVIEW <= value < AUTO_MATCH


def test_another_date_of_birth_is_someone_else_however_alike_the_name() -> None:
    assert score(person("Hargreaves"), person("Hargreaves", born=date(1991, 7, 15))) == 0.0


def test_another_surname_is_someone_else() -> None:
    assert (
        score(person("Hargreaves", postcode="DN1 2AB"), person("Smith", postcode="DN1 2AB"))
        < REVIEW
    )


def test_too_little_to_match_on_is_no_details() -> None:
    assert Details.of("", BORN) is None
    assert Details.of("Hargreaves", None) is None


@given(st.text(max_size=20), st.text(max_size=20))
def test_similarity_is_symmetric_and_bounded(a: str, b: str) -> None:
    assert 0.0 <= jaro_winkler(a, b) <= 1.0
    assert jaro_winkler(a, b) == pytest.approx(jaro_winkler(b, a))


def test_details_survive_their_stored_form() -> None:
    details = person("Hargreaves", postcode="DN1 2AB")
    assert Details.from_json(details.to_json()) == details


def test_surname_and_date_of_birth_alone_wait_for_review() -> None:
    surname_only = Details.of("Hargreaves", BORN)
    assert surname_only is not None
    assert REVIEW <= score(surname_only, person("Hargreaves")) < AUTO_MATCH


def test_names_in_any_script_are_kept() -> None:
    assert normalise_name("Ковальчук") == "ковальчук"
    assert Details.of("Ковальчук", BORN) is not None
