"""Reading the audit log: searching it, one entry, a person's disclosures. The API
(`/v1/audit/entries`), the IG pages and `hub audit export` all read through here, and every read
is itself an `audit.read` entry (what was asked, never the identifier asked about: the person
appears as the log's keyed pseudonym, like everywhere else in it).

`everyone` readers (the `audit:read` scope, IG officers) see every entry; anyone else sees only
the entries of their own agency's actions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from audit.entry import Actor, format_time
from audit.verify import header, line
from hub.domain.errors import NotFound
from hub.domain.messages import SubjectRef
from hub.domain.vocab import AuditAction
from hub.services.audit import AuditLog
from hub.services.identity import Identity
from hub.services.transparency import (
    BATCH,
    EntryFilter,
    TransparencyLog,
    count_entries,
    find_entries,
)
from hub.store.db import Database
from hub.store.models import AuditEntry

FILTERS = ("person", "agency", "action", "decision", "message", "since", "until")


@dataclass(frozen=True)
class AuditQuery:
    person: SubjectRef | None = None
    agency: str | None = None
    action: str | None = None
    decision: str | None = None
    message_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    disclosures: bool = False  # only decisions about a recipient (permitted or refused)
    party: str | None = None  # only entries this agency acted in or received

    def named(self) -> tuple[str, ...]:
        """The filters used, by name (what the audit entry of the read records)."""
        values = (
            self.person,
            self.agency,
            self.action,
            self.decision,
            self.message_id,
            self.since,
            self.until,
        )
        used = tuple(f"filter:{n}" for n, v in zip(FILTERS, values, strict=True) if v)
        return used + (("filter:disclosures",) if self.disclosures else ())


@dataclass(frozen=True)
class Reader:
    """Who reads: the entry's actor, and whether they may see every agency's entries."""

    actor: Actor
    request_id: str | None
    everyone: bool

    @property
    def own_agency(self) -> str | None:
        return None if self.everyone else self.actor.agency


@dataclass(frozen=True)
class Page:
    items: list[tuple[int, str]]  # (seq, canonical JSON)
    next: int | None  # the cursor for the following page
    person_known: bool = True


class AuditSearch:
    def __init__(self, db: Database, audit: AuditLog, identity: Identity) -> None:
        self._db = db
        self._audit = audit
        self._identity = identity

    def _person(self, session: Session, ref: SubjectRef) -> tuple[str | None, tuple[str, ...]]:
        """The person's hub id (after merges) and every record merged into it."""
        holder = self._identity.find(session, ref)
        if holder is None:
            return None, ()
        root = self._identity.root(session, holder)
        return root.id, tuple(self._identity.members(session, root.id))

    def search(
        self,
        reader: Reader,
        query: AuditQuery,
        *,
        after: int | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> Page:
        # Searched in a read-only transaction (on SQLite a write transaction would hold the
        # single writer's lock for the whole search); the read is recorded, and committed,
        # before anything is returned.
        with self._db.transaction(readonly=True) as session:
            root_id, ids = self._person(session, query.person) if query.person else (None, ())
            where = self._filter(query, ids, reader)
            found = find_entries(
                session, self._audit.pseudonym, where, after, limit + 1, newest_first=newest_first
            )
        page = found[:limit]
        self._record_read(reader, self._subject(root_id), query.named())
        more = len(found) > limit and bool(page)
        return Page(page, page[-1][0] if more else None, person_known=root_id is not None)

    def collect(self, reader: Reader, query: AuditQuery, cap: int) -> tuple[Page, bool]:
        """Every matching entry, newest first, up to `cap` (a download), as one audited read;
        and whether the cap cut it short."""
        items: list[tuple[int, str]] = []
        with self._db.transaction(readonly=True) as session:
            root_id, ids = self._person(session, query.person) if query.person else (None, ())
            where = self._filter(query, ids, reader)
            after: int | None = None
            while len(items) <= cap:
                batch = find_entries(
                    session, self._audit.pseudonym, where, after, BATCH, newest_first=True
                )
                items += batch
                if len(batch) < BATCH:
                    break
                after = batch[-1][0]
        self._record_read(reader, self._subject(root_id), (*query.named(), "download"))
        return Page(items[:cap], None, person_known=root_id is not None), len(items) > cap

    def entry(self, reader: Reader, seq: int) -> str | None:
        """One entry's canonical JSON, or None when there is none the reader may see."""
        with self._db.transaction(readonly=True) as session:
            query = select(AuditEntry.entry).where(AuditEntry.seq == seq)
            if reader.own_agency:
                query = query.where(AuditEntry.actor_agency_id == reader.own_agency)
            entry = session.scalar(query)
        if entry is not None:
            subject = json.loads(entry).get("subject")
            self._record_read(reader, subject, (f"entry:{seq}",))
        return entry

    def _subject(self, root_id: str | None) -> str | None:
        return self._audit.pseudonym(root_id) if root_id else None

    def export(
        self, handle: TextIO, log: TransparencyLog, reader: Reader, query: AuditQuery
    ) -> int:
        """Write an export (`audit.verify`'s format) of the matching entries the newest
        checkpoint covers: without filters every entry (the verifier rebuilds the root), with
        filters each entry with its inclusion proof. Returns how many entries were written."""
        head = log.integrate()
        complete = query == AuditQuery() and reader.everyone
        with self._db.transaction(readonly=True) as session:
            root_id, ids = self._person(session, query.person) if query.person else (None, ())
        if query.person and root_id is None:
            raise NotFound("the hub knows no one by that identifier")
        self._record_read(
            reader, self._subject(root_id), (*query.named(), "export"), AuditAction.AUDIT_EXPORTED
        )
        where = self._filter(query, ids, reader, below=head.size)
        with self._db.transaction(readonly=True) as session:
            count = session.scalar(count_entries(self._audit.pseudonym, where)) or 0
        handle.write(
            header(
                log.origin,
                head.note,
                log.verifiers(),
                head.size,
                complete,
                count,
                exportedAt=format_time(datetime.now(UTC)),
                filters=list(query.named()),
            )
            + "\n"
        )
        after: int | None = None
        while True:
            with self._db.transaction(readonly=True) as session:
                batch = find_entries(session, self._audit.pseudonym, where, after, BATCH)
            proofs = (
                [None] * len(batch)
                if complete
                else log.inclusions([seq for seq, _ in batch], head.size)
            )
            for (seq, entry), proof in zip(batch, proofs, strict=True):
                handle.write(line(seq, entry, proof) + "\n")
            if len(batch) < BATCH:
                return count
            after = batch[-1][0]

    @staticmethod
    def _filter(
        query: AuditQuery, ids: tuple[str, ...], reader: Reader, below: int | None = None
    ) -> EntryFilter:
        own_agency, party = reader.own_agency, query.party
        if own_agency and party:
            # A reader limited to its own agency asking for the entries it is a party to (its
            # disclosures, sent or received) rather than those of its own actions.
            if party != own_agency:
                raise ValueError("a reader limited to its own agency reads only that agency's")
            own_agency = None
        return EntryFilter(
            subject_ids=ids if query.person else None,
            agency=query.agency,
            action=query.action,
            decision=query.decision,
            message_id=query.message_id,
            since=query.since,
            until=query.until,
            own_agency=own_agency,
            party=party,
            disclosures=query.disclosures,
            below=below,
        )

    def _record_read(
        self,
        reader: Reader,
        subject: str | None,
        reasons: tuple[str, ...],
        action: AuditAction = AuditAction.AUDIT_READ,
    ) -> None:
        """Record a read of the log in its own short transaction (the person as the log's
        pseudonym, the filters by name)."""
        with self._db.transaction() as session:
            self._audit.record(
                session,
                action,
                actor=reader.actor,
                request_id=reader.request_id,
                subject=subject,
                scope="audit:read" if reader.everyone else "own-agency",
                reasons=reasons,
            )
