"""Matching a person by name, date of birth and postcode when a record carries no strong
identifier (a court defendant with an empty `pncId`).

Pure functions, no storage. The score is a weighted agreement (in the spirit of Fellegi-Sunter
record linkage): the date of birth must agree exactly (candidates are found by it), and surname,
forename and postcode add or take away evidence. A score at or above `AUTO_MATCH` with one
candidate resolves on its own; anything between `REVIEW` and `AUTO_MATCH`, or more than one
candidate at or above `REVIEW`, waits for a person to decide. Below `REVIEW` it is someone else.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

AUTO_MATCH = 0.9
REVIEW = 0.5

# Evidence weights. The maximum is every weight agreeing exactly.
_DOB = 3.0
_SURNAME_EXACT, _SURNAME_CLOSE, _SURNAME_DIFFERENT = 4.0, 2.0, -4.0
_FORENAME_EXACT, _FORENAME_CLOSE, _FORENAME_DIFFERENT = 3.0, 1.0, -3.0
_POSTCODE_SAME, _POSTCODE_DIFFERENT = (
    3.0,
    -1.0,
)  # people move: a different postcode is weak evidence
_MAXIMUM = _DOB + _SURNAME_EXACT + _FORENAME_EXACT + _POSTCODE_SAME
_CLOSE = 0.9  # Jaro-Winkler similarity from which two spellings count as close


@dataclass(frozen=True)
class Details:
    last_name: str
    date_of_birth: date
    first_name: str = ""
    postcode: str = ""

    @classmethod
    def of(
        cls,
        last_name: str | None,
        date_of_birth: date | None,
        first_name: str | None = None,
        postcode: str | None = None,
    ) -> Details | None:
        """Normalised details, or None when there is too little to match on."""
        surname = normalise_name(last_name or "")
        if not surname or date_of_birth is None:
            return None
        return cls(
            last_name=surname,
            date_of_birth=date_of_birth,
            first_name=normalise_name(first_name or ""),
            postcode=normalise_postcode(postcode or ""),
        )

    def to_json(self) -> dict[str, str]:
        return {
            "lastName": self.last_name,
            "firstName": self.first_name,
            "dateOfBirth": self.date_of_birth.isoformat(),
            "postcode": self.postcode,
        }

    @classmethod
    def from_json(cls, value: dict[str, str]) -> Details:
        return cls(
            last_name=value["lastName"],
            first_name=value.get("firstName", ""),
            date_of_birth=date.fromisoformat(value["dateOfBirth"]),
            postcode=value.get("postcode", ""),
        )


def normalise_name(value: str) -> str:
    """Case, accents, spaces, hyphens and apostrophes do not distinguish people; letters of any
    script are kept."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed.casefold() if c.isalpha() and not unicodedata.combining(c))


def normalise_postcode(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


def score(incoming: Details, known: Details) -> float:
    """Agreement between two people's details, from 0 to 1 (1: everything agrees exactly)."""
    if incoming.date_of_birth != known.date_of_birth:
        return 0.0
    total = _DOB
    total += _graded(
        incoming.last_name, known.last_name, _SURNAME_EXACT, _SURNAME_CLOSE, _SURNAME_DIFFERENT
    )
    if incoming.first_name and known.first_name:
        total += _graded(
            incoming.first_name,
            known.first_name,
            _FORENAME_EXACT,
            _FORENAME_CLOSE,
            _FORENAME_DIFFERENT,
        )
    if incoming.postcode and known.postcode:
        total += _POSTCODE_SAME if incoming.postcode == known.postcode else _POSTCODE_DIFFERENT
    return round(max(total, 0.0) / _MAXIMUM, 3)


def _graded(a: str, b: str, exact: float, close: float, different: float) -> float:
    if a == b:
        return exact
    if jaro_winkler(a, b) >= _CLOSE:
        return close
    return different


def jaro_winkler(a: str, b: str, prefix_scale: float = 0.1) -> float:
    """Jaro-Winkler similarity (Winkler 1990): 1 for equal strings, 0 for nothing in common."""
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    window = max(max(len(a), len(b)) // 2 - 1, 0)
    a_matched = [False] * len(a)
    b_matched = [False] * len(b)
    matches = 0
    for i, char in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not b_matched[j] and b[j] == char:
                a_matched[i] = b_matched[j] = True
                matches += 1
                break
    if matches == 0:
        return 0.0
    a_chars = [c for c, m in zip(a, a_matched, strict=True) if m]
    b_chars = [c for c, m in zip(b, b_matched, strict=True) if m]
    transpositions = sum(x != y for x, y in zip(a_chars, b_chars, strict=True)) / 2
    jaro = (matches / len(a) + matches / len(b) + (matches - transpositions) / matches) / 3
    prefix = 0
    for x, y in zip(a[:4], b[:4], strict=False):
        if x != y:
            break
        prefix += 1
    return jaro + prefix * prefix_scale * (1 - jaro)
