"""A person signs in, sees who they are, signs out, and cannot sign in with a wrong password.
Headless Debian Chromium driven by Playwright; screenshots are kept in tests/artifacts/."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from tests.conftest import ARTIFACTS
from tests.support.server import RunningHub


def test_sign_in_see_home_sign_out_and_wrong_password(
    browser: Browser, hub_server: RunningHub, backend: str
) -> None:
    user = next(u for u in hub_server.credentials["users"] if u["role"] == "case_manager")
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    console_errors: list[Any] = []
    page.on(
        "console",
        lambda message: console_errors.append(message.text) if message.type == "error" else None,
    )

    page.goto(hub_server.url + "/ui/")
    expect(page).to_have_url(hub_server.url + "/ui/sign-in")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password", exact=True).fill(user["password"])
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(hub_server.url + "/ui/")
    expect(page.get_by_test_id("signed-in-bar")).to_contain_text("Carys Mason")
    expect(page.get_by_test_id("signed-in-bar")).to_contain_text("Case manager")
    expect(page.get_by_role("heading", name="Welcome, Carys Mason")).to_be_visible()
    # The GOV.UK Frontend stylesheet and script really loaded (a styled page, JS components on).
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.govuk-header')).backgroundColor")
        != "rgba(0, 0, 0, 0)"
    )
    assert "govuk-frontend-supported" in (page.locator("body").get_attribute("class") or "")
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["__Host-hub"]["httpOnly"] and cookies["__Host-hub"]["secure"]
    page.screenshot(path=str(ARTIFACTS / f"home-signed-in-{backend}.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    page.goto(hub_server.url + "/ui/")
    expect(page).to_have_url(hub_server.url + "/ui/sign-in")

    page.get_by_label("Username").fill(user["username"])
    page.get_by_label("Password", exact=True).fill("definitely-not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "The username or password is not right"
    )
    expect(page).to_have_title("Error: Sign in – Justice information-sharing hub")
    page.screenshot(path=str(ARTIFACTS / f"sign-in-failed-{backend}.png"), full_page=True)
    # The failed sign-in page itself answers 400; anything else (a script error, a CSP violation) fails.
    assert [e for e in console_errors if "status of 400" not in e] == []
    context.close()
