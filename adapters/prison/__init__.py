"""HMPPS prisoner records and release events in; canonical release records out, and back."""

from adapters.base import Document
from adapters.prison.outbound import render
from adapters.prison.releases import parse_prisoner, parse_release_event
from hub.domain.vocab import AgencyKind

DOCUMENTS = (
    Document(
        agency_kind=AgencyKind.PRISON,
        name="events",
        media_type="application/json",
        parse=lambda stream: parse_release_event(stream.read()),
        title="a prisoner.released domain event (HMPPS)",
    ),
    Document(
        agency_kind=AgencyKind.PRISON,
        name="prisoners",
        media_type="application/json",
        parse=lambda stream: parse_prisoner(stream.read()),
        title="a prisoner record with its release dates (Prisoner Search)",
    ),
)

__all__ = ["DOCUMENTS", "parse_prisoner", "parse_release_event", "render"]
