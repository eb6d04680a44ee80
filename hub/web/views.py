"""`/ui/`: signing in and out, and the home page showing who is signed in."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError

from hub.domain.errors import TooManyRequests
from hub.services.signin import GENERIC_FAILURE

bp = Blueprint("ui", __name__, url_prefix="/ui")


def _signin() -> Any:
    return current_app.extensions["hub"].signin


@bp.before_app_request
def load_user() -> None:
    g.user = None
    token = session.get("sid")
    if token and request.path.startswith("/ui/"):
        g.user = _signin().current_user(token)
        if g.user is None:
            session.clear()


def signed_in(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        if g.user is None:
            return redirect(url_for("ui.sign_in"))
        return view(*args, **kwargs)

    return wrapper


@bp.get("/")
@signed_in
def home() -> ResponseReturnValue:
    return render_template("home.html")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    if g.user is not None:
        return redirect(url_for("ui.home"))
    errors: dict[str, str] = {}
    username = ""
    status = 200
    retry_after = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        if not username:
            errors["username"] = "Enter your username"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105 (an error message)
        if errors:
            status = 400
        if not errors:
            try:
                token = _signin().sign_in(
                    username, password, request.remote_addr or "", g.get("request_id")
                )
            except ValueError:
                errors["form"] = GENERIC_FAILURE
                status = 400
            except TooManyRequests as error:
                errors["form"] = error.detail
                status = 429
                retry_after = str(current_app.extensions["hub"].settings.signin_window)
            else:
                session.clear()  # a fresh session (and CSRF token) on every sign-in
                session["sid"] = token
                session.permanent = True
                return redirect(url_for("ui.home"))
    headers = {"Retry-After": retry_after} if status == 429 else {}
    return render_template("sign_in.html", errors=errors, username=username), status, headers


@bp.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    token = session.get("sid")
    if token and g.user is not None:
        _signin().sign_out(token, g.user, g.get("request_id"))
    session.clear()
    return redirect(url_for("ui.sign_in", signed_out=1))


def not_found_page() -> ResponseReturnValue:
    return render_template("not_found.html"), 404


def register_csrf_handler(app: Any) -> None:
    @app.errorhandler(CSRFError)  # type: ignore[untyped-decorator]
    def _csrf(error: CSRFError) -> ResponseReturnValue:
        return render_template("csrf.html"), 400
