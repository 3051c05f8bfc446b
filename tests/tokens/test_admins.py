"""Admins: creation, password login, sessions, logout, and the login rate limit."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pytest
from passlib.hash import argon2

from models import Admin, AdminSession
from tests.support import ADMIN_PASSWORD, NOW, events
from tokens import admins, audit, hashing, secrets
from tokens.callers import AdminCaller
from tokens.errors import Conflict, InvalidInput, RateLimited, Unauthenticated
from tokens.secrets import SecretKind

LIFETIME = timedelta(hours=8)
LOGIN_IP = "203.0.113.20"


async def login(
    username: str = "alice", password: str = ADMIN_PASSWORD, **kwargs: Any
) -> admins.Session:
    kwargs.setdefault("now", NOW)
    kwargs.setdefault("lifetime", LIFETIME)
    return await admins.login(username=username, password=password, ip=LOGIN_IP, **kwargs)


@pytest.fixture
def fast_verify(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """argon2 verification without its cost (for tests that log in many times); records calls."""
    calls: list[tuple[str, str]] = []

    def verify(password: str, stored_hash: str) -> bool:
        calls.append((password, stored_hash))
        return password == ADMIN_PASSWORD and stored_hash.startswith("$argon2")

    monkeypatch.setattr(hashing.argon2, "verify", verify)
    return calls


# --- create_admin ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("db")
async def test_create_admin_stores_an_argon2_hash_not_the_password() -> None:
    password = "twelve chars"

    username = await admins.create_admin(username=" bob.smith@example-1_x ", password=password)

    assert username == "bob.smith@example-1_x"
    row = await Admin.get(username=username)
    assert row.password_hash.startswith("$argon2")
    assert password not in row.password_hash
    assert argon2.verify(password, row.password_hash)
    [event] = await events(audit.Action.ADMIN_CREATED)
    assert event.actor == username
    assert password not in (event.detail or "")


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    "username", ["", "   ", "bob smith", "bob!", "bob/alice", "b\u00f8b", "x" * 101, "a\nb"]
)
async def test_create_admin_refuses_a_malformed_username(username: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await admins.create_admin(username=username, password=ADMIN_PASSWORD)

    assert refused.value.field == "username"
    assert await Admin.all().count() == 0


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("password", ["", "x" * 11, "x" * 1025])
async def test_create_admin_refuses_a_password_outside_12_to_1024_characters(
    password: str,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await admins.create_admin(username="bob", password=password)

    assert refused.value.field == "password"
    assert await Admin.all().count() == 0


async def test_create_admin_refuses_a_taken_username(admin: AdminCaller) -> None:
    with pytest.raises(Conflict):
        await admins.create_admin(username="alice", password="another password")

    assert await Admin.all().count() == 1
    assert await events(audit.Action.ADMIN_CREATED) == []


# --- login and sessions --------------------------------------------------------------------------


@pytest.mark.usefixtures("admin")
async def test_login_returns_a_session_token_shown_once_and_stored_as_digest() -> None:
    session = await login()

    assert session.token.startswith("sata_")
    assert secrets.is_well_formed(SecretKind.ADMIN_SESSION, session.token)
    assert session.username == "alice"
    assert session.expires_at == NOW + LIFETIME
    row = await AdminSession.get()
    assert row.token_digest == hashlib.sha256(session.token.encode()).hexdigest()
    [event] = await events(audit.Action.ADMIN_LOGIN)
    assert (event.actor, event.ip) == ("alice", LOGIN_IP)


async def test_a_session_authenticates_its_admin_until_it_expires(admin: AdminCaller) -> None:
    session = await login(lifetime=timedelta(hours=1))

    caller = await admins.authenticate(session.token, now=NOW + timedelta(minutes=59))
    assert caller is not None
    assert (caller.admin_id, caller.username) == (admin.admin_id, "alice")
    assert await admins.authenticate(session.token, now=NOW + timedelta(hours=1)) is None
    assert await admins.authenticate(session.token, now=NOW + timedelta(days=1)) is None


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password, long enough"), ("mallory", ADMIN_PASSWORD)],
    ids=["wrong-password", "unknown-user"],
)
@pytest.mark.usefixtures("admin")
async def test_a_failed_login_is_unauthenticated_and_audited(username: str, password: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        await login(username, password)

    assert refused.value.message == admins.LOGIN_FAILED_MESSAGE
    assert await AdminSession.all().count() == 0
    [event] = await events(audit.Action.ADMIN_LOGIN_FAILED)
    assert (event.actor, event.ip) == (username, LOGIN_IP)


@pytest.mark.usefixtures("admin")
async def test_wrong_password_and_unknown_user_give_the_same_answer() -> None:
    messages = []
    for username, password in [("alice", "wrong password!"), ("nobody", "wrong password!")]:
        with pytest.raises(Unauthenticated) as refused:
            await login(username, password)
        messages.append(str(refused.value))

    assert messages[0] == messages[1]
    assert "alice" not in messages[0]
    assert "nobody" not in messages[1]


@pytest.mark.usefixtures("admin")
async def test_login_for_an_unknown_user_still_verifies_a_password_hash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A miss costs what a hit costs: argon2 runs for unknown usernames too."""
    real_verify = hashing.argon2.verify
    calls: list[str] = []

    def counting_verify(password: str, stored_hash: str) -> bool:
        calls.append(stored_hash)
        return bool(real_verify(password, stored_hash))

    monkeypatch.setattr(hashing.argon2, "verify", counting_verify)

    with pytest.raises(Unauthenticated):
        await login("nobody", ADMIN_PASSWORD)

    assert len(calls) == 1
    assert calls[0].startswith("$argon2")


# --- rate limit ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("admin")
async def test_ten_failures_within_15_minutes_lock_the_username(
    fast_verify: list[tuple[str, str]],
) -> None:
    for minute in range(10):
        with pytest.raises(Unauthenticated):
            await login(password="wrong password", now=NOW + timedelta(minutes=minute))

    with pytest.raises(RateLimited) as limited:
        await login(now=NOW + timedelta(minutes=10))

    assert limited.value.code == "RATE_LIMITED"
    assert await AdminSession.all().count() == 0


@pytest.mark.usefixtures("admin")
async def test_a_locked_username_is_told_when_the_lock_lifts(
    fast_verify: list[tuple[str, str]],
) -> None:
    for minute in range(10):
        with pytest.raises(Unauthenticated):
            await login(password="wrong password", now=NOW + timedelta(minutes=minute))

    with pytest.raises(RateLimited) as limited:
        await login(now=NOW + timedelta(minutes=10, seconds=30))

    # The first failure (minute 0) leaves the 15-minute window at minute 15.
    assert limited.value.retry_after_seconds == 4 * 60 + 30


@pytest.mark.usefixtures("admin")
async def test_nine_failures_do_not_lock_the_username(fast_verify: list[tuple[str, str]]) -> None:
    for minute in range(9):
        with pytest.raises(Unauthenticated):
            await login(password="wrong password", now=NOW + timedelta(minutes=minute))

    session = await login(now=NOW + timedelta(minutes=9))

    assert session.username == "alice"


@pytest.mark.usefixtures("admin")
async def test_failures_outside_the_window_do_not_count(
    fast_verify: list[tuple[str, str]],
) -> None:
    for second in range(10):
        with pytest.raises(Unauthenticated):
            await login(password="wrong password", now=NOW + timedelta(seconds=second))
    with pytest.raises(RateLimited):
        await login(now=NOW + timedelta(minutes=14))

    session = await login(now=NOW + timedelta(minutes=15, seconds=10))

    assert session.username == "alice"


@pytest.mark.usefixtures("admin")
async def test_unknown_usernames_are_rate_limited_too(fast_verify: list[tuple[str, str]]) -> None:
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await login("nobody", "wrong password", now=NOW)

    with pytest.raises(RateLimited):
        await login("nobody", "wrong password", now=NOW)


@pytest.mark.usefixtures("admin")
async def test_the_lock_is_per_username(fast_verify: list[tuple[str, str]]) -> None:
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await login("mallory", "wrong password", now=NOW)

    session = await login(now=NOW)

    assert session.username == "alice"


# --- logout and authenticate ---------------------------------------------------------------------


@pytest.mark.usefixtures("admin")
async def test_logout_ends_the_session() -> None:
    session = await login()
    caller = await admins.authenticate(session.token, now=NOW)
    assert caller is not None

    await admins.logout(caller=caller, ip=LOGIN_IP, now=NOW)

    assert await admins.authenticate(session.token, now=NOW) is None
    assert await AdminSession.all().count() == 0
    [event] = await events(audit.Action.ADMIN_LOGOUT)
    assert (event.actor, event.ip) == ("alice", LOGIN_IP)


@pytest.mark.usefixtures("admin")
async def test_logout_ends_only_its_own_session() -> None:
    first = await login()
    second = await login()
    caller = await admins.authenticate(first.token, now=NOW)
    assert caller is not None

    await admins.logout(caller=caller, ip=None, now=NOW)

    assert await admins.authenticate(first.token, now=NOW) is None
    assert await admins.authenticate(second.token, now=NOW) is not None


def _with_bad_check(token: str) -> str:
    last = "0" if token[-1] != "0" else "1"
    return token[:-1] + last


MALFORMED = [
    "",
    "garbage",
    "sata_",
    "Bearer sata_",
    "sata_" + "A" * 46,
    "sata_" + "!" * 46,
    secrets.generate(SecretKind.ACCESS_TOKEN),
    secrets.generate(SecretKind.SERVICE_CLIENT),
    _with_bad_check(secrets.generate(SecretKind.ADMIN_SESSION)),
    secrets.generate(SecretKind.ADMIN_SESSION) + "x",
]


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("token", MALFORMED)
async def test_authenticate_rejects_malformed_tokens_without_a_query(
    token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_query(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a malformed token reached the database")

    monkeypatch.setattr(AdminSession, "get_or_none", no_query)

    assert await admins.authenticate(token, now=NOW) is None


@pytest.mark.usefixtures("admin")
async def test_authenticate_rejects_a_well_formed_unknown_token() -> None:
    await login()

    assert await admins.authenticate(secrets.generate(SecretKind.ADMIN_SESSION), now=NOW) is None


@pytest.mark.usefixtures("admin")
async def test_a_malformed_session_token_with_a_valid_body_is_refused() -> None:
    session = await login()

    assert await admins.authenticate(_with_bad_check(session.token), now=NOW) is None
    assert await admins.authenticate(session.token, now=NOW) is not None
