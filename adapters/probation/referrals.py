"""The pre-release referral form, probation to the provider (seed 000, lines 464-484), to the
canonical `referral`, and back. The native form is close to canonical: the adapter checks
identifiers, lifts `referredTo` into the recipient and leaves the rest to the canonical schema's
checks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from adapters.base import CanonicalRecord, DocumentError, ParseResult, RecordError
from hub.domain.identifiers import InvalidIdentifier, canonical_crn, canonical_noms
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, SubjectScheme

FIELDS = (
    "releaseDate",
    "dischargeArea",
    "pathway",
    "riskOfSeriousHarm",
    "riskOfReoffending",
    "sentencePlanSummary",
    "routes",
    "officer",
)


def parse_referral(raw: bytes) -> ParseResult:
    try:
        form = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DocumentError(f"not JSON: {error}") from None
    if not isinstance(form, dict):
        raise DocumentError("expected a JSON object (one referral form)")
    result = ParseResult()
    label = f"referral for {form.get('crn', '?')}"
    identifiers = []
    for name, scheme, canonical in (
        ("crn", SubjectScheme.CRN, canonical_crn),
        ("nomsNumber", SubjectScheme.NOMS, canonical_noms),
    ):
        value = form.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            result.errors.append(RecordError(label, name, "must be text"))
            return result
        try:
            identifiers.append(SubjectRef(scheme, canonical(value)))
        except InvalidIdentifier as error:
            result.errors.append(RecordError(label, name, str(error)))
            return result
    if not identifiers:
        result.errors.append(
            RecordError(label, "crn", "a referral needs the CRN or the prison number")
        )
        return result
    recipient = form.get("referredTo")
    if not isinstance(recipient, str) or not recipient.strip():
        result.errors.append(
            RecordError(label, "referredTo", "the provider's agency id is required")
        )
        return result
    data: dict[str, Any] = {name: form[name] for name in FIELDS if name in form}
    for ref in identifiers:
        data["crn" if ref.scheme is SubjectScheme.CRN else "nomsNumber"] = ref.value
    result.records.append(
        CanonicalRecord(
            record=label,
            event_id=f"referral:{identifiers[0].value}:{form.get('releaseDate')}:{recipient.strip()}",
            type=MessageType.REFERRAL,
            identifiers=tuple(identifiers),
            data=data,
            recipient=recipient.strip(),
        )
    )
    return result


def referral_form(data: dict[str, Any], identifiers: Mapping[str, str]) -> dict[str, Any]:
    """A canonical referral (or the fields of it a recipient may see) as the form. `referredTo` is
    the message's recipient, which is not in `data`: the form is delivered to that agency."""
    form: dict[str, Any] = {}
    for name, scheme in (("crn", SubjectScheme.CRN), ("nomsNumber", SubjectScheme.NOMS)):
        value = data.get(name) or identifiers.get(scheme)
        if value:
            form[name] = value
    form.update((name, data[name]) for name in FIELDS if data.get(name) is not None)
    return form
