"""Canonical messages to IOM teams as one-row spreadsheets (CSV), the form their tracking
already takes: a cohort membership in the cohort extract's own columns (so it reads back as one),
a conviction (a reconviction alert for a nominal) in columns of its own. Dates are DD/MM/YYYY as
in the extract. No cell can start a formula (`csvsafe`): a name or wording from another agency
must not run in an officer's spreadsheet.

The person's name and date of birth are not in the canonical message, so those cells are empty;
the PNC ID is filled in when the hub passes it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.base import Rendered
from adapters.iom.cohort import COLUMNS
from adapters.outbound import Identifiers, TypeRenderer, as_csv, dispatch, dmy
from hub.domain.vocab import AgencyKind, MessageType, SubjectScheme

CONVICTION_COLUMNS = (
    "pnc",
    "offence_code",
    "offence_title",
    "offence_date",
    "severity",
    "flags",
    "conviction_date",
    "court",
    "disposal",
    "case_urn",
)


def cohort_row(data: dict[str, Any], identifiers: Mapping[str, str]) -> Rendered:
    row = {
        "pnc": identifiers.get(SubjectScheme.PNC, ""),
        "iom_category": (data.get("category") or "").title(),
        "status": (data.get("status") or "").title(),
        "offender_group": data.get("offenderGroup"),
        "adopted_on": dmy(data.get("adoptedOn")),
        "iom_officer": data.get("officer"),
        "team": data.get("team"),
    }
    return as_csv(COLUMNS, [[row.get(column) for column in COLUMNS]])


def conviction_row(data: dict[str, Any], identifiers: Mapping[str, str]) -> Rendered:
    offence = data.get("offence") or {}
    severity = data.get("severity") or {}
    disposal = data.get("disposal") or {}
    row = [
        identifiers.get(SubjectScheme.PNC, ""),
        offence.get("code"),
        offence.get("title"),
        dmy(offence.get("committedOn")),
        severity.get("band"),
        ";".join(severity.get("flags") or []),
        dmy(data.get("convictionDate")),
        (data.get("court") or {}).get("name"),
        disposal.get("label"),
        data.get("caseUrn"),
    ]
    return as_csv(CONVICTION_COLUMNS, [row])


RENDERERS: dict[MessageType, TypeRenderer] = {
    MessageType.COHORT_MEMBERSHIP: cohort_row,
    MessageType.CONVICTION: conviction_row,
}


def render(
    message_type: MessageType, data: dict[str, Any], identifiers: Identifiers = None
) -> Rendered:
    return dispatch(AgencyKind.IOM, RENDERERS, message_type, data, identifiers)
