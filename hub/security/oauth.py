"""The token endpoint: Authlib's authorization server, client credentials only (RFC 6749 4.4).

Clients authenticate with `private_key_jwt` (RFC 7523 section 2.2: `aud` must be the token
endpoint, each `jti` is accepted once, assertions must expire soon) or `client_secret_basic`.
Access tokens are RFC 9068 JWTs signed by the hub (see `tokens.py`). Every token issued or refused
is audited.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, InvalidClientError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hub.security.passwords import verify_client_secret
from hub.store.ephemeral import EphemeralStore
from hub.store.models import OAuthClient

ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256"]


class HubClient(ClientMixin):  # type: ignore[misc]
    """An OAuth client as Authlib sees it, built from the registry's row and keys."""

    def __init__(self, row: OAuthClient, public_jwks: list[dict[str, Any]]) -> None:
        self.row = row
        self.client_id = row.client_id
        self.agency_id = row.agency_id
        self.public_jwks = public_jwks
        self._methods = set(row.auth_methods.split())
        self._scopes = row.scopes.split()

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return " ".join(self._scopes)
        return " ".join(s for s in scope.split() if s in self._scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_client_secret(self.row.secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in self._methods

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client authentication with the rules the hub adds: explicit algorithms, a short
    lifetime, and each `jti` accepted once (remembered until the assertion would have expired)."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, token_endpoint: str, replay: EphemeralStore, max_lifetime: int, leeway: int):
        super().__init__(validate_jti=True, leeway=leeway)
        self._token_endpoint = token_endpoint
        self._replay = replay
        self._max_lifetime = max_lifetime

    def get_audiences(self) -> list[str]:
        return [self._token_endpoint]

    def resolve_client_public_key(self, client: HubClient) -> KeySet:
        if not client.public_jwks:
            raise InvalidClientError(description="The client has no registered public key.")
        return KeySet.import_key_set({"keys": client.public_jwks})

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> Any:
        try:
            token = jose_jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except JoseError as error:
            raise InvalidClientError(
                description=f"Invalid client assertion: {error.error}"
            ) from None
        claims = token.claims
        exp = claims.get("exp")
        if isinstance(exp, int | float) and exp - time.time() > self._max_lifetime + self.leeway:
            raise InvalidClientError(
                description=f"Client assertions must expire within {self._max_lifetime} seconds."
            )
        self.verify_claims(claims)
        return claims

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        ttl = max(int(claims["exp"] - time.time()) + self.leeway, 1)
        # Hashed: a fixed-length key whatever the client sends, on every store.
        key = hashlib.sha256(f"{claims['sub']}\0{jti}".encode()).hexdigest()
        return self._replay.add_once(f"jti:{key}", ttl)


class HubClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["private_key_jwt", "client_secret_basic"]


def build_authorization_server(
    *,
    query_client: Callable[[str], HubClient | None],
    issue_token: Callable[[HubClient, str], str],
    token_ttl: int,
    on_issued: Callable[[dict[str, Any], Any], None],
    assertion: PrivateKeyJwt,
    scopes_supported: list[str],
) -> AuthorizationServer:
    server = AuthorizationServer(query_client=query_client, save_token=on_issued)
    server.scopes_supported = scopes_supported

    def access_token(client: HubClient, grant_type: str, user: Any, scope: str) -> str:
        if not scope:
            raise InvalidScopeError(description="None of the requested scopes is allowed.")
        return issue_token(client, scope)

    server.register_token_generator(
        "default",
        BearerTokenGenerator(
            access_token_generator=access_token,
            expires_generator=lambda client, grant_type: token_ttl,
        ),
    )
    server.register_grant(HubClientCredentialsGrant)
    server.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, assertion)
    return server
