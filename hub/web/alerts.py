"""`/ui/alerts`: a practitioner's live list of alerts (reconviction alerts, convictions, risk
escalations, referrals) for the people they support, with acknowledge and "support continues".

The page opens a Server-Sent Events stream (`/ui/alerts/stream`) that adds each new alert the
moment it is delivered, from whichever hub process accepted it, and raises a browser notification
when the user has allowed them (its text names the kind of alert, never the person). The stream
ends when the user's session does; the browser reconnects from the last alert it showed.
"""

from __future__ import annotations

import re
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue

from hub.api.delivery import event_stream, sse
from hub.domain.callers import Caller, whole_number
from hub.domain.errors import HubError
from hub.services.caseload import Item
from hub.web.views import signed_in

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("alerts", __name__, url_prefix="/ui/alerts")
SESSION_CHECK = 15.0  # seconds between checks that the signed-in session is still valid

KINDS = {
    "reconviction-alert": "Reconviction alert",
    "conviction": "Conviction",
    "risk-escalation": "Risk escalation",
    "referral": "Referral",
}
LABELS = {
    "verdict": "Finding",
    "finding": "What the hub found",
    "releaseDate": "Released",
    "offence": "Offence",
    "severity": "Severity",
    "convictionDate": "Convicted",
    "court": "Court",
    "disposal": "Disposal",
    "reconvictionsSinceRelease": "Reconvictions since release",
    "courtOccasionsSinceRelease": "Court occasions since release",
    "triggerCode": "Trigger",
    "observedOn": "Observed",
    "description": "What happened",
    "urgency": "Urgency",
    "dischargeArea": "Discharge area",
    "pathway": "Pathway",
    "riskOfSeriousHarm": "Risk of serious harm",
    "officer": "Offender manager",
    "crn": "CRN",
    "nomsNumber": "Prison number",
    "riskOfReoffending": "Risk of reoffending",
    "sentencePlanSummary": "Sentence plan",
    "routes": "Reoffending routes",
}
HIDDEN = {"conviction", "hearingId", "urgency"}  # references, or said by a tag already
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def title(item: Item) -> str:
    """A card's title: what happened, in words (a conviction for an offence before release is
    reported, but it is not a reconviction)."""
    if item.kind == "reconviction-alert" and item.fields.get("verdict") == "offence_before_release":
        return "Conviction since release (offence before release)"
    return KINDS.get(item.kind, item.kind)


def _services() -> Services:
    services: Services = current_app.extensions["hub"]
    return services


def _practitioner() -> None:
    if not _services().caseload.allowed(g.user):
        abort(404)


def describe(value: Any) -> str:
    """A field's value in words: an offence as its title (code), a court or officer as its
    name, a disposal as its label and length, a severity band with its flags."""
    if isinstance(value, dict):
        if "route" in value:
            said = [value.get("statusOnReception"), value.get("outstandingActions")]
            return f"{describe(value['route']).capitalize()}: " + "; to do: ".join(
                str(part) for part in said if part
            )
        if "ogrs3TwoYear" in value:
            return f"OGRS3 two-year {value['ogrs3TwoYear']}%"
        if "title" in value:
            return f"{value['title']} ({value.get('code', '')})".replace(" ()", "")
        if "label" in value:
            length = value.get("duration") or {}
            unit = UNITS.get(length.get("unit", ""), "")
            return str(value["label"]) + (f", {length['value']} {unit}" if length and unit else "")
        if "band" in value:
            flags = ", ".join(str(f).replace("_", " ") for f in value.get("flags") or [])
            return describe(value["band"]) + (f" ({flags})" if flags else "")
        if "name" in value:
            return describe(value["name"])
        if "forename" in value or "surname" in value:
            return " ".join(str(value[k]) for k in ("forename", "surname") if value.get(k))
        return ", ".join(f"{k}: {describe(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(describe(v) for v in value)
    if isinstance(value, str) and ISO_DAY.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            return value
        return f"{day.day} {day:%B %Y}"  # the GOV.UK style: 18 April 2025
    if isinstance(value, str) and value.isupper() and value.isalpha():
        return value.capitalize()  # MEDIUM -> Medium
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


UNITS = {"D": "days", "W": "weeks", "M": "months", "Y": "years"}


def _rows(item: Item) -> list[dict[str, Any]]:
    hidden = set(HIDDEN)
    if "finding" in item.fields:
        hidden.add("verdict")  # the finding says it in words
    if item.trigger:
        hidden.add("triggerCode")  # shown with the trigger it matches
    return [
        {"key": {"text": LABELS.get(name, name)}, "value": {"text": describe(value)}}
        for name, value in item.fields.items()
        if name not in hidden
    ]


def _render(item: Item) -> str:
    return render_template("alerts/_item.html", item=item, title=title(item), rows=_rows(item))


@bp.get("/")
@signed_in
def page() -> ResponseReturnValue:
    _practitioner()
    items = _services().caseload.items(g.user)
    return render_template(
        "alerts/page.html",
        items=items,
        rows_of=_rows,
        title_of=title,
        last=max((i.position for i in items), default=0),
    )


@bp.get("/stream")
@signed_in
def stream() -> ResponseReturnValue:
    _practitioner()
    services = _services()
    user = g.user
    token = session.get("sid") or ""
    resume = whole_number(request.headers.get("Last-Event-ID") or request.args.get("after"))
    position = resume if resume is not None else services.caseload.latest_position(user)
    checked = [time.monotonic()]

    def still_allowed() -> bool:
        if time.monotonic() - checked[0] < SESSION_CHECK:
            return True
        checked[0] = time.monotonic()
        return services.signin.current_user(token) is not None

    def read(after: int) -> tuple[list[tuple[int, dict[str, Any]]], int]:
        items = services.caseload.items(user, after=after, limit=100)
        events = [
            (
                item.position,
                {
                    "id": item.id,
                    "kind": KINDS.get(item.kind, item.kind),
                    "pinned": item.pinned,
                    "html": _render(item),
                },
            )
            for item in items
        ]
        return events, (items[-1].position if items else after)

    body = stream_with_context(
        event_stream(
            services,
            Caller(user.agency_id, "web", g.get("request_id")),
            position,
            read=read,
            still_allowed=still_allowed,
            render=lambda at, event: sse(str(at), "alert", event),
        )
    )
    return Response(
        body,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@bp.post("/<item_id>/acknowledge")
@signed_in
def acknowledge(item_id: str) -> ResponseReturnValue:
    _practitioner()
    try:
        _services().caseload.acknowledge(g.user, item_id, g.get("request_id"))
    except HubError as error:
        abort(error.status)
    flash("Alert acknowledged.")
    return redirect(url_for("alerts.page", _anchor=f"alert-{item_id}"))


@bp.post("/<item_id>/support")
@signed_in
def support(item_id: str) -> ResponseReturnValue:
    _practitioner()
    try:
        _services().caseload.support_continues(g.user, item_id, g.get("request_id"))
    except HubError as error:
        abort(error.status)
    flash("Recorded: support continues.")
    return redirect(url_for("alerts.page", _anchor=f"alert-{item_id}"))
