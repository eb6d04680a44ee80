"""Marshmallow schemas for the envelope and each message type's `data`; the OpenAPI document is
generated from these. Field names follow the agencies' own JSON (camelCase)."""

from __future__ import annotations

from functools import cache
from typing import Any

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates,
    validates_schema,
)

from hub.domain.messages import Envelope, SubjectRef
from hub.domain.vocab import MessageType, Purpose

DEFAULT_ROUTES = (
    "accommodation",
    "education_training_employment",
    "health",
    "substance_misuse",
    "families",
    "finance_debt",
    "thinking_behaviour",
    "immigration_legal",
    "social_capital",
    "veterans",
)
RISK_LEVELS = ("LOW", "MEDIUM", "HIGH", "VERY_HIGH")


def _text(max_len: int, **kw: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=1, max=max_len), **kw)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class StrictBoolean(fields.Boolean):
    """`true` or `false` only: not 1, "yes" or "on", which marshmallow's Boolean accepts."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class OffenceSchema(StrictSchema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Z]{2}[0-9A-Z]{2}[0-9]{3}[A-Z]?$", error="not a CJS offence code"
        ),
        metadata={"description": "CJS offence code, e.g. TH68010", "example": "TH68010"},
    )
    title = _text(300, required=True)
    modeOfTrial = fields.String(
        required=True, validate=validate.OneOf(["summary", "either_way", "indictable"])
    )
    committedOn = fields.Date(required=True, metadata={"description": "the offence date"})


class CourtSchema(StrictSchema):
    code = _text(20, required=True, metadata={"example": "B14LO00"})
    name = _text(200, required=True)


class DurationSchema(StrictSchema):
    unit = fields.String(required=True, validate=validate.OneOf(["D", "W", "M", "Y"]))
    value = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10000))


class DisposalSchema(StrictSchema):
    label = _text(200, required=True, metadata={"example": "Community order"})
    cjsCode = _text(10, load_default=None)
    duration = fields.Nested(DurationSchema, load_default=None)


class SeveritySchema(StrictSchema):
    """How serious the offence is: the band its mode of trial puts it in, and the nature its
    statute tells (so that reoffending can be measured by severity, not only yes or no)."""

    band = fields.String(
        required=True, validate=validate.OneOf(["summary", "either_way", "indictable_only"])
    )
    flags = fields.List(
        fields.String(validate=validate.OneOf(["violence", "sexual"])), load_default=list
    )


class ConvictionSchema(StrictSchema):
    """A conviction: an offence with a convicted result (Common Platform `isConvictedResult`)."""

    offence = fields.Nested(OffenceSchema, required=True)
    severity = fields.Nested(SeveritySchema, load_default=None)
    convictionDate = fields.Date(required=True)
    court = fields.Nested(CourtSchema, required=True)
    disposal = fields.Nested(DisposalSchema, load_default=None)
    plea = fields.String(
        load_default=None, validate=validate.OneOf(["guilty", "not_guilty", "none"])
    )
    caseUrn = _text(40, load_default=None)
    hearingId = _text(100, load_default=None)

    @validates_schema
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        offence = data.get("offence")
        if (
            offence
            and data.get("convictionDate")
            and data["convictionDate"] < offence["committedOn"]
        ):
            raise ValidationError("cannot precede the offence date", "convictionDate")


class RiskOfReoffendingSchema(StrictSchema):
    ogrs3TwoYear = fields.Integer(required=True, strict=True, validate=validate.Range(0, 100))


class RouteSchema(StrictSchema):
    route = fields.String(required=True)
    statusOnReception = _text(2000, required=True)
    actionTakenInCustody = _text(2000, load_default=None)
    outstandingActions = _text(2000, load_default=None)


class OfficerSchema(StrictSchema):
    name = _text(200, required=True)
    email = fields.Email(required=True)
    team = _text(200, load_default=None)


class RoutedSchema(StrictSchema):
    """A schema naming reoffending routes, which are configured per deployment (the seven-route or
    the ten-route list), so each instance is built with the routes it accepts."""

    def __init__(self, *args: Any, routes: tuple[str, ...] = DEFAULT_ROUTES, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.allowed_routes = routes

    def _check_routes(self, items: list[dict[str, Any]]) -> None:
        errors = {
            i: {"route": [f"not a configured reoffending route: {item['route']!r}"]}
            for i, item in enumerate(items)
            if item["route"] not in self.allowed_routes
        }
        if errors:
            raise ValidationError(errors)


class ReferralSchema(RoutedSchema):
    """The pre-release referral form, probation to provider (seed 000, lines 464-484)."""

    crn = fields.String(validate=validate.Regexp(r"^[A-Z]\d{6}$"), load_default=None)
    nomsNumber = fields.String(validate=validate.Regexp(r"^[A-Z]\d{4}[A-Z]{2}$"), load_default=None)
    releaseDate = fields.Date(required=True)
    dischargeArea = _text(100, required=True)
    pathway = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2, 3, 4]))
    riskOfSeriousHarm = fields.String(required=True, validate=validate.OneOf(RISK_LEVELS))
    riskOfReoffending = fields.Nested(RiskOfReoffendingSchema, load_default=None)
    sentencePlanSummary = _text(4000, load_default=None)
    routes = fields.List(fields.Nested(RouteSchema), required=True)
    officer = fields.Nested(OfficerSchema, required=True)

    @validates("routes")
    def _known_routes(self, value: list[dict[str, Any]], **_: Any) -> None:
        self._check_routes(value)


class CohortMembershipSchema(StrictSchema):
    """A person adopted into, or deselected from, an IOM cohort (seed 000, lines 331-346)."""

    status = fields.String(required=True, validate=validate.OneOf(["adopted", "deselected"]))
    category = fields.String(required=True, validate=validate.OneOf(["fixed", "flex", "free"]))
    offenderGroup = _text(
        50, required=True, metadata={"example": "SAC (serious acquisitive crime)"}
    )
    adoptedOn = fields.Date(required=True)
    officer = _text(200, load_default=None)
    team = _text(200, load_default=None)


class ReleaseSchema(StrictSchema):
    """A release from custody, planned (the prisoner record) or done (the release event). The
    release date and discharge area decide the reconviction window and who picks the case up."""

    status = fields.String(required=True, validate=validate.OneOf(["planned", "released"]))
    releaseDate = fields.Date(required=True)
    prison = _text(10, load_default=None, metadata={"example": "DNI"})
    dischargeArea = _text(100, load_default=None)
    legalStatus = _text(40, load_default=None)
    sentenceStartDate = fields.Date(load_default=None)
    conditionalReleaseDate = fields.Date(load_default=None)
    licenceExpiryDate = fields.Date(load_default=None)
    supervisionExpiryDate = fields.Date(load_default=None)
    mostSeriousOffence = _text(300, load_default=None)
    movementReasonCode = _text(10, load_default=None)


class CaseRegistrationSchema(StrictSchema):
    """One active nDelius registration, its code passed through as nDelius has it (the RoSH, MAPPA
    and IOM ones are also read into the case summary's own fields)."""

    code = _text(20, required=True, metadata={"example": "RCCO"})
    description = _text(200, load_default=None, metadata={"example": "Child concerns"})
    startDate = fields.Date(load_default=None)


class MappaSchema(StrictSchema):
    """MAPPA: the category of offender (1 to 3) and the level of management (1 to 3)."""

    category = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2, 3]))
    level = fields.Integer(required=True, strict=True, validate=validate.OneOf([1, 2, 3]))


class IomNominalSchema(StrictSchema):
    """The person is an IOM nominal (nDelius registration `IIOM`), with its category if given."""

    category = _text(10, load_default=None, metadata={"example": "I3"})


class RiskSummarySchema(StrictSchema):
    """The OASys risk of serious harm summary, in the assessor's words. `riskInCommunity` maps a
    risk level to the groups at that level of risk."""

    whoIsAtRisk = _text(4000, load_default=None)
    natureOfRisk = _text(4000, load_default=None)
    riskImminence = _text(4000, load_default=None)
    riskIncreaseFactors = _text(4000, load_default=None)
    riskMitigationFactors = _text(4000, load_default=None)
    riskInCommunity = fields.Dict(
        keys=fields.String(validate=validate.OneOf(RISK_LEVELS)),
        values=fields.List(_text(100), validate=validate.Length(min=1, max=20)),
        load_default=None,
        metadata={"example": {"MEDIUM": ["Staff", "Public"], "LOW": ["Known adult"]}},
    )


class PredictorsSchema(StrictSchema):
    """Reoffending predictors: OGRS3 (two-year, percent) and RSR (serious reoffending)."""

    ogrs3TwoYear = fields.Integer(strict=True, validate=validate.Range(0, 100), load_default=None)
    rsrPercentage = fields.Float(validate=validate.Range(0, 100), load_default=None)
    rsrLevel = fields.String(validate=validate.OneOf(["LOW", "MEDIUM", "HIGH"]), load_default=None)


class TeamSchema(StrictSchema):
    code = _text(20, required=True, metadata={"example": "N07DON"})
    description = _text(200, load_default=None)


class CommunityManagerSchema(StrictSchema):
    """Who holds the case in probation: the person to call about it."""

    code = _text(20, load_default=None, metadata={"example": "N07A061"})
    name = _text(200, load_default=None)
    email = fields.Email(load_default=None)
    team = fields.Nested(TeamSchema, load_default=None)


class TriggerSchema(StrictSchema):
    """A risk trigger set at allocation: a change in circumstances the provider must report."""

    code = _text(40, required=True, metadata={"example": "ACCOM_LOSS"})
    description = _text(500, load_default=None)
    setOn = fields.Date(load_default=None)


class CaseSummarySchema(StrictSchema):
    """Probation's summary of a case (nDelius and OASys): risk of serious harm, MAPPA and IOM
    status, active registrations, the risk summary, predictors, who manages the case and the risk
    triggers set at allocation. The person's identifiers travel in the envelope's subject."""

    roshLevel = fields.String(validate=validate.OneOf(RISK_LEVELS), load_default=None)
    mappa = fields.Nested(MappaSchema, allow_none=True, load_default=None)
    iomNominal = fields.Nested(IomNominalSchema, allow_none=True, load_default=None)
    registrations = fields.List(
        fields.Nested(CaseRegistrationSchema), validate=validate.Length(max=100), load_default=None
    )
    riskSummary = fields.Nested(RiskSummarySchema, load_default=None)
    predictors = fields.Nested(PredictorsSchema, load_default=None)
    communityManager = fields.Nested(CommunityManagerSchema, load_default=None)
    triggers = fields.List(
        fields.Nested(TriggerSchema), validate=validate.Length(max=50), load_default=None
    )
    restricted = fields.Boolean(
        load_default=None,
        metadata={
            "description": "A limited-access case (nDelius restriction or exclusion): the person "
            "is invisible to every agency but probation. Never disclosed."
        },
    )


class NeedSchema(StrictSchema):
    route = fields.String(required=True)
    level = fields.String(required=True, validate=validate.OneOf(["none", "some", "severe"]))
    notes = _text(2000, load_default=None)


class NeedsAssessmentSchema(RoutedSchema):
    """The provider's assessment of the person's needs, route by reoffending route."""

    assessedOn = fields.Date(required=True)
    needs = fields.List(
        fields.Nested(NeedSchema), required=True, validate=validate.Length(min=1, max=20)
    )

    @validates("needs")
    def _known_routes(self, value: list[dict[str, Any]], **_: Any) -> None:
        self._check_routes(value)


class RagRatingSchema(StrictSchema):
    """The provider's RAG rating of the case; `red_not_engaging` is red because the person does
    not engage, which probation may need to act on."""

    rating = fields.String(
        required=True, validate=validate.OneOf(["red_not_engaging", "red", "amber", "green"])
    )
    ratedOn = fields.Date(required=True)
    reason = _text(2000, load_default=None)


class EngagementSchema(StrictSchema):
    """One contact the provider arranged, and whether the person came."""

    contactOn = fields.Date(required=True)
    method = fields.String(
        required=True, validate=validate.OneOf(["face_to_face", "phone", "other"])
    )
    attended = StrictBoolean(required=True)


class RiskEscalationSchema(StrictSchema):
    """The provider's notice to probation that risk may be rising: a trigger set at allocation
    has fired (its code), or something else has (`other`)."""

    triggerCode = _text(40, required=True, metadata={"example": "ACCOM_LOSS"})
    observedOn = fields.Date(required=True)
    description = _text(4000, required=True)
    urgency = fields.String(
        required=True, validate=validate.OneOf(["routine", "urgent", "immediate"])
    )


class CaseManagerSchema(StrictSchema):
    name = _text(200, required=True)
    email = fields.Email(required=True)


class HandoverSchema(StrictSchema):
    """The case moving from one case manager to another (ownership moves with it)."""

    on = fields.Date(required=True)
    from_ = fields.Nested(CaseManagerSchema, required=True, data_key="from")
    to = fields.Nested(CaseManagerSchema, required=True)


class ConsentEvidenceSchema(StrictSchema):
    """Where the signed form is kept, and its SHA-256 (lower-case hex), so the form can be shown to
    be the one the consent was recorded from."""

    documentRef = _text(300, required=True, metadata={"example": "CMS/consent/A4821DC.pdf"})
    sha256 = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="expected 64 lower-case hex digits"),
    )


AGENCY_OR_KIND = validate.Regexp(
    r"^[a-z][a-z0-9_-]{0,63}$", error="expected an agency kind or agency id"
)


class ConsentSchema(StrictSchema):
    """The person's consent to share, with the scope the source forms lacked: whom it covers, for
    which purposes, what the person refused, until when, and the evidence."""

    signedOn = fields.Date(required=True)
    validUntil = fields.Date(load_default=None)
    recipients = fields.List(
        fields.String(validate=AGENCY_OR_KIND),
        required=True,
        validate=validate.Length(min=1, max=50),
    )
    purposes = fields.List(
        fields.String(validate=validate.OneOf([p.value for p in Purpose])),
        required=True,
        validate=validate.Length(min=1, max=len(Purpose)),
    )
    exclusions = fields.List(_text(100), validate=validate.Length(max=50), load_default=list)
    evidence = fields.Nested(ConsentEvidenceSchema, required=True)

    @validates_schema
    def _dates(self, data: dict[str, Any], **_: Any) -> None:
        if (
            data.get("validUntil")
            and data.get("signedOn")
            and data["validUntil"] < data["signedOn"]
        ):
            raise ValidationError("cannot precede the date it was signed", "validUntil")


class ConsentWithdrawnSchema(StrictSchema):
    """The person withdrew consent: from this date nothing more is shared on consent alone."""

    withdrawnOn = fields.Date(required=True)
    evidence = fields.Nested(ConsentEvidenceSchema, load_default=None)


class ReconvictionAlertSchema(StrictSchema):
    """What the hub tells the people who work with someone when a court convicts them: whether
    it is a reconviction for the measured cohort (offence within 12 months of release, conviction
    within 18; out-of-court disposals never count), the conviction as its agreement allows, and
    how many reconvictions the person now has since that release. Only the hub emits it."""

    verdict = fields.String(
        required=True, validate=validate.OneOf(["reconviction", "offence_before_release"])
    )
    finding = _text(500, required=True, metadata={"description": "the verdict in words"})
    releaseDate = fields.Date(required=True, metadata={"description": "the release measured from"})
    offence = fields.Nested(OffenceSchema, required=True)
    severity = fields.Nested(SeveritySchema, load_default=None)
    convictionDate = fields.Date(required=True)
    court = fields.Nested(CourtSchema, required=True)
    disposal = fields.Nested(DisposalSchema, load_default=None)
    reconvictionsSinceRelease = fields.Integer(
        required=True, metadata={"description": "offences counted since that release, this one too"}
    )
    courtOccasionsSinceRelease = fields.Integer(required=True)
    conviction = _text(36, required=True, metadata={"description": "the court's message id"})


DATA_SCHEMAS: dict[MessageType, type[Schema]] = {
    MessageType.CONVICTION: ConvictionSchema,
    MessageType.REFERRAL: ReferralSchema,
    MessageType.COHORT_MEMBERSHIP: CohortMembershipSchema,
    MessageType.RELEASE: ReleaseSchema,
    MessageType.CASE_SUMMARY: CaseSummarySchema,
    MessageType.NEEDS_ASSESSMENT: NeedsAssessmentSchema,
    MessageType.RAG_RATING: RagRatingSchema,
    MessageType.ENGAGEMENT: EngagementSchema,
    MessageType.RISK_ESCALATION: RiskEscalationSchema,
    MessageType.HANDOVER: HandoverSchema,
    MessageType.CONSENT: ConsentSchema,
    MessageType.CONSENT_WITHDRAWN: ConsentWithdrawnSchema,
    MessageType.RECONVICTION_ALERT: ReconvictionAlertSchema,
}


class EnvelopeSchema(Schema):
    """CloudEvents 1.0, structured JSON mode. Unknown extension attributes are ignored."""

    class Meta:
        unknown = EXCLUDE

    specversion = fields.String(required=True, validate=validate.Equal("1.0"))
    id = _text(200, required=True, metadata={"description": "unique per sender"})
    source = _text(64, required=True, metadata={"description": "the sender's agency id"})
    type = fields.String(required=True, metadata={"example": MessageType.CONVICTION.ce_type})
    time = fields.AwareDateTime(load_default=None)
    subject = fields.String(
        required=True, metadata={"description": "scheme:value", "example": "pnc:2011/0482113C"}
    )
    purpose = fields.String(required=True, validate=validate.OneOf([p.value for p in Purpose]))
    recipient = _text(64, load_default=None, metadata={"description": "an agency id"})
    override = fields.String(
        load_default=None,
        validate=validate.Length(min=30, max=2000),
        metadata={
            "description": (
                "a public-protection override: why this must be shared although no agreement "
                "permits it (at least 30 characters; purpose public_protection). Audited as an "
                "override and reviewed by an IG officer; never passes a hub-wide restriction."
            )
        },
    )
    datacontenttype = fields.String(
        load_default="application/json", validate=validate.Equal("application/json")
    )
    data = fields.Dict(required=True)

    @validates("type")
    def _known_type(self, value: str, **_: Any) -> None:
        found = MessageType.from_ce_type(value)
        if found is None:
            known = ", ".join(t.ce_type for t in MessageType if not t.hub_emitted)
            raise ValidationError(f"unknown message type; known types: {known}")
        if found.hub_emitted:
            raise ValidationError(
                f"only the hub emits {found.value} (from the courts' convictions); "
                f"send the conviction instead"
            )

    @validates_schema
    def _override(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("override") and data.get("purpose") != Purpose.PUBLIC_PROTECTION.value:
            raise ValidationError(
                "an override is only for the purpose public_protection", "override"
            )

    @validates("subject")
    def _subject(self, value: str, **_: Any) -> None:
        try:
            SubjectRef.parse(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None


# Schemas hold no per-request state, so one instance of each serves every request (building one
# deep-copies its fields, a noticeable share of a message's time).
@cache
def _envelope_schema() -> EnvelopeSchema:
    return EnvelopeSchema()


@cache
def _data_schema(message_type: MessageType, routes: tuple[str, ...]) -> Schema:
    schema_cls = DATA_SCHEMAS[message_type]
    return schema_cls(routes=routes) if issubclass(schema_cls, RoutedSchema) else schema_cls()


def _without_nulls(value: Any) -> Any:
    """Absent optional fields are left out rather than sent as null."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def load_envelope(body: Any, routes: tuple[str, ...] = DEFAULT_ROUTES) -> Envelope:
    """Validate a whole event, envelope then `data`; raise ValidationError with every failing field
    keyed by its path in the event (e.g. `data.offence.code`)."""
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["the body must be a JSON object (a CloudEvent)"]})
    errors: dict[str, Any] = {}
    try:
        raw = _envelope_schema().load(body)
    except ValidationError as error:
        errors = (
            dict(error.messages)
            if isinstance(error.messages, dict)
            else {"_schema": error.messages}
        )
        raw = {"type": body.get("type"), "data": body.get("data")}
    message_type = MessageType.from_ce_type(raw["type"]) if isinstance(raw["type"], str) else None
    data: Any = None
    if message_type is not None and isinstance(raw["data"], dict):
        # The data is checked even when the envelope failed, so one answer names every fault.
        schema = _data_schema(message_type, routes)
        try:
            data = schema.load(raw["data"])
        except ValidationError as error:
            errors["data"] = error.messages
    if errors:
        raise ValidationError(errors)
    assert message_type is not None
    return Envelope(
        id=raw["id"],
        source=raw["source"],
        type=message_type,
        subject=SubjectRef.parse(raw["subject"]),
        purpose=Purpose(raw["purpose"]),
        data=_without_nulls(schema.dump(data)),
        time=raw["time"],
        recipient=raw["recipient"],
        override=raw.get("override"),
    )


# Response shapes: used to generate the OpenAPI document (responses are built by the services).
class ProblemSchema(Schema):
    type = fields.String(metadata={"description": "stable URI naming the problem; switch on this"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String(metadata={"description": "what went wrong, for a person to read"})
    instance = fields.String()
    requestId = fields.String(metadata={"description": "quote this to the hub's operators"})
    errors = fields.Dict(metadata={"description": "for 422: each failing field and why"})


class AcceptedSchema(Schema):
    id = fields.String(metadata={"description": "the hub's message id"})
    status = fields.String(metadata={"example": "accepted"})
    deliveredTo = fields.List(fields.String())


class ReceiptSchema(Schema):
    recipient = fields.String()
    deliveredAt = fields.DateTime()
    acknowledgedAt = fields.DateTime(allow_none=True)


class MessageStatusSchema(Schema):
    id = fields.String()
    eventId = fields.String()
    type = fields.String()
    receivedAt = fields.DateTime()
    receipts = fields.List(fields.Nested(ReceiptSchema))


class AgreementRefSchema(Schema):
    id = fields.String()
    version = fields.String()


class InboxItemSchema(Schema):
    id = fields.String(metadata={"description": "the inbox item id, for /ack"})
    receivedAt = fields.DateTime()
    acknowledgedAt = fields.DateTime(allow_none=True)
    agreement = fields.Nested(AgreementRefSchema)
    message = fields.Dict(
        metadata={"description": "the CloudEvent, with only the disclosed fields"}
    )


class InboxPageSchema(Schema):
    items = fields.List(fields.Nested(InboxItemSchema))
    next_cursor = fields.String(metadata={"description": "pass as ?after= for the next page"})
    has_more = fields.Boolean()


class AckSchema(Schema):
    id = fields.String()
    acknowledgedAt = fields.DateTime()


class RecordOutcomeSchema(Schema):
    """What became of one record of a native document."""

    record = fields.String(metadata={"example": "defendant 2 (id 7a8b...), offence 1"})
    status = fields.String(
        metadata={
            "enum": ["accepted", "held", "rejected", "skipped"],
            "description": "held: waiting for an identity review; nothing is shared until then",
        }
    )
    type = fields.String(metadata={"example": "uk.gov.justice.hub.conviction.v1"})
    messageId = fields.String()
    subject = fields.String(metadata={"description": "the hub id of the person"})
    deliveredTo = fields.List(fields.String())
    alreadyReceived = fields.Boolean(metadata={"description": "sent before: nothing was added"})
    field = fields.String(metadata={"example": "prosecutionCases[0].defendants[1].pncId"})
    reason = fields.String()


class DocumentReportSchema(Schema):
    document = fields.String(metadata={"example": "courts/hearings"})
    accepted = fields.Integer()
    held = fields.Integer()
    rejected = fields.Integer()
    skipped = fields.Integer()
    records = fields.List(fields.Nested(RecordOutcomeSchema))


class SubjectSchema(Schema):
    id = fields.String()
    subject = fields.String(metadata={"example": "hub:6f1c8a52-3d0b-4f5e-9b1a-2b7c4e9d0a11"})
    identifiers = fields.List(fields.String(), metadata={"example": ["pnc:2011/0482113C"]})
    status = fields.String(metadata={"enum": ["active", "provisional"]})
    awaitingIdentityReview = fields.Boolean()
    mergedFrom = fields.List(fields.String())


class ResolvedSchema(Schema):
    id = fields.String()
    subject = fields.String()
    matchedBy = fields.String(metadata={"enum": ["identifier", "details"]})
    score = fields.Float()


class TokenResponseSchema(Schema):
    access_token = fields.String()
    token_type = fields.String(metadata={"example": "Bearer"})
    expires_in = fields.Integer()
    scope = fields.String()


def load_data(
    message_type: MessageType, data: Any, routes: tuple[str, ...] = DEFAULT_ROUTES
) -> dict[str, Any]:
    """Validate one message's `data` against its canonical schema (ValidationError if not)."""
    loaded: dict[str, Any] = _data_schema(message_type, routes).load(data)
    return loaded
