"""HMCTS Common Platform hearing results in; canonical convictions out, and back."""

from adapters.base import Document
from adapters.courts.hearings import parse_hearing
from adapters.courts.outbound import render
from hub.domain.vocab import AgencyKind

DOCUMENTS = (
    Document(
        agency_kind=AgencyKind.COURTS,
        name="hearings",
        media_type="application/json",
        parse=lambda stream: parse_hearing(stream.read()),
        title="a resulted hearing (HMCTS Common Platform)",
    ),
)

__all__ = ["DOCUMENTS", "parse_hearing", "render"]
