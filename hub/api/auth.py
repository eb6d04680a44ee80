"""Bearer-token checks for the API: every protected view names the scope it needs."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request

from hub.domain.callers import Caller
from hub.domain.errors import Unauthenticated
from hub.domain.vocab import Scope

F = TypeVar("F", bound=Callable[..., Any])


def require(scope: Scope | None) -> Callable[[F], F]:
    """Verify the bearer token; then, unless `scope` is None, that it carries `scope`."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            header = request.headers.get("Authorization", "")
            scheme, _, unverified = header.partition(" ")
            if scheme.lower() != "bearer" or not unverified.strip():
                raise Unauthenticated(
                    "send an access token from /oauth/token as 'Authorization: Bearer <token>'",
                    reason="missing",
                )
            services = current_app.extensions["hub"]
            token = services.tokens.verify(unverified.strip())
            if not services.clients.is_active(token.client_id):
                raise Unauthenticated(
                    "the token's client has been disabled", reason="client-disabled"
                )
            g.token = token
            g.caller = Caller(token.agency_id, token.client_id, g.get("request_id"))
            if scope is not None:
                token.require(scope.value)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def caller() -> Caller:
    value: Caller = g.caller
    return value
