"""A bounded, least-recently-used cache whose entries also expire, for the validation hot path.

Changes made in this process evict what they touch at once (``forget``), after
their transaction commits. A load that overlapped any such change is not kept
(``epoch``), so a stale row read just before a commit can never be cached after
the eviction. ``max_age`` bounds how long a change made elsewhere (another
process) can go unseen. ``spread`` shortens each entry's life by a random part
of ``max_age``, so that entries loaded together (after a restart, say) do not
all expire, and reload, in the same instant. ``load`` reads a missing entry once
however many callers ask for it at the same time: when a hot entry expired, every
request under way used to repeat the same read, and the connections waited
hundreds of milliseconds behind the pile (bench case 12, fairness). And ``get``
reads an entry in steady use again shortly before it expires, in
the background, so that its requests never wait for storage at all: behind a
storm of failed logins, SQLite's one connection was busy with their writes when
the entries expired (bench case 10).
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# A live entry is read again, in the background, once this share of its life is over.
RENEW_AFTER = 0.75

# The spread of lifetimes needs no secrecy, only its own generator: drawing from the
# process-wide one would move the state that other code (a test's seeds) relies on.
_lifetimes = random.Random()  # noqa: S311 (jitter, not a secret)


def _no_group(value: object) -> Hashable | None:
    return None


class Cache(Generic[K, V]):
    def __init__(
        self,
        *,
        max_entries: int,
        max_age: float,
        spread: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        chance: Callable[[], float] = _lifetimes.random,
        read: Callable[[K], Awaitable[V]] | None = None,
        group: Callable[[V], Hashable | None] = _no_group,
    ) -> None:
        """``read`` and ``group``: how ``load`` reads a key and groups its value, and how
        ``get`` renews an entry. Without ``read`` the cache is filled by ``put`` alone."""
        if not 0.0 <= spread < 1.0:
            raise ValueError("spread is a fraction of max_age, from 0 up to 1")
        self.max_entries = max_entries
        self.max_age = max_age
        self.spread = spread
        self._clock = clock
        self._chance = chance
        self.read = read
        self.group = group
        self._entries: OrderedDict[K, tuple[float, float, Hashable | None, V]] = OrderedDict()
        self._groups: dict[Hashable, set[K]] = {}
        # Reads under way, by key, with the epoch each began in (see ``load``).
        self._loading: dict[K, tuple[int, asyncio.Future[V]]] = {}
        self._epoch = 0
        self.enabled = True
        # Plain counters, read by metrics: the hot path pays two integer additions at most.
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def epoch(self) -> int:
        """Read before loading; pass to ``put`` so a load that overlapped a change is dropped."""
        return self._epoch

    def get(self, key: K) -> tuple[bool, V | None]:
        """``(True, value)`` for a live entry, ``(False, None)`` for a miss.

        A live entry in the last quarter of its life is read again in the background
        (with the cache's ``read``, as ``load`` reads) while it goes on answering: a key in
        steady use never misses, so its requests never wait for storage, however busy
        that is.
        """
        entry = self._entries.get(key) if self.enabled else None
        if entry is None:
            self.misses += 1
            return False, None
        expires_at, renew_at, entry_group, value = entry
        now = self._clock()
        if now >= expires_at:
            self._drop(key, entry_group)
            self.misses += 1
            return False, None
        self._entries.move_to_end(key)
        self.hits += 1
        if now >= renew_at and self.read is not None and key not in self._loading:
            self._start_read(key, self.read)
        return True, value

    def put(self, key: K, value: V, *, epoch: int, group: Hashable | None = None) -> None:
        if epoch != self._epoch or self.max_entries <= 0 or not self.enabled:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._ungroup(key, old[2])
        lifetime = self.max_age * (1.0 - self.spread * self._chance())
        now = self._clock()
        self._entries[key] = (now + lifetime, now + RENEW_AFTER * lifetime, group, value)
        if group is not None:
            self._groups.setdefault(group, set()).add(key)
        while len(self._entries) > self.max_entries:
            oldest, (_, _, oldest_group, _) = self._entries.popitem(last=False)
            self._ungroup(oldest, oldest_group)

    async def load(self, key: K) -> V:
        """Read what ``key`` stands for with the cache's ``read`` and keep it, in ``group(value)``.

        For a miss of ``get``. Callers asking while a read of ``key`` is under way share
        it, unless a change (``forget``, ``clear``) came after it began: it may have read
        what the change replaced. The read runs as a task of its own, so a caller that
        goes away does not cancel the others'; a read that fails fails each of them and
        keeps nothing. With the cache off (changes may go unheard), every caller reads
        for itself.
        """
        read = self.read
        if read is None:
            raise TypeError("this cache has no reader: give it one (read=...)")
        if not self.enabled:
            return await read(key)
        under_way = self._loading.get(key)
        if under_way is None or under_way[0] != self._epoch:
            under_way = self._start_read(key, read)
        return await asyncio.shield(under_way[1])

    def _start_read(
        self, key: K, read: Callable[[K], Awaitable[V]]
    ) -> tuple[int, asyncio.Future[V]]:
        epoch = self._epoch
        reading = asyncio.ensure_future(self._read(key, read, epoch))
        reading.add_done_callback(functools.partial(self._read_done, key))
        under_way = self._loading[key] = (epoch, reading)
        return under_way

    async def _read(self, key: K, read: Callable[[K], Awaitable[V]], epoch: int) -> V:
        value = await read(key)
        self.put(key, value, epoch=epoch, group=self.group(value))
        return value

    def _read_done(self, key: K, reading: asyncio.Future[V]) -> None:
        if self._loading.get(key, (0, None))[1] is reading:
            del self._loading[key]
        if not reading.cancelled():
            reading.exception()  # each waiter receives it; retrieving it here keeps the loop quiet

    def forget(self, group: Hashable) -> None:
        """Drop every entry of ``group`` (a token id, say) and refuse loads under way."""
        self._epoch += 1
        for key in self._groups.pop(group, ()):
            self._entries.pop(key, None)

    def clear(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._groups.clear()

    def _drop(self, key: K, group: Hashable | None) -> None:
        del self._entries[key]
        self._ungroup(key, group)

    def _ungroup(self, key: K, group: Hashable | None) -> None:
        if group is None:
            return
        members = self._groups.get(group)
        if members is not None:
            members.discard(key)
            if not members:
                del self._groups[group]
