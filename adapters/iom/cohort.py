"""An IOM cohort extract (CSV) to cohort-membership records, row by row.

UTF-8 with or without a byte-order mark, CRLF or LF, RFC 4180 quoting, dates as DD/MM/YYYY
(shared/formats/README.md, "iom"). The document is read as a stream, one row at a time, so a
50,000-row file is never held twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import IO

from adapters.base import CanonicalRecord, DocumentError, ParseResult, PersonDetails, RecordError
from adapters.fields import FieldError
from hub.domain.identifiers import InvalidIdentifier, canonical_pnc
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, SubjectScheme

COLUMNS = (
    "pnc",
    "surname",
    "forenames",
    "date_of_birth",
    "iom_category",
    "status",
    "offender_group",
    "adopted_on",
    "iom_officer",
    "team",
)
CATEGORIES = {"fixed", "flex", "free"}
STATUSES = {"adopted", "deselected"}


def parse_cohort(stream: IO[bytes] | bytes) -> ParseResult:
    binary = io.BytesIO(stream) if isinstance(stream, bytes) else stream
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    result = ParseResult()
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        missing = [name for name in COLUMNS if name not in header]
        if missing:
            raise DocumentError(f"the header row lacks the columns {', '.join(missing)}")
        seen: dict[str, int] = {}
        for row_number, row in _rows(reader):
            label = f"row {row_number}"
            values = dict(zip(header, row, strict=False))
            if len(row) != len(header):
                result.errors.append(
                    RecordError(
                        label, "row", f"{len(row)} cells where the header has {len(header)}"
                    )
                )
                continue
            try:
                record = _record(label, values)
            except FieldError as bad:
                result.errors.append(RecordError(label, bad.field, bad.reason))
                continue
            if record.event_id in seen:
                result.skipped.append(
                    RecordError(label, "row", f"the same as row {seen[record.event_id]}")
                )
                continue
            seen[record.event_id] = row_number
            result.records.append(record)
    except UnicodeDecodeError:
        raise DocumentError("not UTF-8 text") from None
    except csv.Error as error:
        raise DocumentError(f"malformed CSV at line {reader.line_num}: {error}") from None
    finally:
        text.detach()  # leave the caller's stream open
    return result


def _rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    for number, row in enumerate(reader, start=2):  # row 1 is the header
        if any(cell.strip() for cell in row):
            yield number, row


def _record(label: str, values: dict[str, str]) -> CanonicalRecord:
    try:
        pnc = canonical_pnc(values["pnc"])
    except InvalidIdentifier as error:
        raise FieldError("pnc", str(error)) from None
    category = values["iom_category"].strip().lower()
    if category not in CATEGORIES:
        raise FieldError("iom_category", "expected Fixed, Flex or Free")
    status = values["status"].strip().lower()
    if status not in STATUSES:
        raise FieldError("status", "expected Adopted or Deselected")
    group = values["offender_group"].strip()
    if not group or len(group) > 50:
        raise FieldError("offender_group", "expected a group such as SAC, DA or Violence")
    adopted_on = _date(values["adopted_on"], "adopted_on")
    # The PNC ID identifies the person: a blank date of birth (as in the rows the hub itself
    # renders, which carry no personal details) is no reason to refuse the row.
    born = values["date_of_birth"].strip()
    data = {
        "status": status,
        "category": category,
        "offenderGroup": group,
        "adoptedOn": adopted_on.isoformat(),
    }
    for column, name in (("iom_officer", "officer"), ("team", "team")):
        if values[column].strip():
            data[name] = values[column].strip()[:200]
    return CanonicalRecord(
        record=label,
        # The row's content is part of its id: a corrected row (another officer, category or
        # group) is a new record that updates the hub's, not a clash with the first.
        event_id=f"iom-cohort:{pnc}:{status}:{adopted_on.isoformat()}:{_digest(data)}",
        type=MessageType.COHORT_MEMBERSHIP,
        identifiers=(SubjectRef(SubjectScheme.PNC, pnc),),
        data=data,
        person=PersonDetails(
            first_name=values["forenames"].strip() or None,
            last_name=values["surname"].strip() or None,
            date_of_birth=_date(born, "date_of_birth") if born else None,
        ),
    )


def _digest(data: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _date(value: str, field: str) -> date:
    try:
        return datetime.strptime(value.strip(), "%d/%m/%Y").date()
    except ValueError:
        raise FieldError(field, "not a date: expected DD/MM/YYYY") from None
