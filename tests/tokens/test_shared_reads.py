"""Every hot-path cache reads a missing entry once, however many requests miss it at once.

When an entry that every request uses expired (the service client's caller, the
catalog's grant targets), each request under way repeated the same read and the
connections waited behind the pile (token states: tests/tokens/test_validation_loads.py).
And an entry in steady use is read again before it expires: its requests never wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tokens import catalog, lifecycle, service_clients, validation
from tokens.cache import Cache
from tokens.caches import CACHES
from tokens.grants import Access, GrantRequest

pytestmark = pytest.mark.usefixtures("db")


class CountedReads:
    """Stands in for a cache's read: reads for real, then holds the answer until let go."""

    def __init__(self, real: Callable[..., Awaitable[Any]]) -> None:
        self.real = real
        self.calls = 0
        self.started = asyncio.Event()
        self.gate = asyncio.Event()

    async def __call__(self, *args: Any) -> Any:
        self.calls += 1
        value = await self.real(*args)
        self.started.set()
        await self.gate.wait()
        return value


async def test_requests_presenting_one_service_secret_at_once_read_its_client_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await service_clients.create(name="gateway", actor="alice")
    reads = CountedReads(CACHES.callers.read)  # type: ignore[arg-type]
    monkeypatch.setattr(CACHES.callers, "read", reads)

    waiting = [
        asyncio.ensure_future(service_clients.authenticate(client.secret)) for _ in range(16)
    ]
    await reads.started.wait()
    reads.gate.set()
    callers = await asyncio.gather(*waiting)

    assert reads.calls == 1
    assert {caller.name if caller else None for caller in callers} == {"gateway"}


async def test_validations_needing_the_catalog_at_once_read_it_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads = CountedReads(CACHES.targets.read)  # type: ignore[arg-type]
    monkeypatch.setattr(CACHES.targets, "read", reads)

    waiting = [
        asyncio.ensure_future(catalog.has_target("payroll", folder))
        for folder in (None, "nope") * 8
    ]
    await reads.started.wait()
    reads.gate.set()
    answers = await asyncio.gather(*waiting)

    assert reads.calls == 1
    assert answers == [True, False] * 8


class Later:
    """A cache's clock, moved on at will from the real one."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.ahead


async def renewals(
    monkeypatch: pytest.MonkeyPatch, cache: Cache[Any, Any], use: Any
) -> CountedReads:
    """Use an entry, then again late in its life: how often the cache's reader then ran."""
    clock = Later()
    monkeypatch.setattr(cache, "_clock", clock)
    await use()  # a miss: read and kept
    reads = CountedReads(cache.read)  # type: ignore[arg-type]
    reads.gate.set()
    monkeypatch.setattr(cache, "read", reads)
    clock.ahead = cache.max_age * 0.9  # within the last quarter of any entry's life
    await use()  # answered by the entry, which is read again meanwhile
    await asyncio.wait_for(reads.started.wait(), timeout=5)
    await asyncio.sleep(0)
    clock.ahead = cache.max_age * 1.5  # the first life is over, the second is not
    await use()
    return reads


async def test_a_service_client_in_steady_use_is_read_again_before_its_entry_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = await service_clients.create(name="gateway", actor="alice")

    async def use() -> None:
        assert await service_clients.authenticate(client.secret) is not None

    reads = await renewals(monkeypatch, CACHES.callers, use)
    assert reads.calls == 1


async def test_the_catalog_in_steady_use_is_read_again_before_its_entry_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def use() -> None:
        assert await catalog.has_target("payroll", None)

    reads = await renewals(monkeypatch, CACHES.targets, use)
    assert reads.calls == 1


async def test_a_token_in_steady_use_is_read_again_before_its_entry_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issued = await lifecycle.create(
        actor="alice",
        name="partner",
        expires_in_days=30,
        grants=[GrantRequest(area="payroll", folder=None, read=True, write=False, delete=False)],
        ip_ranges=[],
    )

    async def use() -> None:
        result = await validation.validate(
            token=issued.access_token, ip=None, area="payroll", folder=None, access=Access.READ
        )
        assert result.valid

    reads = await renewals(monkeypatch, CACHES.states, use)
    assert reads.calls == 1
