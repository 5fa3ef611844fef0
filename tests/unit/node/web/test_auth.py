from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_support import BEARER, PATIENT_ID, PATIENT_NAME, TOKEN, Seeded, csrf_of, login

from node.registry.db import Registry
from node.runtime import Runtime
from node.settings import Settings
from node.web.app import create_app
from node.web.auth import COOKIE, SESSION_SECONDS, Auth, clean_name, ensure_web_token


@pytest.mark.parametrize(
    "path",
    ["/", "/archive", "/studies/1.2.3", "/studies/1.2.3/card.png"],
)
def test_pages_redirect_to_login_without_a_session(client: TestClient, seeded: Seeded, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=" + path)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/studies"),
        ("GET", "/api/archive"),
        ("GET", "/api/studies/1.2/findings"),
        ("POST", "/api/studies/1.2/findings"),
        ("DELETE", "/api/studies/1.2/findings/1"),
        ("POST", "/api/studies/1.2/candidates/0/confirm"),
        ("POST", "/api/deliveries/1/retry"),
        ("GET", "/api/archive/1.2.3/sr.dcm"),
    ],
)
def test_api_needs_authentication(client: TestClient, seeded: Seeded, method: str, path: str) -> None:
    response = client.request(method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_bearer_token_is_refused(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/api/studies", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_phi_only_for_authenticated_users(client: TestClient, seeded: Seeded) -> None:
    for path in ("/", f"/studies/{seeded.reported_uid}", "/api/studies", f"/api/studies/{seeded.reported_uid}"):
        anonymous = client.get(path)
        assert "DOE" not in anonymous.text and PATIENT_ID not in anonymous.text
    rows = client.get("/api/studies", headers=BEARER).json()
    assert {r["patient_name"] for r in rows} == {PATIENT_NAME}
    login(client)
    assert "DOE, JANE" in client.get("/").text


def test_health_metrics_and_login_are_open(client: TestClient, seeded: Seeded) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_login_with_wrong_token_is_refused(client: TestClient) -> None:
    response = client.post("/login", data={"token": "wrong", "name": "x"})
    assert response.status_code == 401
    assert "not right" in response.text
    assert COOKIE not in response.cookies


def test_login_sets_a_signed_httponly_strict_cookie_and_redirects_to_next(client: TestClient) -> None:
    response = client.post("/login", data={"token": TOKEN, "name": "Dr Who", "next": "/archive"})
    assert response.status_code == 303 and response.headers["location"] == "/archive"
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header
    assert client.get("/archive").status_code == 200


def test_login_next_must_be_a_local_path(client: TestClient) -> None:
    response = client.post("/login", data={"token": TOKEN, "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


def test_tampered_or_expired_cookie_is_refused(client: TestClient, seeded: Seeded) -> None:
    auth = Auth(TOKEN)
    value = auth.make_session("a")
    client.cookies.set(COOKIE, value[:-2] + ("00" if not value.endswith("00") else "11"))
    assert client.get("/").status_code == 303
    client.cookies.set(COOKIE, Auth("another-token").make_session("a"))
    assert client.get("/").status_code == 303
    assert auth.read_session(value, now=10**10) is None
    assert auth.read_session(auth.make_session("a", now=1000), now=1000 + SESSION_SECONDS + 1) is None
    assert auth.read_session("no-dot") is None
    assert auth.read_session(None) is None


def test_forms_need_the_csrf_token(client: TestClient, seeded: Seeded) -> None:
    csrf = login(client)
    url = f"/studies/{seeded.stat_uid}/deliveries/{seeded.delivery_dead_id}/retry"
    assert client.post(url, data={"csrf": "bad"}).status_code == 403
    assert client.post(url, data={}).status_code == 403
    assert client.post(url, data={"csrf": csrf}).status_code == 303


def test_api_write_with_cookie_needs_csrf_header(client: TestClient, seeded: Seeded) -> None:
    csrf = login(client)
    url = f"/api/deliveries/{seeded.delivery_dead_id}/retry"
    assert client.post(url).status_code == 403
    assert client.post(url, headers={"X-CSRF-Token": csrf}).status_code == 200


def test_logout_clears_the_session(client: TestClient, seeded: Seeded) -> None:
    csrf = login(client)
    assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    client.cookies.clear()
    assert client.get("/").status_code == 303


def test_generated_token_is_kept_in_a_private_file(tmp_path: Path) -> None:
    settings = Settings.model_validate({"node": {"data_dir": str(tmp_path)}})
    token, path = ensure_web_token(settings)
    assert path == tmp_path / "web-token" and len(token) >= 24
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again, _ = ensure_web_token(settings)
    assert again == token  # kept across restarts
    rt = Runtime(settings, Registry(settings.database_url))
    try:
        with TestClient(create_app(rt)) as c:
            assert c.get("/api/studies", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    finally:
        rt.registry.dispose()


def test_configured_token_wins_and_empty_token_is_rejected(tmp_path: Path) -> None:
    settings = Settings.model_validate({"node": {"data_dir": str(tmp_path)}, "web": {"token": "abc"}})
    assert ensure_web_token(settings) == ("abc", None)
    assert not (tmp_path / "web-token").exists()
    with pytest.raises(ValueError, match="token"):
        Auth("")


def test_author_name_is_cleaned() -> None:
    assert clean_name("  Dr. O'Neil-Smith ") == "Dr. O'Neil-Smith"
    assert clean_name("<script>") is None
    assert clean_name("") is None


def test_csrf_token_is_bound_to_the_session(client: TestClient, seeded: Seeded) -> None:
    first = login(client)
    client.cookies.clear()
    second = login(client)
    assert first != second
    assert csrf_of(client.get("/").text) == second
