"""Canonical messages to probation in its own shapes: a referral as the referral form, a case
summary as the case shape. Probation has no native form for the provider's events: those are
delivered as canonical messages."""

from __future__ import annotations

from typing import Any

from adapters.base import Rendered
from adapters.outbound import Identifiers, TypeRenderer, as_json, dispatch
from adapters.probation.cases import case_document
from adapters.probation.referrals import referral_form
from hub.domain.vocab import AgencyKind, MessageType

RENDERERS: dict[MessageType, TypeRenderer] = {
    MessageType.REFERRAL: lambda data, ids: as_json(referral_form(data, ids)),
    MessageType.CASE_SUMMARY: lambda data, ids: as_json(case_document(data, ids)),
}


def render(
    message_type: MessageType, data: dict[str, Any], identifiers: Identifiers = None
) -> Rendered:
    return dispatch(AgencyKind.PROBATION, RENDERERS, message_type, data, identifiers)
