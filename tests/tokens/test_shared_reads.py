"""Every hot-path cache reads a missing entry once, however many requests miss it at once.

When an entry that every request uses expired (the service client's caller, the
catalog's grant targets), each request under way repeated the same read and the
connections waited behind the pile. Token states: tests/tokens/test_validation_loads.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tokens import catalog, service_clients

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
    reads = CountedReads(service_clients._read_caller)
    monkeypatch.setattr(service_clients, "_read_caller", reads)

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
    reads = CountedReads(catalog._read_targets)
    monkeypatch.setattr(catalog, "_read_targets", reads)

    waiting = [
        asyncio.ensure_future(catalog.has_target("payroll", folder))
        for folder in (None, "nope") * 8
    ]
    await reads.started.wait()
    reads.gate.set()
    answers = await asyncio.gather(*waiting)

    assert reads.calls == 1
    assert answers == [True, False] * 8
