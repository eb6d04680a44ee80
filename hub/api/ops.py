"""Operations and discovery: health, readiness, Prometheus metrics, the OpenAPI document and /docs."""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, render_template, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from hub.api.openapi import build_spec
from hub.domain.errors import ServiceUnavailable
from hub.logs import get_logger

bp = Blueprint("ops", __name__)
log = get_logger("hub.ops")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hub_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "hub_http_request_duration_seconds",
            "HTTP request duration by route",
            ["method", "route"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


def register_metrics(app: Flask) -> None:
    metrics = Metrics()
    app.extensions["hub_metrics"] = metrics

    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(
            time.perf_counter() - g.get("started", time.perf_counter())
        )
        return response


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return {"status": "ok"}


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    services = current_app.extensions["hub"]
    checks: dict[str, Any] = {}
    try:
        services.db.ping()
        checks["database"] = "ok"
        if services.settings.redis_url:
            services.ephemeral.ping()
            checks["redis"] = "ok"
    except Exception as error:
        log.warning("readyz.failed", error_type=type(error).__name__)
        raise ServiceUnavailable(f"a dependency is not answering: {type(error).__name__}") from None
    return {"status": "ready", "checks": checks}


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    body = current_app.extensions["hub_metrics"].render()
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}


def _spec() -> dict[str, Any]:
    cached: dict[str, Any] | None = current_app.extensions.get("hub_openapi")
    if cached is None:
        cached = build_spec(current_app.extensions["hub"].settings.issuer)
        current_app.extensions["hub_openapi"] = cached
    return cached


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return _spec()


@bp.get("/docs")
def docs() -> ResponseReturnValue:
    spec = _spec()
    return render_template("docs.html", spec=spec, schemas=spec["components"]["schemas"])
