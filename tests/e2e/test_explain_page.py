"""An IG officer asks, from the service navigation, whether a provider's volunteer would see a
probation referral about a person the hub knows; the page answers in words (shared, with the
risk detail withheld, by which agreement and statute) and then, for the case summary, refuses
by the hub-wide rule. Headless Debian Chromium; screenshots are kept in tests/artifacts/."""

from __future__ import annotations

import json
from typing import Any

from authlib.integrations.requests_client import OAuth2Session
from playwright.sync_api import Browser, expect

from tests.conftest import ARTIFACTS
from tests.e2e.test_identity_reviews import _sign_in, _user
from tests.support.adapters import EXAMPLES
from tests.support.server import RunningHub


def _refer(hub: RunningHub) -> None:
    creds = hub.credentials["probation-south-yorkshire"]
    session = OAuth2Session(
        creds["client_id"], creds["client_secret"], token_endpoint_auth_method="client_secret_basic"
    )
    session.fetch_token(hub.token_endpoint, grant_type="client_credentials")
    sent = session.post(
        hub.url + "/v1/adapters/probation/referrals",
        data=(EXAMPLES / "probation-referral.json").read_bytes(),
        headers={"Content-Type": "application/json"},
    )
    assert sent.status_code == 200, sent.text
    assert json.loads(sent.text)["records"][0]["status"] == "accepted"


def test_an_ig_officer_explains_what_a_volunteer_would_see(
    browser: Browser, hub_server: RunningHub, backend: str
) -> None:
    _refer(hub_server)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    console_errors: list[Any] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )
    _sign_in(page, hub_server, _user(hub_server, "ig_officer"))
    page.locator(".govuk-service-navigation").get_by_role("link", name="Explain a decision").click()
    expect(page).to_have_title("Explain a sharing decision – Justice information-sharing hub")

    # Nothing chosen: each mistake is named, and the summary links to its field.
    page.get_by_role("button", name="Explain").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    summary.get_by_role("link", name="Select the agency that would send it").click()
    expect(page.locator("#sender")).to_be_focused()
    # (the browser reports the form's 400 answer as a failed load; nothing else may fail)
    assert [e for e in console_errors if "400" not in e] == []
    console_errors.clear()

    page.get_by_label("Sent by").select_option("probation-south-yorkshire")
    page.get_by_label("Received by").select_option("provider-doncaster-alliance")
    page.get_by_label("Read by").select_option("volunteer")
    page.get_by_label("Message").select_option("referral")
    page.get_by_label("Purpose").select_option("resettlement")
    page.get_by_label("About (optional)").fill("noms:A4821DC")
    page.get_by_role("button", name="Explain").click()

    answer = page.get_by_test_id("answer")
    expect(answer.locator(".govuk-tag")).to_have_text("Would be shared")
    withheld = answer.locator(".govuk-summary-list__row", has_text="Withheld from this reader")
    expect(withheld.locator("dd")).to_have_text(
        "riskOfSeriousHarm, riskOfReoffending, sentencePlanSummary"
    )
    expect(answer).to_contain_text("Offender Rehabilitation Act 2014")
    page.screenshot(path=str(ARTIFACTS / f"explain-permit-{backend}.png"), full_page=True)

    # The same reader, probation's case summary: refused by the hub-wide rule.
    page.get_by_label("Message").select_option("case-summary")
    page.get_by_label("Purpose").select_option("risk_management")
    page.get_by_role("button", name="Explain").click()
    expect(answer.locator(".govuk-tag")).to_have_text("Would not be shared")
    expect(answer).to_contain_text("hub-wide-restrictions/no-risk-narrative-to-volunteers")
    page.screenshot(path=str(ARTIFACTS / f"explain-deny-{backend}.png"), full_page=True)
    assert console_errors == []
    context.close()
