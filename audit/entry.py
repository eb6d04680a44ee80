"""Audit entries.

An entry records one action: who did it (agency, client, user), to whom it concerned (a keyed
pseudonym of the person, never an identifier), which message, under which agreement, with which
decision and why. It holds digests and codes, never payload text, names or dates of birth: the
fields below are the whole vocabulary, so there is nowhere to put them.

The serialised form is RFC 8785 (JSON Canonicalization Scheme) so that the same entry always has
the same bytes, which the Merkle tree hashes as an RFC 6962 leaf.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785

ENTRY_VERSION = 1


@dataclass(frozen=True)
class Actor:
    agency: str | None = None
    client: str | None = None
    user: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    action: str
    time: datetime
    actor: Actor = field(default_factory=Actor)
    request_id: str | None = None
    subject: str | None = None  # keyed pseudonym (hex HMAC-SHA-256)
    message_id: str | None = None
    message_type: str | None = None
    purpose: str | None = None
    lawful_basis: str | None = None
    recipient: str | None = None
    agreement_id: str | None = None
    agreement_version: str | None = None
    policy_hash: str | None = None
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    payload_digest: str | None = None
    scope: str | None = None
    claimed_client: str | None = None  # an unauthenticated caller's claim, kept as evidence
    status: int | None = None

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("audit times must be timezone-aware")
        if self.subject is not None and not _is_hex_digest(self.subject):
            raise ValueError("the subject of an audit entry must be a pseudonym, not an identifier")

    def to_json_obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "v": ENTRY_VERSION,
            "action": self.action,
            "time": format_time(self.time),
        }
        actor = {k: v for k, v in vars(self.actor).items() if v is not None}
        if actor:
            obj["actor"] = actor
        for name in (
            "request_id",
            "subject",
            "message_id",
            "message_type",
            "purpose",
            "lawful_basis",
            "recipient",
            "agreement_id",
            "agreement_version",
            "policy_hash",
            "decision",
            "payload_digest",
            "scope",
            "claimed_client",
            "status",
        ):
            value = getattr(self, name)
            if value is not None:
                obj[name] = value
        if self.reasons:
            obj["reasons"] = list(self.reasons)
        if self.fields:
            obj["fields"] = list(self.fields)
        return obj

    def canonical(self) -> bytes:
        return canonical_json(self.to_json_obj())


def canonical_json(obj: dict[str, Any]) -> bytes:
    """RFC 8785 (JCS) bytes of an entry. Entries hold only text, integers and lists and objects
    of them; for those, JCS is exactly sorted keys, no whitespace and UTF-8 with only `"`, `\\`
    and control characters escaped, which the standard library writes several times faster than
    a general JCS encoder. Anything else (a float, a key outside the Basic Multilingual Plane,
    where JCS's UTF-16 key order differs) goes through the general encoder."""
    if _plain(obj):
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return rfc8785.dumps(obj)


def _plain(value: Any) -> bool:
    if isinstance(value, str):
        return value.isascii() or not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -(2**53) < value < 2**53
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and (k.isascii() or all(ord(c) < 0x10000 for c in k)) and _plain(v)
            for k, v in value.items()
        )
    return False


def format_time(value: datetime) -> str:
    """RFC 3339 UTC with milliseconds, e.g. `2026-11-23T20:30:00.123Z`."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _is_hex_digest(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)
