"""What every agency adapter shares: canonical records out, a reason for every record refused.

An adapter turns one native document into canonical records, record by record: a bad record is
reported (which one, which field, why) and the good ones still come out. Adapters depend only on
the hub's canonical types (`hub.domain`), never on Flask or the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType


class DocumentError(ValueError):
    """The document as a whole cannot be read (not JSON, wrong top-level shape)."""


@dataclass(frozen=True)
class RecordError:
    record: str  # which record, as the agency would name it (e.g. "defendant 2 (id ...)")
    field: str  # the field at fault, as a path in the native document
    reason: str


@dataclass(frozen=True)
class PersonDetails:
    """What identity resolution may use when no strong identifier is given. Never a payload."""

    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    postcode: str | None = None


@dataclass(frozen=True)
class CanonicalRecord:
    record: str
    event_id: str  # stable for the same native record, so a document sent twice adds nothing
    type: MessageType
    identifiers: tuple[SubjectRef, ...]
    data: dict[str, Any]
    person: PersonDetails = field(default_factory=PersonDetails)
    recipient: str | None = None  # an agency id, where the native document names one


@dataclass
class ParseResult:
    records: list[CanonicalRecord] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    skipped: list[RecordError] = field(default_factory=list)  # not errors: nothing to share


class NotRenderable(ValueError):
    """The agency has no native form for this message type: the canonical form is the answer."""


@dataclass(frozen=True)
class Rendered:
    """A canonical message in an agency's own shape, for delivery to that agency."""

    media_type: str  # "application/json" or "text/csv; charset=utf-8"
    body: bytes


@dataclass(frozen=True)
class Document:
    """One native document an agency sends: `POST /v1/adapters/{agency_kind}/{name}`."""

    agency_kind: str
    name: str
    media_type: str  # what the endpoint expects: "application/json" or "text/csv"
    parse: Callable[[IO[bytes]], ParseResult]
    title: str  # for people: "a resulted hearing (HMCTS Common Platform)"
