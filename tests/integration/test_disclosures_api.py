"""`GET /v1/subjects/{id}/disclosures` (who received what about a person, when, under which
agreement and lawful basis, newest first) and `audit:read` over the API: an IG tools client sees
every agency's entries and every disclosure; an agency sees the disclosures it sent or received,
about people it may know of (404 otherwise, as for an unknown id); every read is audited."""

from __future__ import annotations

import base64
import json
from typing import Any

from audit.entry import Actor
from hub.domain.messages import SubjectRef
from hub.domain.vocab import Scope
from tests.conftest import audit_entries
from tests.integration.test_transparency_log import _send

PERSON = SubjectRef.parse("pnc:2011/0482113C")


def _ig_token(client: Any, services: Any) -> str:
    with services.db.transaction() as session:
        tools = services.registry.add_client(
            session,
            agency_id="probation-south-yorkshire",
            name="IG audit tools",
            issue_secret=True,
            scopes=[Scope.AUDIT_READ],
            actor=Actor(user="test"),
        )
    basic = base64.b64encode(f"{tools.client_id}:{tools.client_secret}".encode()).decode()
    answer = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "audit:read"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.get_json()
    return str(answer.get_json()["access_token"])


def _person_id(services: Any) -> str:
    with services.db.transaction(readonly=True) as session:
        holder = services.identity.find(session, PERSON)
        return str(services.identity.root(session, holder).id)


def _get(client: Any, path: str, token: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {token}"})


def test_disclosures_of_a_person_by_who_asks(client: Any, services: Any, token: Any) -> None:
    court = token("courts-sheffield")
    _send(client, court)
    _send(client, court)
    person = _person_id(services)
    path = f"/v1/subjects/{person}/disclosures"

    provider = _get(client, path, token("provider-doncaster-alliance"))
    assert provider.status_code == 200, provider.get_json()
    items = provider.get_json()["items"]
    assert len(items) == 2 and items[0]["auditEntry"] > items[1]["auditEntry"]  # newest first
    for item in items:
        assert item["recipient"] == "provider-doncaster-alliance"
        assert item["sender"] == "courts-sheffield" and item["decision"] == "permit"
        assert item["agreement"]["id"] and item["lawfulBasis"] and item["fields"]
    stored = {e["seq"]: e for e in audit_entries(services, "message.delivered")}
    assert {i["auditEntry"] for i in items} <= set(stored)

    # The sender sees what it sent; an agency that never dealt with the person: 404, as unknown.
    assert len(_get(client, path, court).get_json()["items"]) == 2
    iom = _get(client, path, token("iom-sheffield"))
    assert iom.status_code == 404
    unknown = _get(client, "/v1/subjects/not-a-person/disclosures", court)
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"

    # IG tools see every disclosure, refusals too when asked; pages of one.
    ig = _ig_token(client, services)
    everything = _get(client, path + "?refusals=true", ig).get_json()["items"]
    assert {i["auditEntry"] for i in everything} >= {i["auditEntry"] for i in items}
    assert {i["decision"] for i in everything} <= {"permit", "deny"}  # decisions only
    first = _get(client, path + "?limit=1", ig).get_json()
    assert len(first["items"]) == 1 and first["next"] == str(first["items"][0]["auditEntry"])
    second = _get(client, path + f"?limit=1&before={first['next']}", ig).get_json()
    assert second["items"][0]["auditEntry"] < first["items"][0]["auditEntry"]
    for bad in ("?limit=0", "?before=x", "?refusals=maybe"):
        assert _get(client, path + bad, ig).status_code == 400, bad

    # A token without subjects:read or audit:read may not ask.
    narrow = token("provider-doncaster-alliance", "inbox:read")
    assert _get(client, path, narrow).status_code == 403

    reads = audit_entries(services, "audit.read")
    assert len(reads) == 5 and all(
        r["subject"] for r in reads if "filter:disclosures" in r["reasons"]
    )
    assert PERSON.value not in json.dumps(audit_entries(services))


def test_audit_read_sees_every_agencys_entries(client: Any, services: Any, token: Any) -> None:
    _send(client, token("courts-sheffield"))
    ig = _ig_token(client, services)
    items = _get(client, "/v1/audit/entries?action=message.accepted", ig).get_json()["items"]
    assert {json.loads(i["entry"])["actor"]["agency"] for i in items} == {"courts-sheffield"}
    provider = token("provider-doncaster-alliance")
    own = _get(client, "/v1/audit/entries?action=message.accepted", provider).get_json()["items"]
    assert own == []  # the provider accepted no message of its own
    person = _get(client, f"/v1/audit/entries?person={PERSON}", ig).get_json()["items"]
    assert person and len({json.loads(i["entry"]).get("subject") for i in person}) == 1
