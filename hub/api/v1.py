"""`/v1`: messages and the inbox."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, g, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError

from hub.api.auth import caller, require
from hub.api.schemas import load_envelope
from hub.domain.callers import whole_number
from hub.domain.errors import (
    BadRequest,
    MalformedJson,
    UnknownMessageType,
    UnsupportedMediaType,
    ValidationFailed,
)
from hub.domain.vocab import AuditAction, Scope
from hub.services.messages import request_digest

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("v1", __name__, url_prefix="/v1")
JSON_TYPES = {"application/cloudevents+json", "application/json"}


def _services() -> Services:
    services: Services = current_app.extensions["hub"]
    return services


def optional_count(name: str, minimum: int = 0) -> int | None:
    """A whole-number query argument (a size, an index, a cursor), or None when absent; anything
    else is a 400 naming the argument."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    value = whole_number(raw)
    if value is None or value < minimum:
        raise BadRequest(
            f"{name} must be a whole number of at least {minimum}",
            errors={name: [f"not a whole number >= {minimum}"]},
        )
    return value


def required_count(name: str, minimum: int = 0) -> int:
    value = optional_count(name, minimum)
    if value is None:
        raise BadRequest(f"{name} is required", errors={name: ["Missing data for required field."]})
    return value


def json_body(
    expected: str = "a CloudEvent as application/cloudevents+json (or application/json)",
) -> Any:
    mimetype = request.mimetype
    if mimetype not in JSON_TYPES:
        raise UnsupportedMediaType(
            f"send {expected}",
            accepted=sorted(JSON_TYPES),
        )
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedJson(f"the body is not valid JSON: {error}") from None


@bp.post("/messages")
@require(Scope.MESSAGES_SEND)
def post_message() -> ResponseReturnValue:
    """Accept one CloudEvent (see `EnvelopeSchema`)."""
    g.refusal_action = AuditAction.MESSAGE_REFUSED
    services = _services()
    body = json_body()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise BadRequest("Idempotency-Key must be 1 to 200 characters")
    try:
        envelope = load_envelope(body)
    except ValidationError as error:
        messages = (
            error.messages if isinstance(error.messages, dict) else {"_schema": error.messages}
        )
        if isinstance(body, dict) and "type" in messages and "type" in body:
            raise UnknownMessageType(
                f"{body.get('type')!r} is not a message type this hub accepts", errors=messages
            ) from None
        raise ValidationFailed("the message failed validation", errors=messages) from None
    digest = request_digest(body)
    g.audit_fields = {"message_type": envelope.type.value, "purpose": envelope.purpose.value}
    answer = services.messages.accept(caller(), envelope, digest, key)
    headers = {"Location": f"/v1/messages/{answer.body['id']}"}
    if answer.replayed:
        headers["Idempotency-Replayed"] = "true"
    return answer.body, answer.status, headers


@bp.get("/messages/<message_id>")
@require(Scope.MESSAGES_READ)
def get_message(message_id: str) -> ResponseReturnValue:
    return _services().messages.status(caller(), message_id)


@bp.get("/inbox")
@require(Scope.INBOX_READ)
def inbox() -> ResponseReturnValue:
    limit = whole_number(request.args.get("limit", "50"))
    if limit is None:
        raise BadRequest("limit must be a whole number", errors={"limit": ["not an integer"]})
    return _services().inbox.page(caller(), request.args.get("after"), limit)


@bp.get("/inbox/<inbox_id>")
@require(Scope.INBOX_READ)
def inbox_item(inbox_id: str) -> ResponseReturnValue:
    """The item as a CloudEvent; with `?format=native`, its data in the caller agency's own
    document shape (JSON or CSV), rendered by that agency's adapter."""
    form = request.args.get("format", "canonical")
    if form == "native":
        rendered = _services().inbox.native(caller(), inbox_id)
        return rendered.body, 200, {"Content-Type": rendered.media_type}
    if form != "canonical":
        raise BadRequest("format is canonical or native", errors={"format": ["unknown format"]})
    return _services().inbox.item(caller(), inbox_id)


@bp.post("/inbox/<inbox_id>/ack")
@require(Scope.INBOX_READ)
def ack(inbox_id: str) -> ResponseReturnValue:
    return _services().inbox.ack(caller(), inbox_id)


@bp.get("/whoami")
@require(None)
def whoami() -> ResponseReturnValue:
    """Who the token says is calling: lets an integrator check its token, and discloses nothing."""
    token = g.token
    return {"agency": token.agency_id, "client_id": token.client_id, "scope": sorted(token.scopes)}
