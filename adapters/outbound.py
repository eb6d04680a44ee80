"""What every agency's renderer shares: a canonical message out in the agency's own shape.

A recipient is sent only the fields its agreement discloses, so a renderer reads every field as
optional and writes only what it was given: a missing field is left out of the native document,
never invented. The person's identifiers are not in `data` (they travel in the envelope's subject
and the hub's subject record); the hub passes those it may disclose as `identifiers`, scheme to
canonical value (`{"pnc": "2011/0482113C", "noms": "A4821DC"}`), for documents that carry them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from adapters.base import NotRenderable, Rendered
from adapters.csvsafe import to_csv
from hub.domain.vocab import MessageType

Identifiers = Mapping[str, str] | None
# An agency's renderer, and one of its renderers for one message type.
Renderer = Callable[[MessageType, dict[str, Any], Identifiers], Rendered]
TypeRenderer = Callable[[dict[str, Any], Mapping[str, str]], Rendered]


def as_json(document: dict[str, Any]) -> Rendered:
    # Dates may arrive as `date` objects (loaded data) or ISO text (dumped data): both are ISO.
    body = json.dumps(document, ensure_ascii=False, default=_iso)
    return Rendered(media_type="application/json", body=body.encode())


def as_csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> Rendered:
    """CSV with a byte-order mark (so Excel reads UTF-8 names correctly) whose cells cannot start
    a formula (`csvsafe`)."""
    body = "\ufeff" + to_csv(header, rows)
    return Rendered(media_type="text/csv; charset=utf-8", body=body.encode())


def refuse(agency_kind: str, message_type: MessageType) -> NotRenderable:
    return NotRenderable(
        f"{agency_kind} has no native form for {message_type}: deliver the canonical message"
    )


def dispatch(
    agency_kind: str,
    renderers: Mapping[MessageType, TypeRenderer],
    message_type: MessageType,
    data: dict[str, Any],
    identifiers: Identifiers,
) -> Rendered:
    renderer = renderers.get(message_type)
    if renderer is None:
        raise refuse(agency_kind, message_type)
    return renderer(data, identifiers or {})


def dmy(value: Any) -> str:
    """An ISO date (text or `date`) as DD/MM/YYYY, the spreadsheets' form; "" when absent."""
    if not value:
        return ""
    when = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return when.strftime("%d/%m/%Y")


def present(**values: Any) -> dict[str, Any]:
    """The named values that are there: an absent field is left out, not sent as null."""
    return {name: value for name, value in values.items() if value is not None}


def _iso(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
