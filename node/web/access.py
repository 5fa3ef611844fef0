"""What each role may do, the audit of web actions, and the security headers: one middleware's helpers.

Writes are matched by path in one table (:data:`_RULES`), so every route that confirms, rejects, enters
or withdraws findings, or retries a delivery, is covered in the same place. Reads are open to every
signed-in role; the pages and API answers that show patient data are recorded as ``phi_view``.
"""

from __future__ import annotations

import logging
import re

from fastapi import Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from node.accounts.users import may
from node.web.auth import Auth, User

log = logging.getLogger(__name__)

_UID = r"(?P<uid>[0-9.]{1,64})"
#: (method, path pattern, permission or None, audit action or a function of the match)
_RULES: list[tuple[str, re.Pattern[str], str | None, str]] = [
    ("POST", re.compile(rf"^(/api)?/studies/{_UID}/findings$"), "findings", "findings_entered"),
    ("POST", re.compile(rf"^/studies/{_UID}/findings/\d+/withdraw$"), "findings", "finding_withdrawn"),
    ("DELETE", re.compile(rf"^/api/studies/{_UID}/findings/\d+$"), "findings", "finding_withdrawn"),
    ("POST", re.compile(rf"^(/api)?/studies/{_UID}/candidates/\d+/(?P<verb>[a-z]+)$"), "findings", "finding_"),
    ("POST", re.compile(rf"^/studies/{_UID}/deliveries/\d+/retry$"), "deliveries", "delivery_retry"),
    ("POST", re.compile(r"^/api/deliveries/\d+/retry$"), "deliveries", "delivery_retry"),
    ("GET", re.compile(rf"^(/api)?/studies/{_UID}$"), None, "phi_view"),
    ("GET", re.compile(r"^/api/studies$"), None, "phi_view"),
    ("GET", re.compile(r"^/$"), None, "phi_view"),
]
_WORDS = {"findings": "enter, confirm or reject findings", "deliveries": "retry deliveries"}
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _match(request: Request) -> tuple[str | None, str, re.Match[str]] | None:
    for method, pattern, permission, action in _RULES:
        if request.method == method:
            found = pattern.match(request.url.path)
            if found:
                if action == "finding_":
                    verb = found.group("verb")
                    action = {"confirm": "finding_confirmed", "reject": "finding_rejected"}.get(verb, f"finding_{verb}")
                return permission, action, found
    return None


def _user(request: Request) -> User | None:
    auth: Auth = request.app.state.auth
    return auth.user_of(request)


def refusal(request: Request) -> Response | None:
    """A 403 when the signed-in role may not do this write; None to let the route answer."""
    matched = _match(request)
    if matched is None or matched[0] is None:
        return None
    user = _user(request)
    if user is None or may(user.role, matched[0]):
        return None  # not signed in: the route itself answers 401 or sends to the login page
    _audit(request, user, matched[1], matched[2], "refused")
    message = f"Your role ({user.role}) may not {_WORDS[matched[0]]}."
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=403)
    return PlainTextResponse(message, status_code=403)


def audit(request: Request, status: int) -> None:
    matched = _match(request)
    if matched is None or status in (401, 303) and request.method == "GET":
        return
    user = _user(request)
    if user is None:
        return
    _audit(request, user, matched[1], matched[2], "success" if status < 400 else "failure", status=status)


def _audit(request: Request, user: User, action: str, found: re.Match[str], outcome: str, **detail: object) -> None:
    request.app.state.audit.put(
        action,
        actor=actor_of(user),
        outcome=outcome,
        peer=request.client.host if request.client else None,
        study_uid=found.groupdict().get("uid"),
        role=user.role,
        path=request.url.path,
        **detail,
    )


def actor_of(user: User) -> str:
    """The account's user name, or the name given with the bootstrap token."""
    return user.username if user.username else f"{user.name} (token)"


def security_headers(request: Request, response: Response) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CSP)
    if request.url.scheme == "https":
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
