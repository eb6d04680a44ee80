"""Identifiers of a person: validated, and stored and compared in one canonical form.

The rules are those of `shared/formats/README.md` ("Identifiers"): PNC IDs and CRO numbers carry a
check letter, `ALPHABET[N mod 23]`, over a number N built from the year and the serial; CRNs and
prison (NOMS) numbers carry none and are checked by shape. Because 23 is prime and larger than any
digit, changing any one digit of N changes N mod 23: every single-character mistake is caught.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from hub.domain.vocab import SubjectScheme

ALPHABET = "ZABCDEFGHJKLMNPQRTUVWXY"  # 23 letters: no I, O or S


class InvalidIdentifier(ValueError):
    """Names the kind of identifier and what is wrong with it (never echoes the value)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"not a valid {kind}: {reason}")
        self.kind = kind
        self.reason = reason


def check_letter(number: int) -> str:
    return ALPHABET[number % 23]


_PNC_SLASHED = re.compile(r"^(\d{2}|\d{4})/(\d{1,7})([A-Z])$")
_PNC_BARE = re.compile(r"^(\d{2}|\d{4})(\d{7})([A-Z])$")


def canonical_pnc(text: str, today: Callable[[], date] = date.today) -> str:
    """`YY/N…NC`, `YYYY/N…NC` (or either without the slash and a 7-digit serial) to
    `YYYY/NNNNNNNC`."""
    kind = "PNC ID"
    value = text.strip().upper().replace(" ", "")
    match = _PNC_SLASHED.match(value) or _PNC_BARE.match(value)
    if not match:
        raise InvalidIdentifier(kind, "expected YYYY/NNNNNNNC, e.g. 2008/0123456M")
    year, serial, letter = match.groups()
    yy = int(year[-2:])
    current = today().year % 100
    century = 2000 if yy <= current else 1900
    if len(year) == 4 and int(year) != century + yy:
        raise InvalidIdentifier(kind, f"year {year} is not a year a PNC ID can have")
    if letter != check_letter(int(f"{yy:02d}{int(serial):07d}")):
        raise InvalidIdentifier(kind, "the check letter does not match the number")
    return f"{century + yy}/{int(serial):07d}{letter}"


_CRO_STANDARD = re.compile(r"^(\d{1,6})/(\d{2})([A-Z])$")
_CRO_SF = re.compile(r"^SF(\d{2})/(\d{1,6})([A-Z])$")


def canonical_cro(text: str) -> str:
    """`S…S/YYC` to `SSSSSS/YYC`; `SFyy/S…SC` kept in that form (its N uses the serial unpadded)."""
    kind = "CRO number"
    value = text.strip().upper().replace(" ", "")
    if match := _CRO_STANDARD.match(value):
        serial, yy, letter = match.groups()
        if letter != check_letter(int(f"{yy}{int(serial):06d}")):
            raise InvalidIdentifier(kind, "the check letter does not match the number")
        return f"{int(serial):06d}/{yy}{letter}"
    if match := _CRO_SF.match(value):
        yy, serial, letter = match.groups()
        if letter != check_letter(int(f"{yy}{serial}")):
            raise InvalidIdentifier(kind, "the check letter does not match the number")
        return f"SF{yy}/{serial}{letter}"
    raise InvalidIdentifier(kind, "expected SSSSSS/YYC or SFYY/SSSSSSC, e.g. 065656/91H")


_CRN = re.compile(r"^[A-Z]\d{6}$")
_NOMS = re.compile(r"^[A-Z]\d{4}[A-Z]{2}$")


def canonical_crn(text: str) -> str:
    value = text.strip().upper()
    if not _CRN.match(value):
        raise InvalidIdentifier("CRN", "expected one letter and six digits, e.g. X123456")
    return value


def canonical_noms(text: str) -> str:
    value = text.strip().upper()
    if not _NOMS.match(value):
        raise InvalidIdentifier("prison number", "expected e.g. A1234BC")
    return value


_HUB_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def canonical_hub(text: str) -> str:
    value = text.strip().lower()
    if not _HUB_ID.match(value):
        raise InvalidIdentifier("hub id", "expected a UUID")
    return value


CANONICAL: dict[SubjectScheme, Callable[[str], str]] = {
    SubjectScheme.PNC: canonical_pnc,
    SubjectScheme.CRO: canonical_cro,
    SubjectScheme.CRN: canonical_crn,
    SubjectScheme.NOMS: canonical_noms,
    SubjectScheme.HUB: canonical_hub,
}
