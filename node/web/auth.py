"""Who may use the web app: accounts (:mod:`node.accounts`), the bootstrap token, sessions, CSRF tokens.

People sign in with their user name and password; the shared bootstrap token (``[web] token``, or a random
one generated once into ``data_dir/web-token``, mode 600) signs in as ``admin``. A sign-in sets a session
cookie (HMAC-signed, HttpOnly, SameSite=Strict) naming a server-side session row: logging out or disabling
the account ends it at once. The API takes ``Authorization: Bearer <token>`` with an account's API token or
the bootstrap token. Every POST form carries a CSRF token bound to the session; API writes that ride on the
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
from datetime import timedelta
from pathlib import Path

from fastapi import Request

from node.accounts.models import Account
from node.accounts.users import ADMIN, SessionStore, account_of_api_token, check_password
from node.registry.db import Registry
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
    role: str = ADMIN
    account_id: int | None = None
    username: str | None = None  # the account's user name (None: the bootstrap token)


class Auth:
    """Signs and checks sessions and CSRF tokens with a key derived from the web token."""

    def __init__(self, token: str, registry: Registry | None = None) -> None:
        if not token:
            raise ValueError("token: must not be empty")
        self.token = token
        self.registry = registry
        self.store = SessionStore(registry, timedelta(seconds=SESSION_SECONDS)) if registry is not None else None
        self._key = hashlib.sha256(b"spinenode-web-session:" + token.encode()).digest()

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def token_ok(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate).encode(), self.token.encode())

    def make_session(
        self, name: str | None, now: float | None = None, *, role: str = ADMIN, account_id: int | None = None
    ) -> str:
        data: dict[str, object] = {"n": name or "web", "t": int(now if now is not None else time.time())}
        if self.store is not None:
            data["s"] = self.store.create(name or "web", role, account_id)
        else:
            data["r"] = secrets.token_hex(8)
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
            sid = str(data.get("s", ""))
        except (ValueError, KeyError, TypeError):
            return None
        if not 0 <= (now if now is not None else time.time()) - issued <= SESSION_SECONDS:
            return None
        if self.store is None:
            return User(name=name, via="cookie", session=value)
        active = self.store.active(sid) if sid else None
        if active is None:
            return None
        return User(
            name=active.name,
            via="cookie",
            session=value,
            role=active.role,
            account_id=active.account_id,
            username=active.username,
        )

    def end_session(self, user: User) -> None:
        """Logout: the session row is revoked, so a copied cookie stops working too."""
        if self.store is None or not user.session:
            return
        payload = user.session.rpartition(".")[0]
        try:
            sid = str(json.loads(base64.urlsafe_b64decode(payload.encode())).get("s", ""))
        except (ValueError, TypeError, AttributeError):
            return
        if sid:
            self.store.revoke(sid)

    def password_ok(self, username: str, password: str) -> Account | None:
        if self.registry is None:
            return None
        with self.registry.session() as session:
            return check_password(session, username, password)

    def csrf_token(self, user: User) -> str:
        return self._sign("csrf:" + user.session)

    def csrf_ok(self, user: User, candidate: str | None) -> bool:
        if user.via == "bearer":
            return True
        return bool(candidate) and hmac.compare_digest(str(candidate), self.csrf_token(user))

    def user_of(self, request: Request) -> User | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            candidate = header[7:].strip()
            if self.token_ok(candidate):
                return User(name="api", via="bearer", session="")
            if self.registry is None or not candidate:
                return None
            with self.registry.session() as session:
                account = account_of_api_token(session, candidate)
                if account is None:
                    return None
                return User(
                    name=account.username,
                    via="bearer",
                    session="",
                    role=account.role,
                    account_id=account.id,
                    username=account.username,
                )
        return self.read_session(request.cookies.get(COOKIE))
