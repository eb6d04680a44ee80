"""`/ui/identity-reviews`: records that may be about someone already known, for an authorised
person (an IG officer or an administrator) to settle: the same person (merge), or someone else.
A merge can be undone. Every decision, and every look at a review's details, is audited."""

from __future__ import annotations

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
from hub.web.views import signed_in

bp = Blueprint("identity", __name__, url_prefix="/ui/identity-reviews")
REVIEWERS = {Role.IG_OFFICER, Role.ADMINISTRATOR}
STATUSES = {
    PENDING: "Waiting for a decision",
    MERGED: "Same person",
    SEPARATE: "Different people",
    "undone": "Merge undone",
}


def _reviewer() -> None:
    # Anyone else is told the page does not exist, as for any hidden thing.
    if g.user is None or g.user.role not in REVIEWERS:
        abort(404)


@bp.get("/")
@signed_in
def queue() -> ResponseReturnValue:
    _reviewer()
    status = request.args.get("status", PENDING)
    if status not in STATUSES:
        abort(404)
    reviews = current_app.extensions["hub"].subjects.reviews(status)
    return render_template("identity/queue.html", reviews=reviews, status=status, statuses=STATUSES)


@bp.get("/<review_id>")
@signed_in
def show(review_id: str) -> ResponseReturnValue:
    _reviewer()
    try:
        review = current_app.extensions["hub"].subjects.review(g.user.actor, review_id)
    except HubError:
        abort(404)
    return render_template("identity/review.html", review=review, statuses=STATUSES, error=None)


@bp.post("/<review_id>")
@signed_in
def decide(review_id: str) -> ResponseReturnValue:
    _reviewer()
    subjects = current_app.extensions["hub"].subjects
    choice = request.form.get("decision", "")
    try:
        if choice == "undo":
            subjects.unmerge(g.user.actor, request.form.get("subject", ""), g.get("request_id"))
            flash("The merge was undone: the records are a separate person again.")
        elif choice == SEPARATE:
            released = subjects.decide(g.user.actor, review_id, SEPARATE, None, g.get("request_id"))
            flash(f"Recorded as a different person. {released} held message(s) delivered.")
        elif choice.startswith("merge:"):
            into = choice.removeprefix("merge:")
            released = subjects.decide(g.user.actor, review_id, MERGED, into, g.get("request_id"))
            flash(f"Recorded as the same person. {released} held message(s) delivered.")
        else:
            review = subjects.review(g.user.actor, review_id)
            return (
                render_template(
                    "identity/review.html",
                    review=review,
                    statuses=STATUSES,
                    error="Select whether this is the same person as a candidate, or someone else",
                ),
                400,
            )
    except HubError as error:
        if error.status == 404:
            abort(404)
        review = subjects.review(g.user.actor, review_id)
        return render_template(
            "identity/review.html", review=review, statuses=STATUSES, error=error.detail
        ), error.status
    return redirect(url_for("identity.show", review_id=review_id))
