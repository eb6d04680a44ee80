"""The synthetic people, their case owners and what courts decide about them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from hub.synthetic.calibration import Offence


@dataclass(frozen=True)
class Officer:
    """A case owner as documents name them."""

    name: str
    email: str
    team: str
    code: str = ""


@dataclass(frozen=True)
class Staff:
    """The demo's own users, named as case owners for a share of the people (`hub.demo`)."""

    case_manager: Officer  # the provider's community case manager
    offender_manager: Officer  # probation
    iom_officer: str  # the IOM team's spreadsheet names officers, not emails


@dataclass(frozen=True)
class Charge:
    offence: Offence
    committed_on: date


@dataclass(frozen=True)
class Occasion:
    """One hearing's result for the person: "convicted", "acquitted" or "out_of_court" (the
    prosecution withdrawn for a caution)."""

    on: date
    outcome: str
    charges: tuple[Charge, ...]


@dataclass
class Person:
    key: int
    forename: str
    surname: str
    born: date
    pnc: str
    cro: str
    noms: str
    crn: str
    pathway: int
    rosh: str
    sentence_months: int
    sentenced_on: date
    released_on: date
    area: str
    out_of_area: bool
    offence: Offence  # the index offence
    reoffends: bool  # reconvicted within the measured period
    occasions: list[Occasion] = field(default_factory=list)

    def personal(self) -> list[str]:
        """Everything that would identify the person (what a log must never hold)."""
        return [
            f"{self.forename} {self.surname}",
            self.surname,
            self.born.isoformat(),
            self.pnc,
            self.cro,
            self.noms,
            self.crn,
        ]
