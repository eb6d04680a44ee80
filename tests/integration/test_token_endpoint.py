"""The token endpoint: client credentials with private_key_jwt and client_secret_basic, and refusals."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest

from hub.app import create_app
from hub.bootstrap import build
from tests.conftest import audit_entries, make_settings, redis_available
from tests.support import databases
from tests.support.world import client_assertion, make_world

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _assertion_form(assertion: str, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
        **extra,
    }


def test_private_key_jwt_issues_an_rfc9068_token(
    client: Any, world: Any, services: Any, settings: Any
) -> None:
    creds = world["courts-sheffield"]
    response = client.post(
        "/oauth/token",
        data=_assertion_form(
            client_assertion(creds, settings.token_endpoint), scope="messages:send"
        ),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"].lower() == "bearer"
    assert body["scope"] == "messages:send"
    assert body["expires_in"] == settings.access_token_ttl

    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256"
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert header["kid"] in {key["kid"] for key in jwks["keys"]}
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == header["kid"]))
    claims = jwt.decode(
        body["access_token"],
        key,
        algorithms=["ES256"],
        audience=settings.audience,
        issuer=settings.issuer,
    )
    assert claims["sub"] == claims["client_id"] == "courts-sheffield"
    assert claims["agency"] == "courts-sheffield"
    assert set(claims) >= {"iss", "aud", "sub", "client_id", "scope", "exp", "iat", "jti"}

    issued = audit_entries(services, "token.issued")
    assert issued[-1]["actor"] == {"agency": "courts-sheffield", "client": "courts-sheffield"}
    assert issued[-1]["scope"] == "messages:send"
    assert issued[-1]["reasons"] == ["auth:private_key_jwt"]


def test_client_secret_basic_issues_default_scopes(client: Any, world: Any) -> None:
    creds = world["provider-doncaster-alliance"]
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert set(response.get_json()["scope"].split()) == {
        "messages:send",
        "messages:read",
        "inbox:read",
        "subjects:read",
        "consents:write",
    }


def _refused(response: Any, services: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["error"] == error
    assert body["type"] == f"https://hub.justice.example/problems/oauth-{error.replace('_', '-')}"
    entry = audit_entries(services, "token.refused")[-1]
    assert entry["reasons"] == [error]
    assert entry["status"] == status
    return entry


def test_replayed_assertion_jti_is_refused_and_audited(
    client: Any, world: Any, services: Any, settings: Any
) -> None:
    assertion = client_assertion(world["courts-sheffield"], settings.token_endpoint)
    assert client.post("/oauth/token", data=_assertion_form(assertion)).status_code == 200
    # RFC 6749 5.2: 401 only when the client authenticated with the Authorization header.
    entry = _refused(
        client.post("/oauth/token", data=_assertion_form(assertion)),
        services,
        400,
        "invalid_client",
    )
    assert entry["claimed_client"] == "courts-sheffield"
    assert "actor" not in entry  # nobody was authenticated


def test_assertion_for_another_audience_is_refused(client: Any, world: Any, services: Any) -> None:
    assertion = client_assertion(world["courts-sheffield"], "http://hub.test/somewhere-else")
    _refused(
        client.post("/oauth/token", data=_assertion_form(assertion)),
        services,
        400,
        "invalid_client",
    )


def test_long_lived_assertion_is_refused(
    client: Any, world: Any, services: Any, settings: Any
) -> None:
    assertion = client_assertion(world["courts-sheffield"], settings.token_endpoint, lifetime=3600)
    response = client.post("/oauth/token", data=_assertion_form(assertion))
    _refused(response, services, 400, "invalid_client")
    assert "300 seconds" in response.get_json()["error_description"]


def test_assertion_signed_by_another_key_is_refused(
    client: Any, world: Any, services: Any, settings: Any
) -> None:
    forged = world["courts-sheffield"]
    impostor = type(forged)(
        forged.client_id, "iom-sheffield", "", forged.kid
    )  # signs with IOM's key
    assertion = client_assertion(impostor, settings.token_endpoint)
    _refused(
        client.post("/oauth/token", data=_assertion_form(assertion)),
        services,
        400,
        "invalid_client",
    )


def test_wrong_secret_is_refused(client: Any, world: Any, services: Any) -> None:
    basic = base64.b64encode(b"courts-sheffield:not-the-secret").decode()
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    _refused(response, services, 401, "invalid_client")


def test_other_grant_types_are_refused(client: Any, world: Any, services: Any) -> None:
    creds = world["courts-sheffield"]
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    response = client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "x", "password": "y"},
        headers={"Authorization": f"Basic {basic}"},
    )
    _refused(response, services, 400, "unsupported_grant_type")


def test_scope_the_client_does_not_have_is_refused(client: Any, world: Any, services: Any) -> None:
    creds = world["courts-sheffield"]
    basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "messages:send admin:everything"},
        headers={"Authorization": f"Basic {basic}"},
    )
    _refused(response, services, 400, "invalid_scope")


def test_discovery_metadata(client: Any, settings: Any) -> None:
    meta = client.get("/.well-known/oauth-authorization-server").get_json()
    assert meta["issuer"] == settings.issuer
    assert meta["token_endpoint"] == settings.token_endpoint
    assert meta["grant_types_supported"] == ["client_credentials"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "private_key_jwt",
        "client_secret_basic",
    }
    assert meta["jwks_uri"].endswith("/.well-known/jwks.json")


def test_rotated_keys_keep_verifying_old_tokens(
    client: Any, world: Any, services: Any, token: Any
) -> None:
    old = token("provider-doncaster-alliance")
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_kid = services.signing_keys.rotate()
    assert new_kid != old_kid
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]}
    assert {old_kid, new_kid} <= kids
    assert client.get("/v1/inbox", headers={"Authorization": f"Bearer {old}"}).status_code == 200
    assert jwt.get_unverified_header(token("provider-doncaster-alliance"))["kid"] == new_kid


# Collected only where Redis is configured (CI requires it: HUB_REQUIRE_SERVICES=1).
if redis_available():

    def test_replay_guard_shared_through_redis(database_url: str, tmp_path: Any) -> None:
        """With HUB_REDIS_URL set, a jti used against one hub process is refused by another."""
        settings = make_settings(database_url, tmp_path / "var", redis_url=databases.redis_url())
        first = build(settings)
        world = make_world(first)
        second = build(settings)
        try:
            assertion = client_assertion(world["courts-sheffield"], settings.token_endpoint)
            one = create_app(settings, first).test_client()
            two = create_app(settings, second).test_client()
            assert one.post("/oauth/token", data=_assertion_form(assertion)).status_code == 200
            replayed = two.post("/oauth/token", data=_assertion_form(assertion))
            assert replayed.status_code == 400
            assert replayed.get_json()["error_description"] == "JWT ID is used before."
            assert one.get("/readyz").get_json()["checks"] == {"database": "ok", "redis": "ok"}
        finally:
            first.close()
            second.close()


def test_unknown_client_and_wrong_secret_get_one_answer(
    client: Any, world: Any, services: Any
) -> None:
    def attempt(user: str, secret: str) -> dict[str, Any]:
        basic = base64.b64encode(f"{user}:{secret}".encode()).decode()
        response = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert response.status_code == 401
        return {k: v for k, v in response.get_json().items() if k != "requestId"}

    assert attempt("courts-sheffield", "wrong") == attempt("no-such-client", "wrong")
    entries = audit_entries(services, "token.refused")
    # Only a registered client's id is written; anything else a caller claims is not.
    assert [e["claimed_client"] for e in entries[-2:]] == ["courts-sheffield", "unregistered"]


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"iss": "iom-sheffield"}, "Issuer and Subject MUST match."),
        ({"jti": None}, "Missing JWT ID."),
        ({"lifetime": -120}, None),
    ],
)
def test_malformed_assertions_are_refused(
    client: Any,
    world: Any,
    services: Any,
    settings: Any,
    change: dict[str, Any],
    description: str | None,
) -> None:
    creds = world["courts-sheffield"]
    change = dict(change)  # the parameter is shared by every backend's run
    lifetime = change.pop("lifetime", 60)
    assertion = client_assertion(creds, settings.token_endpoint, lifetime=lifetime, **change)
    if change.get("jti", "") is None:
        claims = jwt.decode(assertion, options={"verify_signature": False})
        del claims["jti"]
        from tests.support.world import rsa_key

        assertion = jwt.encode(
            claims, rsa_key(creds.agency_id), algorithm="RS256", headers={"kid": creds.kid}
        )
    response = client.post("/oauth/token", data=_assertion_form(assertion))
    _refused(response, services, 400, "invalid_client")
    if description:
        assert response.get_json()["error_description"] == description


def test_a_secret_only_client_cannot_use_a_key(
    client: Any, services: Any, settings: Any, world: Any
) -> None:
    with services.db.transaction() as session:
        new = services.registry.add_client(
            session, agency_id="iom-sheffield", name="secret only", issue_secret=True
        )
    impostor = type(world["iom-sheffield"])(
        new.client_id, "iom-sheffield", "", world["iom-sheffield"].kid
    )
    response = client.post(
        "/oauth/token", data=_assertion_form(client_assertion(impostor, settings.token_endpoint))
    )
    _refused(response, services, 400, "invalid_client")
