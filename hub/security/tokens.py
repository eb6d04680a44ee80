"""Access tokens: JWTs per RFC 9068, issued by the hub and verified on every protected request.

Verification is explicit about everything (RFC 8725): the one algorithm the hub signs with, the
`typ`, a known `kid`, the issuer, the audience and every required claim. Each failure raises
`Unauthenticated` with a reason; nothing here returns False.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt

from hub.domain.errors import InsufficientScope, Unauthenticated
from hub.security.keys import ALG, SigningKeys

TOKEN_TYP = "at+jwt"  # noqa: S105 (a media type)
REQUIRED_CLAIMS = ["iss", "aud", "sub", "client_id", "scope", "exp", "iat", "jti", "agency"]


@dataclass(frozen=True)
class AccessToken:
    """A verified access token: who is calling and what they may do."""

    client_id: str
    agency_id: str
    scopes: frozenset[str]
    jti: str
    expires_at: int

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise InsufficientScope(f"this request needs the '{scope}' scope", required_scope=scope)


class TokenService:
    def __init__(
        self, keys: SigningKeys, issuer: str, audience: str, ttl: int, leeway: int
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl
        self._leeway = leeway

    @property
    def ttl(self) -> int:
        return self._ttl

    def issue(self, client_id: str, agency_id: str, scope: str) -> tuple[str, dict[str, object]]:
        key = self._keys.active()
        now = int(time.time())
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": client_id,
            "client_id": client_id,
            "agency": agency_id,
            "scope": scope,
            "iat": now,
            "exp": now + self._ttl,
            "jti": secrets.token_urlsafe(16),
        }
        token = jwt.encode(
            claims, key.private_key, algorithm=ALG, headers={"typ": TOKEN_TYP, "kid": key.kid}
        )
        return token, claims

    def verify(self, unverified_token: str) -> AccessToken:
        try:
            header = jwt.get_unverified_header(unverified_token)
        except jwt.DecodeError:
            raise Unauthenticated("the token is not a JWT", reason="malformed") from None
        if header.get("alg") != ALG:
            raise Unauthenticated(
                f"tokens must be signed with {ALG}", reason="algorithm-not-allowed"
            )
        if str(header.get("typ", "")).lower() not in (TOKEN_TYP, "application/" + TOKEN_TYP):
            raise Unauthenticated("the token is not an access token (typ)", reason="wrong-type")
        kid = header.get("kid")
        key = self._keys.public_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthenticated("the token's signing key is unknown", reason="unknown-key")
        try:
            claims = jwt.decode(
                unverified_token,
                key=key,
                algorithms=[ALG],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired", reason="expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(
                "the token is for another audience", reason="wrong-audience"
            ) from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated(
                "the token is from another issuer", reason="wrong-issuer"
            ) from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated(
                "the token's signature is invalid", reason="bad-signature"
            ) from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(
                f"the token lacks the '{error.claim}' claim", reason="missing-claim"
            ) from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("the token is invalid", reason="invalid") from None
        if claims["sub"] != claims["client_id"]:
            raise Unauthenticated("the token's subject is not its client", reason="invalid")
        return AccessToken(
            client_id=str(claims["client_id"]),
            agency_id=str(claims["agency"]),
            scopes=frozenset(str(claims["scope"]).split()),
            jti=str(claims["jti"]),
            expires_at=int(claims["exp"]),
        )
