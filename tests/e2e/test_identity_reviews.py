"""A court sends a hearing for a man who could be either of two people the hub knows; the IG
officer finds the review from the service navigation, must choose before recording a decision,
merges him with candidate 1, and undoes the merge. A case manager is told the pages do not exist.
Headless Debian Chromium driven by Playwright; screenshots are kept in tests/artifacts/."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ARTIFACTS
from tests.support.adapters import EXAMPLES
from tests.support.server import RunningHub

# Name, date of birth and postcode as the court recorded them.
AS_RECORDED = "Daniel HARGREAVES, born 14 July 1991, S64 9AB"


def _user(hub: RunningHub, role: str) -> dict[str, Any]:
    return next(u for u in hub.credentials["users"] if u["role"] == role)


def _sign_in(page: Page, hub: RunningHub, user: dict[str, Any]) -> None:
    page.goto(hub.url + "/ui/sign-in")
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password", exact=True).fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(hub.url + "/ui/")


def _court(hub: RunningHub) -> OAuth2Session:
    creds = hub.credentials["courts-sheffield"]
    session = OAuth2Session(
        creds["client_id"], creds["client_secret"], token_endpoint_auth_method="client_secret_basic"
    )
    session.fetch_token(hub.token_endpoint, grant_type="client_credentials")
    return session


def _send_hearing(hub: RunningHub, court: OAuth2Session, hearing: dict[str, Any]) -> Any:
    response = court.post(
        hub.url + "/v1/adapters/courts/hearings",
        data=json.dumps(hearing),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def _an_ambiguous_hearing(hub: RunningHub, court: OAuth2Session) -> str:
    """Two men with the same name, birth date and postcode but other PNC IDs, then a hearing
    for one of them without any identifier: held for review. Returns the held record's person."""
    hearing = json.loads((EXAMPLES / "courts-hearing-resulted.json").read_text())
    case = hearing["hearing"]["prosecutionCases"][0]
    case["defendants"] = case["defendants"][:1]  # Daniel Hargreaves
    _send_hearing(hub, court, hearing)
    twin = copy.deepcopy(hearing)
    twin["hearing"]["id"] = "twin-hearing"
    twin["hearing"]["prosecutionCases"][0]["defendants"][0].update(
        pncId="2008/0123456M", croNumber=""
    )
    _send_hearing(hub, court, twin)
    unknown = copy.deepcopy(hearing)
    unknown["hearing"]["id"] = "unknown-hearing"
    unknown["hearing"]["prosecutionCases"][0]["defendants"][0].update(pncId="", croNumber="")
    body = _send_hearing(hub, court, unknown)
    assert body["held"] == 1 and body["accepted"] == 0, body
    [held] = body["records"]
    return str(held["subject"])


def _person(hub: RunningHub, court: OAuth2Session, subject_id: str) -> str:
    """The person the court's look-up answers for `subject_id` (after merges)."""
    response = court.get(f"{hub.url}/v1/subjects/{subject_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_an_ig_officer_merges_a_held_record_and_undoes_the_merge(
    browser: Browser, hub_server: RunningHub, backend: str
) -> None:
    court = _court(hub_server)
    incoming = _an_ambiguous_hearing(hub_server, court)

    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    console_errors: list[Any] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    _sign_in(page, hub_server, _user(hub_server, "ig_officer"))
    expect(page.get_by_test_id("signed-in-bar")).to_contain_text("Imran Gill")

    # The queue, from the service navigation.
    page.locator(".govuk-service-navigation").get_by_role("link", name="Identity reviews").click()
    expect(page).to_have_url(hub_server.url + "/ui/identity-reviews/")
    expect(page).to_have_title("Identity reviews – Justice information-sharing hub")
    expect(page.get_by_role("heading", name="Identity reviews", level=1)).to_be_visible()
    expect(page.locator(".govuk-service-navigation__item--active")).to_have_text("Identity reviews")
    pending_tab = page.get_by_role("link", name="Waiting for a decision")
    expect(pending_tab).to_have_attribute("aria-current", "page")
    table = page.locator("table.govuk-table")
    expect(table.locator("caption")).to_have_text("Waiting for a decision")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(1)
    cells = rows.first.locator("th, td")
    expect(cells).to_have_text(
        [
            re.compile(r"^Review [0-9a-f]{8}$"),
            re.compile(r"^\d{1,2} [A-Z][a-z]+ \d{4}, \d{1,2}:\d{2}(am|pm)$"),  # opened (UK time)
            "Several close matches",
            "2",  # candidates
            "1",  # records held
        ]
    )
    page.screenshot(path=str(ARTIFACTS / f"identity-queue-{backend}.png"), full_page=True)

    # The review: the new record and both candidates, with what each agency recorded.
    rows.first.get_by_role("link").click()
    review_url = page.url
    assert review_url.startswith(hub_server.url + "/ui/identity-reviews/")
    expect(
        page.get_by_role("heading", name="Is this someone the hub already knows?")
    ).to_be_visible()
    status = page.locator(".govuk-summary-list").first
    expect(status).to_contain_text("Waiting for a decision")
    expect(status).to_contain_text("1 (nothing about them is shared until you decide)")
    for heading in ("The new record", "Candidate 1", "Candidate 2"):
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    lists = page.locator(".govuk-summary-list")
    expect(lists).to_have_count(4)
    new_record, first, second = lists.nth(1), lists.nth(2), lists.nth(3)
    expect(new_record).to_contain_text("None")  # no identifiers at all
    expect(new_record).to_contain_text(AS_RECORDED)
    for candidate in (first, second):
        expect(candidate).to_contain_text(AS_RECORDED)
        expect(candidate).to_contain_text("Match score")
    candidates_text = first.inner_text() + second.inner_text()
    # The demo's person (PNC, CRN, prison number; the court added the CRO) and the other man.
    assert "PNC 2011/0482113C" in candidates_text and "CRN D123456" in candidates_text
    assert "PNC 2008/0123456M" in candidates_text
    expect(page.get_by_role("radio")).to_have_count(3)
    expect(page.get_by_label("A different person from every candidate")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"identity-review-{backend}.png"), full_page=True)

    # Recording a decision without choosing one is an error, in the GOV.UK pattern.
    page.get_by_role("button", name="Record decision").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text(
        "Select whether this is the same person as a candidate, or someone else"
    )
    expect(page.locator(".govuk-error-message")).to_contain_text("Select whether")
    expect(page).to_have_title("Error: Identity review – Justice information-sharing hub")
    expect(page.locator(".govuk-summary-list").first).to_contain_text("Waiting for a decision")
    page.screenshot(path=str(ARTIFACTS / f"identity-review-error-{backend}.png"), full_page=True)
    summary.get_by_role("link").click()  # the error's link takes you to the choice
    expect(page.get_by_label("The same person as candidate 1")).to_be_focused()

    # The same person as candidate 1.
    choice = page.get_by_label("The same person as candidate 1")
    into = (choice.get_attribute("value") or "").removeprefix("merge:")
    assert into and into != incoming
    choice.check()
    page.get_by_role("button", name="Record decision").click()
    expect(page).to_have_url(review_url)
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text("Recorded as the same person.")
    expect(page.locator(".govuk-summary-list").first).to_contain_text("Same person as candidate 1")
    # Candidate 1 shows his own details once, not the merged record's again.
    expect(page.locator(".govuk-summary-list").nth(2)).not_to_contain_text("As recorded (2)")
    expect(page.get_by_role("radio")).to_have_count(0)
    expect(page.get_by_role("button", name="Undo merge")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"identity-review-merged-{backend}.png"), full_page=True)
    assert _person(hub_server, court, incoming) == into

    # The merge was a mistake: undone, he is a person of his own again and the review waits.
    page.get_by_role("button", name="Undo merge").click()
    expect(page).to_have_url(review_url)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "The merge was undone"
    )
    expect(page.locator(".govuk-summary-list").first).to_contain_text("Waiting for a decision")
    expect(page.get_by_role("button", name="Undo merge")).to_have_count(0)
    expect(page.get_by_role("radio")).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / f"identity-review-undone-{backend}.png"), full_page=True)
    assert _person(hub_server, court, incoming) == incoming
    page.get_by_role("link", name="Back to identity reviews").click()
    expect(page.locator("table.govuk-table tbody tr")).to_have_count(1)

    # Decided again: a different person from both.
    page.locator("table.govuk-table tbody tr").first.get_by_role("link").click()
    page.get_by_label("A different person from every candidate").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Recorded as a different person."
    )
    expect(page.locator(".govuk-summary-list").first).to_contain_text("Different people")
    assert _person(hub_server, court, incoming) == incoming
    page.get_by_role("link", name="Back to identity reviews").click()
    expect(page.get_by_test_id("no-reviews")).to_be_visible()
    page.get_by_role("link", name="Different people").click()
    expect(page.locator("table.govuk-table tbody tr")).to_have_count(1)
    # Only the deliberately empty decision answered 400; nothing else went wrong in the page.
    assert [e for e in console_errors if "status of 400" not in e] == []
    context.close()

    # Anyone else is told the pages do not exist, and the navigation does not offer them.
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    _sign_in(page, hub_server, _user(hub_server, "case_manager"))
    expect(
        page.locator(".govuk-service-navigation").get_by_role("link", name="Identity reviews")
    ).to_have_count(0)
    for url in (hub_server.url + "/ui/identity-reviews/", review_url):
        response = page.goto(url)
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(page.locator("main")).not_to_contain_text("HARGREAVES")
    page.screenshot(
        path=str(ARTIFACTS / f"identity-reviews-not-found-{backend}.png"), full_page=True
    )
    context.close()
