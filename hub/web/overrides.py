"""`/ui/overrides`: public-protection overrides for an IG officer to review (justified or not,
with a note). Only IG officers; anyone else is told the page does not exist."""

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
from hub.services.overrides import OUTCOMES, OverrideReviews
from hub.web.views import signed_in

bp = Blueprint("overrides", __name__, url_prefix="/ui/overrides")
STATUSES = {"pending": "Waiting for review", **OUTCOMES}


def _service() -> OverrideReviews:
    _ig_only()
    service: OverrideReviews = current_app.extensions["hub"].overrides
    return service


def _ig_only() -> None:
    if g.user is None or g.user.role is not Role.IG_OFFICER:
        abort(404)


@bp.get("/")
@signed_in
def queue() -> ResponseReturnValue:
    status = request.args.get("status", "pending")
    if status not in STATUSES:
        abort(404)
    items = _service().queue(status)
    return render_template("overrides/queue.html", items=items, status=status, statuses=STATUSES)


def _page(
    review_id: str, errors: dict[str, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    try:
        item = _service().show(g.user.actor, review_id, g.get("request_id"))
    except HubError:
        abort(404)
    return (
        render_template(
            "overrides/review.html",
            item=item,
            statuses=STATUSES,
            outcomes=OUTCOMES,
            errors=errors or {},
            form=request.form,
        ),
        status,
    )


@bp.get("/<review_id>")
@signed_in
def show(review_id: str) -> ResponseReturnValue:
    return _page(review_id)


@bp.post("/<review_id>")
@signed_in
def review(review_id: str) -> ResponseReturnValue:
    service = _service()
    outcome = request.form.get("outcome", "")
    note = request.form.get("note", "").strip()
    errors = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = "Select whether the override was justified"
    if len(note) < 10:
        errors["note"] = "Enter a note of at least 10 characters saying why"
    elif len(note) > 2000:
        errors["note"] = "The note must be 2,000 characters or fewer"
    if errors:
        return _page(review_id, errors, 400)
    try:
        service.review(g.user.actor, review_id, outcome, note, g.get("request_id"))
    except HubError as error:
        if error.status == 404:
            abort(404)
        return _page(review_id, {"outcome": error.detail}, error.status)
    flash(f"Review recorded: {OUTCOMES[outcome].lower()}.")
    return redirect(url_for("overrides.show", review_id=review_id))
