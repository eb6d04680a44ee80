"""Every refusal answers problem+json with a stable type and writes an audit entry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from tests.conftest import audit_entries
from tests.support.world import conviction_event

P = "https://hub.justice.example/problems/"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(settings: Any, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": "courts-sheffield",
        "client_id": "courts-sheffield",
        "agency": "courts-sheffield",
        "scope": "messages:send messages:read inbox:read",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    claims.update(overrides)
    return claims


def _hub_signed(services: Any, claims: dict[str, Any]) -> str:
    key = services.signing_keys.active()
    return jwt.encode(
        claims, key.private_key, algorithm="ES256", headers={"typ": "at+jwt", "kid": key.kid}
    )


def _assert_refused(
    response: Any, services: Any, status: int, code: str, action: str, reason: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == P + code
    assert body["status"] == status
    assert body["requestId"] == response.headers["X-Request-Id"]
    entry = audit_entries(services, action)[-1]
    assert entry["request_id"] == body["requestId"]
    assert entry["status"] == status
    assert entry["reasons"][0] == code
    if reason:
        assert entry["reasons"][1] == reason
    return body


def _send(client: Any, token: str, body: Any = None, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
    if body is not None and "data" not in kw:
        kw["data"] = json.dumps(body)
        kw.setdefault("content_type", "application/cloudevents+json")
    return client.post("/v1/messages", headers=headers, **kw)


def test_token_with_alg_none(client: Any, services: Any, settings: Any, world: Any) -> None:
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
    payload = _b64(json.dumps(_claims(settings)).encode())
    response = _send(client, f"{header}.{payload}.", conviction_event())
    _assert_refused(
        response, services, 401, "invalid-token", "access.refused", "algorithm-not-allowed"
    )
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_hs256_token_signed_with_the_hubs_public_key(
    client: Any, services: Any, settings: Any, world: Any
) -> None:
    active = services.signing_keys.active()
    public_pem = active.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": active.kid}).encode())
    payload = _b64(json.dumps(_claims(settings)).encode())
    signature = _b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    response = _send(client, f"{header}.{payload}.{signature}", conviction_event())
    _assert_refused(
        response, services, 401, "invalid-token", "access.refused", "algorithm-not-allowed"
    )


def test_expired_token(client: Any, services: Any, settings: Any, world: Any) -> None:
    past = int(time.time()) - 3600
    token = _hub_signed(services, _claims(settings, iat=past - 600, exp=past))
    _assert_refused(
        _send(client, token, conviction_event()),
        services,
        401,
        "invalid-token",
        "access.refused",
        "expired",
    )


def test_token_for_another_audience(client: Any, services: Any, settings: Any, world: Any) -> None:
    token = _hub_signed(services, _claims(settings, aud="https://another-service.example"))
    _assert_refused(
        _send(client, token, conviction_event()),
        services,
        401,
        "invalid-token",
        "access.refused",
        "wrong-audience",
    )


def test_tampered_signature(client: Any, services: Any, token: Any) -> None:
    header, payload, signature = token("courts-sheffield").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["agency"] = "probation-south-yorkshire"  # try to become another agency
    forged = f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    _assert_refused(
        _send(client, forged, conviction_event()),
        services,
        401,
        "invalid-token",
        "access.refused",
        "bad-signature",
    )


def test_token_missing_a_required_claim(
    client: Any, services: Any, settings: Any, world: Any
) -> None:
    claims = _claims(settings)
    del claims["jti"]
    _assert_refused(
        _send(client, _hub_signed(services, claims), conviction_event()),
        services,
        401,
        "invalid-token",
        "access.refused",
        "missing-claim",
    )


def test_no_token(client: Any, services: Any, world: Any) -> None:
    response = client.get("/v1/inbox")
    _assert_refused(response, services, 401, "invalid-token", "access.refused", "missing")


def test_missing_scope(client: Any, services: Any, token: Any) -> None:
    response = _send(client, token("courts-sheffield", scope="inbox:read"), conviction_event())
    body = _assert_refused(response, services, 403, "insufficient-scope", "access.refused")
    assert body["required_scope"] == "messages:send"
    assert 'scope="messages:send"' in response.headers["WWW-Authenticate"]


def test_source_that_is_not_the_caller(client: Any, services: Any, token: Any) -> None:
    event = conviction_event(source="probation-south-yorkshire")
    body = _assert_refused(
        _send(client, token("courts-sheffield"), event),
        services,
        403,
        "source-mismatch",
        "message.refused",
    )
    assert "source" in body["errors"]
    entry = audit_entries(services, "message.refused")[-1]
    assert entry["actor"]["agency"] == "courts-sheffield"
    assert entry["message_type"] == "conviction"


def test_malformed_json(client: Any, services: Any, token: Any) -> None:
    response = _send(
        client,
        token("courts-sheffield"),
        data=b'{"specversion": "1.0",',
        content_type="application/cloudevents+json",
    )
    _assert_refused(response, services, 400, "malformed-json", "message.refused")


def test_body_over_the_limit(client: Any, services: Any, settings: Any, token: Any) -> None:
    event = conviction_event()
    event["data"]["offence"]["title"] = "x" * (settings.max_body_bytes + 1)
    body = _assert_refused(
        _send(client, token("courts-sheffield"), event),
        services,
        413,
        "payload-too-large",
        "message.refused",
    )
    assert body["limit"] == settings.max_body_bytes


def test_wrong_content_type(client: Any, services: Any, token: Any) -> None:
    response = _send(client, token("courts-sheffield"), data="hello", content_type="text/plain")
    _assert_refused(response, services, 415, "unsupported-media-type", "message.refused")


def test_unknown_type(client: Any, services: Any, token: Any) -> None:
    event = conviction_event(type="uk.gov.justice.hub.gossip.v1")
    body = _assert_refused(
        _send(client, token("courts-sheffield"), event),
        services,
        422,
        "unknown-message-type",
        "message.refused",
    )
    assert "type" in body["errors"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("offence", "code"), 68010, ["Not a valid string."]),
        (("convictionDate",), "10/03/2026", ["Not a valid date."]),
        (("disposal", "duration", "value"), "twelve", ["Not a valid integer."]),
    ],
)
def test_data_field_of_the_wrong_type(
    client: Any, services: Any, token: Any, path: tuple[str, ...], value: Any, expected: list[str]
) -> None:
    event = conviction_event()
    target = event["data"]
    for name in path[:-1]:
        target = target[name]
    target[path[-1]] = value
    body = _assert_refused(
        _send(client, token("courts-sheffield"), event),
        services,
        422,
        "validation-failed",
        "message.refused",
    )
    errors = body["errors"]["data"]
    for name in path:
        errors = errors[name]
    assert errors == expected


def test_no_agreement_permits_it(client: Any, services: Any, token: Any) -> None:
    # Courts may not send convictions to a prison under any seed agreement.
    event = conviction_event(recipient="prison-doncaster")
    body = _assert_refused(
        _send(client, token("courts-sheffield"), event),
        services,
        403,
        "sharing-refused",
        "message.refused",
    )
    assert body["decision"] == "deny"
    entry = audit_entries(services, "message.refused")[-1]
    assert entry["decision"] == "deny"
    assert entry["recipient"] == "prison-doncaster"
    assert len(entry["policy_hash"]) == 64
    assert entry["reasons"] == ["sharing-refused", *body["reasons"]]


def test_audit_entries_hold_no_payload_or_identifier(
    client: Any, services: Any, token: Any
) -> None:
    court = token("courts-sheffield")
    _send(client, court, conviction_event(source="probation-south-yorkshire"))  # refused
    assert _send(client, court, conviction_event()).status_code == 202  # accepted
    provider = {"Authorization": f"Bearer {token('provider-doncaster-alliance')}"}
    item = client.get("/v1/inbox", headers=provider).get_json()["items"][0]  # read
    client.post(f"/v1/inbox/{item['id']}/ack", headers=provider)  # acknowledged
    actions = {e["action"] for e in audit_entries(services)}
    assert {"message.refused", "message.accepted", "message.read", "inbox.acked"} <= actions
    raw = json.dumps(audit_entries(services))
    for secret in ("2011/0482113C", "Theft from a shop", "Sheffield Magistrates"):
        assert secret not in raw


def _forged(services: Any, settings: Any, header_overrides: dict[str, Any], **claims: Any) -> str:
    key = services.signing_keys.active()
    headers = {"typ": "at+jwt", "kid": key.kid, **header_overrides}
    return jwt.encode(
        _claims(settings, **claims), key.private_key, algorithm="ES256", headers=headers
    )


@pytest.mark.parametrize(
    ("headers", "claims", "reason"),
    [
        ({"typ": "JWT"}, {}, "wrong-type"),
        ({"kid": "not-a-hub-key"}, {}, "unknown-key"),
        ({}, {"iss": "https://another-issuer.example"}, "wrong-issuer"),
        ({}, {"sub": "someone-else"}, "invalid"),
    ],
)
def test_tokens_the_hub_did_not_issue_this_way(
    client: Any,
    services: Any,
    settings: Any,
    world: Any,
    headers: dict[str, Any],
    claims: dict[str, Any],
    reason: str,
) -> None:
    token = _forged(services, settings, headers, **claims)
    _assert_refused(
        _send(client, token, conviction_event()),
        services,
        401,
        "invalid-token",
        "access.refused",
        reason,
    )


def test_a_disabled_clients_tokens_stop_working(client: Any, services: Any, token: Any) -> None:
    live = token("courts-sheffield")
    with services.db.transaction() as session:
        services.registry.disable_client(session, "courts-sheffield")
    services.clients._cache.clear()  # as after the cache time passes
    _assert_refused(
        _send(client, live, conviction_event()),
        services,
        401,
        "invalid-token",
        "access.refused",
        "client-disabled",
    )
    creds_token = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"courts-sheffield:x").decode()},
    )
    assert creds_token.status_code == 401
    assert audit_entries(services, "client.disabled")[-1]["claimed_client"] == "courts-sheffield"
