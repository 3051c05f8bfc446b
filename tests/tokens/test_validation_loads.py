"""Concurrent validations of a token that is not cached share one read, and never a stale one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from tests.support import NOW
from tokens import lifecycle, state_store, validation
from tokens.caches import CACHES
from tokens.grants import Access, GrantRequest
from tokens.lifecycle import IssuedToken
from tokens.state_store import TokenState
from tokens.validation import DenialReason, Validation

pytestmark = pytest.mark.usefixtures("db")

SOON = NOW + timedelta(hours=1)
Loader = Callable[[str], Awaitable[TokenState | None]]


class GatedLoads:
    """Stands in for ``state_store.read_state``: reads for real, then holds the answer."""

    def __init__(self, real: Loader) -> None:
        self.real = real
        self.calls = 0
        self.read = asyncio.Event()
        self.gate = asyncio.Event()
        self.failure: Exception | None = None

    async def __call__(self, access_digest: str) -> TokenState | None:
        self.calls += 1
        state = await self.real(access_digest)
        self.read.set()
        await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return state


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> GatedLoads:
    gated = GatedLoads(state_store.read_state)
    monkeypatch.setattr(state_store, "read_state", gated)
    return gated


async def _issue() -> IssuedToken:
    return await lifecycle.create(
        actor="alice",
        name="partner",
        expires_in_days=30,
        grants=[GrantRequest(area="payroll", folder=None, read=True, write=False, delete=False)],
        ip_ranges=[],
        now=NOW,
    )


async def _check(access_token: str) -> Validation:
    return await validation.validate(
        token=access_token,
        ip="198.51.100.7",
        area="payroll",
        folder=None,
        access=Access.READ,
        now=SOON,
    )


async def test_concurrent_validations_of_an_uncached_token_read_it_once(
    loads: GatedLoads,
) -> None:
    issued = await _issue()
    waiting = [asyncio.ensure_future(_check(issued.access_token)) for _ in range(10)]
    await loads.read.wait()
    loads.gate.set()

    results = await asyncio.gather(*waiting)

    assert loads.calls == 1
    assert all(result.valid for result in results)


async def test_a_validation_after_a_change_does_not_join_a_read_from_before_it(
    loads: GatedLoads,
) -> None:
    issued = await _issue()
    early = asyncio.ensure_future(_check(issued.access_token))
    await loads.read.wait()  # the early read saw the token live
    await lifecycle.revoke(token_id=str(issued.token.id), actor="alice", now=NOW)

    late = asyncio.ensure_future(_check(issued.access_token))
    await asyncio.sleep(0)
    loads.gate.set()

    assert (await late).reason is DenialReason.REVOKED
    assert loads.calls == 2
    await early  # raced the revocation; whatever it answered, it must not be cached
    assert (await _check(issued.access_token)).reason is DenialReason.REVOKED


async def test_with_the_cache_off_every_validation_reads_for_itself(
    loads: GatedLoads,
) -> None:
    """Off while changes made elsewhere could go unheard: a read under way may predate one."""
    issued = await _issue()
    CACHES.enable(False)
    try:
        waiting = [asyncio.ensure_future(_check(issued.access_token)) for _ in range(3)]
        await loads.read.wait()
        await asyncio.sleep(0)
        loads.gate.set()
        results = await asyncio.gather(*waiting)
    finally:
        CACHES.enable(True)

    assert loads.calls == 3
    assert all(result.valid for result in results)


async def test_a_caller_that_goes_away_does_not_cancel_the_read_others_wait_for(
    loads: GatedLoads,
) -> None:
    issued = await _issue()
    first = asyncio.ensure_future(_check(issued.access_token))
    await loads.read.wait()
    second = asyncio.ensure_future(_check(issued.access_token))
    await asyncio.sleep(0)
    first.cancel()
    loads.gate.set()

    assert (await second).valid
    assert first.cancelled()
    assert loads.calls == 1


async def test_a_failed_read_fails_every_waiter_and_is_not_kept(loads: GatedLoads) -> None:
    issued = await _issue()
    loads.failure = RuntimeError("connection lost")
    waiting = [asyncio.ensure_future(_check(issued.access_token)) for _ in range(3)]
    await loads.read.wait()
    loads.gate.set()

    outcomes = await asyncio.gather(*waiting, return_exceptions=True)

    assert [str(outcome) for outcome in outcomes] == ["connection lost"] * 3
    loads.failure = None
    assert (await _check(issued.access_token)).valid
    assert loads.calls == 2
