"""Identity resolution: one subject per person across PNC, CRO, CRN and prison numbers.

A record is resolved by its strong identifiers first (validated and canonical, so equal means
equal). Identifiers the hub has not seen are linked to the person the others name. Without a
known identifier the person's name, date of birth and postcode are scored against the people
who share that date of birth (`hub.domain.matching`): a confident single match resolves; a weak
or ambiguous one creates a provisional subject and an identity review, and whatever arrives for
it is held (never delivered, never an alert) until a person decides. Identifiers that name two
different people are a conflict, reviewed the same way.

Merging points one subject at another; unmerging clears the pointer. Identifiers, messages and
records stay with the subject they arrived for, so look-ups follow the pointer to the root and an
unmerge puts everything back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from audit.entry import Actor
from hub.domain.errors import Conflict, NotFound
from hub.domain.matching import AUTO_MATCH, REVIEW, Details, score
from hub.domain.messages import SubjectRef
from hub.domain.vocab import AuditAction, SubjectScheme
from hub.security.crypto import KeyRing, keyed_digest, open_sealed, seal
from hub.services.audit import AuditLog
from hub.store.models import IdentityReview, Message, Subject, SubjectIdentifier, SubjectTrait

ACTIVE, PROVISIONAL = "active", "provisional"
PENDING, MERGED, SEPARATE = "pending", "merged", "separate"


@dataclass(frozen=True)
class Resolution:
    subject: Subject  # where the record is stored (the subject its identifiers belong to)
    root_id: str  # the person it is about, after merges
    how: str  # "identifier" | "details" | "new" | "held"
    score: float | None = None
    review_id: str | None = None  # set when the record waits for an identity review
    created: bool = False  # the subject was created for this record


@dataclass(frozen=True)
class Candidate:
    subject_id: str
    score: float
    # The candidate itself (its root), and whether it is a provisional person (someone who
    # arrived earlier and still waits for their own review).
    root: Subject | None = field(default=None, compare=False, repr=False)
    provisional: bool = False


@dataclass
class _Batch:
    """What one transaction has learnt, so a document of thousands of records asks the database
    once per chunk instead of once per record, and sees its own records before they are flushed.
    Only merges change these mappings, and a document never merges."""

    holders: dict[tuple[str, str], Subject | None] = field(default_factory=dict)
    refs_of: dict[str, list[SubjectRef]] = field(default_factory=dict)
    members_of: dict[str, list[str]] = field(default_factory=dict)
    # date-of-birth key -> (subject, digest of details, details)
    traits: dict[str, list[tuple[Subject, str, Details]]] = field(default_factory=dict)
    reviews: dict[str, IdentityReview] = field(default_factory=dict)  # subject -> pending review


_BATCH = "hub.identity.batch"
_CHUNK = 500


class Identity:
    def __init__(self, keyring: KeyRing, audit: AuditLog) -> None:
        self._keyring = keyring
        self._audit = audit

    # -- look-ups -------------------------------------------------------------------------------

    def root(self, session: Session, subject: Subject) -> Subject:
        seen = {subject.id}
        while subject.merged_into is not None:
            parent = session.get(Subject, subject.merged_into)
            if parent is None or parent.id in seen:  # cannot happen through merge(); be safe
                break
            seen.add(parent.id)
            subject = parent
        return subject

    def find(self, session: Session, ref: SubjectRef) -> Subject | None:
        """The subject holding `ref` (not following merges)."""
        if ref.scheme is SubjectScheme.HUB:
            return session.get(Subject, ref.value)
        batch: _Batch | None = session.info.get(_BATCH)
        key = (ref.scheme.value, ref.value)
        if batch is not None and key in batch.holders:
            return batch.holders[key]
        found = session.scalar(
            select(Subject)
            .join(SubjectIdentifier, SubjectIdentifier.subject_id == Subject.id)
            .where(
                SubjectIdentifier.scheme == ref.scheme.value, SubjectIdentifier.value == ref.value
            )
        )
        if batch is not None:
            batch.holders[key] = found
        return found

    # -- batches (documents) ----------------------------------------------------------------------

    def begin_batch(self, session: Session) -> None:
        """Remember what this transaction finds and links (see `_Batch`)."""
        session.info[_BATCH] = _Batch()

    def prefetch(
        self, session: Session, refs: Iterable[SubjectRef], births: Iterable[date]
    ) -> None:
        """Look up a chunk's identifiers and candidates' details in a few queries."""
        batch: _Batch | None = session.info.get(_BATCH)
        if batch is None:
            return
        wanted: dict[str, set[str]] = {}
        for ref in refs:
            if (
                ref.scheme is not SubjectScheme.HUB
                and (ref.scheme.value, ref.value) not in batch.holders
            ):
                wanted.setdefault(ref.scheme.value, set()).add(ref.value)
        for scheme, values in wanted.items():
            ordered = sorted(values)
            for start in range(0, len(ordered), _CHUNK):
                chunk = ordered[start : start + _CHUNK]
                for value, subject in session.execute(
                    select(SubjectIdentifier.value, Subject)
                    .join(Subject, Subject.id == SubjectIdentifier.subject_id)
                    .where(SubjectIdentifier.scheme == scheme, SubjectIdentifier.value.in_(chunk))
                ).all():
                    batch.holders[(scheme, value)] = subject
                for value in chunk:
                    batch.holders.setdefault((scheme, value), None)
        keys = sorted({self._dob_key(b.isoformat()) for b in births} - batch.traits.keys())
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            for key in chunk:
                batch.traits[key] = []
            for trait, subject in session.execute(
                select(SubjectTrait, Subject)
                .join(Subject, Subject.id == SubjectTrait.subject_id)
                .where(SubjectTrait.dob_key.in_(chunk))
                .order_by(SubjectTrait.id)
            ).all():
                batch.traits[trait.dob_key].append(
                    (subject, trait.details_digest, self._open_trait(subject, trait))
                )

    def _traits(self, session: Session, dob_key: str) -> list[tuple[Subject, str, Details]]:
        batch: _Batch | None = session.info.get(_BATCH)
        if batch is not None and dob_key in batch.traits:
            return batch.traits[dob_key]
        found = [
            (subject, trait.details_digest, self._open_trait(subject, trait))
            for trait, subject in session.execute(
                select(SubjectTrait, Subject)
                .join(Subject, Subject.id == SubjectTrait.subject_id)
                .where(SubjectTrait.dob_key == dob_key)
                .order_by(SubjectTrait.id)
            ).all()
        ]
        if batch is not None:
            batch.traits[dob_key] = found
        return found

    def _known_refs(self, session: Session, root_id: str) -> list[SubjectRef]:
        """The identifiers of a person (everyone merged into them), including this batch's."""
        batch: _Batch | None = session.info.get(_BATCH)
        members = self.members(session, root_id)
        if batch is None:
            return self.identifiers(session, members)
        for member in members:
            if member not in batch.refs_of:
                batch.refs_of[member] = self.identifiers(session, [member])
        return [ref for member in members for ref in batch.refs_of[member]]

    def members(self, session: Session, root_id: str) -> list[str]:
        """Every subject merged (directly or not) into `root_id`, with the root first."""
        batch: _Batch | None = session.info.get(_BATCH)
        if batch is not None and root_id in batch.members_of:
            return batch.members_of[root_id]
        found = self._members(session, root_id)
        if batch is not None:
            batch.members_of[root_id] = found
        return found

    def _members(self, session: Session, root_id: str) -> list[str]:
        members, frontier = [root_id], [root_id]
        while frontier:
            children = session.scalars(
                select(Subject.id).where(Subject.merged_into.in_(frontier))
            ).all()
            frontier = [c for c in children if c not in members]
            members.extend(frontier)
        return members

    def identifiers(self, session: Session, subject_ids: Sequence[str]) -> list[SubjectRef]:
        rows = session.execute(
            select(SubjectIdentifier.scheme, SubjectIdentifier.value)
            .where(SubjectIdentifier.subject_id.in_(subject_ids))
            .order_by(SubjectIdentifier.scheme, SubjectIdentifier.value)
        ).all()
        return [SubjectRef(SubjectScheme(scheme), value) for scheme, value in rows]

    def details(self, session: Session, subject_ids: Sequence[str]) -> list[Details]:
        """The details agencies gave for these subjects (for the review page; never logged)."""
        found = []
        for trait in session.scalars(
            select(SubjectTrait)
            .where(SubjectTrait.subject_id.in_(subject_ids))
            .order_by(SubjectTrait.id)
        ):
            subject = session.get(Subject, trait.subject_id)
            assert subject is not None
            found.append(self._open_trait(subject, trait))
        return found

    def match_details(self, session: Session, details: Details) -> list[Candidate]:
        """People whose recorded details score at least `REVIEW` against `details`, best first."""
        best: dict[str, Candidate] = {}
        for subject, _, known in self._traits(
            session, self._dob_key(details.date_of_birth.isoformat())
        ):
            root = self.root(session, subject)
            value = score(details, known)
            if value >= REVIEW and (root.id not in best or value > best[root.id].score):
                best[root.id] = Candidate(root.id, value, root, root.status == PROVISIONAL)
        return sorted(best.values(), key=lambda c: (-c.score, c.subject_id))

    def _pending_review(self, session: Session, subject: Subject) -> IdentityReview | None:
        """The review `subject` waits for, if any. The row is locked, so a decision being
        recorded concurrently either finishes first (and then the subject no longer waits) or
        waits for this transaction (and then releases what it held)."""
        batch: _Batch | None = session.info.get(_BATCH)
        if batch is not None and subject.id in batch.reviews:
            cached = batch.reviews[subject.id]
            return cached if cached.status == PENDING else None
        review = session.scalar(
            select(IdentityReview)
            .where(IdentityReview.subject_id == subject.id, IdentityReview.status == PENDING)
            .with_for_update()
        )
        if review is not None and batch is not None:
            batch.reviews[subject.id] = review
        return review

    def _best_score(self, session: Session, root_id: str, details: Details | None) -> float:
        if details is None:
            return 0.0
        known = self.details(session, self.members(session, root_id))
        return max((score(details, k) for k in known), default=0.0)

    # -- resolution -----------------------------------------------------------------------------

    def resolve(
        self,
        session: Session,
        identifiers: Sequence[SubjectRef],
        details: Details | None,
        actor: Actor,
        request_id: str | None = None,
    ) -> Resolution:
        """The subject a record is about, creating, linking or holding as described above."""
        audit = dict(actor=actor, request_id=request_id)
        holders: dict[str, Subject] = {}
        unknown: list[SubjectRef] = []
        for ref in identifiers:
            found = self.find(session, ref)
            if found is None:
                unknown.append(ref)
            else:
                holders.setdefault(self.root(session, found).id, found)
        if len(holders) == 1:
            [subject] = holders.values()
            root_id = self.root(session, subject).id
            known = self._known_refs(session, root_id)
            clash = [
                ref
                for ref in unknown
                if any(k.scheme is ref.scheme and k.value != ref.value for k in known)
            ]
            if not clash:
                self._link(session, subject, unknown, audit)
                self._remember(session, subject, details, actor)
                root = self.root(session, subject)
                waiting = (
                    self._pending_review(session, root) if root.status == PROVISIONAL else None
                )
                if waiting is not None:
                    # Someone still waiting for a review: what else arrives for them waits too.
                    return Resolution(subject, root_id, "held", None, waiting.id)
                return Resolution(subject, root_id, "identifier")
            # One identifier says "this person", another of a scheme they already hold (a second
            # PNC ID) says "someone else": a person must decide.
            provisional = self._create(session, unknown, PROVISIONAL, audit)
            self._remember(session, provisional, details, actor, created=True)
            review = self._open_review(
                session,
                provisional,
                "conflicting",
                [Candidate(root_id, self._best_score(session, root_id, details))],
                audit,
            )
            return Resolution(provisional, provisional.id, "held", None, review.id, created=True)
        if len(holders) > 1:
            # Identifiers that name two different people: keep the record with the first (the
            # strongest named) and ask a person whether they are one.
            first, *others = holders.values()
            roots = [self.root(session, o).id for o in others]
            review = self._open_review(
                session,
                first,
                "conflicting",
                [Candidate(r, self._best_score(session, r, details)) for r in roots],
                audit,
            )
            return Resolution(first, self.root(session, first).id, "held", None, review.id)
        candidates = self._candidates(session, details, identifiers)
        # The same details as someone who is already waiting for a review (another offence of the
        # same defendant, say): the record joins them and their review, rather than opening
        # another.
        for candidate in candidates:
            if candidate.provisional and candidate.score >= AUTO_MATCH and candidate.root:
                waiting = self._pending_review(session, candidate.root)
                if waiting is not None:
                    self._link(session, candidate.root, unknown, audit)
                    self._remember(session, candidate.root, details, actor)
                    return Resolution(
                        candidate.root, candidate.subject_id, "held", candidate.score, waiting.id
                    )
        candidates = [c for c in candidates if not c.provisional]
        confident = [c for c in candidates if c.score >= AUTO_MATCH]
        if len(candidates) == 1 and confident and confident[0].root is not None:
            matched = confident[0].root
            self._link(session, matched, unknown, audit)
            self._remember(session, matched, details, actor)
            return Resolution(matched, matched.id, "details", confident[0].score)
        status = PROVISIONAL if candidates else ACTIVE
        subject = self._create(session, unknown, status, audit)
        self._remember(session, subject, details, actor, created=True)
        if not candidates:
            return Resolution(subject, subject.id, "new", created=True)
        review = self._open_review(
            session, subject, "ambiguous" if len(candidates) > 1 else "weak", candidates, audit
        )
        return Resolution(subject, subject.id, "held", candidates[0].score, review.id, created=True)

    def _candidates(
        self, session: Session, details: Details | None, identifiers: Sequence[SubjectRef]
    ) -> list[Candidate]:
        if details is None:
            return []
        candidates = self.match_details(session, details)
        if not identifiers:
            return candidates
        # Someone already holding a different identifier of the same scheme (another PNC) is
        # another person, however alike the names.
        mine = {ref.scheme.value: ref.value for ref in identifiers}
        kept = []
        for candidate in candidates:
            theirs = self._known_refs(session, candidate.subject_id)
            if not any(mine.get(ref.scheme.value, ref.value) != ref.value for ref in theirs):
                kept.append(candidate)
        return kept

    def _create(
        self,
        session: Session,
        identifiers: Iterable[SubjectRef],
        status: str,
        audit: dict[str, Any],
    ) -> Subject:
        subject_id = str(uuid.uuid4())
        subject = Subject(
            id=subject_id,
            data_key_wrapped=self._keyring.new_wrapped_data_key(subject_id),
            created_at=datetime.now(UTC),
            status=status,
        )
        session.add(subject)
        batch: _Batch | None = session.info.get(_BATCH)
        if batch is not None:
            batch.refs_of[subject_id] = []
            batch.members_of[subject_id] = [subject_id]
        self._audit.record(
            session,
            AuditAction.SUBJECT_CREATED,
            subject=self._audit.pseudonym(subject_id),
            reasons=(status,),
            **audit,
        )
        self._link(session, subject, list(identifiers), audit)
        return subject

    def _link(
        self, session: Session, subject: Subject, refs: Sequence[SubjectRef], audit: dict[str, Any]
    ) -> None:
        batch: _Batch | None = session.info.get(_BATCH)
        if batch is not None and refs and subject.id not in batch.refs_of:
            batch.refs_of[subject.id] = self.identifiers(session, [subject.id])
        for ref in refs:
            if ref.scheme is SubjectScheme.HUB:
                continue
            if batch is not None:
                batch.holders[(ref.scheme.value, ref.value)] = subject
                batch.refs_of[subject.id].append(ref)
            # A concurrent request linking the same identifier fails this transaction at commit
            # (primary key); callers retry, and then find it linked.
            session.add(
                SubjectIdentifier(scheme=ref.scheme.value, value=ref.value, subject_id=subject.id)
            )
            self._audit.record(
                session,
                AuditAction.SUBJECT_IDENTIFIER_LINKED,
                subject=self._audit.pseudonym(subject.id),
                reasons=(f"scheme:{ref.scheme.value}",),
                **audit,
            )

    def _remember(
        self,
        session: Session,
        subject: Subject,
        details: Details | None,
        actor: Actor,
        created: bool = False,
    ) -> None:
        if details is None:
            return
        key = self.data_key(subject)
        plain = json.dumps(details.to_json(), sort_keys=True).encode()
        digest = keyed_digest(key, plain)
        dob_key = self._dob_key(details.date_of_birth.isoformat())
        # The same details have the same date of birth, so they would be among its traits.
        if not created and any(
            known.id == subject.id and known_digest == digest
            for known, known_digest, _ in self._traits(session, dob_key)
        ):
            return
        session.add(
            SubjectTrait(
                subject_id=subject.id,
                dob_key=dob_key,
                details_digest=digest,
                details_enc=seal(key, plain, f"trait:{subject.id}".encode()),
                source_agency_id=actor.agency or "",
                recorded_at=datetime.now(UTC),
            )
        )
        batch: _Batch | None = session.info.get(_BATCH)
        if batch is not None and dob_key in batch.traits:
            batch.traits[dob_key].append((subject, digest, details))

    def _open_review(
        self,
        session: Session,
        subject: Subject,
        reason: str,
        candidates: Sequence[Candidate],
        audit: dict[str, Any],
    ) -> IdentityReview:
        existing = self._pending_review(session, subject)
        if existing is not None:
            return existing
        review = IdentityReview(
            id=str(uuid.uuid4()),
            subject_id=subject.id,
            provisional_subject=subject.status == PROVISIONAL,
            reason=reason,
            candidates=[{"subject": c.subject_id, "score": c.score} for c in candidates],
            status=PENDING,
            created_at=datetime.now(UTC),
        )
        session.add(review)
        batch: _Batch | None = session.info.get(_BATCH)
        if batch is not None:
            batch.reviews[subject.id] = review
        self._audit.record(
            session,
            AuditAction.IDENTITY_REVIEW_OPENED,
            subject=self._audit.pseudonym(subject.id),
            reasons=(reason, *(f"candidate-score:{c.score}" for c in candidates)),
            **audit,
        )
        return review

    # -- decisions ------------------------------------------------------------------------------

    def decide(
        self,
        session: Session,
        review_id: str,
        outcome: str,
        actor: Actor,
        into: str | None = None,
        request_id: str | None = None,
    ) -> list[str]:
        """Settle a pending review: `merged` into one of its candidates, or `separate` people.
        Returns the ids of the messages it held, now released (the caller delivers them)."""
        # The review row is locked first: a document adding a record to this review waits for
        # the decision and then sees it, so nothing is held by a decided review.
        review = session.get(IdentityReview, review_id, with_for_update=True)
        if review is None:
            raise NotFound("no such identity review")
        if review.status != PENDING:
            raise Conflict(f"this review was already decided ({review.status})")
        subject = session.get(Subject, review.subject_id)
        assert subject is not None
        if outcome == MERGED:
            allowed = {c["subject"] for c in review.candidates}
            if into is None or into not in allowed:
                raise Conflict("merge into one of the review's candidates")
            review.merged_subject_id = self.merge(session, subject.id, into, actor, request_id)
            review.decided_subject_id = into
        elif outcome != SEPARATE:
            raise Conflict("a review is decided as merged or separate")
        if review.provisional_subject:
            subject.status = ACTIVE
        review.status = outcome
        review.decided_by = actor.user
        review.decided_at = datetime.now(UTC)
        self._audit.record(
            session,
            AuditAction.IDENTITY_REVIEW_DECIDED,
            actor=actor,
            request_id=request_id,
            subject=self._audit.pseudonym(subject.id),
            reasons=(outcome,),
        )
        held = list(session.scalars(select(Message.id).where(Message.held_by_review == review.id)))
        if held:
            session.execute(update(Message).where(Message.id.in_(held)).values(held_by_review=None))
        return held

    def undo(
        self, session: Session, review_id: str, actor: Actor, request_id: str | None = None
    ) -> None:
        """Undo the merge a review decided: the merged person is separate again, and the review
        waits for a decision once more (what it released stays released)."""
        review = session.get(IdentityReview, review_id, with_for_update=True)
        if review is None:
            raise NotFound("no such identity review")
        if review.status != MERGED or review.merged_subject_id is None:
            raise Conflict("only a merge can be undone")
        self.unmerge(session, review.merged_subject_id, actor, request_id)
        review.status = PENDING
        review.decided_subject_id = review.merged_subject_id = None
        review.decided_by = review.decided_at = None
        if review.provisional_subject:
            subject = session.get(Subject, review.subject_id)
            assert subject is not None
            subject.status = PROVISIONAL

    def merge(
        self, session: Session, source_id: str, target_id: str, actor: Actor, request_id: str | None
    ) -> str:
        """Point the source's person at the target's; returns the subject re-pointed."""
        # Both people are locked, in one order, so two merges cannot cross into a cycle.
        for subject_id in sorted({source_id, target_id}):
            if session.get(Subject, subject_id, with_for_update=True) is None:
                raise NotFound("no such person")
        source_root = self.root(session, session.get_one(Subject, source_id))
        target_root = self.root(session, session.get_one(Subject, target_id))
        for root in sorted({source_root.id, target_root.id}):
            session.get(Subject, root, with_for_update=True, populate_existing=True)
        if source_root.id == target_root.id:
            raise Conflict("these are already one person")
        source_root.merged_into = target_root.id
        self._audit.record(
            session,
            AuditAction.SUBJECT_MERGED,
            actor=actor,
            request_id=request_id,
            subject=self._audit.pseudonym(source_root.id),
            reasons=(f"into:{self._audit.pseudonym(target_root.id)}",),
        )
        return source_root.id

    def unmerge(
        self, session: Session, subject_id: str, actor: Actor, request_id: str | None = None
    ) -> str:
        """Undo a merge: the subject (and what arrived for it) is a person of its own again.
        Returns the subject it had been merged into."""
        subject = session.get(Subject, subject_id, with_for_update=True)
        if subject is None or subject.merged_into is None:
            raise Conflict("this person is not merged into another")
        parent = subject.merged_into
        subject.merged_into = None
        self._audit.record(
            session,
            AuditAction.SUBJECT_UNMERGED,
            actor=actor,
            request_id=request_id,
            subject=self._audit.pseudonym(subject.id),
            reasons=(f"from:{self._audit.pseudonym(parent)}",),
        )
        return parent

    # -- keys -----------------------------------------------------------------------------------

    def data_key(self, subject: Subject) -> bytes:
        return self._keyring.unwrap_data_key(subject.id, subject.data_key_wrapped)

    def data_key_of(self, session: Session, subject_id: str) -> bytes:
        """The data key of the person with this id (who exists: rows refer to them)."""
        return self.data_key(session.get_one(Subject, subject_id))

    def _dob_key(self, iso_date: str) -> str:
        return self._keyring.blocking_key("dob:" + iso_date)

    def holder_digest(self, name: str) -> str:
        """The keyed digest that stands for a case owner (work email or name) where work is
        routed by it: matched against a user's own, never stored in clear beside a person."""
        return self._keyring.pseudonym("holder:" + name.strip().lower())

    def _open_trait(self, subject: Subject, trait: SubjectTrait) -> Details:
        plain = open_sealed(
            self.data_key(subject), trait.details_enc, f"trait:{subject.id}".encode()
        )
        return Details.from_json(json.loads(plain))
