"""`/v1/subjects`: which person the hub knows by these identifiers, and what it knows them by."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app, g, request
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hub.api.auth import caller, require
from hub.api.v1 import json_body, optional_count
from hub.domain.callers import is_uuid
from hub.domain.errors import BadRequest, NotFound, ValidationFailed
from hub.domain.matching import Details
from hub.domain.messages import SubjectRef
from hub.domain.vocab import AuditAction, DataClass, Decision, MessageType, Purpose, Role, Scope
from hub.services.audit_search import AuditQuery
from hub.services.audit_search import Reader as AuditReader
from hub.services.consents import ConsentTerms
from policies.engine import Reader

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("subjects", __name__, url_prefix="/v1/subjects")


class PersonSchema(Schema):
    firstName = fields.String(validate=validate.Length(max=100), load_default=None)
    lastName = fields.String(required=True, validate=validate.Length(min=1, max=100))
    dateOfBirth = fields.Date(required=True)
    postcode = fields.String(validate=validate.Length(max=10), load_default=None)


class ResolveSchema(Schema):
    """Identifiers (`scheme:value`, any of pnc, cro, crn, noms, hub) and/or a person's details."""

    identifiers = fields.List(fields.String(), validate=validate.Length(max=10), load_default=list)
    person = fields.Nested(PersonSchema, load_default=None)

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data["identifiers"] and data["person"] is None:
            raise ValidationError("give identifiers or a person's details", "identifiers")


def _services() -> Services:
    services: Services = current_app.extensions["hub"]
    return services


@bp.post("/resolve")
@require(Scope.SUBJECTS_READ)
def resolve() -> ResponseReturnValue:
    """The hub id of a person the caller may see: by identifier, or by a confident match on name,
    date of birth and postcode when no identifier is given. `404` when there is none."""
    try:
        body = ResolveSchema().load(json_body("a JSON object with identifiers and/or person"))
    except ValidationError as error:
        raise ValidationFailed("the request failed validation", errors=error.messages) from None
    refs, errors = [], {}
    for index, raw in enumerate(body["identifiers"]):
        try:
            refs.append(SubjectRef.parse(raw))
        except ValueError as error:
            errors[f"identifiers.{index}"] = [str(error)]
    if errors:
        raise ValidationFailed("an identifier is not valid", errors=errors)
    person = body["person"]
    details = (
        Details.of(
            person["lastName"], person["dateOfBirth"], person["firstName"], person["postcode"]
        )
        if person
        else None
    )
    return _services().subjects.resolve(caller(), refs, details)


@bp.get("/<subject_id>")
@require(Scope.SUBJECTS_READ)
def read(subject_id: str) -> ResponseReturnValue:
    return _services().subjects.read(caller(), subject_id)


class EvidenceSchema(Schema):
    documentRef = fields.String(required=True, validate=validate.Length(min=1, max=300))
    sha256 = fields.String(
        required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$", error="64 lower-case hex")
    )


class ConsentSchema(Schema):
    """A person's signed consent: to which recipients (agency kinds or ids), for which purposes,
    from when to when, except whom; the evidence is a reference to, and digest of, the form."""

    givenOn = fields.Date(required=True)
    validFrom = fields.Date(load_default=None)
    validUntil = fields.Date(load_default=None)
    recipients = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=20),
    )
    purposes = fields.List(
        fields.String(validate=validate.OneOf([p.value for p in Purpose])),
        required=True,
        validate=validate.Length(min=1),
    )
    exclusions = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)), load_default=list
    )
    dataClasses = fields.List(
        fields.String(validate=validate.OneOf([c.value for c in DataClass])),
        load_default=list,
        metadata={"description": "the kinds of information covered (all when empty)"},
    )
    evidence = fields.Nested(EvidenceSchema, required=True)

    @validates_schema(skip_on_field_errors=False)
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        start = data.get("validFrom") or data.get("givenOn")
        if data.get("validUntil") and start and data["validUntil"] < start:
            raise ValidationError("cannot end before it starts", "validUntil")


class WithdrawSchema(Schema):
    withdrawnOn = fields.Date(load_default=None)


def _load(schema: Schema) -> Any:
    try:
        return schema.load(json_body("a JSON object"))
    except ValidationError as error:
        raise ValidationFailed("the request failed validation", errors=error.messages) from None


@bp.post("/<subject_id>/consents")
@require(Scope.CONSENTS_WRITE)
def give_consent(subject_id: str) -> ResponseReturnValue:
    body = _load(ConsentSchema())
    terms = ConsentTerms(
        given_on=body["givenOn"],
        valid_from=body["validFrom"],
        valid_until=body["validUntil"],
        recipients=body["recipients"],
        purposes=body["purposes"],
        exclusions=body["exclusions"],
        data_classes=body["dataClasses"],
        evidence_ref=body["evidence"]["documentRef"],
        evidence_sha256=body["evidence"]["sha256"],
    )
    return _services().subjects.give_consent(caller(), subject_id, terms), 201


@bp.get("/<subject_id>/disclosures")
@require(None)
def disclosures(subject_id: str) -> ResponseReturnValue:
    """Every disclosure of the person (who received what, when, under which agreement and
    lawful basis), newest first. `audit:read` (IG tools): all of them; otherwise the token needs
    `subjects:read`, the person must be one the agency may know of, and it sees the disclosures
    its agency sent or received. Refusals too with `refusals=true`. The read is audited."""
    services = _services()
    who = caller()
    everyone = Scope.AUDIT_READ.value in g.token.scopes
    if everyone:
        root_id = subject_id if is_uuid(subject_id) else ""
    else:
        g.token.require(Scope.SUBJECTS_READ.value)
        root_id = services.subjects.visible_id(who, subject_id)
    limit = optional_count("limit", 1) or 100
    before = optional_count("before")
    refusals = request.args.get("refusals", "false")
    if refusals not in {"true", "false"}:
        raise BadRequest("refusals is true or false", errors={"refusals": ["true or false"]})
    query = AuditQuery(
        person=SubjectRef.parse(f"hub:{root_id}") if root_id else None,
        disclosures=True,
        decision=None if refusals == "true" else Decision.PERMIT.value,
        party=None if everyone else who.agency_id,
    )
    if query.person is None:
        raise NotFound("no such person")
    page = services.audit_search.search(
        AuditReader(who.actor, who.request_id, everyone),
        query,
        after=before,
        limit=min(limit, 500),
        newest_first=True,
    )
    if not page.person_known:
        raise NotFound("no such person")
    return {
        "items": [disclosure_view(seq, entry) for seq, entry in page.items],
        "next": None if page.next is None else str(page.next),
    }


def disclosure_view(seq: int, text: str) -> dict[str, Any]:
    """A disclosure as an agency's engineer reads it; `auditEntry` leads to the signed entry."""
    entry = json.loads(text)
    return {
        "auditEntry": seq,
        "time": entry["time"],
        "sender": entry.get("actor", {}).get("agency"),
        "recipient": entry.get("recipient"),
        "messageType": entry.get("message_type"),
        "messageId": entry.get("message_id"),
        "purpose": entry.get("purpose"),
        "decision": entry.get("decision"),
        "override": entry["action"] == AuditAction.OVERRIDE_USED,
        "agreement": (
            {"id": entry["agreement_id"], "version": entry.get("agreement_version")}
            if entry.get("agreement_id")
            else None
        ),
        "lawfulBasis": entry.get("lawful_basis"),
        "fields": entry.get("fields", []),
        "reasons": entry.get("reasons", []),
    }


@bp.get("/<subject_id>/consents")
@require(Scope.SUBJECTS_READ)
def list_consents(subject_id: str) -> ResponseReturnValue:
    return {"items": _services().subjects.consents(caller(), subject_id)}


consents_bp = Blueprint("consents", __name__, url_prefix="/v1/consents")


@consents_bp.post("/<consent_id>/withdraw")
@require(Scope.CONSENTS_WRITE)
def withdraw(consent_id: str) -> ResponseReturnValue:
    body = _load(WithdrawSchema()) if request.content_length else {"withdrawnOn": None}
    on = body["withdrawnOn"] or date.today()
    return _services().subjects.withdraw_consent(caller(), consent_id, on)


decisions_bp = Blueprint("decisions", __name__, url_prefix="/v1/decisions")


class ExplainSchema(Schema):
    """Would my agency be allowed to send `type` to `recipient` for `purpose` (about `subject`)?"""

    recipient = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(required=True, metadata={"example": "uk.gov.justice.hub.conviction.v1"})
    purpose = fields.String(required=True, validate=validate.OneOf([p.value for p in Purpose]))
    subject = fields.String(load_default=None, metadata={"description": "a hub id"})
    role = fields.String(
        load_default=None,
        validate=validate.OneOf([r.value for r in Role]),
        metadata={"description": "the recipient's user who would read it (default: its system)"},
    )
    clearance = fields.Integer(
        load_default=0,
        validate=validate.Range(0, 2),
        metadata={
            "description": "that user's vetting: 0 none, 1 police information, 2 intelligence"
        },
    )


@decisions_bp.post("/explain")
@require(Scope.MESSAGES_SEND)
def explain() -> ResponseReturnValue:
    body = _load(ExplainSchema())
    message_type = MessageType.from_ce_type(body["type"]) or next(
        (t for t in MessageType if t.value == body["type"]), None
    )
    if message_type is None:
        raise ValidationFailed(
            "unknown message type", errors={"type": [f"not a message type: {body['type']!r}"]}
        )
    subject = body["subject"]
    if subject and subject.startswith("hub:"):
        subject = subject.removeprefix("hub:")
    who = caller()
    return _services().subjects.explain(
        who.actor,
        who.request_id,
        who.agency_id,
        body["recipient"],
        message_type,
        body["purpose"],
        subject,
        Reader(body["role"], body["clearance"]) if body["role"] else None,
        visible_to=who.agency_id,
    )
