"""An IG officer, in headless Debian Chromium against a running hub: opens the audit log from
the service navigation, searches by a person's identifier and the action, opens an entry and
reads the decision in words, lists the person's disclosures and downloads them as CSV, and checks
the log's verification. A case manager gets 'page not found'. Screenshots in tests/artifacts/."""

from __future__ import annotations

import csv
import io
from typing import Any

from playwright.sync_api import Browser, expect

from tests.conftest import ARTIFACTS
from tests.e2e.test_audit_over_http import integrated
from tests.e2e.test_explain_page import _refer
from tests.e2e.test_identity_reviews import _sign_in, _user
from tests.support.server import RunningHub

PERSON = "noms:A4821DC"


def test_an_ig_officer_searches_the_log_and_sees_a_persons_disclosures(
    browser: Browser, hub_server: RunningHub, backend: str, database_url: str
) -> None:
    _refer(hub_server)
    integrated(database_url)  # the integrator signs the referral's entries within a second
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    console_errors: list[Any] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    _sign_in(page, hub_server, _user(hub_server, "ig_officer"))
    page.locator(".govuk-service-navigation").get_by_role("link", name="Audit log").click()
    expect(page).to_have_title("Audit log – Justice information-sharing hub")
    expect(page.get_by_test_id("entries")).to_contain_text("Newest entries")

    page.get_by_label("Person (optional)").fill(PERSON)
    page.get_by_label("What happened").select_option("message.delivered")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("entries")
    expect(results).to_contain_text("Entries matching")
    rows = results.locator("tbody tr")
    expect(rows.first).to_contain_text("Message disclosed to a recipient")
    assert rows.count() >= 1
    assert PERSON not in page.url  # the identifier went by POST
    page.screenshot(path=str(ARTIFACTS / f"audit-search-{backend}.png"), full_page=True)

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Message disclosed to a recipient")
    words = page.get_by_test_id("in-words")
    expect(words).to_contain_text("under agreement")
    expect(words).to_contain_text("on the lawful basis of")
    expect(page.get_by_test_id("inclusion")).to_contain_text("signed")
    page.get_by_text("The entry as recorded (canonical JSON)").click()
    page.screenshot(path=str(ARTIFACTS / f"audit-entry-{backend}.png"), full_page=True)

    page.get_by_role("link", name="Audit log", exact=True).first.click()
    page.get_by_role("link", name="A person's disclosures").click()
    page.get_by_label("Person", exact=True).fill(PERSON)
    page.get_by_role("button", name="Show disclosures").click()
    table = page.get_by_test_id("disclosures")
    expect(table).to_be_visible()
    shown = table.locator("tbody tr").count()
    assert shown >= 1
    page.screenshot(path=str(ARTIFACTS / f"audit-disclosures-{backend}.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_test_id("csv").click()
    download = download_info.value
    assert download.suggested_filename.startswith("disclosures-")
    rows_csv = list(csv.DictReader(io.StringIO(download.path().read_text())))
    assert len(rows_csv) == shown and all(r["decision"] == "Shared" for r in rows_csv)

    page.get_by_role("link", name="Verification").click()
    expect(page.get_by_test_id("checkpoint")).to_contain_text("Entries covered")
    page.get_by_role("button", name="Verify now").click()
    expect(page.get_by_test_id("result")).to_contain_text("The log verifies")
    expect(page.get_by_test_id("last-verification")).to_contain_text("web: ig.officer")
    page.screenshot(path=str(ARTIFACTS / f"audit-verification-{backend}.png"), full_page=True)
    assert console_errors == []

    # A case manager finds no audit pages.
    other = browser.new_context().new_page()
    _sign_in(other, hub_server, _user(hub_server, "case_manager"))
    expect(other.locator(".govuk-service-navigation")).not_to_contain_text("Audit log")
    answer = other.goto(hub_server.url + "/ui/audit/")
    assert answer is not None and answer.status == 404
    context.close()
