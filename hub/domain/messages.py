"""The canonical message: a CloudEvents 1.0 envelope about one person, validated at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.domain.identifiers import CANONICAL
from hub.domain.vocab import MessageType, Purpose, SubjectScheme


@dataclass(frozen=True)
class SubjectRef:
    """One identifier of a person, `scheme:value`, validated and in canonical form (so that one
    person's identifier always looks the same, however an agency wrote it)."""

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
        return cls(scheme, CANONICAL[scheme](value))

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
    override: str | None = None  # a public-protection override's written justification
