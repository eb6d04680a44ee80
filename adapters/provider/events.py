"""The provider's case management events (`{"events": [...]}`) to canonical records, one per
event, and back.

Each event names its `kind` and the person by prison number and/or PNC ID
(shared/formats/README.md, "provider"). A bad event is reported (which one, which field, why) and
the others still come out. The provider's system has no event ids, so the hub builds one from the
content: the kind, the person, the event's date and a digest of the whole; an event repeated in one
document counts once, and one sent again in a later document adds nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import rfc8785

from adapters.base import CanonicalRecord, DocumentError, ParseResult, RecordError
from adapters.fields import (
    FieldError,
    bounded,
    email,
    identifier,
    iso_date,
    items,
    obj,
    one_of,
    required_date,
    text,
)
from adapters.outbound import present
from hub.domain.identifiers import canonical_noms, canonical_pnc
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, Purpose, SubjectScheme

KINDS = {
    "needs_assessment": MessageType.NEEDS_ASSESSMENT,
    "rag_rating": MessageType.RAG_RATING,
    "engagement": MessageType.ENGAGEMENT,
    "risk_escalation": MessageType.RISK_ESCALATION,
    "handover": MessageType.HANDOVER,
    "consent": MessageType.CONSENT,
    "consent_withdrawn": MessageType.CONSENT_WITHDRAWN,
}
NATIVE_KINDS = {message_type: kind for kind, message_type in KINDS.items()}
IDENTIFIERS = (
    ("nomsNumber", SubjectScheme.NOMS, canonical_noms),
    ("pnc", SubjectScheme.PNC, canonical_pnc),
)
LEVELS = ("none", "some", "severe")
RATINGS = ("red_not_engaging", "red", "amber", "green")
METHODS = ("face_to_face", "phone", "other")
URGENCIES = ("routine", "urgent", "immediate")
AGENCY_OR_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
PURPOSES = tuple(p.value for p in Purpose)


def parse_events(raw: bytes) -> ParseResult:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DocumentError(f"not JSON: {error}") from None
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise DocumentError("expected an object with a list of 'events'")
    result = ParseResult()
    seen: dict[str, int] = {}
    for index, event in enumerate(events):
        number = index + 1
        kind = event.get("kind") if isinstance(event, dict) else None
        label = (
            f"event {number} ({kind})"
            if isinstance(kind, str) and kind in KINDS
            else f"event {number}"
        )
        try:
            record = _event(event, label, f"events[{index}]")
        except FieldError as bad:
            result.errors.append(RecordError(label, bad.field, bad.reason))
            continue
        if record.event_id in seen:
            result.skipped.append(
                RecordError(label, f"events[{index}]", f"the same as event {seen[record.event_id]}")
            )
            continue
        seen[record.event_id] = number
        result.records.append(record)
    return result


def _event(event: Any, label: str, where: str) -> CanonicalRecord:
    event = obj(event, where)
    kind = text(event.get("kind"), f"{where}.kind")
    if kind not in KINDS:
        raise FieldError(
            f"{where}.kind",
            f"{'unknown kind' if kind else 'missing'}: expected one of {', '.join(KINDS)}",
        )
    identifiers = []
    for name, scheme, canonical in IDENTIFIERS:
        value = identifier(event.get(name), f"{where}.{name}", canonical)
        if value:
            identifiers.append(SubjectRef(scheme, value))
    if not identifiers:
        raise FieldError(f"{where}.nomsNumber", "the person's prison number or PNC ID is needed")
    data, on = READERS[kind](event, where)
    digest = hashlib.sha256(
        rfc8785.dumps({"kind": kind, "identifiers": [str(i) for i in identifiers], "data": data})
    ).hexdigest()[:16]
    return CanonicalRecord(
        record=label,
        event_id=f"provider:{kind}:{identifiers[0].value}:{on}:{digest}",
        type=KINDS[kind],
        identifiers=tuple(identifiers),
        data=data,
    )


# Each reader returns the canonical data and the event's date (for its event id).
Reader = Callable[[dict[str, Any], str], tuple[dict[str, Any], str]]


def _needs_assessment(event: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    assessed = required_date(event.get("assessedOn"), f"{where}.assessedOn").isoformat()
    needs = []
    routes: dict[str, int] = {}
    for index, need in enumerate(items(event.get("needs"), f"{where}.needs")):
        at = f"{where}.needs[{index}]"
        need = obj(need, at)
        # The route is checked against the deployment's configured routes by the canonical schema.
        route = bounded(need.get("route"), f"{at}.route", 50, required=True)
        if route in routes:
            raise FieldError(f"{at}.route", f"already assessed in needs[{routes[route]}]")
        routes[route] = index
        needs.append(
            present(
                route=route,
                level=one_of(need.get("level"), f"{at}.level", LEVELS),
                notes=bounded(need.get("notes"), f"{at}.notes", 2000) or None,
            )
        )
    if not needs:
        raise FieldError(f"{where}.needs", "missing: at least one route's need")
    if len(needs) > 20:
        raise FieldError(f"{where}.needs", "more than 20 needs")
    return {"assessedOn": assessed, "needs": needs}, assessed


def _rag_rating(event: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    rated = required_date(event.get("ratedOn"), f"{where}.ratedOn").isoformat()
    data = present(
        rating=one_of(event.get("rating"), f"{where}.rating", RATINGS),
        ratedOn=rated,
        reason=bounded(event.get("reason"), f"{where}.reason", 2000) or None,
    )
    return data, rated


def _engagement(event: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    contact = required_date(event.get("contactOn"), f"{where}.contactOn").isoformat()
    method = one_of(event.get("method"), f"{where}.method", METHODS)
    attended = event.get("attended")
    if not isinstance(attended, bool):
        raise FieldError(f"{where}.attended", "must be true or false")
    return {"contactOn": contact, "method": method, "attended": attended}, contact


def _risk_escalation(event: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    observed = required_date(event.get("observedOn"), f"{where}.observedOn").isoformat()
    data = {
        "triggerCode": bounded(event.get("triggerCode"), f"{where}.triggerCode", 40, required=True),
        "observedOn": observed,
        "description": bounded(
            event.get("description"), f"{where}.description", 4000, required=True
        ),
        "urgency": one_of(event.get("urgency"), f"{where}.urgency", URGENCIES),
    }
    return data, observed


def _handover(event: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    on = required_date(event.get("on"), f"{where}.on").isoformat()
    data: dict[str, Any] = {"on": on}
    for side in ("from", "to"):
        at = f"{where}.{side}"
        manager = obj(event.get(side), at)
        data[side] = {
            "name": bounded(manager.get("name"), f"{at}.name", 200, required=True),
            "email": email(manager.get("email"), f"{at}.email", required=True),
        }
    return data, on


def _consent(event: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    signed = required_date(event.get("signedOn"), f"{where}.signedOn")
    valid_until = iso_date(event.get("validUntil"), f"{where}.validUntil")
    if valid_until is not None and valid_until < signed:
        raise FieldError(f"{where}.validUntil", "cannot precede the date it was signed")
    recipients = []
    for index, value in enumerate(items(event.get("recipients"), f"{where}.recipients")):
        at = f"{where}.recipients[{index}]"
        recipient = text(value, at).lower()
        if not AGENCY_OR_KIND.match(recipient):
            raise FieldError(at, "expected an agency kind or agency id")
        recipients.append(recipient)
    if not recipients:
        raise FieldError(f"{where}.recipients", "missing: whom the person agreed to share with")
    purposes = []
    for index, value in enumerate(items(event.get("purposes"), f"{where}.purposes")):
        at = f"{where}.purposes[{index}]"
        # The provider writes `case-management`; the hub's purpose codes are `case_management`.
        purpose = text(value, at).lower().replace("-", "_").replace(" ", "_")
        if purpose not in PURPOSES:
            raise FieldError(at, f"expected one of {', '.join(PURPOSES)}")
        if purpose not in purposes:
            purposes.append(purpose)
    if not purposes:
        raise FieldError(f"{where}.purposes", "missing: what the person agreed to share for")
    exclusions = [
        bounded(value, f"{where}.exclusions[{index}]", 100, required=True)
        for index, value in enumerate(items(event.get("exclusions"), f"{where}.exclusions"))
    ]
    if len(recipients) > 50 or len(exclusions) > 50:
        raise FieldError(
            f"{where}.recipients" if len(recipients) > 50 else f"{where}.exclusions",
            "more than 50 entries",
        )
    evidence = _evidence(event, where, required=True)
    data = present(
        signedOn=signed.isoformat(),
        validUntil=valid_until.isoformat() if valid_until else None,
        recipients=recipients,
        purposes=purposes,
        exclusions=exclusions,
        evidence=evidence,
    )
    return data, signed.isoformat()


def _consent_withdrawn(event: dict[str, Any], where: str) -> tuple[dict[str, Any], str]:
    withdrawn = required_date(event.get("withdrawnOn"), f"{where}.withdrawnOn").isoformat()
    data = present(withdrawnOn=withdrawn, evidence=_evidence(event, where, required=False))
    return data, withdrawn


def _evidence(event: dict[str, Any], where: str, *, required: bool) -> dict[str, str] | None:
    at = f"{where}.evidence"
    evidence = obj(event.get("evidence"), at)
    if not evidence and not required:
        return None
    reference = bounded(evidence.get("documentRef"), f"{at}.documentRef", 300, required=True)
    digest = text(evidence.get("sha256"), f"{at}.sha256").lower()
    if not SHA256.match(digest):
        raise FieldError(f"{at}.sha256", "expected the SHA-256 of the signed form: 64 hex digits")
    return {"documentRef": reference, "sha256": digest}


READERS: dict[str, Reader] = {
    "needs_assessment": _needs_assessment,
    "rag_rating": _rag_rating,
    "engagement": _engagement,
    "risk_escalation": _risk_escalation,
    "handover": _handover,
    "consent": _consent,
    "consent_withdrawn": _consent_withdrawn,
}


def events_document(
    message_type: MessageType, data: dict[str, Any], identifiers: Mapping[str, str]
) -> dict[str, Any]:
    """A canonical provider message (or the fields of it a recipient may see) as a one-event
    document, in the provider's own words (`case-management`, not `case_management`)."""
    event: dict[str, Any] = {"kind": NATIVE_KINDS[message_type]}
    event.update(
        present(
            nomsNumber=identifiers.get(SubjectScheme.NOMS), pnc=identifiers.get(SubjectScheme.PNC)
        )
    )
    event.update(data)
    if "purposes" in data:
        event["purposes"] = [purpose.replace("_", "-") for purpose in data["purposes"]]
    return {"events": [event]}
