"""Request dependencies: the runtime, the signed-in user, CSRF checks."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session

from node.findings.workflow import NotFound, get_study
from node.registry.models import Study
from node.runtime import Runtime
from node.web.auth import Auth, User


class LoginRequired(Exception):
    """A page was asked for without a session: the app answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def auth_of(request: Request) -> Auth:
    auth: Auth = request.app.state.auth
    return auth


def db(request: Request) -> Iterator[Session]:
    with runtime_of(request).registry.session() as session:
        yield session


def api_user(request: Request) -> User:
    user = auth_of(request).user_of(request)
    if user is None:
        raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
    return user


def api_writer(request: Request) -> User:
    """An API write: a bearer token, or a session cookie with the CSRF token in ``X-CSRF-Token``."""
    user = api_user(request)
    if not auth_of(request).csrf_ok(user, request.headers.get("x-csrf-token")):
        raise HTTPException(403, "missing or invalid CSRF token")
    return user


def page_user(request: Request) -> User:
    user = auth_of(request).read_session(request.cookies.get("spinenode_session"))
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(path, safe="/?=&:"))
    return user


def check_form_csrf(request: Request, user: User, token: str | None) -> None:
    if not auth_of(request).csrf_ok(user, token):
        raise HTTPException(403, "missing or invalid CSRF token (reload the page and try again)")


def study_or_404(session: Session, study_uid: str) -> Study:
    """The study with this Study Instance UID, or a 404 answer (pages and API alike)."""
    try:
        return get_study(session, study_uid)
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
