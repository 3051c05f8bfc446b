"""Admins: creation, password login with session tokens, logout, and session lookup."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Admin, AdminSession
from tokens import audit, hashing, rate_limits, secrets
from tokens.callers import AdminCaller
from tokens.clock import utcnow
from tokens.errors import Conflict, InvalidInput, Unauthenticated
from tokens.names import check_text, shown
from tokens.secrets import SecretKind

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{1,100}")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
MAX_USERNAME_LENGTH = 100
DEFAULT_SESSION_LIFETIME = timedelta(hours=8)  # SAT_SESSION_HOURS
LOGIN_FAILED_MESSAGE = "invalid username or password"

# Verified when the username does not exist, so that a miss costs what a hit costs.
_ABSENT_USER_HASH = hashing.HASHER.hash("no such admin: timing equaliser")


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    expires_at: datetime
    username: str


async def create_admin(*, username: str, password: str, now: datetime | None = None) -> str:
    """Create an admin; returns the username as stored."""
    now = now or utcnow()
    username = username.strip()
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidInput("username", "must be 1 to 100 characters of letters, digits and . _ @ -")
    _check_password(password)
    password_hash = await asyncio.to_thread(hashing.HASHER.hash, password)
    try:
        async with in_transaction():
            await Admin.create(username=username, password_hash=password_hash, created_at=now)
            await audit.record(
                audit.Action.ADMIN_CREATED, actor=username, at=now, detail={"username": username}
            )
    except IntegrityError:
        raise Conflict(f"username {shown(username)} is already taken", field="username") from None
    return username


async def has_admins() -> bool:
    return await Admin.exists()


async def login(
    *,
    username: str,
    password: str,
    ip: str | None,
    lifetime: timedelta,
    now: datetime | None = None,
    rate_limited: bool = True,
) -> Session:
    """Exchange a username and password for a session token (``sata_...``), shown once.

    ``rate_limited=False`` for a caller that authenticated as a service client: those
    are never limited (the contract), their attempts are not counted either.
    """
    now = now or utcnow()
    username = _login_username(username)
    _check_password_text(password)
    counted = (
        await rate_limits.count(
            rate_limits.login_keys(username=username, ip=ip),
            now=now,
            action=audit.Action.LOGIN_RATE_LIMITED,
            actor=username,
            ip=ip,
        )
        if rate_limited
        else rate_limits.NOT_COUNTED
    )
    # Counted, then refused at once when the hashing queue is full: no lookup for nothing.
    hashing.pool().check_room()
    admin = await Admin.get_or_none(username=username)
    stored_hash = admin.password_hash if admin is not None else _ABSENT_USER_HASH
    matches = await hashing.pool().verify(password, stored_hash)
    if admin is None or not matches:
        async with rate_limits.one_writer():
            await audit.record(audit.Action.ADMIN_LOGIN_FAILED, actor=username, at=now, ip=ip)
        raise Unauthenticated(LOGIN_FAILED_MESSAGE)
    await rate_limits.forgive(counted)
    if hashing.needs_update(admin.password_hash):
        # Hashed with earlier parameters: rehash now that the password is at hand.
        admin.password_hash = await hashing.pool().hash(password)
        await admin.save(update_fields=["password_hash"])
    token = secrets.generate(SecretKind.ADMIN_SESSION)
    expires_at = now + lifetime
    async with in_transaction():
        await AdminSession.create(
            admin_id=admin.id,
            token_digest=secrets.digest(token),
            created_at=now,
            expires_at=expires_at,
        )
        await audit.record(audit.Action.ADMIN_LOGIN, actor=admin.username, at=now, ip=ip)
    return Session(token=token, expires_at=expires_at, username=admin.username)


async def logout(*, caller: AdminCaller, ip: str | None, now: datetime | None = None) -> None:
    now = now or utcnow()
    async with in_transaction():
        deleted = await AdminSession.filter(id=caller.session_id).delete()
        if deleted:
            await audit.record(audit.Action.ADMIN_LOGOUT, actor=caller.username, at=now, ip=ip)


async def authenticate(session_token: str, *, now: datetime | None = None) -> AdminCaller | None:
    """The admin behind a live session token, or None."""
    if not secrets.is_well_formed(SecretKind.ADMIN_SESSION, session_token):
        return None
    now = now or utcnow()
    session = await AdminSession.get_or_none(
        token_digest=secrets.digest(session_token), expires_at__gt=now
    ).select_related("admin")
    if session is None:
        return None
    return AdminCaller(
        admin_id=session.admin.id, username=session.admin.username, session_id=session.id
    )


def _login_username(username: str) -> str:
    """A username as given at login: trimmed, refused past 100 characters (never cut)."""
    trimmed = username.strip()
    if len(trimmed) > MAX_USERNAME_LENGTH:
        raise InvalidInput("username", f"must be at most {MAX_USERNAME_LENGTH} characters")
    check_text(trimmed, field="username")
    return trimmed


def _check_password_text(password: str) -> None:
    """Refused, not cut: a cut password would verify for every longer one with its prefix."""
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")
    check_text(password, field="password")


def _check_password(password: str) -> None:
    _check_password_text(password)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
