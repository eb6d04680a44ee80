"""Outcome figures without a database: cohort years run October to September and a person counts
once in each, from their first release in it; the binary, frequency and severity measures come
from the reconviction rule at its boundaries; small counts are suppressed, and so is whatever
would give a suppressed count away by subtraction; cohorts are provisional until their 12 + 6
months have run out. Also the settings and the conviction facts the figures read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.reconviction import Result
from hub.domain.records import RecordKind, facts_of
from hub.domain.vocab import MessageType
from hub.services.outcomes import (
    BANDS,
    FLAGS,
    Cohort,
    Conviction,
    Figure,
    Figures,
    History,
    cohort_releases,
    cohort_year,
    figures,
    suppress,
    window_closes,
)
from hub.settings import ConfigError, Settings
from hub.web.outcomes import AREA, LABEL, chart

TODAY = date(2026, 11, 24)


def _conviction(
    offence: date, convicted: date, band: str | None = "either_way", *flags: str
) -> Conviction:
    return Conviction(Result(offence, convicted), band, frozenset(flags))


def _values(cohort: Cohort) -> dict[str, object]:
    return {
        "released": cohort.released.value,
        "reconvicted": cohort.reconvicted.value,
        "notReconvicted": cohort.not_reconvicted.value,
        "percent": cohort.reconvicted_percent.value,
        "difference": cohort.difference.value,
        "offences": cohort.offences.value,
        "perPerson": cohort.offences_per_person.value,
        "severity": {band: f.value for band, f in cohort.severity.items()},
        "flags": {flag: f.value for flag, f in cohort.flags.items()},
    }


# -- cohorts --------------------------------------------------------------------------------------


def test_cohort_years_run_october_to_september() -> None:
    assert cohort_year(date(2025, 9, 30)) == 2024
    assert cohort_year(date(2025, 10, 1)) == 2025
    assert cohort_year(date(2026, 1, 15)) == 2025
    assert cohort_year(date(2026, 9, 30)) == 2025


def test_a_person_counts_from_their_first_release_in_each_cohort_year() -> None:
    releases = [date(2025, 12, 1), date(2025, 10, 5), date(2026, 3, 1), date(2026, 10, 2)]
    assert cohort_releases(releases) == [date(2025, 10, 5), date(2026, 10, 2)]
    # Released on 30 September and again on 1 October: one cohort year each.
    assert cohort_releases([date(2025, 9, 30), date(2025, 10, 1)]) == [
        date(2025, 9, 30),
        date(2025, 10, 1),
    ]


def test_releases_land_in_their_month_and_cohort_year() -> None:
    people = [
        History((date(2024, 10, 1),)),
        History((date(2024, 10, 31),)),
        History((date(2024, 11, 3), date(2025, 3, 1))),  # once, in November
        History((date(2025, 9, 30),)),
        History((date(2025, 10, 1),)),
    ]
    found = figures(people, today=TODAY, baseline=58, min_count=0)
    assert [y.total.key for y in found.years] == ["2024/25", "2025/26"]
    first, second = found.years
    assert [(m.key, m.released.value) for m in first.months] == [
        ("2024-10", 2),
        ("2024-11", 1),
        ("2025-09", 1),
    ]
    assert first.total.released.value == 4
    assert (first.total.starts, first.total.ends) == (date(2024, 10, 1), date(2025, 9, 30))
    assert [(m.key, m.released.value) for m in second.months] == [("2025-10", 1)]


# -- the measures ---------------------------------------------------------------------------------

RELEASED = date(2024, 10, 10)  # 12 months to 9 October 2025, 18 to 9 April 2026


def _october_cohort() -> list[History]:
    return [
        # Two reconvictions (one indictable and violent) and an offence before release.
        History(
            (RELEASED,),
            (
                _conviction(date(2024, 12, 1), date(2025, 1, 10)),
                _conviction(date(2025, 6, 1), date(2025, 12, 1), "indictable_only", "violence"),
                _conviction(date(2024, 9, 1), date(2024, 11, 1)),
            ),
        ),
        # The last day of both periods: counts.
        History((RELEASED,), (_conviction(date(2025, 10, 9), date(2026, 4, 9), "summary"),)),
        # An offence the day after the 12 months, and one convicted the day after the 18.
        History((RELEASED,), (_conviction(date(2025, 10, 10), date(2025, 12, 1)),)),
        History((RELEASED,), (_conviction(date(2025, 10, 1), date(2026, 4, 10)),)),
        History((RELEASED,)),
        # Released in November and again in March: measured from November, so an offence in
        # April counts once, in November's cohort.
        History(
            (date(2024, 11, 3), date(2025, 3, 1)),
            (_conviction(date(2025, 4, 1), date(2025, 5, 1), "summary", "sexual"),),
        ),
    ]


def test_binary_frequency_and_severity_by_the_rule() -> None:
    found = figures(_october_cohort(), today=TODAY, baseline=58, min_count=0)
    [year] = found.years
    october, november = year.months
    assert _values(october) == {
        "released": 5,
        "reconvicted": 2,
        "notReconvicted": 3,
        "percent": 40.0,
        "difference": -18.0,
        "offences": 3,
        "perPerson": 0.6,
        "severity": {"summary": 1, "either_way": 1, "indictable_only": 1},
        "flags": {"violence": 1, "sexual": 0},
    }
    assert _values(year.total) == {
        "released": 6,
        "reconvicted": 3,
        "notReconvicted": 3,
        "percent": 50.0,
        "difference": -8.0,
        "offences": 4,
        "perPerson": 0.67,
        "severity": {"summary": 2, "either_way": 1, "indictable_only": 1},
        "flags": {"violence": 1, "sexual": 1},
    }
    assert november.released.value == 1 and november.offences.value == 1
    assert found.bands == BANDS


def test_the_baseline_is_configurable() -> None:
    found = figures(_october_cohort(), today=TODAY, baseline=45.5, min_count=0)
    assert found.years[0].total.difference.value == 4.5
    assert found.baseline == 45.5


def test_a_conviction_without_a_band_is_counted_as_not_recorded() -> None:
    people = [History((RELEASED,), (_conviction(date(2025, 1, 1), date(2025, 2, 1), None),))]
    found = figures(people, today=TODAY, baseline=58, min_count=0)
    assert found.bands == (*BANDS, "not_recorded")
    assert found.years[0].total.severity["not_recorded"].value == 1


# -- provisional cohorts --------------------------------------------------------------------------


def test_a_cohort_is_final_once_its_12_and_6_months_have_run_out() -> None:
    assert window_closes(date(2024, 10, 1)) == date(2026, 4, 29)  # from 31 October 2024
    assert window_closes(date(2025, 9, 1)) == date(2027, 3, 29)
    people = _october_cohort()

    def status(today: date) -> tuple[bool, bool, bool]:
        [year] = figures(people, today=today, baseline=58, min_count=0).years
        return year.months[0].final, year.months[1].final, year.total.final

    assert status(date(2026, 4, 29)) == (False, False, False)
    assert status(date(2026, 4, 30)) == (True, False, False)  # October's window has closed
    assert status(date(2026, 11, 24)) == (True, True, False)  # the year waits for September's
    assert status(date(2027, 3, 30)) == (True, True, True)


# -- suppression ----------------------------------------------------------------------------------


def test_suppress_hides_small_counts_and_one_more_in_any_sum() -> None:
    values = {"total": 30, "a": 3, "b": 12, "c": 15}
    assert suppress(values, [("total", ["a", "b", "c"])], 10) == {"a", "b"}
    # Two hidden already: nothing more.
    assert suppress({"t": 25, "a": 3, "b": 4, "c": 18}, [("t", ["a", "b", "c"])], 10) == {"a", "b"}
    # Two hidden zeros give themselves away: the smallest shown part goes too.
    assert suppress({"t": 25, "a": 0, "b": 0, "c": 25}, [("t", ["a", "b", "c"])], 10) == {
        "a",
        "b",
        "c",
    }
    assert suppress(values, [("total", ["a", "b", "c"])], 0) == set()


def _year(months: list[tuple[date, int, int]]) -> list[History]:
    """People released on the 1st of each month, `reconvicted` of them once (either way)."""
    people = []
    for month, released, reconvicted in months:
        for index in range(released):
            convictions = (
                (_conviction(month.replace(day=2), month.replace(day=20)),)
                if index < reconvicted
                else ()
            )
            people.append(History((month,), convictions))
    return people


def test_small_counts_and_the_rates_from_them_are_suppressed() -> None:
    # 12 released, 3 reconvicted (and so 9 not): both small, and the proportion with them.
    [year] = figures(
        _year([(date(2023, 10, 1), 12, 3)]), today=TODAY, baseline=58, min_count=10
    ).years
    october = year.months[0]
    assert october.released.value == 12
    assert october.reconvicted.suppressed and october.not_reconvicted.suppressed
    assert october.reconvicted_percent.suppressed and october.difference.suppressed
    assert october.offences.suppressed and october.offences_per_person.suppressed


def test_secondary_suppression_within_a_cohort() -> None:
    # 25 released, 5 reconvicted: 20 not reconvicted is large, but 25 - 20 would give the 5 away.
    [year] = figures(
        _year([(date(2023, 10, 1), 25, 5)]), today=TODAY, baseline=58, min_count=10
    ).years
    october = year.months[0]
    assert october.released.value == 25
    assert october.reconvicted.suppressed and october.not_reconvicted.suppressed
    assert october.reconvicted_percent.suppressed


def test_secondary_suppression_across_the_months_of_a_year() -> None:
    months = [(date(2023, 10, 1), 12, 0), (date(2023, 11, 1), 30, 0), (date(2023, 12, 1), 4, 0)]
    [year] = figures(_year(months), today=TODAY, baseline=58, min_count=10).years
    october, november, december = year.months
    assert year.total.released.value == 46
    assert december.released.suppressed  # 4: primary
    # 46 - 30 - 12 would give December's 4 away: the smaller of the others goes too.
    assert october.released.suppressed
    assert november.released.value == 30


def _sums(found: Figures) -> list[list[object]]:
    """Every sum the published figures hold, as lists of values (None: suppressed)."""
    getters: list[Callable[[Cohort], object]] = [
        lambda c: c.released.value,
        lambda c: c.reconvicted.value,
        lambda c: c.not_reconvicted.value,
        lambda c: c.offences.value,
        *(lambda c, b=band: c.severity[b].value for band in found.bands),
        *(lambda c, f=flag: c.flags[f].value for flag in FLAGS),
    ]
    sums: list[list[object]] = []
    for year in found.years:
        cohorts = [year.total, *year.months]
        for c in cohorts:
            sums.append([c.released.value, c.reconvicted.value, c.not_reconvicted.value])
            sums.append([c.offences.value, *(c.severity[b].value for b in found.bands)])
        sums.extend([get(c) for c in cohorts] for get in getters)
    return sums


people_strategy = st.lists(
    st.tuples(
        st.dates(date(2023, 10, 1), date(2025, 9, 30)),
        st.lists(
            st.tuples(
                st.integers(-30, 500),  # offence, days after release
                st.integers(0, 200),  # conviction, days after the offence
                st.sampled_from([*BANDS, None]),
                st.sampled_from([(), ("violence",), ("sexual",)]),
            ),
            max_size=3,
        ),
    ),
    max_size=120,
)


@given(people_strategy, st.integers(1, 12))
def test_no_suppressed_count_can_be_recovered_from_a_sum(
    generated: list[tuple[date, list[tuple[int, int, str | None, tuple[str, ...]]]]],
    min_count: int,
) -> None:
    people = [
        History(
            (released,),
            tuple(
                _conviction(
                    released + timedelta(days=after),
                    released + timedelta(days=after + lag),
                    band,
                    *flags,
                )
                for after, lag, band, flags in convictions
            ),
        )
        for released, convictions in generated
    ]
    exact = figures(people, today=TODAY, baseline=58, min_count=0)
    found = figures(people, today=TODAY, baseline=58, min_count=min_count)
    for published, true in zip(_sums(found), _sums(exact), strict=True):
        hidden = [t for p, t in zip(published, true, strict=True) if p is None]
        assert len(hidden) != 1, (published, true)
        if hidden and len(hidden) < len(published):
            assert sum(hidden) > 0, (published, true)  # type: ignore[arg-type]
        # What is shown is the true count, and never a small one.
        for p, t in zip(published, true, strict=True):
            assert p is None or (p == t and p >= min_count)
    for year in found.years:
        for cohort in (year.total, *year.months):
            if cohort.reconvicted.suppressed or cohort.released.suppressed:
                assert cohort.reconvicted_percent.suppressed and cohort.difference.suppressed
            if cohort.offences.suppressed or cohort.released.suppressed:
                assert cohort.offences_per_person.suppressed


# -- the page's charts, the settings, the conviction facts ---------------------------------------


def test_a_chart_marks_the_baseline_and_draws_no_bar_for_a_suppressed_figure() -> None:
    rows = [("2023/24", Figure(50.0)), ("2024/25", Figure(None))]
    drawn = chart("c", "Proportion", rows, suffix="%", scale=100, baseline=58)
    shown, hidden = drawn.bars
    assert shown.width == AREA / 2 and shown.text == "50%"
    assert hidden.width == 0 and hidden.suppressed and hidden.text == "suppressed"
    assert drawn.baseline_x == pytest.approx(LABEL + AREA * 0.58, abs=0.05)
    assert drawn.baseline_text == "Baseline 58%"
    assert drawn.description == "2023/24: 50%; 2024/25: suppressed. Baseline 58%"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HUB_ENV": "test", "HUB_VAR_DIR": str(tmp_path), **extra}


def test_outcome_settings_default_to_the_doncaster_baseline_and_ten(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path))
    assert (settings.outcome_baseline, settings.outcome_min_count) == (58.0, 10)
    settings = Settings.from_env(
        _env(tmp_path, HUB_OUTCOME_BASELINE="52.5", HUB_OUTCOME_MIN_COUNT="5")
    )
    assert (settings.outcome_baseline, settings.outcome_min_count) == (52.5, 5)


@pytest.mark.parametrize("raw", ["101", "-1", "lots", "nan", "inf"])
def test_a_baseline_outside_0_to_100_stops_the_hub(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError, match="HUB_OUTCOME_BASELINE must be a percentage"):
        Settings.from_env(_env(tmp_path, HUB_OUTCOME_BASELINE=raw))


def test_the_minimum_count_is_a_positive_whole_number(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="HUB_OUTCOME_MIN_COUNT must be at least 1"):
        Settings.from_env(_env(tmp_path, HUB_OUTCOME_MIN_COUNT="0"))
    with pytest.raises(ConfigError, match="HUB_OUTCOME_MIN_COUNT must be an integer"):
        Settings.from_env(_env(tmp_path, HUB_OUTCOME_MIN_COUNT="ten"))


def test_a_conviction_fact_keeps_its_severity() -> None:
    data = {
        "offence": {"code": "OF61001", "modeOfTrial": "indictable", "committedOn": "2026-02-02"},
        "severity": {"band": "indictable_only", "flags": ["violence"]},
        "convictionDate": "2026-03-10",
        "hearingId": "h-1",
    }
    [fact] = facts_of(MessageType.CONVICTION, data)
    assert fact.kind is RecordKind.CONVICTION and fact.effective_on == date(2026, 3, 10)
    assert fact.value == {
        "offenceOn": "2026-02-02",
        "convictedOn": "2026-03-10",
        "offenceCode": "OF61001",
        "hearing": "h-1",
        "severityBand": "indictable_only",
        "severityFlags": ["violence"],
    }
    # A sender that leaves severity out: the band its mode of trial puts it in, no flags.
    del data["severity"]
    [fact] = facts_of(MessageType.CONVICTION, data)
    assert fact.value["severityBand"] == "indictable_only" and fact.value["severityFlags"] == []
