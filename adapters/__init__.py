"""Agency adapters: one package per agency kind (courts, prison, probation, iom, provider), each
turning that agency's native documents into canonical messages and back. They depend only on the
canonical message types in `hub.domain`, never on Flask or the database.

Each package exports `DOCUMENTS` (what the agency sends: `POST /v1/adapters/{kind}/{name}`) and
`render` (a canonical message in the agency's own shape); this module is the registry of both.
"""

from __future__ import annotations

from typing import Any

from adapters import courts, iom, prison, probation, provider
from adapters.base import Document, NotRenderable, Rendered
from adapters.outbound import Identifiers, Renderer
from hub.domain.vocab import AgencyKind, MessageType

_DOCUMENTS: tuple[Document, ...] = (
    courts.DOCUMENTS + prison.DOCUMENTS + probation.DOCUMENTS + iom.DOCUMENTS + provider.DOCUMENTS
)
_BY_PATH = {(d.agency_kind, d.name): d for d in _DOCUMENTS}
_RENDERERS: dict[str, Renderer] = {
    AgencyKind.COURTS: courts.render,
    AgencyKind.PRISON: prison.render,
    AgencyKind.PROBATION: probation.render,
    AgencyKind.IOM: iom.render,
    AgencyKind.PROVIDER: provider.render,
}


def documents() -> tuple[Document, ...]:
    return _DOCUMENTS


def document(agency_kind: str, name: str) -> Document | None:
    """The native document `POST /v1/adapters/{agency_kind}/{name}` accepts, if there is one."""
    return _BY_PATH.get((agency_kind, name))


def render(
    agency_kind: str,
    message_type: MessageType,
    data: dict[str, Any],
    identifiers: Identifiers = None,
) -> Rendered:
    """The message in the agency's own shape; NotRenderable when the agency kind is unknown or has
    no native form for the type (the canonical message is then delivered as it is)."""
    renderer = _RENDERERS.get(agency_kind)
    if renderer is None:
        raise NotRenderable(f"no adapter for agency kind {agency_kind!r}")
    return renderer(message_type, data, identifiers)
