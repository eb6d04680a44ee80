"""The IG officer's audit pages: search (identifier by POST, agency, action, decision, dates), an
entry in words with its inclusion proof, a person's disclosures newest first and as CSV, and the
verification status; each read audited; everyone else gets 404."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

from tests.conftest import audit_entries
from tests.integration.test_signin import _csrf, _sign_in
from tests.integration.test_transparency_log import _send
from tests.support.world import PASSWORD

PERSON = "pnc:2011/0482113C"


def _text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _post(client: Any, path: str, **form: str) -> Any:
    return client.post(path, data={"csrf_token": _csrf(client, "/ui/"), **form})


def _entry_links(response: Any) -> list[int]:
    return [int(n) for n in re.findall(r'href="/ui/audit/entries/(\d+)"', response.text)]


def test_search_entry_and_disclosures(client: Any, services: Any, token: Any) -> None:
    court = token("courts-sheffield")
    _send(client, court)
    _send(client, court)
    _sign_in(client, "ig.officer", PASSWORD)

    newest = client.get("/ui/audit/")
    assert newest.status_code == 200 and "Newest entries" in newest.text
    seqs = _entry_links(newest)
    assert seqs == sorted(seqs, reverse=True) and seqs

    found = _post(
        client,
        "/ui/audit/",
        person=PERSON,
        action="message.delivered",
        decision="permit",
        agency="provider-doncaster-alliance",
    )
    assert found.status_code == 200, _text(found)
    delivered = _entry_links(found)
    stored = [
        e
        for e in audit_entries(services, "message.delivered")
        if e["recipient"] == "provider-doncaster-alliance"
    ]
    assert sorted(delivered) == sorted(e["seq"] for e in stored) and len(delivered) == 2
    assert PERSON not in found.text.replace(f'value="{PERSON}"', "")  # only in the form field

    # Dates: nothing before today's entries, everything from today.
    none = _post(client, "/ui/audit/", person=PERSON, to="2020-01-01")
    assert "No entries match" in none.text
    bad = _post(client, "/ui/audit/", person="no-scheme", **{"from": "2026-13-01"})
    assert bad.status_code == 400
    assert "Enter a real date" in bad.text and "Enter an identifier like" in bad.text
    unknown = _post(client, "/ui/audit/", person="crn:Z999999")
    assert unknown.status_code == 400 and "knows no one by that identifier" in unknown.text

    waiting = _text(client.get(f"/ui/audit/entries/{delivered[0]}"))
    assert "Not yet covered by a signed checkpoint" in waiting
    services.transparency.integrate()  # what each serving process's integrator does
    detail = client.get(f"/ui/audit/entries/{delivered[0]}")
    assert detail.status_code == 200
    words = _text(detail)
    assert "Message disclosed to a recipient" in words
    entry = next(e for e in stored if e["seq"] == delivered[0])
    assert f"under agreement {entry['agreement_id']} version {entry['agreement_version']}" in words
    assert "on the lawful basis of" in words and "fields:" in words
    assert "inclusion proof" in words and "verifies against that checkpoint" in words

    disclosures = _post(client, "/ui/audit/person", person=PERSON)
    shown = _entry_links(disclosures)
    assert shown == sorted(shown, reverse=True)
    permitted = [
        e
        for e in audit_entries(services)
        if e.get("recipient") and e.get("decision") == "permit" and e.get("subject")
    ]
    assert sorted(shown) == sorted(e["seq"] for e in permitted)

    download = _post(client, "/ui/audit/person.csv", person=PERSON)
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    table = list(csv.DictReader(io.StringIO(download.text)))
    assert [int(r["entry"]) for r in table] == shown
    assert {r["decision"] for r in table} == {"Shared"}
    assert all(r["lawful_basis"] and r["agreement"] for r in table)

    # Every page that showed entries was itself recorded, without the identifier.
    reads = audit_entries(services, "audit.read")
    assert len(reads) >= 6
    assert all(r["actor"]["user"] and r["scope"] == "audit:read" for r in reads)
    assert not any(PERSON in json.dumps(r) for r in audit_entries(services))


def test_verification_status_and_verify_now(client: Any, services: Any, token: Any) -> None:
    _send(client, token("courts-sheffield"))
    _sign_in(client, "ig.officer", PASSWORD)
    before = client.get("/ui/audit/verification")
    assert before.status_code == 200 and "has not been verified yet" in before.text
    verified = _post(client, "/ui/audit/verification")
    page = _text(verified)
    assert "The log verifies" in page and "web: ig.officer" in page
    head = services.transparency.latest()
    assert f"{head.size:,}" in page
    last = services.transparency.last_verification()
    assert last.ok and last.verified_by == "web: ig.officer"

    # One at a time: a second request while one runs is told so, and starts nothing.
    from hub.web.audit import _VERIFYING

    with _VERIFYING:
        busy = _text(_post(client, "/ui/audit/verification"))
    assert "already running" in busy
    assert services.transparency.last_verification().id == last.id


def test_no_one_else_finds_the_audit_pages(client: Any, services: Any, token: Any) -> None:
    _send(client, token("courts-sheffield"))
    for username in ("case.manager", "offender.manager", "admin"):
        _sign_in(client, username, PASSWORD)
        for path in ("/ui/audit/", "/ui/audit/entries/0", "/ui/audit/verification"):
            assert client.get(path).status_code == 404, (username, path)
        for path in ("/ui/audit/", "/ui/audit/person", "/ui/audit/person.csv"):
            assert _post(client, path, person=PERSON).status_code == 404, (username, path)
        client.post("/ui/sign-out", data={"csrf_token": _csrf(client, "/ui/")})
    assert client.get("/ui/audit/").status_code == 302  # signed out: to the sign-in page
    assert not audit_entries(services, "audit.read")
