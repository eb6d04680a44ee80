"""Fixed vocabularies. Every place that needs one of these values uses the enum, not a literal."""

from __future__ import annotations

from enum import StrEnum


class AgencyKind(StrEnum):
    PROBATION = "probation"
    IOM = "iom"
    COURTS = "courts"
    PROVIDER = "provider"
    PRISON = "prison"


class Role(StrEnum):
    CASE_MANAGER = "case_manager"
    OFFENDER_MANAGER = "offender_manager"
    IOM_OFFICER = "iom_officer"
    VOLUNTEER = "volunteer"  # a provider's volunteer or mentor
    IG_OFFICER = "ig_officer"
    ADMINISTRATOR = "administrator"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.CASE_MANAGER: "Case manager",
    Role.OFFENDER_MANAGER: "Offender manager",
    Role.IOM_OFFICER: "IOM officer",
    Role.VOLUNTEER: "Volunteer or mentor",
    Role.IG_OFFICER: "Information governance officer",
    Role.ADMINISTRATOR: "Administrator",
}


class Scope(StrEnum):
    """OAuth scopes, `resource:action`."""

    MESSAGES_SEND = "messages:send"
    MESSAGES_READ = "messages:read"
    INBOX_READ = "inbox:read"
    SUBJECTS_READ = "subjects:read"
    CONSENTS_WRITE = "consents:write"
    AUDIT_READ = "audit:read"  # every agency's audit entries (IG officers' tools); not by default

    @classmethod
    def default_for_agency(cls) -> list[Scope]:
        return [
            cls.MESSAGES_SEND,
            cls.MESSAGES_READ,
            cls.INBOX_READ,
            cls.SUBJECTS_READ,
            cls.CONSENTS_WRITE,
        ]


class MessageType(StrEnum):
    """Canonical message types; the wire form is `uk.gov.justice.hub.<name>.v<major>`."""

    REFERRAL = "referral"
    CONVICTION = "conviction"
    COHORT_MEMBERSHIP = "cohort-membership"
    RELEASE = "release"
    CASE_SUMMARY = "case-summary"
    NEEDS_ASSESSMENT = "needs-assessment"
    RAG_RATING = "rag-rating"
    ENGAGEMENT = "engagement"
    RISK_ESCALATION = "risk-escalation"
    HANDOVER = "handover"
    CONSENT = "consent"
    CONSENT_WITHDRAWN = "consent-withdrawn"
    RECONVICTION_ALERT = "reconviction-alert"  # only the hub emits it

    @property
    def hub_emitted(self) -> bool:
        """A type the hub itself writes (from what agencies sent): no agency may send it."""
        return self is MessageType.RECONVICTION_ALERT

    @property
    def ce_type(self) -> str:
        return f"{TYPE_PREFIX}{self.value}.v1"

    @classmethod
    def from_ce_type(cls, value: str) -> MessageType | None:
        for member in cls:
            if member.ce_type == value:
                return member
        return None


TYPE_PREFIX = "uk.gov.justice.hub."


class Purpose(StrEnum):
    """Why a message is shared: the purpose code carried in the envelope's `purpose` attribute."""

    RESETTLEMENT = "resettlement"
    CASE_MANAGEMENT = "case_management"
    RISK_MANAGEMENT = "risk_management"
    PUBLIC_PROTECTION = "public_protection"
    REOFFENDING_MEASUREMENT = "reoffending_measurement"


class DataClass(StrEnum):
    """What kind of information a message is (a message's classification; a consent may be
    limited to, or exclude, some of them)."""

    PERSONAL = "personal"
    SPECIAL_CATEGORY = "special_category"  # health, substance misuse, offending behaviour
    POLICE_INTELLIGENCE = "police_intelligence"
    COMMERCIALLY_SENSITIVE = "commercially_sensitive"


class SubjectScheme(StrEnum):
    PNC = "pnc"
    CRO = "cro"
    CRN = "crn"
    NOMS = "noms"
    HUB = "hub"


class AuditAction(StrEnum):
    """`resource.action` audit vocabulary (past tense: each entry records something that happened)."""

    TOKEN_ISSUED = "token.issued"  # noqa: S105 (an audit action, not a secret)
    TOKEN_REFUSED = "token.refused"  # noqa: S105
    ACCESS_REFUSED = "access.refused"
    MESSAGE_ACCEPTED = "message.accepted"
    MESSAGE_REFUSED = "message.refused"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_READ = "message.read"
    MESSAGE_STATUS_READ = "message.status_read"
    REQUEST_REFUSED = "request.refused"
    INBOX_READ = "inbox.read"
    INBOX_ACKED = "inbox.acked"
    SIGNIN_SUCCEEDED = "signin.succeeded"
    SIGNIN_FAILED = "signin.failed"
    SIGNED_OUT = "signin.signed_out"
    AGENCY_ADDED = "agency.added"
    CLIENT_ADDED = "client.added"
    CLIENT_DISABLED = "client.disabled"
    USER_ADDED = "user.added"
    DOCUMENT_RECEIVED = "document.received"
    SUBJECT_CREATED = "subject.created"
    SUBJECT_IDENTIFIER_LINKED = "subject.identifier_linked"
    SUBJECT_MERGED = "subject.merged"
    SUBJECT_UNMERGED = "subject.unmerged"
    SUBJECT_RECORD_CHANGED = "subject.record_changed"
    SUBJECT_RESOLVED = "subject.resolved"
    SUBJECT_READ = "subject.read"
    IDENTITY_REVIEW_OPENED = "identity_review.opened"
    IDENTITY_REVIEW_DECIDED = "identity_review.decided"
    CONSENT_RECORDED = "consent.recorded"
    CONSENT_WITHDRAWN = "consent.withdrawn"
    CONSENT_READ = "consent.read"
    DECISION_EXPLAINED = "decision.explained"
    OVERRIDE_USED = "override.used"
    OVERRIDE_REVIEWED = "override.reviewed"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORTED = "audit.exported"
    AUDIT_KEY_ROTATED = "audit.key_rotated"
    DELIVERY_RESPONDED = "delivery.responded"  # a practitioner recorded that support continues
    SUBSCRIPTION_CREATED = "subscription.created"
    SUBSCRIPTION_DELETED = "subscription.deleted"
    SUBSCRIPTION_REPLAYED = "subscription.replayed"
    WEBHOOK_ATTEMPTED = "webhook.attempted"  # one POST of a delivery: a disclosure when it lands


class Decision(StrEnum):
    PERMIT = "permit"
    DENY = "deny"
