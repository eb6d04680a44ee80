"""`/v1/subjects`: which person the hub knows by these identifiers, and what it knows them by."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hub.api.auth import caller, require
from hub.api.v1 import json_body
from hub.domain.errors import ValidationFailed
from hub.domain.matching import Details
from hub.domain.messages import SubjectRef
from hub.domain.vocab import Scope

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
