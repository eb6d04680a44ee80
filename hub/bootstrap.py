"""The composition root: every component the app, the CLI and the workers use, built from Settings.

Nothing here runs at import; `build(settings)` connects and loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from audit.note import NoteError, Verifier
from hub import logs
from hub.domain.vocab import AgencyKind, MessageType, Purpose
from hub.security.crypto import KeyRing
from hub.security.keys import SigningKeys
from hub.security.tokens import TokenService
from hub.services.alerts import ReconvictionAlerts
from hub.services.audit import AuditLog
from hub.services.audit_search import AuditSearch
from hub.services.caseload import Caseload
from hub.services.clients import ClientStatus
from hub.services.consents import ConsentRegister
from hub.services.documents import DocumentService
from hub.services.identity import Identity
from hub.services.inbox import InboxService
from hub.services.live import Notifier, PollingNotifier, RedisNotifier
from hub.services.messages import MessageService
from hub.services.outbox import (
    LiveRelay,
    Outbox,
    RelayThread,
    WebhookRelay,
    newest_deliveries,
)
from hub.services.outcomes import OutcomeFigures
from hub.services.overrides import OverrideReviews
from hub.services.records import SubjectRecords
from hub.services.registry import Registry
from hub.services.signin import SignInService
from hub.services.subjects import SubjectDirectory
from hub.services.transparency import Integrator, TransparencyLog
from hub.services.webhooks import Webhooks
from hub.settings import ConfigError, Settings
from hub.store.db import Database
from hub.store.ephemeral import EphemeralStore, RedisEphemeralStore, SqlEphemeralStore
from policies.engine import Agreements


@dataclass
class Services:
    settings: Settings
    db: Database
    keyring: KeyRing
    ephemeral: EphemeralStore
    audit: AuditLog
    signing_keys: SigningKeys
    tokens: TokenService
    policy: Agreements
    registry: Registry
    identity: Identity
    records: SubjectRecords
    consents: ConsentRegister
    messages: MessageService
    documents: DocumentService
    subjects: SubjectDirectory
    overrides: OverrideReviews
    inbox: InboxService
    signin: SignInService
    clients: ClientStatus
    transparency: TransparencyLog
    audit_search: AuditSearch
    outbox: Outbox
    notifier: Notifier
    webhooks: Webhooks
    caseload: Caseload
    outcomes: OutcomeFigures | None = None
    integrator: Integrator | None = None
    relays: list[RelayThread] = field(default_factory=list)

    def start_background(self) -> None:
        """What a serving process runs beside its requests: the audit log's integrator, the
        outbox's relays (live notices, webhooks) and the live notices from other processes."""
        if self.integrator is None:
            self.integrator = Integrator(self.transparency, self.settings.audit_max_merge_delay)
            self.integrator.start()
        if not self.relays:
            self.notifier.start()
            live = RelayThread("hub-live-relay", LiveRelay(self.db, self.notifier).run_once)
            self.outbox.on_commit(live.nudge)
            self.relays = [live, RelayThread("hub-webhook-relay", self.webhook_relay().run_once)]
            for relay in self.relays:
                relay.start()

    def webhook_relay(self) -> WebhookRelay:
        return WebhookRelay(
            self.db,
            self.webhooks.send,
            self.webhooks.record,
            max_attempts=self.settings.webhook_max_attempts,
            retry_base=self.settings.webhook_retry_base,
            lease=self.settings.outbox_lease,
        )

    def close(self) -> None:
        if self.integrator is not None:
            self.integrator.stop()
        for relay in self.relays:
            relay.stop()
        self.notifier.stop()
        self.db.dispose()


def load_policy(settings: Settings) -> Agreements:
    return Agreements.load(
        settings.policy_dir,
        message_types=[t.value for t in MessageType],
        purposes=[p.value for p in Purpose],
        agency_kinds=[k.value for k in AgencyKind],
    )


def _verifier_keys(settings: Settings) -> list[Verifier]:
    try:
        return [Verifier.parse(k) for k in settings.audit_verifier_keys]
    except NoteError as error:
        raise ConfigError(f"HUB_AUDIT_VERIFIER_KEYS: {error}") from None


def build(
    settings: Settings, *, db: Database | None = None, policy: Agreements | None = None
) -> Services:
    db = db or Database(settings.database_url)
    keyring = KeyRing(settings.master_key)
    ephemeral: EphemeralStore = (
        RedisEphemeralStore(settings.redis_url) if settings.redis_url else SqlEphemeralStore(db)
    )
    audit = AuditLog(keyring)
    signing_keys = SigningKeys(db, keyring, settings.access_token_ttl)
    tokens = TokenService(
        signing_keys,
        issuer=settings.issuer,
        audience=settings.audience,
        ttl=settings.access_token_ttl,
        leeway=settings.clock_leeway,
    )
    policy = policy or load_policy(settings)
    for agreement, days in policy.reviews_due():
        # An operator's log line, no personal data: which agreement needs governance's review.
        logs.get_logger("hub.policy").warning(
            "policy.review_due",
            agreement=agreement.id,
            review_date=agreement.review_date.isoformat(),
            days_left=days,
            detail="past its review date: permits nothing" if days < 0 else "review soon",
        )
    identity = Identity(keyring, audit)
    records = SubjectRecords(identity, audit)
    consents = ConsentRegister(audit, identity)
    outbox = Outbox()
    notifier: Notifier = (
        RedisNotifier(settings.redis_url)
        if settings.redis_url
        else PollingNotifier(lambda after: newest_deliveries(db, after))
    )
    messages = MessageService(db, audit, identity, policy, records, consents, outbox)
    inbox = InboxService(db, audit, identity)
    clients = ClientStatus(db)
    alerts = ReconvictionAlerts(identity, messages, records)
    messages.alerts = alerts
    subjects = SubjectDirectory(db, audit, identity, messages, records, consents, alerts)
    return Services(
        settings=settings,
        db=db,
        keyring=keyring,
        ephemeral=ephemeral,
        audit=audit,
        signing_keys=signing_keys,
        tokens=tokens,
        policy=policy,
        registry=Registry(audit),
        identity=identity,
        records=records,
        messages=messages,
        consents=consents,
        documents=DocumentService(
            db,
            audit,
            identity,
            messages,
            records,
            consents,
            alerts,
        ),
        subjects=subjects,
        overrides=OverrideReviews(db, audit, identity),
        inbox=inbox,
        signin=SignInService(
            db,
            audit,
            ephemeral,
            max_failures=settings.signin_max_failures,
            window=settings.signin_window,
            session_ttl=settings.session_ttl,
        ),
        clients=clients,
        transparency=TransparencyLog(
            db, keyring, settings.audit_origin, audit, pinned=_verifier_keys(settings)
        ),
        audit_search=AuditSearch(db, audit, identity),
        outcomes=OutcomeFigures(
            db,
            identity,
            baseline=settings.outcome_baseline,
            min_count=settings.outcome_min_count,
        ),
        outbox=outbox,
        notifier=notifier,
        caseload=Caseload(db, audit, identity, messages, records, subjects),
        webhooks=Webhooks(
            db, audit, keyring, inbox, allow_http=settings.webhook_allow_http, clients=clients
        ),
    )
