"""`/v1/inbox/stream` (Server-Sent Events) and `/v1/subscriptions` (webhooks).

The stream sends every delivery to the caller's agency as an event whose `id` is its inbox
cursor: a client that reconnects with `Last-Event-ID` (or `?after=`) resumes exactly after the last
event it saw, so nothing is lost between connections. Events are read from the database (each
read audited, like the inbox), woken by live notices; a comment line every `KEEPALIVE` seconds
keeps proxies from closing an idle stream, and re-reads the database in case a notice was lost.
The stream ends when the access token expires or its client is disabled: the client reconnects
with a new token and its last event id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, g, request, stream_with_context
from flask.typing import ResponseReturnValue

from hub import logs
from hub.api.auth import caller, require
from hub.api.v1 import json_body
from hub.domain.callers import Caller
from hub.domain.errors import ValidationFailed
from hub.domain.vocab import Scope
from hub.services.inbox import decode_cursor

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("delivery", __name__, url_prefix="/v1")
KEEPALIVE = 15.0  # seconds between comment lines on an idle stream
BATCH = 100
log = logs.get_logger("hub.stream")


def _services() -> Services:
    services: Services = current_app.extensions["hub"]
    return services


def sse(event_id: str, event: str, data: Any) -> str:
    """One Server-Sent Event (data on one line: JSON has no raw newlines)."""
    return f"id: {event_id}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def event_stream(
    services: Services,
    who: Caller,
    position: int,
    *,
    read: Callable[[int], tuple[list[tuple[int, dict[str, Any]]], int]],
    still_allowed: Callable[[], bool],
    keepalive: float = KEEPALIVE,
    render: Callable[[int, dict[str, Any]], str] | None = None,
) -> Iterator[str]:
    """Events after `position` as they arrive, until `still_allowed()` says no (or the client
    goes away: the server then closes this generator)."""
    listener = services.notifier.local.listen(who.agency_id)
    started = time.monotonic()
    try:
        # Tells EventSource to wait 2 s before reconnecting after a drop.
        yield "retry: 2000\n\n"
        while still_allowed():
            events, position = read(position)
            for at, event in events:
                yield render(at, event) if render else sse(event["cursor"], "delivery", event)
            if len(events) == BATCH:
                continue  # more waiting: read on before sleeping
            if not listener.wait(keepalive):
                yield f": keep-alive {int(time.monotonic() - started)}\n\n"
    finally:
        listener.close()


@bp.get("/inbox/stream")
@require(Scope.INBOX_READ)
def inbox_stream() -> ResponseReturnValue:
    """Server-Sent Events: each delivery to the caller's agency, in order, resumable."""
    services = _services()
    who = caller()
    resume = request.headers.get("Last-Event-ID") or request.args.get("after")
    position = decode_cursor(resume) if resume else 0
    token = g.token

    def still_allowed() -> bool:
        return time.time() < token.expires_at and services.clients.is_active(token.client_id)

    def read(after: int) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        return services.inbox.since(who, after, BATCH)

    log.info("stream.opened", agency=who.agency_id, client=who.client_id)
    body = stream_with_context(
        event_stream(services, who, position, read=read, still_allowed=still_allowed)
    )
    return Response(
        body,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@bp.post("/subscriptions")
@require(Scope.INBOX_READ)
def create_subscription() -> ResponseReturnValue:
    """Register a webhook endpoint; the answer holds its signing secret, shown this once."""
    body = json_body("a JSON object with url (and optionally types)")
    if not isinstance(body, dict):
        raise ValidationFailed(
            "the body must be a JSON object", errors={"_schema": ["not an object"]}
        )
    unknown = sorted(set(body) - {"url", "types"})
    if unknown:
        raise ValidationFailed(
            f"unknown fields: {', '.join(unknown)}", errors={k: ["Unknown field."] for k in unknown}
        )
    created = _services().webhooks.create(caller(), body.get("url"), body.get("types"))
    return created, 201, {"Location": f"/v1/subscriptions/{created['id']}"}


@bp.get("/subscriptions")
@require(Scope.INBOX_READ)
def list_subscriptions() -> ResponseReturnValue:
    return {"items": _services().webhooks.list(caller())}


@bp.get("/subscriptions/<subscription_id>")
@require(Scope.INBOX_READ)
def get_subscription(subscription_id: str) -> ResponseReturnValue:
    return _services().webhooks.get(caller(), subscription_id)


@bp.delete("/subscriptions/<subscription_id>")
@require(Scope.INBOX_READ)
def delete_subscription(subscription_id: str) -> ResponseReturnValue:
    _services().webhooks.delete(caller(), subscription_id)
    return "", 204


@bp.post("/subscriptions/<subscription_id>/replay")
@require(Scope.INBOX_READ)
def replay(subscription_id: str) -> ResponseReturnValue:
    """Send again: every dead-lettered send, or (`{"after": cursor}`) every delivery since."""
    body = json_body("a JSON object, empty or with after") if request.content_length else {}
    if not isinstance(body, dict) or set(body) - {"after"}:
        raise ValidationFailed(
            'the body is {} or {"after": cursor}', errors={"_schema": ["unexpected fields"]}
        )
    return _services().webhooks.replay(caller(), subscription_id, body.get("after")), 202
