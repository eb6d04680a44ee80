"""The rehabilitation provider's case management events in; canonical records out, and back."""

from adapters.base import Document
from adapters.provider.events import parse_events
from adapters.provider.outbound import render
from hub.domain.vocab import AgencyKind

DOCUMENTS = (
    Document(
        agency_kind=AgencyKind.PROVIDER,
        name="events",
        media_type="application/json",
        parse=lambda stream: parse_events(stream.read()),
        title="case management events (needs, RAG rating, engagement, risk, handover, consent)",
    ),
)

__all__ = ["DOCUMENTS", "parse_events", "render"]
