"""The OpenAPI 3 document, generated from the marshmallow schemas by apispec."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

import adapters
from hub.api import schemas as s
from hub.api.subjects import ConsentSchema, ExplainSchema, ResolveSchema
from hub.domain.vocab import Scope

BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


def _problem(
    *statuses: int, forbidden: str = "the token lacks the scope this needs"
) -> dict[str, Any]:
    reasons = {
        400: "malformed request (e.g. invalid JSON, bad cursor)",
        401: "missing, expired or invalid access token",
        403: forbidden,
        404: "does not exist, or is not yours to see (the two look the same)",
        409: "Idempotency-Key or event id reused with a different body",
        413: "body larger than the configured limit",
        415: "wrong Content-Type",
        406: "`format=native` and your agency has no native form for this message type",
        422: "validation failed: `errors` names each field",
    }
    return {
        str(code): {
            "description": reasons[code],
            "content": {"application/problem+json": {"schema": "Problem"}},
        }
        for code in statuses
    }


def _ok(code: int, schema: str, description: str) -> dict[str, Any]:
    return {
        str(code): {"description": description, "content": {"application/json": {"schema": schema}}}
    }


SUBSCRIPTION = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "url": {"type": "string", "format": "uri"},
        "types": {"type": "array", "items": {"type": "string"}},
        "createdAt": {"type": "string", "format": "date-time"},
        "sends": {
            "type": "object",
            "properties": {k: {"type": "integer"} for k in ("pending", "sent", "dead")},
        },
        "secret": {
            "type": "string",
            "description": "`whsec_...`: only in the answer to POST, never again",
        },
    },
}


def _delivery_paths(spec: APISpec) -> None:
    """The live stream and webhook subscriptions (`hub.api.delivery`)."""
    id_param = {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
    json_of = {"content": {"application/json": {"schema": SUBSCRIPTION}}}
    spec.path(
        path="/v1/inbox/stream",
        operations={
            "get": {
                "tags": ["inbox"],
                "summary": "Deliveries to your agency as they happen (Server-Sent Events)",
                "description": (
                    f"Needs scope `{Scope.INBOX_READ}`. Each event (`event: delivery`) has the "
                    "inbox cursor as its `id` and the delivery as JSON `data` (id, cursor, "
                    "receivedAt, agreement, assignedTo, urgency, message). Reconnect with "
                    "`Last-Event-ID` (or `?after=`) to resume after the last event you saw. The "
                    "stream ends when the token expires."
                ),
                "security": BEARER,
                "parameters": [
                    {"in": "header", "name": "Last-Event-ID", "schema": {"type": "string"}},
                    {"in": "query", "name": "after", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": {
                        "description": "an open event stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_problem(400, 401, 403),
                },
            }
        },
    )
    spec.path(
        path="/v1/subscriptions",
        operations={
            "post": {
                "tags": ["webhooks"],
                "summary": "Register a webhook endpoint (Standard Webhooks signatures)",
                "description": (
                    f"Needs scope `{Scope.INBOX_READ}`. Body: `url` (https), optional `types` "
                    "(message type names). The answer holds the signing secret, once."
                ),
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["url"],
                                "properties": {
                                    "url": {"type": "string", "format": "uri"},
                                    "types": {"type": "array", "items": {"type": "string"}},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "201": {"description": "registered", **json_of},
                    **_problem(400, 401, 403, 415, 422),
                },
            },
            "get": {
                "tags": ["webhooks"],
                "summary": "Your agency's subscriptions",
                "security": BEARER,
                "responses": {
                    "200": {
                        "description": "the subscriptions",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "items": {"type": "array", "items": SUBSCRIPTION}
                                    },
                                }
                            }
                        },
                    },
                    **_problem(401, 403),
                },
            },
        },
    )
    spec.path(
        path="/v1/subscriptions/{id}",
        operations={
            "get": {
                "tags": ["webhooks"],
                "summary": "One subscription, with counts of pending, sent and dead sends",
                "security": BEARER,
                "parameters": [id_param],
                "responses": {"200": {"description": "ok", **json_of}, **_problem(401, 403, 404)},
            },
            "delete": {
                "tags": ["webhooks"],
                "summary": "Stop a subscription (its pending sends are cancelled)",
                "security": BEARER,
                "parameters": [id_param],
                "responses": {"204": {"description": "deleted"}, **_problem(401, 403, 404)},
            },
        },
    )
    spec.path(
        path="/v1/subscriptions/{id}/replay",
        operations={
            "post": {
                "tags": ["webhooks"],
                "summary": "Send again: the dead letters, or everything after a cursor",
                "description": 'Body `{}` (dead letters) or `{"after": cursor}`.',
                "security": BEARER,
                "parameters": [id_param],
                "responses": {
                    "202": {
                        "description": "queued",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "queued": {"type": "integer"},
                                        "more": {"type": "boolean"},
                                    },
                                }
                            }
                        },
                    },
                    **_problem(400, 401, 403, 404, 422),
                },
            }
        },
    )


def build_spec(issuer: str) -> dict[str, Any]:
    spec = APISpec(
        title="Justice information-sharing hub",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": (
                "Agencies send CloudEvents about a person; the hub decides under data sharing "
                "agreements who may receive them, delivers them to inboxes, and audits every step. "
                "Get a token at /oauth/token (client credentials; private_key_jwt or "
                "client_secret_basic). Errors are application/problem+json."
            )
        },
        servers=[{"url": issuer}],
    )
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (RFC 9068)"}
    )
    data_schemas = {
        f"{schema.__name__.removesuffix('Schema')}Data": schema
        for schema in s.DATA_SCHEMAS.values()
    }
    for name, schema_cls in {
        "Problem": s.ProblemSchema,
        "CloudEvent": s.EnvelopeSchema,
        **data_schemas,
        "DocumentReport": s.DocumentReportSchema,
        "Subject": s.SubjectSchema,
        "ResolveRequest": ResolveSchema,
        "Consent": ConsentSchema,
        "ExplainRequest": ExplainSchema,
        "Resolved": s.ResolvedSchema,
        "Accepted": s.AcceptedSchema,
        "MessageStatus": s.MessageStatusSchema,
        "InboxItem": s.InboxItemSchema,
        "InboxPage": s.InboxPageSchema,
        "Ack": s.AckSchema,
        "TokenResponse": s.TokenResponseSchema,
    }.items():
        spec.components.schema(name, schema=schema_cls)

    spec.path(
        path="/oauth/token",
        operations={
            "post": {
                "tags": ["tokens"],
                "summary": "Get an access token (client credentials)",
                "description": (
                    "Form fields: grant_type=client_credentials, optional scope; authenticate with "
                    "client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer and "
                    "client_assertion (aud = this endpoint, unique jti, exp within 5 minutes), or "
                    "HTTP Basic with client id and secret."
                ),
                "responses": {
                    **_ok(200, "TokenResponse", "an RFC 9068 access token"),
                    "400": {"description": "RFC 6749 error (`error`), with problem members"},
                    "401": {"description": "client authentication failed (`invalid_client`)"},
                },
            }
        },
    )
    spec.path(
        path="/v1/messages",
        operations={
            "post": {
                "tags": ["messages"],
                "summary": "Send a message (a CloudEvent)",
                "description": (
                    f"Needs scope `{Scope.MESSAGES_SEND}`. `type` selects the `data` schema: "
                    + ", ".join(
                        f"`{t.ce_type}` ({schema.__name__.removesuffix('Schema')}Data)"
                        for t, schema in s.DATA_SCHEMAS.items()
                    )
                    + ". The same Idempotency-Key and body returns the first answer."
                ),
                "security": BEARER,
                "parameters": [
                    {"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/cloudevents+json": {"schema": "CloudEvent"},
                        "application/json": {"schema": "CloudEvent"},
                    },
                },
                "responses": {
                    **_ok(202, "Accepted", "accepted and delivered"),
                    **_problem(
                        400,
                        401,
                        403,
                        409,
                        413,
                        415,
                        422,
                        forbidden="the token lacks the scope, `source` is not your agency, or no agreement permits it",
                    ),
                },
            }
        },
    )
    spec.path(
        path="/v1/messages/{id}",
        operations={
            "get": {
                "tags": ["messages"],
                "summary": "The sender's view of a message: receipts, never content",
                "security": BEARER,
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {**_ok(200, "MessageStatus", "receipts"), **_problem(401, 403, 404)},
            }
        },
    )
    spec.path(
        path="/v1/inbox",
        operations={
            "get": {
                "tags": ["inbox"],
                "summary": "Messages delivered to your agency, oldest first",
                "description": f"Needs scope `{Scope.INBOX_READ}`. Page with ?after=next_cursor.",
                "security": BEARER,
                "parameters": [
                    {"in": "query", "name": "after", "schema": {"type": "string"}},
                    {
                        "in": "query",
                        "name": "limit",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
                    },
                ],
                "responses": {**_ok(200, "InboxPage", "a page"), **_problem(400, 401, 403)},
            }
        },
    )
    for path, summary, schema_name in (
        ("/v1/inbox/{id}", "One inbox item", "InboxItem"),
        ("/v1/inbox/{id}/ack", "Acknowledge an inbox item (idempotent)", "Ack"),
    ):
        spec.path(
            path=path,
            operations={
                ("post" if path.endswith("ack") else "get"): {
                    "tags": ["inbox"],
                    "summary": summary,
                    "security": BEARER,
                    "parameters": [
                        {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
                    ]
                    + (
                        []
                        if path.endswith("ack")
                        else [
                            {
                                "in": "query",
                                "name": "format",
                                "description": (
                                    "`native`: the data in your agency's own document shape "
                                    "(JSON or CSV), `406` where it has none"
                                ),
                                "schema": {"type": "string", "enum": ["canonical", "native"]},
                            }
                        ]
                    ),
                    "responses": {
                        **_ok(200, schema_name, "ok"),
                        **(
                            _problem(401, 403, 404)
                            if path.endswith("ack")
                            else _problem(400, 401, 403, 404, 406)
                        ),
                    },
                }
            },
        )
    _delivery_paths(spec)
    documents = "; ".join(
        f"`{d.agency_kind}/{d.name}` ({d.media_type}): {d.title}" for d in adapters.documents()
    )
    spec.path(
        path="/v1/adapters/{agency_kind}/{document}",
        operations={
            "post": {
                "tags": ["adapters"],
                "summary": "Send a native document; the agency's adapter reads it record by record",
                "description": (
                    f"Needs scope `{Scope.MESSAGES_SEND}`; the caller's agency must be of "
                    f"`agency_kind`. Documents: {documents}. `200` when no record was rejected; "
                    "`422` (problem+json with the same report) naming each rejected record, its "
                    "field and why, the others being kept. Sending a document again adds nothing. "
                    "`413` beyond the configured document size."
                ),
                "security": BEARER,
                "parameters": [
                    {"in": "path", "name": n, "required": True, "schema": {"type": "string"}}
                    for n in ("agency_kind", "document")
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {}, "text/csv": {}},
                },
                "responses": {
                    **_ok(200, "DocumentReport", "every record accepted, held or skipped"),
                    **_problem(
                        401,
                        403,
                        404,
                        413,
                        415,
                        422,
                        forbidden="the token lacks the scope, or your agency is of another kind",
                    ),
                },
            }
        },
    )
    spec.path(
        path="/v1/subjects/resolve",
        operations={
            "post": {
                "tags": ["subjects"],
                "summary": "The hub id of a person you deal with, by identifier or by details",
                "description": (
                    f"Needs scope `{Scope.SUBJECTS_READ}`. Identifiers are `scheme:value` (pnc, "
                    "cro, crn, noms, hub), validated and compared in canonical form. Without "
                    "identifiers, name, date of birth and postcode must match one person "
                    "confidently. Never creates anyone; `404` when no person you may see matches."
                ),
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "ResolveRequest"}},
                },
                "responses": {
                    **_ok(200, "Resolved", "the person"),
                    **_problem(401, 403, 404, 415, 422),
                },
            }
        },
    )
    spec.path(
        path="/v1/subjects/{id}",
        operations={
            "get": {
                "tags": ["subjects"],
                "summary": "A person: the identifiers the hub knows them by",
                "security": BEARER,
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {**_ok(200, "Subject", "the person"), **_problem(401, 403, 404)},
            }
        },
    )
    spec.path(
        path="/v1/subjects/{id}/consents",
        operations={
            "post": {
                "tags": ["consent"],
                "summary": "Record a person's signed consent (honoured for every agency's disclosures)",
                "description": f"Needs scope `{Scope.CONSENTS_WRITE}`; `201` with the consent.",
                "security": BEARER,
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "Consent"}},
                },
                "responses": {
                    "201": {"description": "recorded"},
                    **_problem(401, 403, 404, 415, 422),
                },
            },
            "get": {
                "tags": ["consent"],
                "summary": "The person's consents, in force or withdrawn",
                "security": BEARER,
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "`items`"}, **_problem(401, 403, 404)},
            },
        },
    )
    spec.path(
        path="/v1/consents/{id}/withdraw",
        operations={
            "post": {
                "tags": ["consent"],
                "summary": "Withdraw a consent: every disclosure decided from now on is refused",
                "description": 'Optional body `{"withdrawnOn": "YYYY-MM-DD"}` (default today).',
                "security": BEARER,
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "withdrawn"},
                    **_problem(401, 403, 404, 409, 422),
                },
            }
        },
    )
    spec.path(
        path="/v1/decisions/explain",
        operations={
            "post": {
                "tags": ["policy"],
                "summary": "Dry run: would your agency be allowed to send this, by which rules, with which fields?",
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": "ExplainRequest"}},
                },
                "responses": {
                    "200": {
                        "description": "decision, reasons, policies, agreement, lawfulBasis, fields"
                    },
                    **_problem(401, 403, 404, 422),
                },
            }
        },
    )
    spec.path(
        path="/v1/whoami",
        operations={
            "get": {
                "tags": ["tokens"],
                "summary": "Check a token: the agency, client and scopes it carries",
                "security": BEARER,
                "responses": {
                    "200": {"description": "the verified token's caller"},
                    **_problem(401, 403),
                },
            }
        },
    )
    _audit_paths(spec)
    _outcome_paths(spec)
    for path, summary in (
        ("/.well-known/oauth-authorization-server", "RFC 8414 metadata"),
        ("/.well-known/jwks.json", "The hub's token-signing public keys"),
        ("/healthz", "Liveness"),
        ("/readyz", "Readiness: the database (and Redis when configured) answer"),
        ("/metrics", "Prometheus metrics"),
    ):
        spec.path(
            path=path,
            operations={
                "get": {
                    "tags": ["discovery"],
                    "summary": summary,
                    "responses": {"200": {"description": "ok"}},
                }
            },
        )
    return spec.to_dict()


def _query(name: str, description: str, required: bool = False) -> dict[str, Any]:
    kind = (
        "integer"
        if name in {"index", "tree_size", "first", "second", "after", "limit"}
        else "string"
    )
    return {
        "in": "query",
        "name": name,
        "required": required,
        "description": description,
        "schema": {"type": kind},
    }


def _audit_paths(spec: APISpec) -> None:
    """The audit log as a transparency log (RFC 6962 proofs, C2SP checkpoints)."""
    text = {"text/plain": {"schema": {"type": "string"}}}
    spec.path(
        path="/v1/audit/checkpoint",
        operations={
            "get": {
                "tags": ["audit"],
                "summary": "The newest signed checkpoint (C2SP tlog-checkpoint in a signed note, "
                "Ed25519): origin, tree size, base64 root hash, signature line. No token.",
                "responses": {"200": {"description": "the signed note", "content": text}},
            }
        },
    )
    spec.path(
        path="/v1/audit/verifier-key",
        operations={
            "get": {
                "tags": ["audit"],
                "summary": "Every checkpoint verifier key (C2SP vkey: name+id+base64), newest "
                "first, one per line. Check a new one independently before trusting it.",
                "responses": {"200": {"description": "verifier keys", "content": text}},
            }
        },
    )
    spec.path(
        path="/v1/audit/proofs/inclusion",
        operations={
            "get": {
                "tags": ["audit"],
                "summary": "RFC 6962 inclusion proof of entry `index` in the tree of "
                "`tree_size` entries: {leafIndex, treeSize, auditPath (base64, leaf side first)}",
                "parameters": [
                    _query("index", "the entry's sequence number", True),
                    _query("tree_size", "a checkpoint's tree size", True),
                ],
                "responses": {"200": {"description": "the proof"}, **_problem(400)},
            }
        },
    )
    spec.path(
        path="/v1/audit/proofs/consistency",
        operations={
            "get": {
                "tags": ["audit"],
                "summary": "RFC 6962 consistency proof between the trees of `first` and "
                "`second` entries: {first, second, consistency (base64)}",
                "parameters": [
                    _query("first", "the older tree size", True),
                    _query("second", "the newer tree size", True),
                ],
                "responses": {"200": {"description": "the proof"}, **_problem(400)},
            }
        },
    )
    spec.path(
        path="/v1/subjects/{id}/disclosures",
        operations={
            "get": {
                "tags": ["audit"],
                "summary": "Every disclosure of a person, newest first: sender, recipient, "
                "message, purpose, agreement and version, lawful basis, fields, and the audit "
                "entry it is recorded in. Scope audit:read: all; subjects:read: those your agency "
                "sent or received. The read is audited.",
                "security": BEARER,
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}},
                    _query("refusals", "true to include refused disclosures (default false)"),
                    _query("before", "cursor: the `next` of the previous page"),
                    _query("limit", "page size, at most 500 (100)"),
                ],
                "responses": {
                    "200": {"description": "{items: [...], next}"},
                    **_problem(400, 401, 403, 404),
                },
            }
        },
    )
    spec.path(
        path="/v1/audit/entries",
        operations={
            "get": {
                "tags": ["audit"],
                "summary": "Audit entries, oldest first, each as its canonical JSON (RFC 8785) "
                "with its leaf hash. Scope audit:read: every agency's; otherwise your agency's "
                "own actions. The read is itself audited.",
                "security": BEARER,
                "parameters": [
                    _query("person", "an identifier, e.g. crn:X123456 (every merged record)"),
                    _query("agency", "an agency that acted or received"),
                    _query("action", "e.g. message.delivered"),
                    _query("decision", "permit or deny"),
                    _query("message", "a message id"),
                    _query("since", "RFC 3339 time, inclusive"),
                    _query("until", "RFC 3339 time, exclusive"),
                    _query("after", "cursor: the `next` of the previous page"),
                    _query("limit", "page size, at most 500 (100)"),
                ],
                "responses": {
                    "200": {"description": "{items: [{seq, entry, leafHash}], next}"},
                    **_problem(400, 401),
                },
            }
        },
    )


def _outcome_paths(spec: APISpec) -> None:
    """Reconviction outcome figures by release cohort: aggregates only."""
    figure = {
        "type": "object",
        "description": "a count or rate; `value` is null when `suppressed` is true",
        "properties": {
            "value": {"type": "number", "nullable": True},
            "suppressed": {"type": "boolean"},
        },
    }
    cohort = {
        "type": "object",
        "properties": {
            "cohort": {"type": "string", "description": "`2025/26` (a cohort year) or `2025-10`"},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "status": {
                "type": "string",
                "enum": ["final", "provisional"],
                "description": "provisional until the 12 + 6 months have run out for everyone "
                "released in it (`windowClosesOn`): its figures may still go up",
            },
            "windowClosesOn": {"type": "string", "format": "date"},
            **{
                name: figure
                for name in (
                    "released",
                    "reconvicted",
                    "notReconvicted",
                    "reconvictedPercent",
                    "differenceFromBaseline",
                    "offences",
                    "offencesPerPerson",
                )
            },
            "severity": {
                "type": "object",
                "description": "offences by band: summary, either_way, indictable_only "
                "(and not_recorded for convictions recorded without one)",
                "additionalProperties": figure,
            },
            "flags": {
                "type": "object",
                "description": "offences of a violent or sexual nature (within their band)",
                "additionalProperties": figure,
            },
        },
    }
    spec.path(
        path="/v1/outcomes",
        operations={
            "get": {
                "tags": ["outcomes"],
                "summary": "Reconviction outcome figures by release cohort, without personal data",
                "description": (
                    f"Needs scope `{Scope.SUBJECTS_READ}`. For each cohort year (October to "
                    "September) and each release month in it: people released, reconvicted "
                    "(offence within 12 months of release, convicted within 18; out-of-court "
                    "disposals never count), the proportion and its difference from the "
                    "baseline (`HUB_OUTCOME_BASELINE`, percentage points), offences counted "
                    "and offences per person, and offences by severity band. A person counts "
                    "once in a cohort year, from their first release in it. Counts below "
                    "`minimumCount` (`HUB_OUTCOME_MIN_COUNT`) are suppressed, as are rates "
                    "computed from them and any count that would let a suppressed one be "
                    "recovered from a total."
                ),
                "security": BEARER,
                "responses": {
                    "200": {
                        "description": "the figures",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "measure": {"type": "string"},
                                        "asOf": {"type": "string", "format": "date"},
                                        "baselinePercent": {"type": "number"},
                                        "minimumCount": {"type": "integer"},
                                        "suppression": {"type": "string"},
                                        "severityBands": {
                                            "type": "array",
                                            "items": {"type": "string"},
                                        },
                                        "cohortYears": {
                                            "type": "array",
                                            "items": {
                                                "allOf": [cohort],
                                                "properties": {
                                                    "months": {"type": "array", "items": cohort}
                                                },
                                            },
                                        },
                                    },
                                }
                            }
                        },
                    },
                    **_problem(401, 403),
                },
            }
        },
    )
