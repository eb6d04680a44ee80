"""`/v1/agreements`: the data sharing agreements in force, as integrators and IG officers read
them (the same files the decisions come from)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue

from hub.api.auth import require
from hub.domain.errors import NotFound
from policies.engine import Agreement

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("agreements", __name__, url_prefix="/v1/agreements")


def _agreements() -> tuple[Agreement, ...]:
    services: Services = current_app.extensions["hub"]
    return services.policy.agreements


def describe(agreement: Agreement, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": agreement.id,
        "version": agreement.version,
        "title": agreement.title,
        "reviewDate": agreement.review_date.isoformat(),
        "retention": agreement.retention,
    }
    if full:
        body["flows"] = [
            {
                "policy": f"{agreement.id}/flow-{flow.number}",
                "senders": sorted(flow.senders),
                "recipients": sorted(flow.recipients),
                "types": sorted(flow.types),
                "purposes": sorted(flow.purposes),
                "lawfulBasis": flow.lawful_basis,
                "legalReference": flow.legal_reference or None,
                "condition": flow.condition or None,
                "fields": {k: {t: list(v) for t, v in m.items()} for k, m in flow.fields.items()},
            }
            for flow in agreement.flows
        ]
        body["rules"] = agreement.rules or None
    return body


@bp.get("")
@require(None)
def list_agreements() -> ResponseReturnValue:
    services: Services = current_app.extensions["hub"]
    return {
        "policyHash": services.policy.policy_hash,
        "items": [describe(a) for a in _agreements()],
    }


@bp.get("/<agreement_id>")
@require(None)
def get_agreement(agreement_id: str) -> ResponseReturnValue:
    for agreement in _agreements():
        if agreement.id == agreement_id:
            return describe(agreement, full=True)
    raise NotFound("no such agreement")
