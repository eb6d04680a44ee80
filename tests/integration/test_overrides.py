"""A public-protection override: delivered although no agreement permits it, audited as an
override, never past a hub-wide restriction, and reviewed by an IG officer on the overrides page."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conftest import audit_entries
from tests.integration.test_signin import _csrf, _sign_in
from tests.support.world import PASSWORD, conviction_event

WHY = "Threats to a named ex-partner this morning; the prison needs to know before his visit."


def _send(client: Any, token: str, **overrides: Any) -> Any:
    event = conviction_event(recipient="prison-doncaster", purpose="public_protection", **overrides)
    return client.post(
        "/v1/messages",
        data=json.dumps(event),
        content_type="application/cloudevents+json",
        headers={"Authorization": f"Bearer {token}"},
    )


def test_an_override_is_delivered_audited_and_reviewed(
    client: Any, services: Any, token: Any
) -> None:
    court = token("courts-sheffield")
    # No agreement lets courts send convictions to a prison: refused without an override...
    assert _send(client, court).status_code == 403
    # ...an override needs public protection as its purpose and a real justification...
    too_short = _send(client, court, override="because")
    assert too_short.status_code == 422 and "override" in too_short.get_json()["errors"]
    # ...and with both, it is delivered, with everything the court sent.
    sent = _send(client, court, override=WHY)
    assert sent.status_code == 202, sent.get_json()
    prison = {"Authorization": f"Bearer {token('prison-doncaster')}"}
    [item] = client.get("/v1/inbox", headers=prison).get_json()["items"]
    assert item["agreement"]["id"] == "public-protection-override"
    assert "plea" in item["message"]["data"]
    [used] = audit_entries(services, "override.used")
    assert (
        used["lawful_basis"] == "public_protection" and used["message_id"] == sent.get_json()["id"]
    )
    assert WHY not in json.dumps(audit_entries(services))  # the justification is not in the log

    # The IG officer reviews it on the overrides page.
    _sign_in(client, "ig.officer", PASSWORD)
    queue = client.get("/ui/overrides/").get_data(as_text=True)
    link = re.search(r'href="(/ui/overrides/[0-9a-f-]{36})"', queue)
    assert link, queue
    page = client.get(link.group(1)).get_data(as_text=True)
    assert WHY.replace("'", "&#39;") in page
    missing = client.post(link.group(1), data={"csrf_token": _csrf(client, link.group(1))})
    assert missing.status_code == 400
    assert "Select whether the override was justified" in missing.get_data(as_text=True)
    done = client.post(
        link.group(1),
        data={
            "csrf_token": _csrf(client, link.group(1)),
            "outcome": "justified",
            "note": "Risk to a named person; MAPPA level 2 referral made.",
        },
    )
    assert done.status_code == 302
    after = client.get(link.group(1)).get_data(as_text=True)
    assert "Justified" in after and "Record review" not in after
    [reviewed] = audit_entries(services, "override.reviewed")
    assert reviewed["reasons"] == ["justified"] and reviewed["actor"]["user"]


def test_an_override_never_passes_a_restriction(client: Any, token: Any) -> None:
    iom = token("iom-sheffield")
    event = conviction_event(source="iom-sheffield")
    event.update(
        type="uk.gov.justice.hub.case-summary.v1",
        recipient="provider-doncaster-alliance",
        purpose="public_protection",
        override=WHY,
        data={"roshLevel": "HIGH"},
    )
    refused = client.post(
        "/v1/messages",
        data=json.dumps(event),
        content_type="application/cloudevents+json",
        headers={"Authorization": f"Bearer {iom}"},
    )
    assert refused.status_code == 403
    assert (
        "forbidden by hub-wide-restrictions/intelligence-needs-clearance"
        in refused.get_json()["reasons"]
    )


def test_only_ig_officers_see_the_overrides_page(client: Any, world: Any) -> None:
    _sign_in(client, "case.manager", PASSWORD)
    assert client.get("/ui/overrides/").status_code == 404
