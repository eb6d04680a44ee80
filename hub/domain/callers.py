"""Who is calling: an agency's client, as established by a verified access token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from audit.entry import Actor


@dataclass(frozen=True)
class Caller:
    agency_id: str
    client_id: str
    request_id: str | None

    @property
    def actor(self) -> Actor:
        return Actor(agency=self.agency_id, client=self.client_id)


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as every API answer writes times."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


MAX_INTEGER = 2**63 - 1  # the largest number a database integer column holds


def whole_number(raw: str | None) -> int | None:
    """A non-negative whole number written in ASCII digits that a database integer holds (e.g.
    a cursor or a sequence number from a query string); None for anything else."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    value = int(raw)
    return value if value <= MAX_INTEGER else None
