"""Accounts, roles, server-side sessions, sign-in rate limit, security headers and the audit trail."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from web_support import TOKEN, Seeded, csrf_of, login

from node.accounts.users import add_user, create_api_token, disable_user
from node.audit.trail import events, syslog_line
from node.runtime import Runtime
from node.web.app import create_app
from node.web.auth import COOKIE

PASSWORD = "correct horse battery"


def _user(runtime: Runtime, username: str, role: str) -> None:
    with runtime.registry.session() as session:
        add_user(session, username, PASSWORD, role, full_name=username.title())


def _sign_in(client: TestClient, username: str, password: str = PASSWORD) -> int:
    return client.post("/login", data={"username": username, "password": password, "next": "/"}).status_code


def test_roles_decide_who_may_write(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    _user(runtime, "vera", "viewer")
    _user(runtime, "otto", "operator")
    _user(runtime, "rita", "radiologist")
    uid = seeded.reported_uid
    retry = f"/studies/{seeded.stat_uid}/deliveries/{seeded.delivery_dead_id}/retry"
    assert _sign_in(client, "vera") == 303
    csrf = csrf_of(client.get("/").text)
    refused = client.post(f"/studies/{uid}/candidates/0/confirm", data={"csrf": csrf})
    assert refused.status_code == 403 and "viewer" in refused.text and "findings" in refused.text
    assert client.post(retry, data={"csrf": csrf}).status_code == 403
    client.cookies.clear()
    assert _sign_in(client, "otto") == 303
    csrf = csrf_of(client.get("/").text)
    assert client.post(f"/studies/{uid}/candidates/0/confirm", data={"csrf": csrf}).status_code == 403
    assert client.post(retry, data={"csrf": csrf}).status_code == 303
    client.cookies.clear()
    assert _sign_in(client, "rita") == 303
    csrf = csrf_of(client.get("/").text)
    assert client.post(f"/studies/{uid}/candidates/0/confirm", data={"csrf": csrf}).status_code == 303
    assert client.post(retry, data={"csrf": csrf}).status_code == 403
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    with runtime.registry.session() as session:
        trail = [(e.actor, e.action, e.outcome) for e in events(session)]
    assert ("rita", "finding_confirmed", "success") in trail
    assert ("vera", "finding_confirmed", "refused") in trail
    assert ("otto", "delivery_retry", "success") in trail
    assert ("vera", "sign_in", "success") in trail
    assert any(a == "phi_view" and who == "rita" for who, a, _ in trail)


def test_logout_ends_the_session_for_a_copied_cookie_too(client: TestClient, seeded: Seeded) -> None:
    csrf = login(client)
    copied = client.cookies.get(COOKIE)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    client.cookies.set(COOKIE, copied)
    assert client.get("/").status_code == 303, "a revoked session sends to the login page"


def test_disabling_an_account_ends_its_sessions_and_tokens(
    client: TestClient, seeded: Seeded, runtime: Runtime
) -> None:
    _user(runtime, "dora", "radiologist")
    with runtime.registry.session() as session:
        token = create_api_token(session, "dora")
    assert client.get("/api/studies", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert _sign_in(client, "dora") == 303
    assert client.get("/").status_code == 200
    with runtime.registry.session() as session:
        disable_user(session, "dora")
    assert client.get("/").status_code == 303
    assert client.get("/api/studies", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _sign_in(client, "dora") == 401


def test_sign_in_is_rate_limited(client: TestClient, runtime: Runtime) -> None:
    _user(runtime, "emil", "viewer")
    codes = [_sign_in(client, "emil", "wrong password") for _ in range(10)]
    assert codes == [401] * 10
    assert _sign_in(client, "emil") == 429, "the right password waits too once the limit is reached"
    assert client.post("/login", data={"token": TOKEN}).status_code == 429


def test_security_headers_and_hsts_over_tls(runtime: Runtime) -> None:
    with TestClient(create_app(runtime), base_url="http://testserver") as plain:
        response = plain.get("/login")
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert "strict-transport-security" not in response.headers
    with TestClient(create_app(runtime), base_url="https://testserver") as tls:
        assert tls.get("/login").headers["strict-transport-security"].startswith("max-age=")


def test_audit_page_and_syslog_export(client: TestClient, seeded: Seeded, runtime: Runtime) -> None:
    csrf = login(client)
    del csrf
    client.get(f"/studies/{seeded.reported_uid}")
    client.app.state.audit.flush()  # type: ignore[attr-defined]
    page = client.get("/audit")
    assert page.status_code == 200 and "phi view" in page.text and "sign in" in page.text
    lines = client.get("/audit.syslog").text.splitlines()
    rfc5424 = re.compile(
        r"^<\d{1,3}>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ spinenode - \S+ \[audit@32473( \w+=\"[^\"]*\")+\] "
    )
    assert lines and all(rfc5424.match(line) for line in lines), lines[:3]
    with runtime.registry.session() as session:
        assert syslog_line(events(session)[0]).startswith("<85>1 ")  # authpriv.notice
    _user(runtime, "vic", "viewer")
    client.cookies.clear()
    assert _sign_in(client, "vic") == 303
    assert client.get("/audit").status_code == 403
