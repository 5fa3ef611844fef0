"""Who may use the web app: one shared token (``[web] token``), a signed session cookie, CSRF tokens.

If the token setting is empty a random one is generated once and kept in ``data_dir/web-token`` (mode
600). Logging in with the token sets a session cookie (HMAC-signed, HttpOnly, SameSite=Strict) that also
carries the name a person gave, used as the author of findings. The API also takes ``Authorization:
Bearer <token>``. Every POST form carries a CSRF token bound to the session; API writes that ride on the
cookie need the same token in an ``X-CSRF-Token`` header.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request

from node.settings import Settings

log = logging.getLogger(__name__)

COOKIE = "spinenode_session"
SESSION_SECONDS = 12 * 3600
TOKEN_FILE = "web-token"
_NAME_RE = re.compile(r"^[\w .'-]{1,64}$")


def ensure_web_token(settings: Settings) -> tuple[str, Path | None]:
    """The token and, when it was generated, the file that holds it."""
    if settings.web.token:
        return settings.web.token, None
    path = settings.data_dir / TOKEN_FILE
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            os.chmod(path, 0o600)
            return token, path
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)
    return token, path


def clean_name(value: str | None) -> str | None:
    """The name a person gives at login (author of findings): letters, digits, space . ' -; else None."""
    value = (value or "").strip()
    return value if value and _NAME_RE.match(value) else None


@dataclass(frozen=True)
class User:
    name: str
    via: str  # "cookie" | "bearer"
    session: str  # the cookie value (empty for bearer)


class Auth:
    """Signs and checks sessions and CSRF tokens with a key derived from the web token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("token: must not be empty")
        self.token = token
        self._key = hashlib.sha256(b"spinenode-web-session:" + token.encode()).digest()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate).encode(), self.token.encode())

    def make_session(self, name: str | None, now: float | None = None) -> str:
        data = {"n": name or "web", "t": int(now if now is not None else time.time()), "r": secrets.token_hex(8)}
        payload = base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
        return f"{payload}.{self._sign(payload)}"

    def read_session(self, value: str | None, now: float | None = None) -> User | None:
        if not value or "." not in value:
            return None
        payload, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload.encode()))
            issued = int(data["t"])
            name = str(data["n"])
        except (ValueError, KeyError, TypeError):
            return None
        if not 0 <= (now if now is not None else time.time()) - issued <= SESSION_SECONDS:
            return None
        return User(name=name, via="cookie", session=value)

    def csrf_token(self, user: User) -> str:
        return self._sign("csrf:" + user.session)

    def csrf_ok(self, user: User, candidate: str | None) -> bool:
        if user.via == "bearer":
            return True
        return bool(candidate) and hmac.compare_digest(str(candidate), self.csrf_token(user))

    def user_of(self, request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return User(name="api", via="bearer", session="") if self.token_ok(header[7:].strip()) else None
        return self.read_session(request.cookies.get(COOKIE))
