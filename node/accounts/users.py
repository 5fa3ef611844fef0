"""Accounts (argon2-hashed passwords), roles, API tokens and server-side web sessions.

Roles: ``radiologist`` (confirm, reject and enter findings), ``operator`` (retry deliveries, see the
queue), ``viewer`` (read only). Everyone signed in may read. The bootstrap token of ``[web] token`` (or
``data_dir/web-token``) signs in as ``admin``, who may do everything: it is how a node is first set up.
Secrets (session and API tokens) are stored only as SHA-256 digests; passwords only as argon2id hashes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from node.accounts.models import Account, ApiToken, WebSession
from node.registry.db import Registry
from node.registry.models import utcnow

ROLES = ("radiologist", "operator", "viewer")
ADMIN = "admin"
#: what each role may do beyond reading
PERMISSIONS: dict[str, frozenset[str]] = {
    "radiologist": frozenset({"findings"}),
    "operator": frozenset({"deliveries"}),
    "viewer": frozenset(),
    ADMIN: frozenset({"findings", "deliveries"}),
}
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password anyone has")


class AccountError(ValueError):
    """A request about accounts that cannot be done; the message says why in words."""


def may(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_user(session: Session, username: str, password: str, role: str, full_name: str | None = None) -> Account:
    if not _USERNAME.match(username):
        raise AccountError("user name: 2-64 lower-case letters, digits, dot, dash or underscore")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise AccountError("password: at least 10 characters")
    if session.scalar(select(Account).where(Account.username == username)) is not None:
        raise AccountError(f"user {username} exists already")
    account = Account(username=username, role=role, full_name=full_name, password_hash=_hasher.hash(password))
    session.add(account)
    session.flush()
    return account


def list_users(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.username)))


def disable_user(session: Session, username: str) -> Account:
    """Disable the account and end its sessions and API tokens at once."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None:
        raise AccountError(f"no user {username}")
    now = utcnow()
    account.disabled = True
    session.execute(
        update(WebSession)
        .where(WebSession.account_id == account.id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        update(ApiToken).where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
    )
    return account


def check_password(session: Session, username: str, password: str) -> Account | None:
    """The enabled account with this password, or None (the same work either way)."""
    account = session.scalar(select(Account).where(Account.username == username))
    try:
        _hasher.verify(account.password_hash if account else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if account is None or account.disabled:
        return None
    return account


def create_api_token(session: Session, username: str, label: str | None = None) -> str:
    """A new API token for the account; the only time it is shown."""
    account = session.scalar(select(Account).where(Account.username == username))
    if account is None or account.disabled:
        raise AccountError(f"no enabled user {username}")
    token = "sn_" + secrets.token_urlsafe(32)
    session.add(ApiToken(account_id=account.id, token_hash=digest(token), label=label))
    return token


def account_of_api_token(session: Session, token: str) -> Account | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token), ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    account = session.get(Account, row.account_id)
    return account if account is not None and not account.disabled else None


@dataclass(frozen=True)
class ActiveSession:
    name: str
    role: str
    account_id: int | None
    username: str | None


class SessionStore:
    """Web sessions kept in the registry: a cookie works only while its row is active."""

    def __init__(self, registry: Registry, lifetime: timedelta) -> None:
        self.registry = registry
        self.lifetime = lifetime

    def create(self, name: str, role: str, account_id: int | None) -> str:
        sid = secrets.token_urlsafe(24)
        now = utcnow()
        with self.registry.session() as session:
            session.add(
                WebSession(
                    token_hash=digest(sid),
                    account_id=account_id,
                    name=name,
                    role=role,
                    created_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        return sid

    def active(self, sid: str, now: datetime | None = None) -> ActiveSession | None:
        now = now or utcnow()
        with self.registry.session() as session:
            row = session.scalar(select(WebSession).where(WebSession.token_hash == digest(sid)))
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                return None
            username = None
            if row.account_id is not None:
                account = session.get(Account, row.account_id)
                if account is None or account.disabled:
                    return None
                username = account.username
            return ActiveSession(row.name, row.role, row.account_id, username)

    def revoke(self, sid: str) -> None:
        with self.registry.session() as session:
            session.execute(
                update(WebSession)
                .where(WebSession.token_hash == digest(sid), WebSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
