"""The canonical message: a CloudEvents 1.0 envelope about one person, validated at the edge."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.domain.vocab import MessageType, Purpose, SubjectScheme

# Shape checks per scheme; check letters (PNC, CRO) are the identity resolver's job.
_SHAPES = {
    SubjectScheme.PNC: re.compile(r"^(\d{2}|\d{4})/?\d{1,7}[A-Z]$"),
    SubjectScheme.CRO: re.compile(r"^(\d{1,6}/\d{2}[A-Z]|SF\d{2}/\d{1,6}[A-Z])$"),
    SubjectScheme.CRN: re.compile(r"^[A-Z]\d{6}$"),
    SubjectScheme.NOMS: re.compile(r"^[A-Z]\d{4}[A-Z]{2}$"),
    SubjectScheme.HUB: re.compile(
        r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    ),
}


@dataclass(frozen=True)
class SubjectRef:
    """One identifier of a person, `scheme:value`, in canonical (upper-case, trimmed) form."""

    scheme: SubjectScheme
    value: str

    @classmethod
    def parse(cls, text: str) -> SubjectRef:
        scheme_text, sep, value = text.partition(":")
        if not sep:
            raise ValueError("must be scheme:value, e.g. pnc:2011/0482113C")
        try:
            scheme = SubjectScheme(scheme_text.strip().lower())
        except ValueError:
            schemes = ", ".join(s.value for s in SubjectScheme)
            raise ValueError(f"unknown scheme {scheme_text!r}; use one of {schemes}") from None
        value = value.strip()
        value = value.lower() if scheme is SubjectScheme.HUB else value.upper().replace(" ", "")
        if not _SHAPES[scheme].match(value):
            raise ValueError(f"not a valid {scheme.value} identifier")
        return cls(scheme, value)

    def __str__(self) -> str:
        return f"{self.scheme.value}:{self.value}"


@dataclass(frozen=True)
class Envelope:
    id: str
    source: str
    type: MessageType
    subject: SubjectRef
    purpose: Purpose
    data: dict[str, Any]
    time: datetime | None = None
    recipient: str | None = None
