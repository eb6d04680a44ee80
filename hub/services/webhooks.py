"""Webhook subscriptions and sends, signed as Standard Webhooks (the `standardwebhooks` package).

An agency registers an endpoint (`POST /v1/subscriptions`); the hub generates its signing secret
(`whsec_...`, shown once, kept sealed) and from then on every delivery to the agency is POSTed
there through the outbox (`hub.services.outbox`): `webhook-id` is the delivery's id (the same on
every retry, with the same body, so receivers de-duplicate by it), `webhook-timestamp` and
`webhook-signature` as the specification says. A send is a disclosure: each attempt is an audit
entry naming the message, the fields, the agreement, the HTTP status and what happens next.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from audit.entry import Actor
from hub.domain.callers import Caller, is_uuid, iso
from hub.domain.errors import BadRequest, NotFound, ValidationFailed
from hub.domain.vocab import AuditAction, MessageType
from hub.security.crypto import KeyRing
from hub.services.audit import AuditLog
from hub.services.clients import ClientStatus
from hub.services.inbox import InboxService, decode_cursor
from hub.services.outbox import CANCELLED, DEAD, PENDING, SENT, WEBHOOK, Claim
from hub.store.db import Database
from hub.store.models import Delivery, Message, OutboxItem, Subject, Subscription

RELAY_ACTOR = Actor(client="hub-relay")
MAX_SUBSCRIPTIONS = 10  # per agency
MAX_REPLAY = 10_000  # deliveries one replay may queue
CONNECT_TIMEOUT, READ_TIMEOUT = 5, 10
EVENT_TYPE = "inbox.delivery"
NOT_SENT = "not sent: "  # a detail that says no request left the hub


class Webhooks:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        keyring: KeyRing,
        inbox: InboxService,
        *,
        allow_http: bool,
        clients: ClientStatus | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self._clients = clients
        self._db = db
        self._audit = audit
        self._keyring = keyring
        self._inbox = inbox
        self._allow_http = allow_http
        self._http = session or requests.Session()

    # -- the subscriber's API ---------------------------------------------------------------------

    def create(self, caller: Caller, url: Any, types: Any) -> dict[str, Any]:
        url = self._check_url(url)
        wanted = _types(types)
        secret = "whsec_" + _b64(secrets.token_bytes(32))
        subscription_id = str(uuid.uuid4())
        with self._db.transaction() as session:
            live = session.scalar(
                select(func.count())
                .select_from(Subscription)
                .where(
                    Subscription.agency_id == caller.agency_id, Subscription.deleted_at.is_(None)
                )
            )
            if (live or 0) >= MAX_SUBSCRIPTIONS:
                raise BadRequest(
                    f"an agency may have at most {MAX_SUBSCRIPTIONS} subscriptions; delete one first"
                )
            subscription = Subscription(
                id=subscription_id,
                agency_id=caller.agency_id,
                client_id=caller.client_id,
                url=url,
                secret_enc=self._keyring.seal_secret(
                    _secret_name(subscription_id), secret.encode()
                ),
                types=wanted,
                created_at=datetime.now(UTC),
            )
            session.add(subscription)
            self._audit.record(
                session,
                AuditAction.SUBSCRIPTION_CREATED,
                actor=caller.actor,
                request_id=caller.request_id,
                recipient=caller.agency_id,
                reasons=(f"subscription:{subscription_id}",),
            )
            body = self._describe(session, subscription)
        # The secret is shown once, here; the hub keeps it sealed and never shows it again.
        return {**body, "secret": secret}

    def list(self, caller: Caller) -> list[dict[str, Any]]:
        with self._db.transaction(readonly=True) as session:
            return [
                self._describe(session, s)
                for s in session.scalars(
                    select(Subscription)
                    .where(
                        Subscription.agency_id == caller.agency_id,
                        Subscription.deleted_at.is_(None),
                    )
                    .order_by(Subscription.created_at, Subscription.id)
                )
            ]

    def get(self, caller: Caller, subscription_id: str) -> dict[str, Any]:
        with self._db.transaction(readonly=True) as session:
            return self._describe(session, self._find(session, caller, subscription_id))

    def delete(self, caller: Caller, subscription_id: str) -> None:
        with self._db.transaction() as session:
            subscription = self._find(session, caller, subscription_id)
            now = datetime.now(UTC)
            subscription.deleted_at = now
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.subscription_id == subscription.id, OutboxItem.state == PENDING)
                .values(state=CANCELLED, done_at=now)
            )
            self._audit.record(
                session,
                AuditAction.SUBSCRIPTION_DELETED,
                actor=caller.actor,
                request_id=caller.request_id,
                recipient=caller.agency_id,
                reasons=(f"subscription:{subscription.id}",),
            )

    def replay(self, caller: Caller, subscription_id: str, after: Any) -> dict[str, Any]:
        """Send again: with `after` (an inbox cursor or event cursor), every delivery since that
        position; without it, every dead-lettered send. Each is queued at the end, in order."""
        if after is not None and not isinstance(after, str):
            raise ValidationFailed(
                "after must be a cursor string", errors={"after": ["not a string"]}
            )
        position = decode_cursor(after) if after else None
        now = datetime.now(UTC)
        with self._db.transaction() as session:
            subscription = self._find(session, caller, subscription_id)
            if position is None:
                dead = session.execute(
                    select(OutboxItem.delivery_id)
                    .where(OutboxItem.subscription_id == subscription.id, OutboxItem.state == DEAD)
                    .order_by(OutboxItem.id)
                    .limit(MAX_REPLAY)
                ).all()
                deliveries = [row[0] for row in dead]
            else:
                query = (
                    select(Delivery.public_id, Message.type)
                    .join(Message, Message.id == Delivery.message_id)
                    .where(
                        Delivery.recipient_agency_id == caller.agency_id,
                        Delivery.id > position,
                    )
                    .order_by(Delivery.id)
                    .limit(MAX_REPLAY)
                )
                deliveries = [
                    public_id
                    for public_id, message_type in session.execute(query)
                    if not subscription.types or message_type in subscription.types
                ]
            if position is None and deliveries:
                session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.subscription_id == subscription.id, OutboxItem.state == DEAD)
                    .where(OutboxItem.delivery_id.in_(deliveries))
                    .values(state=CANCELLED)
                )
            for delivery_id in deliveries:
                session.add(
                    OutboxItem(
                        delivery_id=delivery_id,
                        channel=WEBHOOK,
                        subscription_id=subscription.id,
                        state=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
            self._audit.record(
                session,
                AuditAction.SUBSCRIPTION_REPLAYED,
                actor=caller.actor,
                request_id=caller.request_id,
                recipient=caller.agency_id,
                reasons=(
                    f"subscription:{subscription.id}",
                    f"queued:{len(deliveries)}",
                    "dead-lettered" if position is None else f"after:{position}",
                ),
            )
        return {"queued": len(deliveries), "more": len(deliveries) == MAX_REPLAY}

    # -- the relay's side -------------------------------------------------------------------------

    def send(self, claim: Claim) -> tuple[bool, int | None, str]:
        """POST one delivery to its subscription, signed; (delivered?, HTTP status, detail)."""
        with self._db.transaction(readonly=True) as session:
            row = session.execute(
                select(Delivery, Message, Subject, Subscription, OutboxItem.state)
                .join(Message, Message.id == Delivery.message_id)
                .join(Subject, Subject.id == Message.subject_id)
                .join(Subscription, Subscription.id == claim.subscription_id)
                .join(OutboxItem, OutboxItem.id == claim.row_id)
                .where(Delivery.public_id == claim.delivery_id)
            ).one()
            delivery, message, subject, subscription, state = row
            # Deleted (or its row cancelled) since the claim: nothing is sent.
            if subscription.deleted_at is not None or state != PENDING:
                return False, None, NOT_SENT + "subscription deleted"
            event, disclosed = self._inbox.event(session, delivery, message, subject)
            secret = self._keyring.open_secret(
                _secret_name(subscription.id), subscription.secret_enc
            ).decode()
        claim.meta = {
            "subject": self._audit.pseudonym(subject.id),
            "message_id": message.id,
            "message_type": message.type,
            "recipient": delivery.recipient_agency_id,
            "agreement_id": delivery.agreement_id or None,
            "agreement_version": delivery.agreement_version or None,
            "fields": disclosed,
        }
        body = json.dumps(
            {"type": EVENT_TYPE, "timestamp": event["receivedAt"], "data": event},
            separators=(",", ":"),
            sort_keys=True,
        )
        # A subscription whose client was disabled sends nothing (its sends wait, then
        # dead-letter): revoking a client stops its data leaving by webhook too.
        if self._clients is not None and not self._clients.is_active(subscription.client_id):
            return False, None, NOT_SENT + "client disabled"
        problem = None if self._allow_http else unsafe_target(subscription.url)
        if problem:
            return False, None, NOT_SENT + problem
        now = datetime.now(UTC)
        headers = {
            "content-type": "application/json",
            "user-agent": "justice-hub-webhooks/1",
            "webhook-id": delivery.public_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(delivery.public_id, now, body),
        }
        response = self._http.post(
            subscription.url,
            data=body.encode(),
            headers=headers,
            timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            allow_redirects=False,
            stream=True,  # the status is the answer: the body is never read
        )
        response.close()
        ok = 200 <= response.status_code < 300
        return ok, response.status_code, f"HTTP {response.status_code}"

    def record(
        self,
        session: Session,
        claim: Claim,
        delivered: bool,
        status: int | None,
        detail: str,
        outcome: str,
    ) -> None:
        meta = claim.meta
        if not meta:  # nothing was read or sent (deleted, client disabled, unsafe target)
            meta = {"recipient": None, "fields": ()}
        self._audit.record(
            session,
            AuditAction.WEBHOOK_ATTEMPTED,
            actor=RELAY_ACTOR,
            subject=meta.get("subject"),
            message_id=meta.get("message_id"),
            message_type=meta.get("message_type"),
            recipient=meta.get("recipient"),
            agreement_id=meta.get("agreement_id"),
            agreement_version=meta.get("agreement_version"),
            # Fields reached the receiver only when it answered 2xx (it may have read them on
            # a failed attempt too; the fields and the outcome say which).
            fields=() if detail.startswith(NOT_SENT) else tuple(meta.get("fields", ())),
            status=status,
            reasons=(
                f"subscription:{claim.subscription_id}",
                f"attempt:{claim.attempts + 1}",
                outcome,
                detail[:100],
            ),
        )

    # -- helpers ----------------------------------------------------------------------------------

    def _find(self, session: Session, caller: Caller, subscription_id: str) -> Subscription:
        found = session.get(Subscription, subscription_id) if is_uuid(subscription_id) else None
        # Another agency's subscription answers exactly as one that does not exist.
        if found is None or found.agency_id != caller.agency_id or found.deleted_at is not None:
            raise NotFound("no such subscription")
        return found

    def _describe(self, session: Session, subscription: Subscription) -> dict[str, Any]:
        counts = dict(
            session.execute(
                select(OutboxItem.state, func.count())
                .where(OutboxItem.subscription_id == subscription.id)
                .group_by(OutboxItem.state)
            ).all()
        )
        return {
            "id": subscription.id,
            "url": subscription.url,
            "types": subscription.types,
            "createdAt": iso(subscription.created_at),
            "sends": {state: counts.get(state, 0) for state in (PENDING, SENT, DEAD)},
        }

    def _check_url(self, url: Any) -> str:
        if not isinstance(url, str) or not url or len(url) > 2000:
            raise ValidationFailed(
                "url is required (at most 2,000 characters)", errors={"url": ["required"]}
            )
        parts = urlsplit(url)
        problem = None
        if parts.scheme not in ("https", "http") or not parts.hostname:
            problem = "must be an absolute https URL"
        elif parts.scheme == "http" and not (self._allow_http and _loopback(parts.hostname)):
            problem = "must use https (plain http only to this machine, and only in demo or test)"
        elif parts.username or parts.password:
            problem = "must not carry credentials"
        elif parts.fragment:
            problem = "must not have a fragment"
        if not problem and not self._allow_http:
            problem = unsafe_target(url)
        if problem:
            raise ValidationFailed(f"url {problem}", errors={"url": [problem]})
        return url


def unsafe_target(url: str) -> str | None:
    """Why the hub must not POST there, or None: a webhook may not reach the hub's own network
    (loopback, private, link-local such as cloud metadata, shared, multicast or reserved
    addresses), checked on every address the name resolves to, at creation and at each send."""
    parts = urlsplit(url)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return "must name a host that resolves"
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            return "must not point at a private, loopback, link-local or reserved address"
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _types(types: Any) -> list[str]:
    if types is None:
        return []
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise ValidationFailed(
            "types must be a list of message type names", errors={"types": ["not a list"]}
        )
    known = {t.value for t in MessageType}
    # The CloudEvent type (uk.gov.justice.hub.referral.v1) names the same as its short name.
    types = [found.value if (found := MessageType.from_ce_type(t)) else t for t in types]
    unknown = sorted(set(types) - known)
    if unknown:
        raise ValidationFailed(
            f"unknown message types: {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            errors={"types": ["unknown type"]},
        )
    return sorted(set(types))


def _secret_name(subscription_id: str) -> str:
    return f"webhook:{subscription_id}"


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode()
