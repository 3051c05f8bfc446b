"""Attempts counted per key in fixed windows, in the database so that every instance counts.

An attempt is counted when it begins, by one atomic upsert that returns the new count:
concurrent attempts each see a distinct count, so no more than the limit are ever let
through, on one instance or many. Windows are fixed (aligned to multiples of their
length since the epoch): an attempt is refused while its key's count in the current
window is past the limit, and ``retry_after_seconds`` is the time to the next window.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import F

from models import RateLimitWindow
from tokens import audit
from tokens.errors import RateLimited

DEFAULT_LOGIN_LIMIT = 10  # per username from one address
DEFAULT_LOGIN_IP_LIMIT = 30  # per address over all usernames
DEFAULT_LOGIN_USER_LIMIT = 100  # per username over all addresses
DEFAULT_REFRESH_IP_LIMIT = 30  # failed refreshes per address
DEFAULT_WINDOW_SECONDS = 900


@dataclass(frozen=True, slots=True)
class Limits:
    login_per_user_and_address: int = DEFAULT_LOGIN_LIMIT
    login_per_address: int = DEFAULT_LOGIN_IP_LIMIT
    login_per_user: int = DEFAULT_LOGIN_USER_LIMIT
    refresh_per_address: int = DEFAULT_REFRESH_IP_LIMIT
    window_seconds: int = DEFAULT_WINDOW_SECONDS


_limits = Limits()
# Attempts refused, by the scope of the limit that refused them, since start (for /metrics).
REFUSALS: Counter[str] = Counter()


def configure(limits: Limits) -> None:
    """Set the limits for this process (``SAT_LOGIN_*``, ``SAT_REFRESH_IP_LIMIT``)."""
    global _limits
    _limits = limits


def limits() -> Limits:
    return _limits


class Throttled(RateLimited):
    """Refused by a rate limit; ``retry_after_seconds`` is when the window ends."""

    def __init__(self, message: str, *, retry_after_seconds: int, scope: str) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
        self.scope = scope


@dataclass(frozen=True, slots=True)
class Key:
    scope: str  # e.g. "login-user-ip"
    value: str
    limit: int

    @property
    def stored(self) -> str:
        return f"{self.scope}:{self.value}"


@dataclass(frozen=True, slots=True)
class Counted:
    """The keys an attempt was counted under, in the window it was counted in."""

    keys: tuple[Key, ...]
    window_start: int


NOT_COUNTED = Counted(keys=(), window_start=0)


@dataclass(frozen=True, slots=True)
class Refusal:
    key: Key
    retry_after_seconds: int
    first_in_window: bool  # the one refusal per window and key that is audited


# A lock per event loop: an asyncio.Lock belongs to the loop it first waits in.
_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def one_writer() -> AsyncIterator[None]:
    """Hold while writing what an anonymous attempt causes: counts and their audit events."""
    loop = asyncio.get_running_loop()
    lock = _writers.get(loop)
    if lock is None:
        lock = _writers[loop] = asyncio.Lock()
    async with lock:
        yield


async def attempt(keys: Sequence[Key], *, now: datetime) -> tuple[Counted, Refusal | None]:
    """Count one attempt under each key; the first key past its limit refuses it.

    Keys go from the narrowest to the widest: an attempt refused by a narrow key (one
    username from one address) is not counted under the wider ones, so that a stranger
    at one address cannot use up a username's limit over all addresses. All keys are
    counted in one statement (one round trip and one commit: a storm of attempts made
    three of each), and the keys wider than the one that refused are taken back.
    """
    window = _limits.window_seconds
    moment = now.timestamp()
    window_start = int(moment // window) * window
    counts = await _increment([key.stored for key in keys], window_start)
    for place, key in enumerate(keys):
        attempts = counts[key.stored]
        if attempts > key.limit:
            await forgive(Counted(tuple(keys[place + 1 :]), window_start))
            retry = max(1, math.ceil(window_start + window - moment))
            refusal = Refusal(
                key=key, retry_after_seconds=retry, first_in_window=attempts == key.limit + 1
            )
            return Counted(tuple(keys[: place + 1]), window_start), refusal
    return Counted(tuple(keys), window_start), None


async def count(
    keys: Sequence[Key], *, now: datetime, action: audit.Action, actor: str, ip: str | None
) -> Counted:
    """``attempt``, refusing with ``Throttled`` past a limit; audited once per window and key."""
    async with one_writer():
        counted, refusal = await attempt(keys, now=now)
        if refusal is None:
            return counted
        REFUSALS[refusal.key.scope] += 1
        if refusal.first_in_window:
            await audit.record(
                action,
                actor=actor,
                at=now,
                ip=ip,
                detail={
                    "limit": refusal.key.scope,
                    "retryAfterSeconds": refusal.retry_after_seconds,
                },
            )
    raise Throttled(
        "too many attempts; try again later",
        retry_after_seconds=refusal.retry_after_seconds,
        scope=refusal.key.scope,
    )


def login_keys(*, username: str, ip: str | None) -> list[Key]:
    address = ip or "-"
    return [
        Key("login-user-ip", f"{username}|{address}", _limits.login_per_user_and_address),
        Key("login-ip", address, _limits.login_per_address),
        Key("login-user", username, _limits.login_per_user),
    ]


def refresh_keys(*, ip: str | None) -> list[Key]:
    return [Key("refresh-ip", ip or "-", _limits.refresh_per_address)]


async def forgive(counted: Counted) -> None:
    """Take back an attempt that turned out not to count (a successful login or refresh)."""
    for key in counted.keys:
        await RateLimitWindow.filter(key=key.stored, window_start=counted.window_start).update(
            attempts=F("attempts") - 1
        )


def _upsert(dialect: str, keys: int) -> str:
    """One statement counting an attempt under ``keys`` keys, returning each key's count.

    Only placeholders are put together here: the keys are parameters.
    """
    if dialect == "postgres":
        rows = ", ".join(f"(${place + 2}, $1, 1)" for place in range(keys))
    else:
        rows = ", ".join("(?, ?, 1)" for _ in range(keys))
    return _UPSERT.replace("{rows}", rows)


_UPSERT = (
    'INSERT INTO "rate_limit_window" ("key", "window_start", "attempts") VALUES {rows} '
    'ON CONFLICT ("key", "window_start") DO UPDATE '
    'SET "attempts" = "rate_limit_window"."attempts" + 1 RETURNING "key", "attempts"'
)


async def _increment(keys: list[str], window_start: int) -> dict[str, int]:
    connection = RateLimitWindow._meta.db
    dialect = connection.capabilities.dialect
    if dialect == "postgres":
        parameters: list[object] = [window_start, *keys]
    else:
        parameters = [value for key in keys for value in (key, window_start)]
    # execute_query_dict: Tortoise's PostgreSQL execute_query drops an INSERT's RETURNING rows.
    rows = await connection.execute_query_dict(_upsert(dialect, len(keys)), parameters)
    counts = {row["key"]: int(row["attempts"]) for row in rows}
    global _forgotten_before
    if 1 in counts.values() and window_start != _forgotten_before:
        _forgotten_before = window_start
        await RateLimitWindow.filter(window_start__lt=window_start).delete()
    return counts


# Windows that ended are of no use: this process drops them once, at the first attempt it
# counts in a new window. Once per key's first attempt, as before, a storm of attempts
# from new addresses ran a DELETE over the whole table for each of them.
_forgotten_before = 0
