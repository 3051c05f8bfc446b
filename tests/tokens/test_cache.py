"""The validation cache: bounded, expiring, evicted by changes, keeping no overlapping load."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Hashable

import pytest

from tokens.cache import Cache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(
    *,
    max_entries: int = 10,
    max_age: float = 5.0,
    read: Callable[[str], Awaitable[int]] | None = None,
    group: Callable[[int], Hashable | None] | None = None,
) -> tuple[Cache[str, int], FakeClock]:
    clock = FakeClock()
    grouping = {} if group is None else {"group": group}
    memo = Cache(max_entries=max_entries, max_age=max_age, clock=clock, read=read, **grouping)
    return memo, clock


def test_a_stored_value_is_returned() -> None:
    memo, _ = cache()
    memo.put("a", 1, epoch=memo.epoch)
    assert memo.get("a") == (True, 1)
    assert memo.get("b") == (False, None)


def test_the_cache_never_holds_more_than_its_bound_and_drops_the_least_recently_used() -> None:
    memo, _ = cache(max_entries=3)
    for key in "abc":
        memo.put(key, ord(key), epoch=memo.epoch)
    memo.get("a")  # a is now the most recently used
    memo.put("d", 4, epoch=memo.epoch)
    assert len(memo) == 3
    assert memo.get("b") == (False, None)
    assert memo.get("a")[0]
    assert memo.get("d")[0]


def test_a_bound_of_zero_caches_nothing() -> None:
    memo, _ = cache(max_entries=0)
    memo.put("a", 1, epoch=memo.epoch)
    assert memo.get("a") == (False, None)
    assert len(memo) == 0


@pytest.mark.parametrize(("age", "hit"), [(4.999, True), (5.0, False), (60.0, False)])
def test_an_entry_expires_after_max_age(age: float, hit: bool) -> None:
    memo, clock = cache(max_age=5.0)
    memo.put("a", 1, epoch=memo.epoch)
    clock.now += age
    assert memo.get("a")[0] is hit


def test_spread_shortens_lives_by_at_most_its_share_of_max_age() -> None:
    clock = FakeClock()
    chances = iter([0.0, 0.5, 1.0])
    memo: Cache[str, int] = Cache(
        max_entries=10, max_age=10.0, spread=0.2, clock=clock, chance=lambda: next(chances)
    )
    for key in "abc":  # stored in the same instant: lives of 10, 9 and 8 seconds
        memo.put(key, 1, epoch=memo.epoch)
    clock.now += 7.999
    assert [memo.get(key)[0] for key in "abc"] == [True, True, True]
    clock.now += 0.001
    assert [memo.get(key)[0] for key in "abc"] == [True, True, False]
    clock.now += 1.0
    assert [memo.get(key)[0] for key in "ab"] == [True, False]
    clock.now += 1.0
    assert memo.get("a") == (False, None)  # never older than max_age


def test_spreading_lives_leaves_the_process_wide_random_generator_alone() -> None:
    """Hypothesis (and any seeded test) fails when a draw moves ``random``'s global state."""
    before = random.getstate()
    memo: Cache[int, int] = Cache(max_entries=100, max_age=10.0, spread=0.5)
    for key in range(100):
        memo.put(key, key, epoch=memo.epoch)
    assert random.getstate() == before


@pytest.mark.parametrize("spread", [-0.1, 1.0, 2.0])
def test_a_spread_outside_zero_to_one_is_refused(spread: float) -> None:
    with pytest.raises(ValueError, match="spread"):
        Cache(max_entries=1, max_age=1.0, spread=spread)


def test_forgetting_a_group_drops_all_its_entries_and_no_other() -> None:
    memo, _ = cache()
    memo.put("access-1", 1, epoch=memo.epoch, group=7)
    memo.put("access-2", 2, epoch=memo.epoch, group=7)
    memo.put("other", 3, epoch=memo.epoch, group=8)
    memo.forget(7)
    assert memo.get("access-1") == (False, None)
    assert memo.get("access-2") == (False, None)
    assert memo.get("other") == (True, 3)


def test_a_load_that_overlapped_a_change_is_not_kept() -> None:
    """A read, then a change commits and evicts, then the stale read arrives: not cached."""
    memo, _ = cache()
    epoch = memo.epoch  # a validation starts loading
    memo.forget(7)  # a revocation commits meanwhile
    memo.put("access", 1, epoch=epoch, group=7)  # the stale state arrives
    assert memo.get("access") == (False, None)


def test_a_disabled_cache_neither_answers_nor_stores() -> None:
    memo, _ = cache()
    memo.put("a", 1, epoch=memo.epoch)
    memo.enabled = False
    assert memo.get("a") == (False, None)
    memo.put("b", 2, epoch=memo.epoch)
    memo.enabled = True
    assert memo.get("b") == (False, None)


def test_clear_drops_everything_and_refuses_loads_under_way() -> None:
    memo, _ = cache()
    memo.put("a", 1, epoch=memo.epoch, group=1)
    epoch = memo.epoch
    memo.clear()
    memo.put("b", 2, epoch=epoch)
    assert len(memo) == 0


def test_eviction_by_size_keeps_groups_consistent() -> None:
    memo, _ = cache(max_entries=1)
    memo.put("a", 1, epoch=memo.epoch, group=1)
    memo.put("b", 2, epoch=memo.epoch, group=1)  # pushes a out
    memo.forget(1)
    assert len(memo) == 0


class GatedRead:
    """A read that counts its calls and answers only when let go."""

    def __init__(self, value: int = 1) -> None:
        self.value = value
        self.calls = 0
        self.started = asyncio.Event()
        self.gate = asyncio.Event()
        self.failure: Exception | None = None

    async def __call__(self, key: str) -> int:
        self.calls += 1
        self.started.set()
        await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return self.value


class ByKey:
    """One cache's reader that hands each key to a read of its own."""

    def __init__(self, reads: dict[str, GatedRead]) -> None:
        self.reads = reads

    async def __call__(self, key: str) -> int:
        return await self.reads[key](key)


class InTurn:
    """One cache's reader that hands each call to the next read in turn."""

    def __init__(self, *reads: GatedRead) -> None:
        self.pending = list(reads)

    async def __call__(self, key: str) -> int:
        return await self.pending.pop(0)(key)


async def started(read: GatedRead) -> None:
    """Wait until ``read`` is called; fail instead of hanging when it never is."""
    await asyncio.wait_for(read.started.wait(), timeout=5)


async def test_concurrent_loads_of_one_key_share_one_read_and_keep_its_value() -> None:
    read = GatedRead(7)
    memo, _ = cache(read=read)
    waiting = [asyncio.ensure_future(memo.load("a")) for _ in range(16)]
    await read.started.wait()
    read.gate.set()

    assert await asyncio.gather(*waiting) == [7] * 16
    assert read.calls == 1
    assert memo.get("a") == (True, 7)


async def test_loads_of_different_keys_do_not_wait_for_each_other() -> None:
    held, free = GatedRead(1), GatedRead(2)
    memo, _ = cache(read=ByKey({"a": held, "b": free}))
    free.gate.set()
    first = asyncio.ensure_future(memo.load("a"))
    await held.started.wait()

    assert await memo.load("b") == 2
    held.gate.set()
    assert await first == 1


async def test_a_load_after_a_change_does_not_join_a_read_from_before_it() -> None:
    early_read, late_read = GatedRead(1), GatedRead(2)
    memo, _ = cache(read=InTurn(early_read, late_read), group=lambda value: "g")
    early = asyncio.ensure_future(memo.load("a"))
    await early_read.started.wait()
    memo.forget("g")

    late_read.gate.set()
    assert await memo.load("a") == 2
    early_read.gate.set()
    assert await early == 1  # its caller gets what it read, but it is not kept
    assert memo.get("a") == (True, 2)


async def test_with_the_cache_off_every_load_reads_for_itself() -> None:
    read = GatedRead(3)
    memo, _ = cache(read=read)
    memo.enabled = False
    waiting = [asyncio.ensure_future(memo.load("a")) for _ in range(3)]
    await read.started.wait()
    await asyncio.sleep(0)
    read.gate.set()

    assert await asyncio.gather(*waiting) == [3] * 3
    assert read.calls == 3


async def test_a_caller_that_goes_away_does_not_cancel_the_read_others_share() -> None:
    read = GatedRead(4)
    memo, _ = cache(read=read)
    first = asyncio.ensure_future(memo.load("a"))
    await read.started.wait()
    second = asyncio.ensure_future(memo.load("a"))
    await asyncio.sleep(0)
    first.cancel()
    read.gate.set()

    assert await second == 4
    assert first.cancelled()
    assert read.calls == 1


async def test_a_failed_read_fails_every_waiter_and_keeps_nothing() -> None:
    read = GatedRead(5)
    memo, _ = cache(read=read)
    read.failure = RuntimeError("connection lost")
    waiting = [asyncio.ensure_future(memo.load("a")) for _ in range(3)]
    await read.started.wait()
    read.gate.set()

    outcomes = await asyncio.gather(*waiting, return_exceptions=True)

    assert [str(outcome) for outcome in outcomes] == ["connection lost"] * 3
    assert memo.get("a") == (False, None)
    read.failure = None
    assert await memo.load("a") == 5
    assert read.calls == 2


async def test_an_entry_in_the_last_quarter_of_its_life_is_read_again_while_it_answers() -> None:
    read = GatedRead(2)
    memo, clock = cache(max_age=8.0, read=read)
    memo.put("a", 1, epoch=memo.epoch)
    clock.now += 5.9  # before three quarters of its life: no read
    assert memo.get("a") == (True, 1)
    await asyncio.sleep(0)
    assert read.calls == 0

    clock.now += 0.2
    assert memo.get("a") == (True, 1)
    assert memo.get("a") == (True, 1)  # one read at a time
    await started(read)
    read.gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert read.calls == 1
    clock.now += 7.9  # past the first life, within the second
    assert memo.get("a") == (True, 2)


async def test_a_miss_while_an_entry_is_read_again_waits_for_that_read() -> None:
    read = GatedRead(2)
    memo, clock = cache(max_age=8.0, read=read)
    memo.put("a", 1, epoch=memo.epoch)
    clock.now += 7.0
    memo.get("a")
    await started(read)
    clock.now += 2.0  # expired meanwhile

    waiting = asyncio.ensure_future(memo.load("a"))
    read.gate.set()
    assert await waiting == 2
    assert read.calls == 1


async def test_a_reading_again_that_overlapped_a_change_is_not_kept() -> None:
    read = GatedRead(2)
    memo, clock = cache(max_age=8.0, read=read, group=lambda value: "g")
    memo.put("a", 1, epoch=memo.epoch, group="g")
    clock.now += 7.0
    memo.get("a")
    await started(read)
    memo.forget("g")
    read.gate.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert memo.get("a") == (False, None)


async def test_a_failed_reading_again_leaves_the_entry_answering_until_it_expires() -> None:
    read = GatedRead(2)
    memo, clock = cache(max_age=8.0, read=read)
    memo.put("a", 1, epoch=memo.epoch)
    read.failure = RuntimeError("connection lost")
    read.gate.set()
    clock.now += 7.0
    memo.get("a")
    await asyncio.sleep(0)
    await asyncio.sleep(0)

    assert read.calls == 1
    assert memo.get("a") == (True, 1)
    clock.now += 1.0
    assert memo.get("a") == (False, None)
