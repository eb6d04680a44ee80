"""People released from HMP Doncaster, drawn from the calibration, and everything the agencies
send about them, day by day."""

from __future__ import annotations

import csv
import heapq
import io
import itertools
import math
import random
import string
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from hub.domain.identifiers import check_letter
from hub.domain.reconviction import CONVICTION_MONTHS, OFFENCE_MONTHS, period_end
from hub.synthetic import documents
from hub.synthetic.calibration import (
    BEFORE_RELEASE,
    CHARGED_NOT_CONVICTED,
    DEMO_OWNER_SHARE,
    ENGAGED_AT_ONE_MONTH,
    ENGAGED_LATER,
    FORENAMES,
    HANDOVER_DAYS,
    IN_AREA,
    IOM_SHARE,
    LATER_NOT_CONVICTED,
    LOOKAHEAD,
    OFFENCE_SCALE_DAYS,
    OFFENCES,
    OFFENCES_PER_REOFFENDER,
    OUT_AREAS,
    OUT_OF_AREA,
    PATHWAY_MIX,
    QUICK_RESULT,
    RECONVICTION_RATE,
    RELEASES_PER_MONTH,
    RESULT_DAYS,
    RISK_ESCALATION,
    ROUTES,
    STAFF_FORENAMES,
    SURNAME_ENDS,
    SURNAME_STEMS,
    TRIGGERS,
    WEEKDAYS_PER_MONTH,
    Offence,
)
from hub.synthetic.people import Charge, Occasion, Officer, Person, Staff

# Each day's documents go in this order: who the person is before what happens to them.
KINDS = ("prisoners", "releases", "provider_events", "cases", "referrals", "cohort", "hearings")
LETTERS = string.ascii_uppercase
PROVIDER = "provider_events"
T = TypeVar("T")


@dataclass
class Day:
    """What the agencies send on one simulated day, and counts of it (never who)."""

    on: date
    documents: dict[str, list[Any]] = field(default_factory=lambda: {k: [] for k in KINDS})
    counts: Counter[str] = field(default_factory=Counter)

    def cohort_csv(self) -> bytes:
        out = io.StringIO()
        out.write(documents.COHORT_HEADER)
        csv.writer(out, lineterminator="\r\n").writerows(self.documents["cohort"])
        return out.getvalue().encode()


class Population:
    """People released from `start` on, each with what happens to them; `day` gives one day's
    documents at a time, in order. What is dated before `start` (the referral of someone
    released in the first weeks) is sent on the first day."""

    def __init__(self, seed: int, start: date, staff: Staff | None = None) -> None:
        self._rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
        self._staff = staff
        self._start = start
        self._next = start
        self._made_to = start - timedelta(days=1)
        self._queue: list[tuple[date, int, int, str, Any, tuple[str, ...]]] = []
        self._order = itertools.count()
        # Identifier blocks differ by seed, so two seeds' people rarely share a number.
        self._block = self._rng.randrange(50) * 20_000
        self._births: set[date] = set()
        self.people: list[Person] = []

    def day(self, on: date) -> Day:
        if on != self._next:
            raise ValueError(f"days come in order: expected {self._next}, not {on}")
        self._make_until(on + LOOKAHEAD)
        today = Day(on)
        while self._queue and self._queue[0][0] <= on:
            _, _, _, kind, document, tags = heapq.heappop(self._queue)
            today.documents[kind].append(document)
            today.counts.update(tags)
        self._next = on + timedelta(days=1)
        return today

    def _make_until(self, last: date) -> None:
        rate = RELEASES_PER_MONTH / WEEKDAYS_PER_MONTH
        while self._made_to < last:
            self._made_to += timedelta(days=1)
            if self._made_to.weekday() < 5:  # prisons release on weekdays
                for _ in range(_poisson(self._rng, rate)):
                    self._schedule(self._person(self._made_to))

    def _person(self, released_on: date) -> Person:
        rng = self._rng
        key = self._block + len(self.people)
        pathway = _pick(rng, PATHWAY_MIX)
        if pathway == 3:
            months = rng.choices(range(1, 12), weights=range(12, 1, -1))[0]
        else:
            months = rng.randint(18, 120) if pathway == 1 else rng.randint(12, 48)
        age = min(18 + int(rng.expovariate(1 / 12)), 70)
        born = released_on - timedelta(days=round(age * 365.25) + rng.randrange(365))
        for _ in range(50):  # one person per date of birth: no one for an identity review
            if born not in self._births:
                break
            born -= timedelta(days=rng.randrange(1, 400))
        self._births.add(born)
        out_of_area = rng.random() < OUT_OF_AREA
        year = rng.randint(min(born.year + 15, released_on.year - 2), released_on.year - 1)
        serial, cro, yy = 9_000_000 + key % 1_000_000, 900_000 + key % 100_000, year % 100
        # Pathway one is high or very high risk of serious harm (001:380); the rest are not.
        levels = (
            (("HIGH", "VERY_HIGH"), (85, 15)) if pathway == 1 else (("LOW", "MEDIUM"), (45, 55))
        )
        person = Person(
            key=key,
            forename=rng.choice(FORENAMES),
            surname=_surname(rng),
            born=born,
            pnc=f"{year}/{serial:07d}{check_letter(int(f'{yy:02d}{serial:07d}'))}",
            cro=f"{cro:06d}/{yy:02d}{check_letter(int(f'{yy:02d}{cro:06d}'))}",
            noms=f"Z{key % 10_000:04d}{LETTERS[key // 10_000 % 26]}{LETTERS[key // 260_000 % 26]}",
            crn=f"Z{key % 1_000_000:06d}",
            pathway=pathway,
            rosh=rng.choices(*levels)[0],
            sentence_months=months,
            # Released at the halfway point of a determinate sentence.
            sentenced_on=released_on - timedelta(days=round(months * 365.25 / 24)),
            released_on=released_on,
            area=rng.choice(OUT_AREAS) if out_of_area else _pick(rng, IN_AREA),
            out_of_area=out_of_area,
            offence=rng.choices(OFFENCES, [o.index[pathway - 1] for o in OFFENCES])[0],
            reoffends=rng.random() < RECONVICTION_RATE[pathway],
        )
        person.occasions = self._occasions(person)
        self.people.append(person)
        return person

    def _occasions(self, person: Person) -> list[Occasion]:
        """Court results: a reoffender's first offence after release is convicted within the
        measured period (that is what makes them one); some charges fail; some are convicted
        of what they did before custody."""
        rng, released = self._rng, person.released_on
        last_offence = period_end(released, OFFENCE_MONTHS)
        last_result = period_end(released, CONVICTION_MONTHS)
        window = (last_offence - released).days
        results: list[tuple[date, str, Charge]] = []
        if person.reoffends:
            # Further offences convicted average the source's figure; some charges fail.
            further = OFFENCES_PER_REOFFENDER[person.pathway] - 1
            count = 1 + _poisson(rng, further / (1 - LATER_NOT_CONVICTED))
            first = min(int(_truncated_exponential(rng, OFFENCE_SCALE_DAYS, window)), window)
            offsets = [first] + sorted(rng.randint(first, window) for _ in range(count - 1))
            for number, offset in enumerate(offsets):
                committed = released + timedelta(days=offset)
                outcome = "convicted"
                if number and rng.random() < LATER_NOT_CONVICTED:
                    outcome = rng.choice(["acquitted", "out_of_court"])
                on = min(_result_day(rng, committed), last_result)
                results.append((on, outcome, Charge(_further(rng), committed)))
        elif rng.random() < CHARGED_NOT_CONVICTED:
            committed = released + timedelta(days=rng.randint(0, window))
            outcome = rng.choice(["acquitted", "out_of_court"])
            results.append((_result_day(rng, committed), outcome, Charge(_further(rng), committed)))
        if rng.random() < BEFORE_RELEASE:
            committed = person.sentenced_on - timedelta(days=rng.randint(14, 180))
            on = _weekday(released + timedelta(days=rng.randint(7, 120)))
            results.append((on, "convicted", Charge(_further(rng), committed)))
        # Results within ten days of one another, with the same outcome, share a hearing.
        occasions: list[Occasion] = []
        for on, outcome, charge in sorted(results, key=lambda r: (r[0], r[2].committed_on)):
            last = occasions[-1] if occasions else None
            if last and last.outcome == outcome and (on - last.on).days <= 10:
                occasions[-1] = Occasion(on, outcome, (*last.charges, charge))
            else:
                occasions.append(Occasion(on, outcome, (charge,)))
        return occasions

    def _put(self, on: date, kind: str, document: Any, *tags: str) -> None:
        entry = (max(on, self._start), KINDS.index(kind), next(self._order), kind, document, tags)
        heapq.heappush(self._queue, entry)

    def _demo(self) -> Staff | None:
        """The demo's users, to name as this case's owner (for a share of the people)."""
        return self._staff if self._staff and self._rng.random() < DEMO_OWNER_SHARE else None

    def _schedule(self, p: Person) -> None:
        rng, released = self._rng, p.released_on
        case_manager = _officer(rng, "alliance.example", "Community team")
        if demo := self._demo():
            case_manager = demo.case_manager
        offender_manager = _officer(rng, "probation.example", f"{p.area} Offender Management")
        if demo := self._demo():
            offender_manager = demo.offender_manager
        custody = _officer(rng, "alliance.example", "Custody team")
        handover = released - timedelta(days=rng.randint(*HANDOVER_DAYS))
        event = documents.handover(p, handover, custody, case_manager)
        self._put(handover, PROVIDER, event, "handovers", PROVIDER)
        needs = rng.sample(sorted(ROUTES), rng.randint(2, 4))
        assessed = [{"route": route, "level": rng.choice(["some", "severe"])} for route in needs]
        event = documents.provider_event(
            "needs_assessment", p, assessedOn=handover.isoformat(), needs=assessed
        )
        self._put(handover, PROVIDER, event, PROVIDER)
        engaged = rng.random() < ENGAGED_AT_ONE_MONTH
        if engaged:  # those supported in the community sign the consent form
            self._put(handover, PROVIDER, documents.consent(p, handover), PROVIDER)
        referred = released - timedelta(days=rng.randint(21, 35))
        triggers = rng.sample(sorted(TRIGGERS), 2)
        iom = not p.out_of_area and p.offence.group == "SAC" and rng.random() < IOM_SHARE
        case = documents.case_summary(p, offender_manager, triggers, iom, referred)
        self._put(referred, "cases", case, "case_summaries")
        form = documents.referral(rng, p, offender_manager, needs)
        self._put(referred, "referrals", form, "referrals")
        due = released - timedelta(days=rng.randint(7, 14))
        self._put(due, "prisoners", documents.prisoner(p), "prisoners")
        self._put(released, "releases", documents.released(rng, p), "released")
        contact = released + timedelta(days=rng.randint(1, 7))
        event = documents.provider_event(
            "engagement", p, contactOn=contact.isoformat(), method="face_to_face", attended=engaged
        )
        self._put(contact, PROVIDER, event, PROVIDER)
        still = engaged and rng.random() < ENGAGED_LATER / ENGAGED_AT_ONE_MONTH
        for after, engaging in ((28, engaged), (182, still)):
            rated = released + timedelta(days=after)
            rating = rng.choice(["green", "amber"]) if engaging else "red_not_engaging"
            reason = "Engaging with support" if engaging else "No contact since release"
            event = documents.provider_event(
                "rag_rating", p, rating=rating, ratedOn=rated.isoformat(), reason=reason
            )
            self._put(rated, PROVIDER, event, PROVIDER)
        if rng.random() < RISK_ESCALATION:
            observed = released + timedelta(days=rng.randint(7, 150))
            event = documents.escalation(rng, p, rng.choice(triggers), observed)
            self._put(observed, PROVIDER, event, PROVIDER, "risk_escalations")
        if iom:
            officer = f"PC {rng.randint(1000, 2999)} {_surname(rng)}"
            if demo := self._demo():
                officer = demo.iom_officer
            adopted = released + timedelta(days=rng.randint(0, 14))
            row = documents.cohort_row(rng, p, adopted, officer)
            self._put(adopted, "cohort", row, "cohort_changes")
            removed = adopted + timedelta(days=rng.randint(270, 450))
            self._put(removed, "cohort", [*row[:5], "Deselected", *row[6:]], "cohort_changes")
        for occasion in p.occasions:
            tags = ["hearings"]
            for charge in occasion.charges:
                if occasion.outcome != "convicted":
                    tags.append("acquittals" if occasion.outcome == "acquitted" else "out_of_court")
                else:
                    tags.append("convictions")
                    tags.append(
                        "reconvictions" if charge.committed_on >= released else "before_release"
                    )
            self._put(occasion.on, "hearings", documents.hearing(rng, p, occasion), *tags)


def _pick(rng: random.Random, shares: dict[T, float]) -> T:
    return rng.choices(list(shares), list(shares.values()))[0]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method (the means here are small)."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _truncated_exponential(rng: random.Random, scale: float, limit: float) -> float:
    return -scale * math.log(1 - rng.random() * (1 - math.exp(-limit / scale)))


def _weekday(day: date) -> date:
    """Courts sit on weekdays: a result due at the weekend comes on the Monday."""
    return day + timedelta(days=7 - day.weekday()) if day.weekday() >= 5 else day


def _result_day(rng: random.Random, committed: date) -> date:
    quick = rng.random() < QUICK_RESULT
    lag = rng.randint(1, 14) if quick else rng.randint(15, RESULT_DAYS - 3)
    return _weekday(committed + timedelta(days=lag))


def _further(rng: random.Random) -> Offence:
    return rng.choices(OFFENCES, [o.further for o in OFFENCES])[0]


def _surname(rng: random.Random) -> str:
    return rng.choice(SURNAME_STEMS) + rng.choice(SURNAME_ENDS)


def _officer(rng: random.Random, domain: str, team: str) -> Officer:
    forename, surname = rng.choice(STAFF_FORENAMES), _surname(rng)
    email = f"{forename.lower()}.{surname.lower()}@{domain}"
    return Officer(f"{forename} {surname}", email, team, f"N07A{rng.randrange(1000):03d}")
