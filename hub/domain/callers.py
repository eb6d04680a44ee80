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
