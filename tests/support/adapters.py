"""Adapter output checked against the canonical message schemas, as the hub will check it."""

from __future__ import annotations

from pathlib import Path

from adapters.base import CanonicalRecord
from hub.api.schemas import load_envelope
from hub.domain.messages import Envelope

# The published examples of every native format (copied from the design's formats page, with it
# as FORMATS.md), kept in the repository so the tests run from any clone.
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


def as_message(record: CanonicalRecord, source: str, purpose: str = "case_management") -> Envelope:
    """The record as a CloudEvent from `source`; raises ValidationError if it is not canonical."""
    return load_envelope(
        {
            "specversion": "1.0",
            "id": record.event_id[:200],
            "source": source,
            "type": record.type.ce_type,
            # A record may have no strong identifier yet (matching by name comes later).
            "subject": str(record.identifiers[0]) if record.identifiers else "crn:X000000",
            "purpose": purpose,
            "recipient": record.recipient,
            "data": record.data,
        }
    )
