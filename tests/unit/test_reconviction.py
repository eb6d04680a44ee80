"""The reconviction rule at its boundaries: the last day of the 12 months and the day after, a
conviction on the last day of the 18 months and the day after, an offence before release, an
acquittal, an out-of-court disposal, two convictions at one hearing, a person released twice."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.reconviction import (
    Outcome,
    Result,
    Verdict,
    add_months,
    classify,
    period_end,
    tally,
)

RELEASED = date(2026, 1, 15)


def _verdict(offence: date, convicted: date, outcome: Outcome = Outcome.CONVICTED) -> Verdict:
    return classify(Result(offence, convicted, outcome), [RELEASED]).verdict


def test_the_periods_run_from_the_day_of_release() -> None:
    assert period_end(RELEASED, 12) == date(2027, 1, 14)
    assert period_end(RELEASED, 18) == date(2027, 7, 14)
    # From the 31st, a month ends on the shorter month's last day.
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2027, 8, 31), 6) == date(2028, 2, 29)
    assert period_end(date(2026, 3, 1), 12) == date(2027, 2, 28)


def test_offence_on_the_last_day_of_the_12_months_counts_the_day_after_does_not() -> None:
    assert _verdict(date(2027, 1, 14), date(2027, 3, 1)) is Verdict.RECONVICTION
    assert _verdict(date(2027, 1, 15), date(2027, 3, 1)) is Verdict.OFFENCE_OUTSIDE_PERIOD


def test_conviction_on_the_last_day_of_the_18_months_counts_the_day_after_does_not() -> None:
    assert _verdict(date(2026, 12, 1), date(2027, 7, 14)) is Verdict.RECONVICTION
    assert _verdict(date(2026, 12, 1), date(2027, 7, 15)) is Verdict.CONVICTED_OUTSIDE_PERIOD


def test_the_day_of_release_is_inside_the_period() -> None:
    assert _verdict(RELEASED, RELEASED) is Verdict.RECONVICTION


def test_an_offence_before_release_is_reported_as_such() -> None:
    finding = classify(Result(date(2025, 11, 2), date(2026, 2, 10)), [RELEASED])
    assert finding.verdict is Verdict.OFFENCE_BEFORE_RELEASE and not finding.counts
    assert finding.release_on == RELEASED
    assert "before release (released 2026-01-15)" in finding.describe()
    # No release the hub knows of, before or since.
    assert classify(Result(date(2025, 11, 2), date(2025, 12, 10)), [RELEASED]).verdict is (
        Verdict.NO_RELEASE
    )
    assert classify(Result(date(2026, 3, 1), date(2026, 4, 1)), []).verdict is Verdict.NO_RELEASE


@pytest.mark.parametrize(
    ("outcome", "verdict"),
    [
        (Outcome.ACQUITTED, Verdict.NOT_CONVICTED),
        (Outcome.DISMISSED, Verdict.NOT_CONVICTED),
        (Outcome.WITHDRAWN, Verdict.NOT_CONVICTED),
        (Outcome.OUT_OF_COURT, Verdict.OUT_OF_COURT),
    ],
)
def test_acquittals_and_out_of_court_disposals_never_count(
    outcome: Outcome, verdict: Verdict
) -> None:
    assert _verdict(date(2026, 3, 1), date(2026, 4, 1), outcome) is verdict


def test_two_convictions_at_one_hearing_are_two_offences_one_occasion() -> None:
    results = [
        Result(date(2026, 3, 1), date(2026, 5, 20), hearing="h-1", offence_code="TH68010"),
        Result(date(2026, 3, 2), date(2026, 5, 20), hearing="h-1", offence_code="CJ88116"),
    ]
    assert all(classify(r, [RELEASED]).counts for r in results)
    counted = tally(results, [RELEASED], RELEASED)
    assert (counted.offences, counted.occasions) == (2, 1)
    later = [*results, Result(date(2026, 6, 1), date(2026, 7, 1), hearing="h-2")]
    counted = tally(later, [RELEASED], RELEASED)
    assert (counted.offences, counted.occasions) == (3, 2)
    # An acquittal and an out-of-court disposal add nothing.
    noise = [
        *later,
        Result(date(2026, 6, 5), date(2026, 8, 1), Outcome.ACQUITTED, hearing="h-3"),
        Result(date(2026, 6, 6), date(2026, 6, 6), Outcome.OUT_OF_COURT),
    ]
    assert tally(noise, [RELEASED], RELEASED) == counted


def test_a_person_released_twice_is_measured_from_the_release_the_offence_followed() -> None:
    second = date(2026, 9, 1)
    releases = [second, RELEASED]  # any order
    # Offended after the first release, convicted after the second: a reconviction measured
    # from the first (within 12 and 18 months of it).
    finding = classify(Result(date(2026, 4, 1), date(2026, 10, 1)), releases)
    assert finding.verdict is Verdict.RECONVICTION and finding.release_on == RELEASED
    # After the second release, the periods start again from it.
    finding = classify(Result(date(2027, 8, 1), date(2027, 9, 1)), releases)
    assert finding.verdict is Verdict.RECONVICTION and finding.release_on == second
    assert finding.offence_deadline == date(2027, 8, 31)
    # The tally counts each release's reconvictions apart.
    results = [
        Result(date(2026, 4, 1), date(2026, 10, 1), hearing="a"),
        Result(date(2026, 10, 5), date(2026, 11, 1), hearing="b"),
    ]
    assert tally(results, releases, RELEASED).offences == 1
    assert tally(results, releases, second).offences == 1


@given(
    released=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
    offence_days=st.integers(min_value=-400, max_value=800),
    delay_days=st.integers(min_value=0, max_value=800),
)
def test_the_verdict_agrees_with_the_periods(
    released: date, offence_days: int, delay_days: int
) -> None:
    from datetime import timedelta

    offence = released + timedelta(days=offence_days)
    convicted = offence + timedelta(days=delay_days)
    finding = classify(Result(offence, convicted), [released])
    in_offence_period = released <= offence <= period_end(released, 12)
    in_conviction_period = convicted <= period_end(released, 18)
    assert finding.counts == (in_offence_period and in_conviction_period)
    if offence < released:
        assert finding.verdict in {Verdict.OFFENCE_BEFORE_RELEASE, Verdict.NO_RELEASE}
