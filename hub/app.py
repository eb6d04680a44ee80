"""`create_app(settings)`: the Flask entry point, built on the composition root in `bootstrap`."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from pathlib import Path

import structlog
from flask import Flask, Response, abort, g, request, send_from_directory
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from markupsafe import Markup, escape
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import safe_join

from hub import logs
from hub.api import adapters, delivery, errors, oauth_views, ops, policy, subjects, v1
from hub.api import audit as audit_api
from hub.api import outcomes as outcomes_api
from hub.bootstrap import Services, build
from hub.settings import Settings
from hub.web import alerts as alert_pages
from hub.web import audit as audit_pages
from hub.web import decisions, identity, outcomes, overrides, views

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_STATIC = Path(__file__).parent / "web" / "static"
_ASSET_DIRS = (_STATIC / "govuk" / "assets", _STATIC / "moj" / "assets")


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level)
    services = services or build(settings)
    if settings.env == "production" and not settings.issuer.startswith("https://"):
        logs.get_logger("hub.config").warning(
            "config.insecure_issuer", detail="HUB_ISSUER is not https: run behind TLS in production"
        )

    app = Flask(
        __name__,
        static_folder=str(_STATIC),
        template_folder=str(Path(__file__).parent / "web" / "templates"),
    )
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        SESSION_COOKIE_NAME="__Host-hub" if settings.cookie_secure else "hub",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=settings.session_ttl,
        WTF_CSRF_TIME_LIMIT=settings.session_ttl,
        JSON_SORT_KEYS=False,
    )
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(Path(__file__).parent / "web" / "templates")),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    app.extensions["hub"] = services
    if settings.trusted_proxy_hops:
        # Behind a TLS-terminating proxy: the client's address (sign-in limits) and scheme come
        # from X-Forwarded-* set by exactly this many trusted proxies, never from the client.
        hops = settings.trusted_proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    csrf = CSRFProtect(app)
    for blueprint in (
        v1.bp,
        delivery.bp,
        adapters.bp,
        subjects.bp,
        subjects.consents_bp,
        subjects.decisions_bp,
        policy.bp,
        audit_api.bp,
        outcomes_api.bp,
        oauth_views.bp,
        ops.bp,
    ):
        csrf.exempt(blueprint)  # token-authenticated or public: no cookies, so no CSRF
        app.register_blueprint(blueprint)
    app.register_blueprint(views.bp)
    app.register_blueprint(identity.bp)
    app.register_blueprint(overrides.bp)
    app.register_blueprint(decisions.bp)
    app.register_blueprint(audit_pages.bp)
    app.register_blueprint(alert_pages.bp)
    app.register_blueprint(outcomes.bp)
    oauth_views.init_oauth(app)
    errors.register(app)
    views.register_csrf_handler(app)
    ops.register_metrics(app)
    _request_context(app, settings)

    @app.template_filter("code_spans")
    def code_spans(text: str) -> Markup:
        """`like this` in API descriptions shown as code, everything else escaped."""
        escaped = str(escape(text))  # escaped first: only the <code> tags added here are markup
        return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))  # noqa: S704

    @app.get("/")
    def index() -> ResponseReturnValue:
        from flask import redirect

        return redirect("/ui/")

    @app.get("/assets/<path:filename>")
    def assets(filename: str) -> ResponseReturnValue:
        """GOV.UK and MoJ Frontend CSS refer to fonts and icons at /assets/."""
        for directory in _ASSET_DIRS:
            path = safe_join(str(directory), filename)
            if path and Path(path).is_file():
                return send_from_directory(directory, filename, max_age=86400)
        abort(404)

    return app


def _request_context(app: Flask, settings: Settings) -> None:
    log = logs.get_logger("hub.http")
    hsts = settings.issuer.startswith("https://")

    @app.before_request
    def _begin() -> None:
        # The request id (in logs and audit entries) is always the hub's own; a caller's
        # X-Request-Id is kept beside it in the logs only, for correlating with their systems.
        g.request_id = str(uuid.uuid4())
        g.csp_nonce = secrets.token_urlsafe(16)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)
        supplied = request.headers.get("X-Request-Id", "")
        if _REQUEST_ID.match(supplied):
            structlog.contextvars.bind_contextvars(caller_request_id=supplied)

    @app.context_processor
    def _template_globals() -> dict[str, object]:
        return {"csp_nonce": g.get("csp_nonce", "")}

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        if request.path.startswith(("/ui/", "/v1/", "/oauth/")):
            response.headers["Cache-Control"] = "no-store"
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = (
                f"default-src 'self'; script-src 'self' 'nonce-{g.get('csp_nonce', '')}'; "
                "style-src 'self'; img-src 'self' data:; font-src 'self'; "
                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
            )
            response.headers["X-Frame-Options"] = "DENY"
        if hsts:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        started = g.get("started")
        log.info(
            "http.request",
            method=request.method,
            route=request.url_rule.rule if request.url_rule else None,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 2) if started else None,
        )
        return response
