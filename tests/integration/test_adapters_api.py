"""Native documents through `POST /v1/adapters/{kind}/{document}`: record by record, nothing
partial, nothing twice, one person however many agencies' numbers they arrive with."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.domain.errors import Conflict
from hub.services.identity import MERGED
from hub.store.models import IdentityReview, Message, Subject, SubjectRecord
from tests.conftest import audit_entries
from tests.support.adapters import EXAMPLES

JSON, CSV = "application/json", "text/csv"

# Each published example, who sends it, and what the hub makes of it.
SENDS = [
    ("courts", "hearings", "courts-hearing-resulted.json", "courts-sheffield", JSON),
    ("prison", "events", "prison-released.json", "prison-doncaster", JSON),
    ("prison", "prisoners", "prison-prisoner.json", "prison-doncaster", JSON),
    ("probation", "cases", "probation-case.json", "probation-south-yorkshire", JSON),
    ("probation", "referrals", "probation-referral.json", "probation-south-yorkshire", JSON),
    ("iom", "cohort", "iom-cohort.csv", "iom-sheffield", CSV),
    ("provider", "events", "provider-events.json", "provider-doncaster-alliance", JSON),
]


def _post(client: Any, token: str, kind: str, name: str, body: bytes, media: str = JSON) -> Any:
    return client.post(
        f"/v1/adapters/{kind}/{name}",
        data=body,
        content_type=media,
        headers={"Authorization": f"Bearer {token}"},
    )


def _count(services: Any, model: Any) -> int:
    with services.db.transaction(readonly=True) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _hearing() -> dict[str, Any]:
    return json.loads((EXAMPLES / "courts-hearing-resulted.json").read_text())


@pytest.mark.parametrize(("kind", "name", "example", "sender", "media"), SENDS)
def test_every_published_example_is_accepted(
    client: Any,
    services: Any,
    token: Any,
    kind: str,
    name: str,
    example: str,
    sender: str,
    media: str,
) -> None:
    response = _post(client, token(sender), kind, name, (EXAMPLES / example).read_bytes(), media)
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["rejected"] == 0 and body["accepted"] >= 1
    accepted = [r for r in body["records"] if r["status"] == "accepted"]
    assert len(accepted) == body["accepted"] == _count(services, Message)
    for record in accepted:
        assert record["type"].startswith("uk.gov.justice.hub.")
        assert (
            client.get(
                f"/v1/subjects/{record['subject']}",
                headers={"Authorization": f"Bearer {token(sender)}"},
            ).status_code
            == 200
        )
    # The document's receipt is audited with its counts, never its content.
    [received] = audit_entries(services, "document.received")
    assert f"accepted:{body['accepted']}" in received["reasons"]
    assert "Hargreaves" not in json.dumps(audit_entries(services))


def test_the_hearing_gives_one_conviction_per_convicted_offence(
    client: Any, services: Any, token: Any
) -> None:
    body = _post(
        client, token("courts-sheffield"), "courts", "hearings", json.dumps(_hearing()).encode()
    ).get_json()
    convictions = [r for r in body["records"] if r["type"] == "uk.gov.justice.hub.conviction.v1"]
    # Daniel Hargreaves was convicted of one offence; the other defendant was not convicted.
    assert [r["record"] for r in convictions] == [
        "defendant 1 (id 0d1e2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a), offence 1"
    ]
    assert body["accepted"] == 1 and body["records"][0]["deliveredTo"] == []


def test_only_an_agency_of_that_kind_may_send_the_document(
    client: Any, services: Any, token: Any
) -> None:
    response = _post(
        client,
        token("probation-south-yorkshire"),
        "courts",
        "hearings",
        json.dumps(_hearing()).encode(),
    )
    assert response.status_code == 403
    assert response.get_json()["type"].endswith("/wrong-agency-kind")
    assert _count(services, Message) == 0


def test_an_unknown_document_is_not_found(client: Any, token: Any) -> None:
    response = _post(client, token("courts-sheffield"), "courts", "sentences", b"{}")
    assert response.status_code == 404
    assert "courts/hearings" in response.get_json()["detail"]


def _two_convicted() -> dict[str, Any]:
    """The example hearing with a second convicted defendant (another man, another PNC ID)."""
    hearing = _hearing()
    defendants = hearing["hearing"]["prosecutionCases"][0]["defendants"]
    second = copy.deepcopy(defendants[0])
    second.update(id="second-defendant", pncId="2008/0123456M", croNumber="")
    second["personDefendant"]["personDetails"].update(firstName="Kieran", lastName="Booth")
    for offence in second["offences"]:
        offence["id"] = "second-" + offence["id"]
    defendants[1:] = [second]
    return hearing


def test_a_bad_defendant_is_named_and_the_others_are_kept(
    client: Any, services: Any, token: Any
) -> None:
    hearing = _two_convicted()
    defendants = hearing["hearing"]["prosecutionCases"][0]["defendants"]
    defendants[0]["pncId"] = "2011/0482113D"  # the check letter is C
    response = _post(
        client, token("courts-sheffield"), "courts", "hearings", json.dumps(hearing).encode()
    )
    body = response.get_json()
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert body["type"].endswith("/records-rejected")
    [rejected] = [r for r in body["records"] if r["status"] == "rejected"]
    assert rejected["field"].endswith("defendants[0].pncId")
    assert "check letter" in rejected["reason"]
    assert rejected["record"].startswith("defendant 1")
    # The good defendant's convictions were stored, the bad one's nothing at all.
    assert body["accepted"] >= 1 and _count(services, Message) == body["accepted"]


def test_sending_the_same_document_twice_adds_nothing(
    client: Any, services: Any, token: Any
) -> None:
    raw = (EXAMPLES / "iom-cohort.csv").read_bytes()
    first = _post(client, token("iom-sheffield"), "iom", "cohort", raw, CSV).get_json()
    counts = [_count(services, m) for m in (Message, Subject, SubjectRecord)]
    again = _post(client, token("iom-sheffield"), "iom", "cohort", raw, CSV).get_json()
    assert [_count(services, m) for m in (Message, Subject, SubjectRecord)] == counts
    assert [r.get("messageId") for r in again["records"]] == [
        r.get("messageId") for r in first["records"]
    ]
    assert all(r.get("alreadyReceived") for r in again["records"] if r["status"] == "accepted")


def test_the_same_record_with_other_content_is_rejected(
    client: Any, services: Any, token: Any
) -> None:
    hearing = _hearing()
    _post(client, token("courts-sheffield"), "courts", "hearings", json.dumps(hearing).encode())
    before = _count(services, Message)
    offence = hearing["hearing"]["prosecutionCases"][0]["defendants"][0]["offences"][0]
    offence["offenceTitle"] = "Something else"
    response = _post(
        client, token("courts-sheffield"), "courts", "hearings", json.dumps(hearing).encode()
    )
    assert response.status_code == 422
    assert any(
        "different content" in (r.get("reason") or "") for r in response.get_json()["records"]
    )
    assert _count(services, Message) == before


@pytest.mark.parametrize(
    ("body", "media", "status", "problem"),
    [
        (b'{"hearing": ', JSON, 422, "unreadable-document"),
        (b"[1, 2]", JSON, 422, "unreadable-document"),
        (b'pnc,surname\n"unterminated', CSV, 422, "unreadable-document"),
    ],
)
def test_an_unreadable_document_is_refused_whole(
    client: Any, services: Any, token: Any, body: bytes, media: str, status: int, problem: str
) -> None:
    kind, name, sender = (
        ("iom", "cohort", "iom-sheffield")
        if media == CSV
        else ("courts", "hearings", "courts-sheffield")
    )
    response = _post(client, token(sender), kind, name, body, media)
    assert response.status_code == status
    assert response.get_json()["type"].endswith(problem)
    assert _count(services, Message) == 0


def test_a_csv_row_with_a_bad_date_is_rejected_alone(
    client: Any, services: Any, token: Any
) -> None:
    raw = (
        (EXAMPLES / "iom-cohort.csv")
        .read_text(encoding="utf-8-sig")
        .replace("01/09/2025", "2025-09-01")
    )
    body = _post(client, token("iom-sheffield"), "iom", "cohort", raw.encode(), CSV).get_json()
    [rejected] = [r for r in body["records"] if r["status"] == "rejected"]
    assert rejected == {
        "record": "row 2",
        "status": "rejected",
        "field": "adopted_on",
        "reason": "not a date: expected DD/MM/YYYY",
    }
    assert body["accepted"] == _count(services, Message) >= 1


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<hearing>&lol3;</hearing>"""


def test_xml_is_never_expanded(client: Any, services: Any, token: Any) -> None:
    as_xml = _post(
        client, token("courts-sheffield"), "courts", "hearings", BILLION_LAUGHS, "application/xml"
    )
    assert as_xml.status_code == 415
    assert as_xml.get_json()["accepted"] == ["application/json"]
    as_json = _post(client, token("courts-sheffield"), "courts", "hearings", BILLION_LAUGHS)
    assert as_json.status_code == 422
    assert "not JSON" in as_json.get_json()["detail"]
    assert _count(services, Message) == 0


@pytest.mark.parametrize("settings_overrides", [{"max_document_bytes": 2048}])
def test_a_document_over_the_limit_is_413_and_stores_nothing(
    client: Any, services: Any, token: Any
) -> None:
    raw = (EXAMPLES / "iom-cohort.csv").read_bytes()
    big = (
        raw
        + b"".join(
            f"2011/0482113C,Hargreaves,Daniel,14/07/1991,Fixed,Adopted,SAC,{d:02d}/09/2025,,\r\n".encode()
            for d in range(1, 29)
        )
        * 3
    )
    response = _post(client, token("iom-sheffield"), "iom", "cohort", big, CSV)
    assert response.status_code == 413
    assert response.get_json()["limit"] == 2048
    assert _count(services, Message) == 0


def test_one_person_across_prison_probation_and_court(
    client: Any, services: Any, token: Any
) -> None:
    def send(kind: str, name: str, sender: str, document: Any) -> dict[str, Any]:
        raw = document if isinstance(document, bytes) else json.dumps(document).encode()
        response = _post(client, token(sender), kind, name, raw)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    released = send(
        "prison", "events", "prison-doncaster", (EXAMPLES / "prison-released.json").read_bytes()
    )
    person = released["records"][0]["subject"]  # known so far by the prison number only
    case = json.loads((EXAMPLES / "probation-case.json").read_text())
    assert (
        send("probation", "cases", "probation-south-yorkshire", case)["records"][0]["subject"]
        == person
    )

    hearing = _hearing()
    case_of = hearing["hearing"]["prosecutionCases"][0]
    case_of["defendants"] = case_of["defendants"][:1]  # Daniel Hargreaves, by PNC only
    first = send("courts", "hearings", "courts-sheffield", hearing)
    assert {r["subject"] for r in first["records"] if r["status"] == "accepted"} == {person}

    # Next week's hearing: the court has not got the PNC ID; name, birth date and address agree.
    later = copy.deepcopy(hearing)
    later["hearing"]["id"] = "later-hearing"
    later["hearing"]["prosecutionCases"][0]["defendants"][0].update(pncId="", croNumber="")
    second = send("courts", "hearings", "courts-sheffield", later)
    assert {r["subject"] for r in second["records"] if r["status"] == "accepted"} == {person}

    auth = {"Authorization": f"Bearer {token('probation-south-yorkshire')}"}
    seen = client.get(f"/v1/subjects/{person}", headers=auth).get_json()
    # Probation sees the number its own messages used, not the other agencies' numbers.
    assert seen["identifiers"] == ["crn:D123456"]
    court_auth = {"Authorization": f"Bearer {token('courts-sheffield')}"}
    court_view = client.get(f"/v1/subjects/{person}", headers=court_auth).get_json()
    assert court_view["identifiers"] == ["pnc:2011/0482113C"]
    resolved = client.post(
        "/v1/subjects/resolve", json={"identifiers": ["crn:d123456"]}, headers=auth
    )
    assert resolved.get_json()["id"] == person
    with services.db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Subject)) == 1
        # The hub itself knows him by all four numbers.
        assert [str(r) for r in services.identity.identifiers(session, [person])] == [
            "crn:D123456",
            "cro:123456/10F",
            "noms:A4821DC",
            "pnc:2011/0482113C",
        ]
    linked = audit_entries(services, "subject.identifier_linked")
    assert sorted(e["reasons"][0] for e in linked) == [
        "scheme:crn",
        "scheme:cro",
        "scheme:noms",
        "scheme:pnc",
    ]


def test_a_near_miss_name_with_another_birth_date_is_someone_else(
    client: Any, services: Any, token: Any
) -> None:
    hearing = _hearing()
    court = token("courts-sheffield")
    _post(client, court, "courts", "hearings", json.dumps(hearing).encode())
    other = copy.deepcopy(hearing)
    other["hearing"]["id"] = "another-hearing"
    defendant = other["hearing"]["prosecutionCases"][0]["defendants"][0]
    defendant["pncId"] = defendant["croNumber"] = ""
    details = defendant["personDefendant"]["personDetails"]
    details["lastName"], details["dateOfBirth"] = "Hargraves", "1991-07-15"
    body = _post(client, court, "courts", "hearings", json.dumps(other).encode()).get_json()
    mine = {r["subject"] for r in body["records"] if r["record"].startswith("defendant 1")}
    first = {
        r["subject"]
        for r in _post(
            client, court, "courts", "hearings", json.dumps(hearing).encode()
        ).get_json()["records"]
        if r["record"].startswith("defendant 1")
    }
    assert mine and first and mine.isdisjoint(first)
    assert _count(services, IdentityReview) == 0


def test_an_ambiguous_match_waits_for_review_and_a_merge_can_be_undone(
    client: Any, services: Any, token: Any
) -> None:
    court = token("courts-sheffield")
    hearing = _hearing()
    case = hearing["hearing"]["prosecutionCases"][0]
    case["defendants"] = case["defendants"][:1]
    _post(client, court, "courts", "hearings", json.dumps(hearing).encode())
    # Another man with the same name, birth date and address, but another PNC ID.
    twin = copy.deepcopy(hearing)
    twin["hearing"]["id"] = "twin-hearing"
    twin["hearing"]["prosecutionCases"][0]["defendants"][0].update(
        pncId="2008/0123456M", croNumber=""
    )
    _post(client, court, "courts", "hearings", json.dumps(twin).encode())
    assert _count(services, Subject) == 2 and _count(services, IdentityReview) == 0
    # A third hearing without a PNC ID: either of them.
    unknown = copy.deepcopy(hearing)
    unknown["hearing"]["id"] = "unknown-hearing"
    unknown["hearing"]["prosecutionCases"][0]["defendants"][0].update(pncId="", croNumber="")
    body = _post(client, court, "courts", "hearings", json.dumps(unknown).encode()).get_json()
    assert {r["status"] for r in body["records"]} == {"held"}
    [review] = services.subjects.reviews()
    assert review.reason == "ambiguous" and len(review.candidates) == 2
    assert review.held_messages == body["held"]

    from audit.entry import Actor

    reviewer = Actor(agency="probation-south-yorkshire", user="ig-officer")
    into = review.candidates[0].subject_id
    services.subjects.decide(reviewer, review.id, MERGED, into)
    with services.db.transaction(readonly=True) as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Message).where(Message.held_by_review.is_not(None))
            )
            == 0
        )
        merged = session.get(Subject, review.incoming.subject_id)
        assert merged is not None and merged.merged_into == into
    auth = {"Authorization": f"Bearer {court}"}
    assert (
        client.get(f"/v1/subjects/{review.incoming.subject_id}", headers=auth).get_json()["id"]
        == into
    )
    services.subjects.undo(reviewer, review.id)
    assert (
        client.get(f"/v1/subjects/{review.incoming.subject_id}", headers=auth).get_json()["id"]
        == review.incoming.subject_id
    )
    actions = [e["action"] for e in audit_entries(services)]
    for action in (
        "identity_review.opened",
        "subject.merged",
        "identity_review.decided",
        "subject.unmerged",
    ):
        assert action in actions
    [decided] = audit_entries(services, "identity_review.decided")
    assert decided["actor"]["user"] == "ig-officer"
    # Undone, the review waits again; only a merge can be undone.
    [again] = services.subjects.reviews()
    assert again.id == review.id and again.status == "pending"
    with pytest.raises(Conflict):
        services.subjects.undo(reviewer, review.id)


def test_a_person_the_caller_has_no_dealings_with_is_not_found(client: Any, token: Any) -> None:
    court = token("courts-sheffield")
    body = _post(client, court, "courts", "hearings", json.dumps(_hearing()).encode()).get_json()
    person = body["records"][0]["subject"]
    prison = {"Authorization": f"Bearer {token('prison-doncaster')}"}
    assert client.get(f"/v1/subjects/{person}", headers=prison).status_code == 404
    assert client.get("/v1/subjects/not-a-uuid", headers=prison).status_code == 404
    missing = client.post(
        "/v1/subjects/resolve", json={"identifiers": ["pnc:2011/0482113C"]}, headers=prison
    )
    assert missing.status_code == 404
    bad = client.post(
        "/v1/subjects/resolve", json={"identifiers": ["pnc:2011/0482113D"]}, headers=prison
    )
    assert bad.status_code == 422 and "identifiers.0" in bad.get_json()["errors"]


def test_the_hubs_own_records_change_once_and_are_audited(
    client: Any, services: Any, token: Any
) -> None:
    probation = token("probation-south-yorkshire")
    raw = (EXAMPLES / "probation-case.json").read_bytes()
    body = _post(client, probation, "probation", "cases", raw).get_json()
    person = body["records"][0]["subject"]
    with services.db.transaction(readonly=True) as session:
        current = services.records.current(session, person)
    assert current["risk"]["value"]["roshLevel"] == "MEDIUM"
    assert current["owner.probation"]["holder"] == "priya.raman@probation.example"
    assert [t["code"] for t in current["triggers"]["value"]["triggers"]] == [
        "ACCOM_LOSS",
        "DRUG_RELAPSE",
        "VIOLENT_ARREST",
    ]
    changes = len(audit_entries(services, "subject.record_changed"))
    assert changes == 3
    _post(client, probation, "probation", "cases", raw)
    assert len(audit_entries(services, "subject.record_changed")) == changes

    provider = token("provider-doncaster-alliance")
    _post(client, provider, "provider", "events", (EXAMPLES / "provider-events.json").read_bytes())
    with services.db.transaction(readonly=True) as session:
        current = services.records.current(session, person)
    assert current["rag"]["value"]["rating"] == "amber"
    assert current["owner.provider"]["holder"] == "tom.birch@alliance.example"
    assert current["needs"]["effectiveOn"] == "2025-10-01"
    assert current["consent"]["value"]["state"] == "given"


def test_a_referral_form_is_delivered_and_readable_in_the_providers_own_shape(
    client: Any, services: Any, token: Any
) -> None:
    raw = (EXAMPLES / "probation-referral.json").read_bytes()
    body = _post(
        client, token("probation-south-yorkshire"), "probation", "referrals", raw
    ).get_json()
    assert body["records"][0]["deliveredTo"] == ["provider-doncaster-alliance"]
    auth = {"Authorization": f"Bearer {token('provider-doncaster-alliance')}"}
    [item] = client.get("/v1/inbox", headers=auth).get_json()["items"]
    native = client.get(f"/v1/inbox/{item['id']}?format=native", headers=auth)
    assert native.status_code == 200 and native.content_type.startswith("application/json")
    form = native.get_json()
    original = json.loads(raw)
    for name in ("releaseDate", "pathway", "routes", "officer"):
        assert form[name] == original[name]
    assert client.get(f"/v1/inbox/{item['id']}?format=xml", headers=auth).status_code == 400


def test_a_second_pnc_id_for_a_known_person_waits_for_review(
    client: Any, services: Any, token: Any
) -> None:
    court = token("courts-sheffield")
    hearing = _hearing()
    _post(client, court, "courts", "hearings", json.dumps(hearing).encode())
    clash = copy.deepcopy(hearing)
    clash["hearing"]["id"] = "clash-hearing"
    # The CRO number is his; the PNC ID is someone else's (or a typing error): not linked.
    clash["hearing"]["prosecutionCases"][0]["defendants"][0]["pncId"] = "2008/0123456M"
    body = _post(client, court, "courts", "hearings", json.dumps(clash).encode()).get_json()
    assert body["held"] == 1 and body["accepted"] == 0
    [review] = services.subjects.reviews()
    assert review.reason == "conflicting"
    assert review.incoming.identifiers == ["pnc:2008/0123456M"]
    assert review.candidates[0].identifiers == ["cro:123456/10F", "pnc:2011/0482113C"]


def test_what_arrives_for_someone_waiting_for_review_waits_too(
    client: Any, services: Any, token: Any
) -> None:
    court = token("courts-sheffield")
    hearing = _hearing()
    _post(client, court, "courts", "hearings", json.dumps(hearing).encode())
    clash = copy.deepcopy(hearing)
    clash["hearing"]["id"] = "clash-hearing"
    clash["hearing"]["prosecutionCases"][0]["defendants"][0]["pncId"] = "2008/0123456M"
    _post(client, court, "courts", "hearings", json.dumps(clash).encode())
    # Next week, by the new PNC ID alone: still nobody can say who he is.
    later = copy.deepcopy(clash)
    later["hearing"]["id"] = "later-hearing"
    later["hearing"]["prosecutionCases"][0]["defendants"][0]["croNumber"] = ""
    body = _post(client, court, "courts", "hearings", json.dumps(later).encode()).get_json()
    assert body["held"] == 1 and body["accepted"] == 0
    [review] = services.subjects.reviews()
    assert review.held_messages == 2


def test_one_defendant_with_several_offences_opens_one_review(
    client: Any, services: Any, token: Any
) -> None:
    court = token("courts-sheffield")
    hearing = _hearing()
    case = hearing["hearing"]["prosecutionCases"][0]
    case["defendants"] = case["defendants"][:1]
    _post(client, court, "courts", "hearings", json.dumps(hearing).encode())
    unknown = copy.deepcopy(hearing)
    unknown["hearing"]["id"] = "three-offences"
    defendant = unknown["hearing"]["prosecutionCases"][0]["defendants"][0]
    defendant.update(pncId="", croNumber="")
    # The same man, a postcode the hub has not seen: close, not certain.
    defendant["personDefendant"]["personDetails"]["address"]["postcode"] = "DN1 1AA"
    offence = defendant["offences"][0]
    defendant["offences"] = [{**copy.deepcopy(offence), "id": f"offence-{n}"} for n in range(3)]
    body = _post(client, court, "courts", "hearings", json.dumps(unknown).encode()).get_json()
    assert body["held"] == 3
    assert len({r["subject"] for r in body["records"]}) == 1
    [review] = services.subjects.reviews()
    assert review.reason == "weak" and review.held_messages == 3
    assert _count(services, Subject) == 2


def test_offences_without_ids_are_told_apart(client: Any, services: Any, token: Any) -> None:
    hearing = _two_convicted()
    for defendant in hearing["hearing"]["prosecutionCases"][0]["defendants"]:
        for offence in defendant["offences"]:
            del offence["id"]
    body = _post(
        client, token("courts-sheffield"), "courts", "hearings", json.dumps(hearing).encode()
    ).get_json()
    assert body["rejected"] == 0 and body["accepted"] == 2 == _count(services, Message)


def test_a_held_records_facts_wait_for_the_decision(client: Any, services: Any, token: Any) -> None:
    from audit.entry import Actor

    prison = token("prison-doncaster")
    prisoner = json.loads((EXAMPLES / "prison-prisoner.json").read_text())
    _post(client, prison, "prison", "prisoners", json.dumps(prisoner).encode())
    # Another prisoner record: his prison number, but someone else's PNC ID.
    other = {**prisoner, "pncNumber": "2008/0123456M", "releaseDate": "2026-01-05"}
    body = _post(client, prison, "prison", "prisoners", json.dumps(other).encode()).get_json()
    assert body["held"] == 1
    [review] = services.subjects.reviews()
    with services.db.transaction(readonly=True) as session:
        before = services.records.current(session, review.incoming.subject_id)
    assert "release" not in before
    services.subjects.decide(Actor(user="ig"), review.id, "separate")
    with services.db.transaction(readonly=True) as session:
        after = services.records.current(session, review.incoming.subject_id)
    assert after["release"]["value"]["releaseDate"] == "2026-01-05"


def test_a_refused_referral_leaves_no_one_behind(client: Any, services: Any, token: Any) -> None:
    form = json.loads((EXAMPLES / "probation-referral.json").read_text())
    form["referredTo"] = "courts-sheffield"  # no agreement sends referral forms to a court
    response = _post(
        client,
        token("probation-south-yorkshire"),
        "probation",
        "referrals",
        json.dumps(form).encode(),
    )
    assert response.status_code == 422
    [record] = response.get_json()["records"]
    assert record["status"] == "rejected" and record["field"] == "recipient"
    assert _count(services, Message) == 0 and _count(services, Subject) == 0
    actions = [e["action"] for e in audit_entries(services)]
    assert "message.refused" in actions and "document.received" in actions
    assert "subject.created" not in actions and "subject.identifier_linked" not in actions
