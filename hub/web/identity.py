"""`/ui/identity-reviews`: records that may be about someone already known, for an authorised
person (an IG officer or an administrator) to settle: the same person (merge), or someone else.
A merge can be undone, and the review then waits for a decision again. Every decision, and every
look at a review's details, is audited."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from hub.domain.errors import HubError
from hub.domain.vocab import Role
from hub.services.identity import MERGED, PENDING, SEPARATE
from hub.services.subjects import SubjectDirectory
from hub.web.views import signed_in

bp = Blueprint("identity", __name__, url_prefix="/ui/identity-reviews")
REVIEWERS = {Role.IG_OFFICER, Role.ADMINISTRATOR}
STATUSES = {PENDING: "Waiting for a decision", MERGED: "Same person", SEPARATE: "Different people"}
REASONS = {
    "weak": "Close match",
    "ambiguous": "Several close matches",
    "conflicting": "Identifiers name different people",
}
SCHEMES = {"pnc": "PNC", "cro": "CRO", "crn": "CRN", "noms": "Prison number", "hub": "Hub id"}


@bp.app_template_filter("identifier")
def identifier_label(ref: str) -> str:
    """`pnc:2011/0482113C` as people write it: `PNC 2011/0482113C`."""
    scheme, _, value = ref.partition(":")
    return f"{SCHEMES.get(scheme, scheme)} {value}"


@bp.app_template_filter("postcode")
def postcode_label(value: str) -> str:
    """A normalised postcode (`S649AB`) as written (`S64 9AB`)."""
    return f"{value[:-3]} {value[-3:]}" if len(value) > 4 else value


@bp.app_template_filter("govuk_datetime")
def govuk_datetime(value: str) -> str:
    """An RFC 3339 time as the GOV.UK style writes it, in UK time: `23 November 2026, 10:56pm`."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(_uk_time())
    except ValueError:
        return value
    hour = moment.hour % 12 or 12
    return f"{moment.day} {moment:%B %Y}, {hour}:{moment:%M}{'am' if moment.hour < 12 else 'pm'}"


def _uk_time() -> tzinfo:
    try:
        return ZoneInfo("Europe/London")
    except ZoneInfoNotFoundError:  # no time zone database on this machine
        return UTC


def _reviewer() -> None:
    # Anyone else is told the page does not exist, as for any hidden thing.
    if g.user is None or g.user.role not in REVIEWERS:
        abort(404)


def _subjects() -> SubjectDirectory:
    directory: SubjectDirectory = current_app.extensions["hub"].subjects
    return directory


@bp.get("/")
@signed_in
def queue() -> ResponseReturnValue:
    _reviewer()
    status = request.args.get("status", PENDING)
    if status not in STATUSES:
        abort(404)
    return render_template(
        "identity/queue.html",
        reviews=_subjects().reviews(status),
        status=status,
        statuses=STATUSES,
        reasons=REASONS,
    )


def _page(review_id: str, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    try:
        review = _subjects().review(g.user.actor, review_id, g.get("request_id"))
    except HubError:
        abort(404)
    return (
        render_template(
            "identity/review.html",
            review=review,
            statuses=STATUSES,
            reasons=REASONS,
            error=error,
        ),
        status,
    )


@bp.get("/<review_id>")
@signed_in
def show(review_id: str) -> ResponseReturnValue:
    _reviewer()
    return _page(review_id)


@bp.post("/<review_id>")
@signed_in
def decide(review_id: str) -> ResponseReturnValue:
    _reviewer()
    subjects = _subjects()
    choice = request.form.get("decision", "")
    request_id = g.get("request_id")
    try:
        if choice == "undo":
            subjects.undo(g.user.actor, review_id, request_id)
            flash(
                "The merge was undone. The new record is a separate person again until you decide."
            )
        elif choice == SEPARATE:
            released = subjects.decide(g.user.actor, review_id, SEPARATE, None, request_id)
            flash("Recorded as a different person. " + _released(released))
        elif choice.startswith("merge:"):
            into = choice.removeprefix("merge:")
            released = subjects.decide(g.user.actor, review_id, MERGED, into, request_id)
            flash("Recorded as the same person. " + _released(released))
        else:
            return _page(
                review_id,
                "Select whether this is the same person as a candidate, or someone else",
                400,
            )
    except HubError as error:
        if error.status == 404:
            abort(404)
        return _page(review_id, error.detail, error.status)
    return redirect(url_for("identity.show", review_id=review_id))


def _released(count: int) -> str:
    if count == 0:
        return "The held records are no longer held; none of them named a recipient to send to."
    noun = "message was" if count == 1 else "messages were"
    return f"The held records are no longer held, and {count} {noun} delivered."
