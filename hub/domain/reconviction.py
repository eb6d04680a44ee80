"""Is this conviction a reconviction? The pilot's measure (seed 001 lines 248-260 and footnote 5;
DOMAIN.md, flow 2), as the Ministry of Justice's proven reoffending measure defines it:

- the person was released from custody (the release it is measured from is the latest one on or
  before the offence date: a person released twice is measured from the release the offence
  followed);
- the offence was committed within 12 months of that release, and
- the conviction came within 18 months of it (the 12 months, and 6 more for the case to reach
  court);
- out-of-court disposals (cautions, penalty notices, community resolutions) do not count, and
  neither does a result that is not a conviction (an acquittal, a dismissal).

Periods run from the day of release: released on 15 January 2026, the 12 months end on
14 January 2027 (an offence that day counts, one on 15 January 2027 does not) and the 18 months
on 14 July 2027. A month from the 31st ends on the last day of a shorter month.

A conviction for an offence committed before the release is reported as such, never as a
reconviction. Frequency and severity are kept, not only yes or no (seed 000 lines 1018-1030): each
reconviction counts once per offence, and the alert says how many the person now has since that
release. Nothing here reads a database or a clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

OFFENCE_MONTHS = 12
CONVICTION_MONTHS = 18


class Verdict(StrEnum):
    RECONVICTION = "reconviction"  # counts toward the measure
    OFFENCE_BEFORE_RELEASE = "offence_before_release"  # convicted since, for an earlier offence
    OFFENCE_OUTSIDE_PERIOD = "offence_outside_period"  # committed more than 12 months after
    CONVICTED_OUTSIDE_PERIOD = "convicted_outside_period"  # offence in time, conviction too late
    OUT_OF_COURT = "out_of_court_disposal"  # never counts
    NOT_CONVICTED = "not_convicted"  # acquitted, dismissed, withdrawn
    NO_RELEASE = "no_release_known"  # the hub knows of no release before the offence or after


class Outcome(StrEnum):
    CONVICTED = "convicted"
    ACQUITTED = "acquitted"
    DISMISSED = "dismissed"
    WITHDRAWN = "withdrawn"
    OUT_OF_COURT = "out_of_court"  # a caution, penalty notice or community resolution


@dataclass(frozen=True)
class Result:
    """One offence's result at a hearing (a court result, or an out-of-court disposal)."""

    offence_on: date
    decided_on: date
    outcome: Outcome = Outcome.CONVICTED
    hearing: str | None = None  # two convictions at one hearing share it
    offence_code: str | None = None


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    release_on: date | None  # the release it is measured from (or the latest before conviction)
    offence_deadline: date | None = None  # the last day an offence counts
    conviction_deadline: date | None = None  # the last day a conviction counts

    @property
    def counts(self) -> bool:
        return self.verdict is Verdict.RECONVICTION

    def describe(self) -> str:
        released = f"released {self.release_on.isoformat()}" if self.release_on else ""
        return {
            Verdict.RECONVICTION: f"a reconviction: offence and conviction within the measured "
            f"period after release ({released}; offences to {self.offence_deadline}, "
            f"convictions to {self.conviction_deadline})",
            Verdict.OFFENCE_BEFORE_RELEASE: "a conviction for an offence committed before "
            f"release ({released}): not a reconviction",
            Verdict.OFFENCE_OUTSIDE_PERIOD: f"the offence was committed after "
            f"{self.offence_deadline}, more than 12 months after release ({released})",
            Verdict.CONVICTED_OUTSIDE_PERIOD: f"the conviction came after "
            f"{self.conviction_deadline}, more than 18 months after release ({released})",
            Verdict.OUT_OF_COURT: "an out-of-court disposal: never a reconviction",
            Verdict.NOT_CONVICTED: "not a conviction",
            Verdict.NO_RELEASE: "the hub knows of no release from custody for this person",
        }[self.verdict]


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_end(released_on: date, months: int) -> date:
    """The last day of a period of `months` that starts on the day of release."""
    return add_months(released_on, months) - timedelta(days=1)


def classify(result: Result, releases: Iterable[date]) -> Finding:
    """What `result` is for the measure, given the person's release dates (any order)."""
    if result.outcome is Outcome.OUT_OF_COURT:
        return Finding(Verdict.OUT_OF_COURT, None)
    if result.outcome is not Outcome.CONVICTED:
        return Finding(Verdict.NOT_CONVICTED, None)
    known = sorted(set(releases))
    before_offence = [r for r in known if r <= result.offence_on]
    if not before_offence:
        # Released since the offence (and before the conviction): convicted for what they did
        # before that release.
        since = [r for r in known if result.offence_on < r <= result.decided_on]
        if since:
            return Finding(Verdict.OFFENCE_BEFORE_RELEASE, since[-1])
        return Finding(Verdict.NO_RELEASE, None)
    release = before_offence[-1]
    offence_deadline = period_end(release, OFFENCE_MONTHS)
    conviction_deadline = period_end(release, CONVICTION_MONTHS)
    if result.offence_on > offence_deadline:
        verdict = Verdict.OFFENCE_OUTSIDE_PERIOD
    elif result.decided_on > conviction_deadline:
        verdict = Verdict.CONVICTED_OUTSIDE_PERIOD
    else:
        verdict = Verdict.RECONVICTION
    return Finding(verdict, release, offence_deadline, conviction_deadline)


@dataclass(frozen=True)
class Tally:
    """Reconvictions since one release: offences (the frequency measure) and court occasions."""

    release_on: date
    offences: int
    occasions: int


def tally(results: Sequence[Result], releases: Iterable[date], release_on: date) -> Tally:
    """How many of `results` (everything the hub has recorded, this one included) are
    reconvictions measured from `release_on`: each offence once; occasions are hearings (or, with
    no hearing id, conviction days)."""
    known = list(releases)
    counted = [
        r for r in results if (f := classify(r, known)).counts and f.release_on == release_on
    ]
    occasions = {r.hearing or r.decided_on.isoformat() for r in counted}
    return Tally(release_on, len(counted), len(occasions))
