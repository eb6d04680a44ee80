"""Operations endpoints, the OpenAPI document and the docs page."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_health_and_readiness(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["checks"]["database"] == "ok"


def test_readiness_fails_when_the_database_is_gone(
    client: Any, services: Any, monkeypatch: Any
) -> None:
    def down() -> None:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(services.db, "ping", down)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["type"].endswith("/service-unavailable")


def test_metrics_count_requests(client: Any) -> None:
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'hub_http_requests_total{method="GET",route="/healthz",status="200"}' in body


def test_openapi_is_generated_from_the_schemas(client: Any) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/v1/messages", "/v1/inbox", "/v1/inbox/{id}/ack", "/oauth/token"} <= set(spec["paths"])
    assert {"/v1/audit/checkpoint", "/v1/audit/proofs/inclusion", "/v1/audit/entries"} <= set(
        spec["paths"]
    )
    conviction = spec["components"]["schemas"]["ConvictionData"]
    assert {"offence", "convictionDate", "court"} <= set(conviction["required"])
    envelope = spec["components"]["schemas"]["CloudEvent"]
    assert envelope["properties"]["purpose"]["enum"]


def test_docs_page_is_readable(client: Any) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assert "/v1/messages" in page and "ConvictionData" in page and "govuk-table" in page


def test_unknown_api_path_is_problem_json(client: Any) -> None:
    response = client.get("/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_frontend_assets_are_served(client: Any) -> None:
    for path in (
        "/static/govuk/govuk-frontend.min.css",
        "/assets/fonts/bold-b542beb274-v2.woff2",
        "/assets/images/icon-search-black.svg",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
    # A file that exists one level up from an assets folder is still out of reach.
    assert (Path(__file__).parents[2] / "hub/web/static/govuk/govuk-frontend.min.js").exists()
    assert client.get("/assets/../govuk-frontend.min.js").status_code == 404
    assert client.get("/assets/%2e%2e/govuk-frontend.min.js").status_code == 404


def test_whoami_reflects_the_verified_token(client: Any, token: Any) -> None:
    body = client.get(
        "/v1/whoami",
        headers={"Authorization": f"Bearer {token('iom-sheffield', scope='inbox:read')}"},
    ).get_json()
    assert body == {
        "agency": "iom-sheffield",
        "client_id": "iom-sheffield",
        "scope": ["inbox:read"],
    }


def test_docs_show_code_spans_and_escape_the_rest(app: Any) -> None:
    render = app.jinja_env.filters["code_spans"]
    assert (
        str(render("needs `inbox:read` <b>now</b>"))
        == "needs <code>inbox:read</code> &lt;b&gt;now&lt;/b&gt;"
    )
