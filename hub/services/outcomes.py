"""Outcome figures without personal data: for each cohort of people released from custody, how
many were reconvicted (the pilot's binary measure), how many offences they were reconvicted of
per person (the frequency measure) and how serious those were, beside a baseline rate (seed 001
lines 248-260; seed 000 lines 1018-1030; DOMAIN.md, flow 2).

Cohorts are releases by month, gathered into cohort years that run October to September as the
HMP Doncaster pilot measured them (seed 000 lines 78-104: "the proportion of offenders released
during each cohort period"). A person counts once in each cohort year, in the month of their
first release in it, and is measured from that release by the reconviction rule
(`hub.domain.reconviction.classify`: an offence within 12 months of it, convicted within 18;
out-of-court disposals and acquittals never count). Only releases that happened (status
`released`, as a prison's release event states) make a cohort; a planned release date does not.
A month's cohort is final once the 12 + 6 months from its last day have run out; until then its
figures can still grow, and it (and its cohort year) is provisional.

Aggregates only: no identifier, pseudonym or per-person value leaves this module. A count below
the minimum is suppressed, and so is every rate computed from a suppressed count. Secondary
suppression then hides more counts until every sum the figures contain (people = reconvicted +
not reconvicted; offences = the sum of the severity bands; a cohort year = the sum of its months)
hides none of its counts or at least two that are not all zero, so none can be recovered by
subtraction from a total. (This is the usual line-by-line rule; it does not solve the whole
table as a linear system, which small counts across many sums could in principle narrow down.)

Reading people's sealed records here is the hub's own processing (as when it classifies a
conviction for an alert), and what leaves is not personal data: neither is an audit entry.
"""

from __future__ import annotations

import calendar
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.domain.reconviction import CONVICTION_MONTHS, Result, classify, period_end
from hub.domain.records import RecordKind
from hub.security.crypto import open_sealed
from hub.services.identity import Identity
from hub.store.db import Database
from hub.store.models import Subject, SubjectRecord

COHORT_START_MONTH = 10  # cohort years run October to September
BANDS = ("summary", "either_way", "indictable_only")
NOT_RECORDED = "not_recorded"  # a conviction recorded before the hub kept its severity
FLAGS = ("violence", "sexual")
RELEASED, RECONVICTED, NOT_RECONVICTED, OFFENCES = (
    "released",
    "reconvicted",
    "notReconvicted",
    "offences",
)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Conviction:
    result: Result
    band: str | None = None
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class History:
    """One person's releases and convictions: what the figures are computed from, never part of
    them."""

    releases: tuple[date, ...]
    convictions: tuple[Conviction, ...] = ()


@dataclass(frozen=True)
class Figure:
    """A count or a rate; `value` is None when it is suppressed."""

    value: int | float | None

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Cohort:
    """The figures of one release month, or of a whole cohort year."""

    key: str  # "2025-10" for a month, "2025/26" for a cohort year
    starts: date
    ends: date
    final: bool
    window_closes_on: date  # the last day a reconviction of someone in it can count
    released: Figure
    reconvicted: Figure
    not_reconvicted: Figure
    reconvicted_percent: Figure  # of those released, to one decimal place
    difference: Figure  # reconvicted_percent minus the baseline, in percentage points
    offences: Figure  # reconvictions counted by the rule, each offence once
    offences_per_person: Figure  # offences / released, to two decimal places
    severity: dict[str, Figure] = field(default_factory=dict)  # offences by band
    flags: dict[str, Figure] = field(default_factory=dict)  # offences of a violent/sexual nature

    @property
    def is_year(self) -> bool:
        return "/" in self.key


@dataclass(frozen=True)
class CohortYear:
    total: Cohort
    months: tuple[Cohort, ...]  # the months anyone was released in, oldest first


@dataclass(frozen=True)
class Figures:
    as_of: date
    baseline: float
    min_count: int
    bands: tuple[str, ...]
    years: tuple[CohortYear, ...]  # oldest first


# -- cohorts --------------------------------------------------------------------------------------


def cohort_year(day: date) -> int:
    """The year in which the cohort year holding `day` starts (October 2025 to September 2026:
    2025)."""
    return day.year if day.month >= COHORT_START_MONTH else day.year - 1


def cohort_label(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def cohort_releases(releases: Iterable[date]) -> list[date]:
    """The releases a person is counted from: their first in each cohort year."""
    first: dict[int, date] = {}
    for day in sorted(set(releases)):
        first.setdefault(cohort_year(day), day)
    return sorted(first.values())


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def window_closes(month: date) -> date:
    """The last day a conviction can count for someone released in `month` (18 months from its
    last day: the 12 months to offend and 6 more to be convicted)."""
    return period_end(month_end(month), CONVICTION_MONTHS)


def tally_months(people: Iterable[History]) -> dict[date, Counter[str]]:
    """Counts for each release month (its first day): people released, reconvicted or not,
    offences counted, and offences by severity band and flag."""
    months: dict[date, Counter[str]] = defaultdict(Counter)
    for person in people:
        for release in cohort_releases(person.releases):
            counted = [c for c in person.convictions if classify(c.result, [release]).counts]
            cell = months[release.replace(day=1)]
            cell[RELEASED] += 1
            cell[RECONVICTED if counted else NOT_RECONVICTED] += 1
            cell[OFFENCES] += len(counted)
            for conviction in counted:
                band = conviction.band if conviction.band in BANDS else NOT_RECORDED
                cell[f"band:{band}"] += 1
                for flag in FLAGS:
                    cell[f"flag:{flag}"] += flag in conviction.flags
    return months


# -- suppression ----------------------------------------------------------------------------------


def suppress(
    values: Mapping[K, int], sums: Sequence[tuple[K, Sequence[K]]], min_count: int
) -> set[K]:
    """The cells to hide: each below `min_count` (primary); then, while a sum (a total and its
    parts) that shows any cell hides exactly one, or hides only zeros (which its shown cells would
    give away, counts being never negative), it hides its smallest part still shown (or its total,
    when every part is hidden)."""
    hidden = {key for key, value in values.items() if value < min_count}
    changed = True
    while changed:
        changed = False
        for total, parts in sums:
            cells = [total, *parts]
            gone = [cell for cell in cells if cell in hidden]
            left = [cell for cell in cells if cell not in hidden]
            if not gone or not left or (len(gone) > 1 and sum(values[c] for c in gone) > 0):
                continue
            shown = [part for part in parts if part not in hidden] or [total]
            hidden.add(min(shown, key=lambda cell: (values[cell], cells.index(cell))))
            changed = True
    return hidden


# -- the figures ----------------------------------------------------------------------------------


Cell = tuple[str, str]  # (cohort key, measure)


def _cells(
    months: Mapping[date, Counter[str]], bands: Sequence[str]
) -> tuple[dict[int, list[date]], dict[Cell, int], list[tuple[Cell, list[Cell]]]]:
    """The months of each cohort year; every count, the years' summed from their months; and the
    sums that hold between them."""
    measures = [
        RELEASED,
        RECONVICTED,
        NOT_RECONVICTED,
        OFFENCES,
        *(f"band:{b}" for b in bands),
        *(f"flag:{f}" for f in FLAGS),
    ]
    by_year: dict[int, list[date]] = defaultdict(list)
    for month in sorted(months):
        by_year[cohort_year(month)].append(month)
    values: dict[Cell, int] = {}
    sums: list[tuple[Cell, list[Cell]]] = []
    for year, in_year in by_year.items():
        year_key = cohort_label(year)
        for measure in measures:
            parts = [(f"{m:%Y-%m}", measure) for m in in_year]
            for part, month in zip(parts, in_year, strict=True):
                values[part] = months[month][measure]
            values[(year_key, measure)] = sum(values[part] for part in parts)
            sums.append(((year_key, measure), parts))
        for key in [year_key, *(f"{m:%Y-%m}" for m in in_year)]:
            sums.append(((key, RELEASED), [(key, RECONVICTED), (key, NOT_RECONVICTED)]))
            sums.append(((key, OFFENCES), [(key, f"band:{b}") for b in bands]))
    return by_year, values, sums


def figures(people: Iterable[History], *, today: date, baseline: float, min_count: int) -> Figures:
    """Every cohort year anyone in `people` was released in, with its months."""
    months = tally_months(people)
    bands = BANDS + (
        (NOT_RECORDED,) if any(c[f"band:{NOT_RECORDED}"] for c in months.values()) else ()
    )
    by_year, values, sums = _cells(months, bands)
    hidden = suppress(values, sums, min_count)

    def shown(key: str, measure: str) -> int | None:
        return None if (key, measure) in hidden else values[(key, measure)]

    def cohort(key: str, starts: date, ends: date, closes: date) -> Cohort:
        released, reconvicted = shown(key, RELEASED), shown(key, RECONVICTED)
        offences = shown(key, OFFENCES)
        percent = 100 * reconvicted / released if released and reconvicted is not None else None
        return Cohort(
            key=key,
            starts=starts,
            ends=ends,
            final=today > closes,
            window_closes_on=closes,
            released=Figure(released),
            reconvicted=Figure(reconvicted),
            not_reconvicted=Figure(shown(key, NOT_RECONVICTED)),
            reconvicted_percent=Figure(None if percent is None else round(percent, 1)),
            difference=Figure(None if percent is None else round(percent - baseline, 1)),
            offences=Figure(offences),
            offences_per_person=Figure(
                round(offences / released, 2) if released and offences is not None else None
            ),
            severity={b: Figure(shown(key, f"band:{b}")) for b in bands},
            flags={f: Figure(shown(key, f"flag:{f}")) for f in FLAGS},
        )

    years = []
    for year, in_year in by_year.items():
        september = date(year + 1, COHORT_START_MONTH - 1, 1)
        years.append(
            CohortYear(
                total=cohort(
                    cohort_label(year),
                    date(year, COHORT_START_MONTH, 1),
                    month_end(september),
                    window_closes(september),
                ),
                months=tuple(
                    cohort(f"{m:%Y-%m}", m, month_end(m), window_closes(m)) for m in in_year
                ),
            )
        )
    return Figures(today, baseline, min_count, bands, tuple(years))


# -- reading the hub's records --------------------------------------------------------------------


def _today() -> date:
    return datetime.now(UTC).date()


class OutcomeFigures:
    def __init__(
        self,
        db: Database,
        identity: Identity,
        *,
        baseline: float,
        min_count: int,
        today: Callable[[], date] = _today,
    ) -> None:
        self._db = db
        self._identity = identity
        self._baseline = baseline
        self._min_count = min_count
        self._today = today

    def figures(self) -> Figures:
        with self._db.transaction(readonly=True) as session:
            people = self.histories(session)
        return figures(
            people, today=self._today(), baseline=self._baseline, min_count=self._min_count
        )

    def histories(self, session: Session) -> list[History]:
        """Every person's releases and convictions, from the hub's records (people merged into
        one are one). Read in a few queries, not per person: every subject is loaded once, so
        following merges and unwrapping data keys asks the database nothing more."""
        subjects = {s.id: s for s in session.scalars(select(Subject))}
        roots = {sid: self._identity.root(session, s).id for sid, s in subjects.items()}
        keys: dict[str, bytes] = {}
        releases: dict[str, set[date]] = defaultdict(set)
        convictions: dict[str, list[Conviction]] = defaultdict(list)
        rows = session.execute(
            select(
                SubjectRecord.subject_id,
                SubjectRecord.public_id,
                SubjectRecord.kind,
                SubjectRecord.value_enc,
            )
            .where(SubjectRecord.kind.in_((RecordKind.RELEASE.value, RecordKind.CONVICTION.value)))
            .order_by(SubjectRecord.id)
        )
        for subject_id, public_id, kind, sealed in rows:
            if subject_id not in keys:
                keys[subject_id] = self._identity.data_key(subjects[subject_id])
            plain = open_sealed(keys[subject_id], sealed, f"record:{public_id}".encode())
            value = json.loads(plain)["value"]
            if not isinstance(value, dict):
                continue
            root = roots[subject_id]
            if kind == RecordKind.RELEASE.value:
                released = _day(value.get("releaseDate"))
                if value.get("status") == "released" and released is not None:
                    releases[root].add(released)
            elif (conviction := _conviction(value)) is not None:
                convictions[root].append(conviction)
        return [
            History(tuple(sorted(days)), tuple(convictions.get(root, ())))
            for root, days in releases.items()
        ]


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value[:10]) if isinstance(value, str) else None
    except ValueError:
        return None


def _conviction(value: dict[str, Any]) -> Conviction | None:
    offence_on, convicted_on = _day(value.get("offenceOn")), _day(value.get("convictedOn"))
    if offence_on is None or convicted_on is None:
        return None
    band = value.get("severityBand")
    flags = value.get("severityFlags")
    return Conviction(
        Result(offence_on, convicted_on, hearing=value.get("hearing")),
        band if isinstance(band, str) else None,
        frozenset(f for f in flags if isinstance(f, str))
        if isinstance(flags, list)
        else frozenset(),
    )
