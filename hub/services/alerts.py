"""Reconviction alerts: when a court's conviction arrives for someone the hub knows was released
from custody, decide what it is for the measured cohort (`hub.domain.reconviction`) and tell the
agencies that hold the person's case now (the provider's case manager, probation's offender
manager, the IOM team while the person is in its cohort), each under the agreements and the
person's consent. A recipient not permitted gets nothing; the refusal is an audit entry.

The alert is one message (`reconviction-alert`, source: the court whose conviction it reports,
sent by the hub), delivered once to each permitted agency with the fields its agreement allows.
It commits with the conviction that caused it, so neither is ever recorded without the other.
A conviction the rule says does not count (an offence after the measured period, or no release
known) raises no alert: the conviction itself goes where it was sent.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.domain.callers import Caller
from hub.domain.reconviction import Result, Verdict, classify, tally
from hub.domain.records import RecordKind
from hub.domain.vocab import MessageType, Purpose
from hub.services.identity import Identity
from hub.services.messages import MessageService
from hub.services.records import SubjectRecords
from hub.store.models import Agency, Message, Subject

ALERTED = {Verdict.RECONVICTION, Verdict.OFFENCE_BEFORE_RELEASE}
HUB_CLIENT = "hub"  # the alert's sending client: the hub itself
PURPOSE = Purpose.CASE_MANAGEMENT.value


class ReconvictionAlerts:
    def __init__(
        self,
        identity: Identity,
        messages: MessageService,
        records: SubjectRecords,
    ) -> None:
        self._identity = identity
        self._messages = messages
        self._records = records

    def on_conviction(
        self,
        session: Session,
        caller: Caller,
        subject: Subject,
        conviction: Message,
        data: dict[str, Any],
    ) -> list[str]:
        """Alert whoever holds the person's case; the agencies alerted (none if the rule says
        the conviction does not count, or no one holds the case)."""
        root = self._identity.root(session, subject)
        history = self._records.history(session, root.id, RecordKind.RELEASE)
        releases = [
            d for entry in history if (d := _day(entry["value"].get("releaseDate"))) is not None
        ]
        this = _result(
            {
                "offenceOn": (data.get("offence") or {}).get("committedOn"),
                "convictedOn": data.get("convictionDate"),
                "hearing": data.get("hearingId"),
            }
        )
        if this is None:
            return []
        finding = classify(this, releases)
        if finding.verdict not in ALERTED or finding.release_on is None:
            return []
        # Documents are read without autoflush: this conviction's own record must be written
        # before the person's convictions are counted.
        session.flush()
        results = [
            r
            for entry in self._records.history(session, root.id, RecordKind.CONVICTION)
            if (r := _result(entry["value"])) is not None
        ]
        counted = tally(results, releases, finding.release_on)
        person = self._records.attributes(session, root.id)
        # Whoever holds the case, and the probation service covering the area the person was
        # released to when that is another (an out-of-area release): it has the person now.
        owners = (
            person.case_owners
            | self._covering(session, _discharge_area(history, finding.release_on))
        ) - {caller.agency_id}
        if not owners:
            return []
        alert_data = {
            "verdict": finding.verdict.value,
            "finding": finding.describe(),
            "releaseDate": finding.release_on.isoformat(),
            **{
                k: data[k]
                for k in ("offence", "severity", "convictionDate", "court", "disposal")
                if data.get(k) is not None
            },
            "reconvictionsSinceRelease": counted.offences,
            "courtOccasionsSinceRelease": counted.occasions,
            "conviction": conviction.id,
        }
        court = session.get(Agency, caller.agency_id)
        assert court is not None
        alert = self._messages.store(
            session,
            Caller(caller.agency_id, HUB_CLIENT, caller.request_id),
            subject,
            ce_id=f"reconviction-alert:{conviction.id}",
            message_type=MessageType.RECONVICTION_ALERT,
            purpose=PURPOSE,
            data=alert_data,
            # The hub's id: the court's identifiers are the court's to share (each recipient's
            # pages show the person by the identifiers its own agency already holds).
            subject_ref=f"hub:{root.id}",
            event_time=None,
            request_digest=hashlib.sha256(conviction.id.encode()).hexdigest(),
        )
        recipients = list(
            session.scalars(select(Agency).where(Agency.id.in_(sorted(owners))).order_by(Agency.id))
        )
        return self._messages.deliver_each(
            session, caller, alert, subject, court, recipients, person
        )

    @staticmethod
    def _covering(session: Session, area: str) -> set[str]:
        """Probation services covering a discharge area (their region, or one of the areas
        their `areas` attribute lists)."""
        if not area:
            return set()
        wanted = area.casefold()
        return {
            agency.id
            for agency in session.scalars(select(Agency).where(Agency.kind == "probation"))
            if agency.region.casefold() == wanted
            or wanted in {str(a).casefold() for a in (agency.attributes or {}).get("areas", [])}
        }


def _discharge_area(history: list[dict[str, Any]], released_on: date) -> str:
    """Where the person was released to, for the release measured from (a release event may
    not say; the prisoner record before it does)."""
    for entry in reversed(history):
        area = entry["value"].get("dischargeArea")
        if (
            isinstance(area, str)
            and area.strip()
            and _day(entry["value"].get("releaseDate")) == released_on
        ):
            return area.strip()
    return ""


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _result(value: dict[str, Any]) -> Result | None:
    offence_on, convicted_on = _day(value.get("offenceOn")), _day(value.get("convictedOn"))
    if offence_on is None or convicted_on is None:
        return None
    return Result(offence_on, convicted_on, hearing=value.get("hearing"))
