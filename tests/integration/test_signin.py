"""Signing in to the pages: argon2 passwords, server-side sessions, CSRF, one message for every failure."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from hub.services.signin import GENERIC_FAILURE
from hub.store.models import User, WebSession
from tests.conftest import audit_entries
from tests.support.world import PASSWORD


def _csrf(client: Any, path: str = "/ui/sign-in") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _sign_in(client: Any, username: str, password: str) -> Any:
    return client.post(
        "/ui/sign-in",
        data={"username": username, "password": password, "csrf_token": _csrf(client)},
    )


def test_sign_in_shows_who_is_signed_in_then_sign_out(
    client: Any, services: Any, world: Any
) -> None:
    assert client.get("/ui/").headers["Location"].endswith("/ui/sign-in")
    response = _sign_in(client, "case.manager", PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/ui/")
    cookie = response.headers["Set-Cookie"]
    assert (
        cookie.startswith("__Host-hub=")
        and "Secure" in cookie
        and "HttpOnly" in cookie
        and "SameSite=Lax" in cookie
    )

    home = client.get("/ui/").get_data(as_text=True)
    assert (
        "Carys Mason" in home
        and "Case manager" in home
        and "Doncaster Rehabilitation Alliance" in home
    )

    token = _csrf(client, "/ui/")
    out = client.post("/ui/sign-out", data={"csrf_token": token})
    assert out.status_code == 302
    with services.db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 0
    assert client.get("/ui/").status_code == 302
    actions = [e["action"] for e in audit_entries(services) if e["action"].startswith("signin")]
    assert actions == ["signin.succeeded", "signin.signed_out"]


def test_password_is_stored_as_argon2(services: Any, world: Any) -> None:
    with services.db.transaction(readonly=True) as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "ig.officer"))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_one_message_for_every_failed_sign_in(client: Any, services: Any, world: Any) -> None:
    wrong_password = _sign_in(client, "case.manager", "not the password at all")
    no_such_user = _sign_in(client, "nobody.here", "not the password at all")
    assert wrong_password.status_code == no_such_user.status_code == 400

    def message(response: Any) -> str:
        page = response.get_data(as_text=True)
        return (
            re.sub(r'value="[^"]*"|nonce-?[\w-]+|nonce="[^"]*"', "", page)
            .replace("nobody.here", "")
            .replace("case.manager", "")
        )

    assert GENERIC_FAILURE in wrong_password.get_data(as_text=True)
    assert message(wrong_password) == message(no_such_user)
    failures = audit_entries(services, "signin.failed")
    assert len(failures) == 2 and all("actor" not in f for f in failures)


def test_failed_sign_ins_are_rate_limited(client: Any, settings: Any, world: Any) -> None:
    for _ in range(settings.signin_max_failures):
        assert _sign_in(client, "offender.manager", "wrong wrong wrong").status_code == 400
    limited = _sign_in(client, "offender.manager", PASSWORD)  # even the right password waits
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == str(settings.signin_window)
    assert "Too many failed attempts" in limited.get_data(as_text=True)


def test_forms_need_the_csrf_token(client: Any, world: Any) -> None:
    response = client.post("/ui/sign-in", data={"username": "case.manager", "password": PASSWORD})
    assert response.status_code == 400
    assert "Nothing was changed" in response.get_data(as_text=True)


def test_pages_carry_security_headers(client: Any) -> None:
    response = client.get("/ui/sign-in")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_page_is_a_page(client: Any) -> None:
    response = client.get("/ui/no-such-page")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)


def test_a_fault_shows_a_page_with_a_reference(
    client: Any, services: Any, world: Any, monkeypatch: Any
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(services.signin, "sign_in", broken)
    response = _sign_in(client, "case.manager", PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "Sorry, there is a problem with the service" in page
    assert response.headers["X-Request-Id"] in page
    assert "database on fire" not in page


def test_the_address_behind_a_trusted_proxy_is_the_clients(
    settings: Any, services: Any, world: Any
) -> None:
    from hub.app import create_app

    proxied = create_app(settings.with_overrides(trusted_proxy_hops=1), services).test_client()
    for _ in range(settings.signin_max_failures):
        response = proxied.post(
            "/ui/sign-in",
            data={
                "username": "iom.officer",
                "password": "wrong password",
                "csrf_token": _csrf(proxied),
            },
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert response.status_code == 400
    # The same account from another client address behind the proxy is not locked out.
    other = proxied.post(
        "/ui/sign-in",
        data={"username": "iom.officer", "password": PASSWORD, "csrf_token": _csrf(proxied)},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert other.status_code == 302


def test_parallel_guesses_cannot_pass_the_limit(app: Any, settings: Any, world: Any) -> None:
    import threading

    results: list[int] = []
    barrier = threading.Barrier(12)

    def guess() -> None:
        client = app.test_client()
        token = _csrf(client)
        barrier.wait()
        response = client.post(
            "/ui/sign-in",
            data={"username": "admin", "password": "guess guess guess", "csrf_token": token},
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(400) == settings.signin_max_failures
    assert results.count(429) == 12 - settings.signin_max_failures
