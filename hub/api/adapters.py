"""`/v1/adapters/{agency_kind}/{document}`: an agency's own documents in, record by record."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, current_app, g, request
from flask.typing import ResponseReturnValue

import adapters
from hub.api.auth import caller, require
from hub.api.errors import PROBLEM_JSON
from hub.domain.errors import NotFound, RecordsRejected, UnsupportedMediaType
from hub.domain.vocab import AuditAction, Scope

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("adapters", __name__, url_prefix="/v1/adapters")


@bp.post("/<agency_kind>/<name>")
@require(Scope.MESSAGES_SEND)
def receive(agency_kind: str, name: str) -> ResponseReturnValue:
    """Read a native document through its agency's adapter. `200` when every record was
    accepted, held or skipped; `422` naming each rejected record otherwise (the others are kept,
    and sending the document again duplicates nothing)."""
    g.refusal_action = AuditAction.MESSAGE_REFUSED
    services: Services = current_app.extensions["hub"]
    document = adapters.document(agency_kind, name)
    if document is None:
        known = ", ".join(f"{d.agency_kind}/{d.name}" for d in adapters.documents())
        raise NotFound(f"the hub has no adapter for {agency_kind}/{name}; it reads {known}")
    who = caller()
    services.documents.check_sender(who, document)
    if request.mimetype != document.media_type:
        raise UnsupportedMediaType(
            f"send {document.title} as {document.media_type}",
            accepted=[document.media_type],
        )
    # Documents may be far larger than API messages; the body is read as a stream (a CSV row by
    # row) and refused with 413 once it passes the configured limit.
    request.max_content_length = services.settings.max_document_bytes
    report = services.documents.receive(who, document, request.stream)
    body = report.to_json()
    if report.rejected == 0:
        return body, 200
    rejected = RecordsRejected(
        _rejected_detail(report.rejected, len(report.outcomes)),
        **body,
    )
    problem = rejected.problem(instance=request.path)
    problem["requestId"] = g.get("request_id")
    return problem, rejected.status, {"Content-Type": PROBLEM_JSON}


def _rejected_detail(rejected: int, total: int) -> str:
    if rejected == total:
        return (
            f"all {total} records were rejected and nothing was stored; correct them and send "
            "the document again"
        )
    return (
        f"{rejected} of {total} records were rejected and not stored; the others were kept. "
        "Correct the rejected records and send the document again: records already accepted "
        "are not duplicated."
    )
