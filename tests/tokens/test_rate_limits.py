"""Rate limits counted where attempts begin: concurrent attempts too, one window at a time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from passlib.hash import argon2

from models import Admin, AuditEvent, RateLimitWindow
from tests.support import ADMIN_PASSWORD, NOW
from tokens import admins, audit, hashing, rate_limits, refresh
from tokens.errors import Unauthenticated

pytestmark = pytest.mark.usefixtures("db")

LIFETIME = timedelta(hours=8)
T = TypeVar("T")


@pytest.fixture(autouse=True)
def default_limits() -> Iterator[None]:
    rate_limits.configure(rate_limits.Limits())
    yield
    rate_limits.configure(rate_limits.Limits())


@pytest.fixture
def fake_verify(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Verification without argon2's cost; records each password verified."""
    verified: list[str] = []

    def verify(password: str, stored_hash: str) -> bool:
        verified.append(password)
        return password == ADMIN_PASSWORD

    monkeypatch.setattr(hashing.argon2, "verify", verify)
    return verified


async def login(username: str, password: str, ip: str) -> admins.Session:
    return await admins.login(
        username=username, password=password, ip=ip, lifetime=LIFETIME, now=NOW
    )


async def test_concurrent_attempts_each_count_and_no_more_than_the_limit_run() -> None:
    key = rate_limits.Key("test", "k", 10)

    results = await asyncio.gather(*(rate_limits.attempt([key], now=NOW) for _ in range(40)))

    refusals = [r for _, r in results if r is not None]
    assert len(refusals) == 30
    assert sum(1 for r in refusals if r.first_in_window) == 1


async def test_retry_after_is_the_time_to_the_next_window() -> None:
    key = rate_limits.Key("test", "k", 0)
    window = rate_limits.limits().window_seconds
    moment = NOW + timedelta(seconds=100)
    start = int(moment.timestamp()) // window * window

    _, refusal = await rate_limits.attempt([key], now=moment)

    assert refusal is not None
    assert refusal.retry_after_seconds == start + window - int(moment.timestamp())


async def test_a_new_window_starts_from_zero() -> None:
    key = rate_limits.Key("test", "k", 1)
    window = timedelta(seconds=rate_limits.limits().window_seconds)

    await rate_limits.attempt([key], now=NOW)
    _, refused = await rate_limits.attempt([key], now=NOW)
    _, later = await rate_limits.attempt([key], now=NOW + window)

    assert refused is not None
    assert later is None


async def test_an_attempt_refused_by_a_narrow_key_does_not_count_under_wider_ones() -> None:
    narrow = rate_limits.Key("narrow", "k", 1)
    wide = rate_limits.Key("wide", "k", 100)

    for _ in range(10):
        await rate_limits.attempt([narrow, wide], now=NOW)
    counted, _ = await rate_limits.attempt([wide], now=NOW)
    _, refusal = await rate_limits.attempt([rate_limits.Key("wide", "k", 2)], now=NOW)

    assert counted.keys == (wide,)
    assert refusal is not None  # wide has 1 (from the first attempt) + 1 + this one


@pytest.mark.usefixtures("admin")
async def test_a_burst_of_concurrent_wrong_passwords_verifies_at_most_the_limit(
    fake_verify: list[str],
) -> None:
    attempts = [login("alice", f"wrong {i}", "203.0.113.5") for i in range(40)]

    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    last = await asyncio.gather(
        login("alice", ADMIN_PASSWORD, "203.0.113.5"), return_exceptions=True
    )

    # Attempts 11 to 40 are refused when they are counted, before any hashing. Of the
    # first 10, a few may find the hashing pool's queue full (more likely where the
    # database answers concurrently, as PostgreSQL does): refused too, never verified.
    wrong = sum(isinstance(o, Unauthenticated) for o in outcomes)
    pool_full = sum(isinstance(o, hashing.PoolFull) for o in outcomes)
    assert sum(isinstance(o, rate_limits.Throttled) for o in outcomes) == 30
    assert wrong + pool_full == 10
    assert 1 <= len(fake_verify) == wrong <= 10
    assert isinstance(last[0], rate_limits.Throttled)
    assert last[0].retry_after_seconds > 0
    limited = await AuditEvent.filter(action=audit.Action.LOGIN_RATE_LIMITED.value).count()
    assert limited == 1


@pytest.mark.usefixtures("admin")
async def test_a_spray_of_usernames_from_one_address_stops_at_the_address_limit(
    fake_verify: list[str],
) -> None:
    for i in range(200):
        with contextlib.suppress(Unauthenticated, rate_limits.Throttled):
            await login(f"user{i}", "wrong", "203.0.113.9")

    assert len(fake_verify) == 30


@pytest.mark.usefixtures("admin")
async def test_a_stranger_at_one_address_cannot_lock_an_admin_out(
    fake_verify: list[str],
) -> None:
    for _ in range(500):
        with contextlib.suppress(Unauthenticated, rate_limits.Throttled):
            await login("alice", "wrong", "203.0.113.66")

    session = await login("alice", ADMIN_PASSWORD, "198.51.100.2")

    assert session.username == "alice"


@pytest.mark.usefixtures("admin")
async def test_many_addresses_together_hit_the_per_username_limit(
    fake_verify: list[str],
) -> None:
    for address in range(11):
        for _ in range(10):
            with contextlib.suppress(Unauthenticated, rate_limits.Throttled):
                await login("alice", "wrong", f"203.0.113.{address}")

    with pytest.raises(rate_limits.Throttled) as refused:
        await login("alice", ADMIN_PASSWORD, "198.51.100.2")

    assert refused.value.scope == "login-user"


@pytest.mark.usefixtures("admin")
async def test_a_successful_login_is_not_counted(fake_verify: list[str]) -> None:
    for _ in range(30):
        await login("alice", ADMIN_PASSWORD, "203.0.113.5")

    with pytest.raises(Unauthenticated):
        await login("alice", "wrong", "203.0.113.5")


async def test_failed_refreshes_are_limited_per_address() -> None:
    outcomes = []
    for _ in range(35):
        try:
            await refresh.refresh(refresh_key="satr_nonsense", ip="203.0.113.7", now=NOW)
        except Exception as error:
            outcomes.append(type(error))

    assert outcomes == [Unauthenticated] * 30 + [rate_limits.Throttled] * 5
    limited = await AuditEvent.filter(action=audit.Action.REFRESH_RATE_LIMITED.value).count()
    assert limited == 1


async def test_the_hashing_pool_refuses_work_past_its_queue() -> None:
    pool = hashing.HashPool(workers=1)
    release = threading.Event()
    held = [asyncio.ensure_future(pool._run(release.wait)) for _ in range(5)]
    await asyncio.sleep(0)

    with pytest.raises(hashing.PoolFull):
        await pool._run(release.wait)

    release.set()
    await asyncio.gather(*held)
    assert await pool._run(lambda: True) is True


async def test_the_hashing_threads_run_at_the_lowest_priority() -> None:
    """Idle scheduling class at nice 19: a waking event loop or client takes their core."""
    pool = hashing.HashPool(workers=2)
    release = threading.Event()

    def priority() -> tuple[int, int]:
        release.wait()  # each call holds its thread, so that the two calls use both
        thread = threading.get_native_id()
        return os.getpriority(os.PRIO_PROCESS, thread), os.sched_getscheduler(thread)

    both = asyncio.gather(pool._run(priority), pool._run(priority))
    await asyncio.sleep(0.01)
    release.set()

    assert await both == [(19, os.SCHED_IDLE), (19, os.SCHED_IDLE)]
    loop_thread = threading.get_native_id()
    assert os.getpriority(os.PRIO_PROCESS, loop_thread) == 0  # the loop's own
    assert os.sched_getscheduler(loop_thread) == os.SCHED_OTHER
    pool.close()


@pytest.mark.usefixtures("admin")
async def test_the_writes_that_attempts_cause_go_one_at_a_time(
    fake_verify: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    writing = 0
    most = 0

    def one_more(write: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        async def counted(*arguments: Any, **keywords: Any) -> T:
            nonlocal writing, most
            writing += 1
            most = max(most, writing)
            try:
                return await write(*arguments, **keywords)
            finally:
                writing -= 1

        return counted

    monkeypatch.setattr(rate_limits, "_increment", one_more(rate_limits._increment))
    monkeypatch.setattr(audit, "record", one_more(audit.record))
    attempts = [login(f"user {i}", "wrong", f"203.0.113.{i}") for i in range(20)]

    outcomes = await asyncio.gather(*attempts, return_exceptions=True)

    assert all(isinstance(o, Unauthenticated | hashing.PoolFull) for o in outcomes)
    assert any(isinstance(o, Unauthenticated) for o in outcomes)
    assert most == 1


@pytest.mark.usefixtures("admin")
async def test_a_login_that_finds_the_pool_full_is_rate_limited_and_counted(
    fake_verify: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    full = hashing.HashPool(workers=1)
    full._busy = full._slots
    monkeypatch.setattr(hashing, "_pool", full)

    for _ in range(10):
        with pytest.raises(hashing.PoolFull) as refused:
            await login("alice", ADMIN_PASSWORD, "203.0.113.5")
    monkeypatch.setattr(hashing, "_pool", hashing.HashPool(workers=1))

    assert refused.value.code == "RATE_LIMITED"
    with pytest.raises(rate_limits.Throttled):
        await login("alice", ADMIN_PASSWORD, "203.0.113.5")
    assert fake_verify == []


@pytest.mark.usefixtures("admin")
async def test_a_hash_with_earlier_parameters_is_replaced_at_login() -> None:
    old = argon2.using(memory_cost=19_456, rounds=2, parallelism=1).hash(ADMIN_PASSWORD)
    await Admin.filter(username="alice").update(password_hash=old)

    await login("alice", ADMIN_PASSWORD, "203.0.113.5")

    stored = (await Admin.get(username="alice")).password_hash
    assert stored != old
    assert "m=65536,t=3,p=1" in stored
    assert argon2.verify(ADMIN_PASSWORD, stored)


async def test_windows_that_ended_are_dropped_once_when_a_new_window_begins() -> None:
    """Once per window, not at each new key's first attempt: a storm from new addresses
    ran a DELETE over the whole table for every one of them."""
    window = rate_limits.limits().window_seconds
    moment = NOW + timedelta(days=400)  # a window no other test counts in
    start = int(moment.timestamp()) // window * window
    await RateLimitWindow.create(key="test:old", window_start=start - window, attempts=3)

    await rate_limits.attempt([rate_limits.Key("test", "first", 10)], now=moment)
    assert not await RateLimitWindow.filter(key="test:old").exists()

    await RateLimitWindow.create(key="test:old", window_start=start - window, attempts=3)
    await rate_limits.attempt([rate_limits.Key("test", "second", 10)], now=moment)
    assert await RateLimitWindow.filter(key="test:old").exists()


@pytest.mark.usefixtures("admin")
async def test_a_login_that_finds_the_pool_full_does_not_look_the_admin_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    full = hashing.HashPool(workers=1)
    full._busy = full._slots
    monkeypatch.setattr(hashing, "_pool", full)
    looked_up: list[object] = []
    monkeypatch.setattr(Admin, "get_or_none", lambda **kw: looked_up.append(kw))

    with pytest.raises(hashing.PoolFull):
        await login("alice", ADMIN_PASSWORD, "203.0.113.5")

    assert looked_up == []
