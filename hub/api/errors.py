"""One place turns every failure into RFC 9457 problem details, and audits refused API requests."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from audit.entry import Actor
from hub.domain.errors import (
    HubError,
    InsufficientScope,
    PayloadTooLarge,
    Unauthenticated,
)
from hub.domain.vocab import AuditAction
from hub.logs import get_logger

PROBLEM_JSON = "application/problem+json"
log = get_logger("hub.api")

_HTTP_CODES = {
    400: "bad-request",
    404: "not-found",
    405: "method-not-allowed",
    413: PayloadTooLarge.code,
    415: "unsupported-media-type",
    429: "too-many-requests",
}


def problem_response(error: HubError) -> ResponseReturnValue:
    body = error.problem(instance=request.path)
    body["requestId"] = g.get("request_id")
    headers = {"Content-Type": PROBLEM_JSON}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    elif isinstance(error, InsufficientScope):
        scope = error.extra.get("required_scope", "")
        headers["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{scope}"'
    return body, error.status, headers


def audit_refusal(error: HubError) -> None:
    """Record a refused API request in its own transaction (the request's own was rolled back)."""
    if not request.path.startswith("/v1/"):
        return
    services = current_app.extensions["hub"]
    caller = g.get("caller")
    if isinstance(error, Unauthenticated | InsufficientScope):
        action = AuditAction.ACCESS_REFUSED
    else:
        action = g.get("refusal_action", AuditAction.REQUEST_REFUSED)
    fields: dict[str, Any] = {
        "actor": caller.actor if caller else Actor(),
        "request_id": g.get("request_id"),
        "status": error.status,
        "reasons": (error.code, *(r for r in [error.extra.get("reason")] if r)),
    }
    fields.update(g.get("audit_fields", {}))
    extra = {k: v for k, v in error.audit_fields.items() if v is not None}
    fields["reasons"] = (*fields["reasons"], *extra.pop("reasons", ()))
    fields.update(extra)
    try:
        with services.db.transaction() as session:
            services.audit.record(session, action, **fields)
    except Exception:
        # No refusal goes unrecorded: if its entry cannot be written the caller gets a 500
        # (the request was refused either way), and the operator sees why.
        log.exception("audit.refusal_write_failed", problem=error.code)
        raise


def register(app: Flask) -> None:
    @app.errorhandler(HubError)
    def _hub_error(error: HubError) -> ResponseReturnValue:
        log.info("request.refused", problem=error.code, status=error.status)
        audit_refusal(error)
        return problem_response(error)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        if isinstance(error, RequestEntityTooLarge):
            limit = request.max_content_length
            hub_error: HubError = PayloadTooLarge(
                f"the request body is larger than the limit of {limit} bytes", limit=limit
            )
            return _hub_error(hub_error)
        hub_error = HubError(error.description or error.name)
        hub_error.code = _HTTP_CODES.get(status, f"http-{status}")
        hub_error.status = status
        hub_error.title = error.name
        if request.path.startswith("/ui/") and status == 404:
            from hub.web.views import not_found_page

            return not_found_page()
        return problem_response(hub_error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> ResponseReturnValue:
        log.exception("request.failed", error_type=type(error).__name__)
        if request.path.startswith("/ui/"):
            from flask import render_template

            return render_template("error.html"), 500
        return problem_response(HubError("the hub could not complete this request"))
