"""`/oauth/token` and discovery (RFC 8414 metadata, the JWKS)."""

from __future__ import annotations

import json
from typing import Any

import jwt
from flask import Blueprint, Response, current_app, g, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from audit.entry import Actor
from hub.bootstrap import Services
from hub.domain.errors import PROBLEM_BASE
from hub.domain.vocab import AuditAction, Scope
from hub.logs import get_logger
from hub.security.oauth import HubClient, PrivateKeyJwt, build_authorization_server
from hub.store.models import ClientKey, OAuthClient

bp = Blueprint("oauth", __name__)
log = get_logger("hub.oauth")


def init_oauth(app: Any) -> None:
    services: Services = app.extensions["hub"]
    settings = services.settings

    def query_client(client_id: str) -> HubClient | None:
        with services.db.transaction(readonly=True) as session:
            row = session.get(OAuthClient, client_id)
            if row is None or row.disabled_at is not None:
                return None
            keys = session.scalars(
                select(ClientKey).where(
                    ClientKey.client_id == client_id, ClientKey.revoked_at.is_(None)
                )
            ).all()
            return HubClient(row, [dict(k.public_jwk) for k in keys])

    def issue_token(client: HubClient, scope: str) -> str:
        token, _claims = services.tokens.issue(client.client_id, client.agency_id, scope)
        return token

    def on_issued(token: dict[str, Any], oauth_request: Any) -> None:
        client: HubClient = oauth_request.client
        with services.db.transaction() as session:
            services.audit.record(
                session,
                AuditAction.TOKEN_ISSUED,
                actor=Actor(agency=client.agency_id, client=client.client_id),
                request_id=g.get("request_id"),
                scope=token.get("scope"),
                reasons=(f"auth:{oauth_request.auth_method}",),
            )
        log.info("token.issued", client_id=client.client_id, agency_id=client.agency_id)

    assertion = PrivateKeyJwt(
        settings.token_endpoint,
        services.ephemeral,
        max_lifetime=settings.assertion_max_lifetime,
        leeway=settings.clock_leeway,
    )
    app.extensions["hub_oauth"] = build_authorization_server(
        query_client=query_client,
        issue_token=issue_token,
        token_ttl=settings.access_token_ttl,
        on_issued=on_issued,
        assertion=assertion,
        scopes_supported=[s.value for s in Scope],
    )


@bp.post("/oauth/token")
def token() -> ResponseReturnValue:
    """RFC 6749 section 4.4. Errors keep the RFC 6749 5.2 body (`error`, `error_description`) that
    OAuth clients parse, with RFC 9457 members beside them."""
    server = current_app.extensions["hub_oauth"]
    response: Response = server.create_token_response()
    if response.status_code == 200:
        return response
    body = json.loads(response.get_data())
    error = body.get("error", "invalid_request")
    description = body.get("error_description", "")
    if error == "invalid_client" and (
        "does not exist" in description or "cannot authenticate with method" in description
    ):
        # One answer whether the client is unknown or its credentials are wrong.
        body["error_description"] = (
            "Client authentication failed: unknown client or wrong credentials."
        )
    elif error == "unsupported_grant_type":
        body["error_description"] = "Only grant_type=client_credentials is supported."
    body.update(
        type=PROBLEM_BASE + "oauth-" + error.replace("_", "-"),
        title="Token request refused",
        status=response.status_code,
        detail=body.get("error_description", error),
        requestId=g.get("request_id"),
    )
    services = current_app.extensions["hub"]
    claimed = _registered(services, _claimed_client())
    with services.db.transaction() as session:
        services.audit.record(
            session,
            AuditAction.TOKEN_REFUSED,
            request_id=g.get("request_id"),
            claimed_client=claimed,
            status=response.status_code,
            reasons=(error,),
        )
    log.info("token.refused", error=error, status=response.status_code)
    response.set_data(json.dumps(body))
    return response


def _registered(services: Services, claimed: str | None) -> str | None:
    """The claimed client id if it is a registered client; otherwise a marker, never caller text
    (the audit log is append-only: it must not become a place to write arbitrary words)."""
    if not claimed:
        return None
    with services.db.transaction(readonly=True) as session:
        return claimed if session.get(OAuthClient, claimed) is not None else "unregistered"


def _claimed_client() -> str | None:
    """Who the caller said it was (unverified), kept as evidence of the attempt."""
    if request.authorization and request.authorization.username:
        return str(request.authorization.username)[:64]
    claimed = request.form.get("client_id")
    if claimed:
        return claimed[:64]
    assertion = request.form.get("client_assertion", "")
    try:
        unverified_claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    sub = unverified_claims.get("sub")
    return str(sub)[:64] if isinstance(sub, str) else None


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> ResponseReturnValue:
    """RFC 8414 authorization server metadata."""
    settings = current_app.extensions["hub"].settings
    return {
        "issuer": settings.issuer,
        "token_endpoint": settings.token_endpoint,
        "jwks_uri": settings.issuer + "/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256"],
        "scopes_supported": [s.value for s in Scope],
        "response_types_supported": [],
        "service_documentation": settings.issuer + "/docs",
    }


@bp.get("/.well-known/jwks.json")
def jwks() -> ResponseReturnValue:
    keys = current_app.extensions["hub"].signing_keys.jwks()
    # As long as a hub process takes to notice a rotated key (see SigningKeys).
    return keys, 200, {"Cache-Control": "public, max-age=60"}
