"""`/ui/decisions/explain`: an IG officer asks "would agency X (a user in role R) receive message
type T about person P for purpose U?" and reads the answer in words: the decision, the agreement
and its lawful basis, the rules that decided, the fields disclosed and withheld, and what the
hub's records say of the person. Only IG officers; anyone else is told the page does not exist.
The question goes by POST (the identifier stays out of URLs and access logs) and is audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request
from flask.typing import ResponseReturnValue

from hub.domain.errors import HubError
from hub.domain.messages import SubjectRef
from hub.domain.vocab import MessageType, Purpose, Role
from hub.web.views import signed_in
from policies.engine import Reader

bp = Blueprint("explain_page", __name__, url_prefix="/ui/decisions")

CLEARANCES = {
    "0": "None",
    "1": "Police information",
    "2": "Police intelligence",
}
BASES = {
    "statutory_duty": "Statutory duty",
    "public_protection": "Public protection",
    "consent": "The person's consent",
}


def select_items(
    pairs: list[tuple[str, str]], selected: str | None, blank: str | None
) -> list[dict[str, Any]]:
    """Items for govukSelect: an optional empty first choice, then each (value, text)."""
    items: list[dict[str, Any]] = [{"value": "", "text": blank}] if blank else []
    items += [{"value": v, "text": t, "selected": v == selected} for v, t in pairs]
    return items


def _ig_only() -> None:
    if g.user is None or g.user.role is not Role.IG_OFFICER:
        abort(404)


def _policy_details(policies: list[str]) -> list[dict[str, Any]]:
    """Each deciding policy with its agreement's title and, for a flow, its legal reference."""
    engine = current_app.extensions["hub"].policy
    found = []
    for policy in policies:
        agreement_id = policy.split("/", 1)[0]
        agreement = next((a for a in engine.agreements if a.id == agreement_id), None)
        flow = agreement.flow(policy) if agreement else None
        found.append(
            {
                "id": policy,
                "title": agreement.title if agreement else agreement_id,
                "version": agreement.version if agreement else "",
                "reference": flow.legal_reference if flow else "",
                "kind": "permits" if flow else "forbids",
            }
        )
    return found


@bp.route("/explain", methods=["GET", "POST"])
@signed_in
def explain() -> ResponseReturnValue:
    _ig_only()
    directory = current_app.extensions["hub"].subjects
    agencies = directory.agencies()
    form = request.form if request.method == "POST" else {}
    errors: dict[str, str] = {}
    answer = None
    if request.method == "POST":
        ids = {a[0] for a in agencies}
        sender, recipient = form.get("sender", ""), form.get("recipient", "")
        role, clearance = form.get("role", "system"), form.get("clearance", "0")
        type_name, purpose = form.get("type", ""), form.get("purpose", "")
        person_text = form.get("person", "").strip()
        if sender not in ids:
            errors["sender"] = "Select the agency that would send it"
        if recipient not in ids:
            errors["recipient"] = "Select the agency that would receive it"
        if role != "system" and role not in {r.value for r in Role}:
            errors["role"] = "Select who at the recipient would read it"
        if clearance not in CLEARANCES:
            errors["clearance"] = "Select their clearance"
        message_type = next((t for t in MessageType if t.value == type_name), None)
        if message_type is None:
            errors["type"] = "Select the kind of message"
        if purpose not in {p.value for p in Purpose}:
            errors["purpose"] = "Select the purpose"
        person = None
        if person_text:
            try:
                person = SubjectRef.parse(person_text)
            except ValueError as error:
                errors["person"] = f"Enter an identifier like noms:A4821DC ({error})"
        if not errors:
            assert message_type is not None
            try:
                answer = directory.explain(
                    g.user.actor,
                    g.get("request_id"),
                    sender,
                    recipient,
                    message_type,
                    purpose,
                    None,
                    None if role == "system" else Reader(role, int(clearance)),
                    visible_to=None,
                    person=person,
                )
            except HubError as error:
                if error.status != 404:
                    raise
                errors["person"] = "The hub knows no one by that identifier"
        if answer is not None:
            answer["policyDetails"] = _policy_details(answer["policies"])
    return (
        render_template(
            "decisions/explain.html",
            agencies=agencies,
            roles=[r for r in Role],
            clearances=CLEARANCES,
            types=[t.value for t in MessageType],
            purposes=[p.value for p in Purpose],
            bases=BASES,
            form=form,
            errors=errors,
            answer=answer,
            select_items=select_items,
        ),
        400 if errors else 200,
    )
