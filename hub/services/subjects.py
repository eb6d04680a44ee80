"""People: one subject per person, found by any of their identifiers.

This first cut matches exact canonical identifiers only; identity resolution across PNC, CRO,
CRN and prison numbers (with a review queue for weak matches) builds on this table layout.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.domain.messages import SubjectRef
from hub.domain.vocab import SubjectScheme
from hub.security.crypto import KeyRing
from hub.store.models import Subject, SubjectIdentifier


class Subjects:
    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring

    def find(self, session: Session, ref: SubjectRef) -> Subject | None:
        if ref.scheme is SubjectScheme.HUB:
            return session.get(Subject, ref.value)
        return session.scalar(
            select(Subject)
            .join(SubjectIdentifier, SubjectIdentifier.subject_id == Subject.id)
            .where(
                SubjectIdentifier.scheme == ref.scheme.value, SubjectIdentifier.value == ref.value
            )
        )

    def find_or_create(self, session: Session, ref: SubjectRef) -> Subject | None:
        """The person `ref` names, created on first sight (except `hub:` ids, which must exist)."""
        found = self.find(session, ref)
        if found is not None or ref.scheme is SubjectScheme.HUB:
            return found
        subject_id = str(uuid.uuid4())
        subject = Subject(
            id=subject_id,
            data_key_wrapped=self._keyring.new_wrapped_data_key(subject_id),
            created_at=datetime.now(UTC),
        )
        try:
            with session.begin_nested():
                session.add(subject)
                session.add(
                    SubjectIdentifier(
                        scheme=ref.scheme.value, value=ref.value, subject_id=subject_id
                    )
                )
        except IntegrityError:
            return self.find(session, ref)  # created concurrently by another request
        return subject

    def data_key(self, subject: Subject) -> bytes:
        return self._keyring.unwrap_data_key(subject.id, subject.data_key_wrapped)
