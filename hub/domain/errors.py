"""Errors that carry a stable machine code and map to HTTP in one place (RFC 9457 problem details).

Each error's `type` URI is part of the public contract: clients switch on it, so never rename one.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://hub.justice.example/problems/"


class HubError(Exception):
    """Base class: `code` names the problem type, `status` the HTTP status."""

    code = "internal-error"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        # What the refusal's audit entry should say beyond the problem code (ids, never payload).
        self.audit_fields: dict[str, Any] = {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.code

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(HubError):
    code, status, title = "bad-request", 400, "Bad request"


class MalformedJson(HubError):
    code, status, title = "malformed-json", 400, "Body is not valid JSON"


class Unauthenticated(HubError):
    code, status, title = "invalid-token", 401, "Authentication failed"


class InsufficientScope(HubError):
    code, status, title = "insufficient-scope", 403, "Token lacks the required scope"


class SourceMismatch(HubError):
    code, status, title = "source-mismatch", 403, "Source is not the caller's agency"


class NotFound(HubError):
    code, status, title = "not-found", 404, "Not found"


class IdempotencyConflict(HubError):
    code, status, title = (
        "idempotency-key-reused",
        409,
        "Idempotency key was used with a different request",
    )


class DuplicateEvent(HubError):
    code, status, title = "duplicate-event-id", 409, "Event id already used with other content"


class InvalidCursor(HubError):
    code, status, title = "invalid-cursor", 400, "Invalid cursor"


class PayloadTooLarge(HubError):
    code, status, title = "payload-too-large", 413, "Request body too large"


class UnsupportedMediaType(HubError):
    code, status, title = "unsupported-media-type", 415, "Unsupported media type"


class ValidationFailed(HubError):
    code, status, title = "validation-failed", 422, "Request failed validation"


class UnknownMessageType(HubError):
    code, status, title = "unknown-message-type", 422, "Unknown message type"


class UnknownRecipient(HubError):
    code, status, title = "unknown-recipient", 422, "Unknown recipient"


class SharingRefused(HubError):
    code, status, title = "sharing-refused", 403, "No agreement allows this disclosure"


class TooManyRequests(HubError):
    code, status, title = "too-many-requests", 429, "Too many requests"


class ServiceUnavailable(HubError):
    code, status, title = "service-unavailable", 503, "Service unavailable"


class Conflict(HubError):
    code, status, title = "conflict", 409, "The request conflicts with the current state"


class WrongAgencyKind(HubError):
    code, status, title = (
        "wrong-agency-kind",
        403,
        "This document comes from another kind of agency",
    )


class UnreadableDocument(HubError):
    code, status, title = "unreadable-document", 422, "The document could not be read"


class RecordsRejected(HubError):
    code, status, title = "records-rejected", 422, "Some records in the document were rejected"


class NotAcceptable(HubError):
    code, status, title = "not-acceptable", 406, "No representation in the requested format"
