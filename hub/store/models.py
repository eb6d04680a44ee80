"""The schema, identical on SQLite and PostgreSQL (types chosen to mean the same on both).

Changing a model means adding an Alembic migration in `hub/store/migrations/versions/`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so migrations are the same on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Serial = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on both databases (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the hub stores only timezone-aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), index=True)
    region: Mapped[str] = mapped_column(String(100))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class OAuthClient(Base):
    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    auth_methods: Mapped[str] = mapped_column(String(100))  # space-separated
    # SHA-256 of a 256-bit random secret (client_secret_basic); NULL for key-based clients.
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ClientKey(Base):
    """A client's public key for private_key_jwt, found by the assertion's `kid`."""

    __tablename__ = "client_keys"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("oauth_clients.client_id"), index=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class SigningKey(Base):
    """The hub's own token-signing keys; the private half is encrypted under the master key."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ExpiringKey(Base):
    """Short-lived counters and once-only markers (assertion `jti`s, sign-in failures)."""

    __tablename__ = "expiring_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Subject(Base):
    """A person. Their data key (wrapped by the master key) encrypts every payload about them."""

    __tablename__ = "subjects"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    data_key_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A merge points the merged subject at the one it joined; unmerging clears the pointer.
    # Identifiers, messages and records stay with the subject they arrived for, so an unmerge
    # puts everything back where it was, and every look-up follows the pointer to the root.
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    # "provisional" while an identity review decides whether this is someone already known.
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")


class SubjectTrait(Base):
    """Name, date of birth and postcode as an agency gave them, for matching records that carry
    no strong identifier. The details are sealed under the person's data key; only a keyed
    digest of the date of birth is searchable (candidates share it)."""

    __tablename__ = "subject_traits"
    __table_args__ = (
        UniqueConstraint("subject_id", "details_digest", name="uq_subject_traits_details"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    dob_key: Mapped[str] = mapped_column(String(64), index=True)
    details_digest: Mapped[str] = mapped_column(String(64))
    details_enc: Mapped[bytes] = mapped_column(LargeBinary)
    source_agency_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())

    # Never read (lazy="raise"): declared so that one flush inserts the rows this one refers to
    # first. Code sets the foreign-key columns directly.
    _subject: Mapped[Subject] = relationship(lazy="raise")


class IdentityReview(Base):
    """A record that may be about someone already known, waiting for a person to decide."""

    __tablename__ = "identity_reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))  # "weak" | "ambiguous" | "conflicting"
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{subject, score}]
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending|merged|separate
    # Whether `subject_id` is a provisional person created for this review (otherwise an
    # established person whose identifiers clash with another's).
    provisional_subject: Mapped[bool] = mapped_column(Boolean)
    decided_subject_id: Mapped[str | None] = mapped_column(String(36))
    # The subject a merge re-pointed (the incoming one's root at the time), which an undo restores.
    merged_subject_id: Mapped[str | None] = mapped_column(String(36))
    decided_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    # Never read (lazy="raise"): declared so that one flush inserts the rows this one refers to
    # first. Code sets the foreign-key columns directly.
    _subject: Mapped[Subject] = relationship(lazy="raise")


class SubjectRecord(Base):
    """One of the hub's own facts about a person (release, case owner, risk, pathway, needs, RAG,
    engagement, IOM membership, consent), as a document stated it. The newest row of a kind is the
    current value; older rows are its history. The value is sealed under the person's data key;
    `holder` is the keyed digest of the case owner it names (`Identity.holder_digest`)."""

    __tablename__ = "subject_records"
    __table_args__ = (Index("ix_subject_records_subject_kind", "subject_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    kind: Mapped[str] = mapped_column(String(40))
    value_enc: Mapped[bytes] = mapped_column(LargeBinary)
    value_digest: Mapped[str] = mapped_column(String(64))
    holder: Mapped[str | None] = mapped_column(String(320), index=True)
    effective_on: Mapped[date | None] = mapped_column(Date)
    source_agency_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("messages.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())

    # Never read (lazy="raise"): declared so that one flush inserts the rows this one refers to
    # first. Code sets the foreign-key columns directly.
    _subject: Mapped[Subject] = relationship(lazy="raise")
    _message: Mapped[Message | None] = relationship(lazy="raise")


class SubjectIdentifier(Base):
    __tablename__ = "subject_identifiers"

    scheme: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)

    # Never read (lazy="raise"): declared so that one flush inserts the rows this one refers to
    # first. Code sets the foreign-key columns directly.
    _subject: Mapped[Subject] = relationship(lazy="raise")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("source_agency_id", "ce_id", name="uq_messages_source_ce_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ce_id: Mapped[str] = mapped_column(String(200))
    source_agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    sender_client_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"), index=True)
    subject_ref: Mapped[bytes] = mapped_column(LargeBinary)  # the envelope's identifier, encrypted
    purpose: Mapped[str] = mapped_column(String(40))
    recipient_agency_id: Mapped[str | None] = mapped_column(ForeignKey("agencies.id"))
    event_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payload_enc: Mapped[bytes] = mapped_column(LargeBinary)
    payload_digest: Mapped[str] = mapped_column(String(64))
    request_digest: Mapped[str] = mapped_column(String(64))
    # Set while the person it concerns waits for an identity review: nothing is delivered until
    # a person decides who it is about.
    held_by_review: Mapped[str | None] = mapped_column(
        ForeignKey("identity_reviews.id"), index=True
    )

    # Never read (lazy="raise"): declared so that one flush inserts the rows this one refers to
    # first. Code sets the foreign-key columns directly.
    _subject: Mapped[Subject] = relationship(lazy="raise")
    _review: Mapped[IdentityReview | None] = relationship(lazy="raise")


class Delivery(Base):
    """One message in one recipient's inbox; `id` is the inbox cursor's position."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint(
            "message_id", "recipient_agency_id", name="uq_deliveries_message_recipient"
        ),
        Index("ix_deliveries_recipient_id", "recipient_agency_id", "id"),
        Index("ix_deliveries_recipient_assignee", "recipient_agency_id", "assignee", "id"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    recipient_agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"))
    agreement_id: Mapped[str] = mapped_column(String(100))
    agreement_version: Mapped[str] = mapped_column(String(20))
    fields: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    acked_by_client_id: Mapped[str | None] = mapped_column(String(64))
    # Who at the recipient it is for: the keyed digest of the case owner's work email or name
    # (`Identity.holder_digest`; None for the agency's allocation queue), and the name itself
    # sealed under the person's data key (for display), so no staff name sits in clear beside them.
    assignee: Mapped[str | None] = mapped_column(String(320))
    assignee_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    urgency: Mapped[str | None] = mapped_column(String(20))  # a risk escalation's urgency
    # The practitioner's response to an alert (`support_continues`), when and by whom.
    response: Mapped[str | None] = mapped_column(String(30))
    responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    responded_by: Mapped[str | None] = mapped_column(String(100))

    # Never read (lazy="raise"): declared so that one flush inserts the rows this one refers to
    # first. Code sets the foreign-key columns directly.
    _message: Mapped[Message] = relationship(lazy="raise")


class Subscription(Base):
    """An agency's webhook endpoint: deliveries to the agency are POSTed there, signed as
    Standard Webhooks with a secret the hub generated (sealed here, shown once)."""

    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2000))
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    types: Mapped[list[str]] = mapped_column(JSON)  # message types; empty for all
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class OutboxItem(Base):
    """One send still owed for a delivery (a live notification, or a webhook POST), written in
    the delivery's own transaction; relays send it and record how it went."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "channel", "next_attempt_at"),
        Index("ix_outbox_subscription", "subscription_id", "state", "id"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.public_id"))
    channel: Mapped[str] = mapped_column(String(20))  # live | webhook
    subscription_id: Mapped[str | None] = mapped_column(ForeignKey("subscriptions.id"))
    state: Mapped[str] = mapped_column(String(12))  # pending | sent | dead | cancelled
    attempts: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_result: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    # Never read: orders the delivery's insert before this row's in one flush.
    _delivery: Mapped[Delivery] = relationship(lazy="raise")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    agency_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    agency_id: Mapped[str] = mapped_column(ForeignKey("agencies.id"), index=True)
    role: Mapped[str] = mapped_column(String(30))
    # The person's own vetting: 0 none, 1 police information, 2 police intelligence.
    clearance: Mapped[int] = mapped_column(Integer, server_default="0", default=0)
    # Work email (lower case): how documents name a case owner, so work is routed to them.
    email: Mapped[str | None] = mapped_column(String(320), index=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEntry(Base):
    """One audit entry. `entry` is its RFC 8785 canonical JSON, the bytes a Merkle leaf will hash.

    Rows are only ever inserted. The columns beside `entry` copy fields out of it for searching;
    `entry` is the record. The tamper-evident tree (sequence numbers, leaves, checkpoints) is built
    over `id` order by the audit log's sequencer.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_subject", "subject_pseudonym", "id"),
        Index("ix_audit_entries_actor", "actor_agency_id", "id"),
        Index("ix_audit_entries_message", "message_id"),
        Index("ix_audit_entries_seq", "seq", unique=True),
        Index("ix_audit_entries_recipient", "recipient_agency_id", "seq"),
        Index("ix_audit_entries_action", "action", "seq"),
        Index("ix_audit_entries_recorded", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    # The entry's place in the log (and leaf index in the tree): gap-free, in commit order.
    seq: Mapped[int] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    action: Mapped[str] = mapped_column(String(40))
    actor_agency_id: Mapped[str | None] = mapped_column(String(64))
    recipient_agency_id: Mapped[str | None] = mapped_column(String(64))
    subject_pseudonym: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(36))
    decision: Mapped[str | None] = mapped_column(String(10))
    request_id: Mapped[str | None] = mapped_column(String(64))
    entry: Mapped[str] = mapped_column(Text)


class AuditNode(Base):
    """One perfect subtree of the audit log's Merkle tree: the hash of leaves
    [idx * 2**level, (idx + 1) * 2**level). Level 0 holds the leaf hashes."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditKey(Base):
    """A checkpoint-signing key (Ed25519); the private half sealed under the master key. The
    newest signs; older ones stay to verify the checkpoints they signed."""

    __tablename__ = "audit_keys"

    key_id: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_key_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditCheckpoint(Base):
    """A signed tree head (C2SP tlog-checkpoint as a signed note)."""

    __tablename__ = "audit_checkpoints"
    __table_args__ = (Index("ix_audit_checkpoints_size", "tree_size", unique=True),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditVerification(Base):
    """One run of `hub audit verify`: what it checked and what it found."""

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    verified_at: Mapped[datetime] = mapped_column(UtcDateTime())
    tree_size: Mapped[int] = mapped_column(BigInteger)
    ok: Mapped[bool] = mapped_column(Boolean)
    detail: Mapped[str] = mapped_column(Text)
    verified_by: Mapped[str] = mapped_column(String(200))


class ConsentRecord(Base):
    """A person's consent to sharing, held by the hub for every agency (modelled on FHIR Consent:
    grantor the person, grantee the recipients, scope the purposes, period, provisions denying
    some recipients). The evidence reference is sealed under the person's data key; the scope
    (agency kinds or ids, purpose codes) is not personal data and stays searchable."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_subject", "subject_id", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    status: Mapped[str] = mapped_column(String(12))  # active | withdrawn
    given_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    recipients: Mapped[list[str]] = mapped_column(JSON)
    purposes: Mapped[list[str]] = mapped_column(JSON)
    data_classes: Mapped[list[str]] = mapped_column(JSON)
    exclusions: Mapped[list[str]] = mapped_column(JSON)
    evidence_enc: Mapped[bytes] = mapped_column(LargeBinary)  # {documentRef, sha256}, sealed
    recorded_by_agency: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(64))  # client id or user id
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    withdrawn_by_agency: Mapped[str | None] = mapped_column(String(64))

    # Never read (lazy="raise"): declared so that one flush inserts the person first.
    _subject: Mapped[Subject] = relationship(lazy="raise")


class OverrideReview(Base):
    """A disclosure made on a public-protection override, waiting for (or with) an IG officer's
    review. The justification is sealed under the person's data key (it may name people)."""

    __tablename__ = "override_reviews"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"), index=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subjects.id"))
    sender_agency_id: Mapped[str] = mapped_column(String(64))
    recipient_agency_id: Mapped[str] = mapped_column(String(64))
    message_type: Mapped[str] = mapped_column(String(40))
    justification_enc: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending | justified | unjustified
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(36))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    # Never read (lazy="raise"): declared so that one flush inserts the message first.
    _message: Mapped[Message] = relationship(lazy="raise")
    _subject: Mapped[Subject] = relationship(lazy="raise")
