"""`/v1/audit`: the audit log as a transparency log.

Public (no token: they hold hashes and sizes only): the signed checkpoint (`text/plain`, C2SP
tlog-checkpoint), the verifier keys, and RFC 6962 inclusion and consistency proofs (hashes in
base64, in RFC 6962 order). With a token: the entries themselves, each as its canonical JSON so
a client can recompute its leaf hash; `audit:read` (IG officers' tools) sees every agency's,
any other token only its own agency's actions. Every read of entries is itself audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, g, request
from flask.typing import ResponseReturnValue

from audit import merkle
from hub.api.auth import caller, require
from hub.api.v1 import optional_count, required_count
from hub.domain.errors import BadRequest
from hub.domain.messages import SubjectRef
from hub.domain.vocab import Scope
from hub.services.audit_search import AuditQuery, Reader
from hub.services.transparency import b64

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("audit_api", __name__, url_prefix="/v1/audit")
MAX_PAGE = 500


def _services() -> Services:
    services: Services = current_app.extensions["hub"]
    return services


@bp.get("/checkpoint")
def checkpoint() -> ResponseReturnValue:
    head = _services().transparency.checkpoint()
    return Response(head.note, mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.get("/verifier-key")
def verifier_key() -> ResponseReturnValue:
    """The current verifier key, then every earlier one (one per line, newest first): a
    checkpoint signed before a rotation verifies against the key that signed it."""
    transparency = _services().transparency
    transparency.checkpoint()  # the first call creates the first key
    keys = transparency.verifiers()
    return Response("".join(f"{k}\n" for k in keys), mimetype="text/plain")


@bp.get("/proofs/inclusion")
def inclusion() -> ResponseReturnValue:
    index, size = required_count("index"), required_count("tree_size", 1)
    if index >= size:
        raise BadRequest(
            "index must be less than tree_size", errors={"index": ["not in a tree of that size"]}
        )
    try:
        proof = _services().transparency.inclusion(index, size)
    except ValueError as error:
        raise BadRequest(str(error), errors={"tree_size": [str(error)]}) from None
    return {"leafIndex": index, "treeSize": size, "auditPath": [b64(h) for h in proof]}


@bp.get("/proofs/consistency")
def consistency() -> ResponseReturnValue:
    first, second = required_count("first", 1), required_count("second", 1)
    if first > second:
        raise BadRequest(
            "first must not be larger than second", errors={"first": ["larger than second"]}
        )
    try:
        proof = _services().transparency.consistency(first, second)
    except ValueError as error:
        raise BadRequest(str(error), errors={"second": [str(error)]}) from None
    return {"first": first, "second": second, "consistency": [b64(h) for h in proof]}


def _time(name: str) -> datetime | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise BadRequest(
            f"{name} must be an RFC 3339 time with its offset",
            errors={name: ["e.g. 2026-11-24T09:00:00Z"]},
        )
    return value


@bp.get("/entries")
@require(None)
def entries() -> ResponseReturnValue:
    who = caller()
    limit = min(optional_count("limit", 1) or 100, MAX_PAGE)
    after = optional_count("after")
    reader = Reader(who.actor, who.request_id, Scope.AUDIT_READ.value in g.token.scopes)
    page = _services().audit_search.search(reader, _query(), after=after, limit=limit)
    items: list[dict[str, Any]] = [
        {"seq": seq, "entry": entry, "leafHash": b64(merkle.leaf_hash(entry.encode()))}
        for seq, entry in page.items
    ]
    return {"items": items, "next": None if page.next is None else str(page.next)}


def _query() -> AuditQuery:
    person = None
    if request.args.get("person"):
        try:
            person = SubjectRef.parse(request.args["person"])
        except ValueError as error:
            raise BadRequest(str(error), errors={"person": [str(error)]}) from None
    return AuditQuery(
        person=person,
        agency=request.args.get("agency") or None,
        action=request.args.get("action") or None,
        decision=request.args.get("decision") or None,
        message_id=request.args.get("message") or None,
        since=_time("since"),
        until=_time("until"),
    )
