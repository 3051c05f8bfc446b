"""Admin password hashing beside the event loop, in a bounded pool.

argon2 holds a core for tens of milliseconds per hash. Run on the event loop's
default executor, a storm of logins took both cores and validateToken's p99 went
from 11 ms to 190 ms. Here hashes run on ``SAT_PASSWORD_HASH_WORKERS`` threads
(argon2-cffi releases the GIL), at most ``QUEUE_PER_WORKER`` more wait for one,
and a login that finds the queue full is refused as rate limited instead of waiting.

The threads run at the lowest priority there is: Linux's idle scheduling class
(``SCHED_IDLE``), at nice 19 where that class is missing. A hash takes a core that is
otherwise idle and yields it at once to the event loop. At the same priority, on
two cores shared with the event loop, the kernel gave the hash its fair share and
validations waited for it (p99 2.7x the quiet p99 during a storm of logins). At
nice 19 alone they still waited: a core busy with a nice-19 hash is not idle when
the kernel places a thread that wakes up (the loop's answer woke the client on the
loop's own core, and the loop waited inside its socket write), while a core that
runs only idle-class work is (py-spy: validation answers' writes went from 100 to
20 us in the storm, bench case 10).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from passlib.hash import argon2

from tokens.errors import RateLimited

DEFAULT_WORKERS = 1
QUEUE_PER_WORKER = 4
NICENESS = 19  # the lowest priority there is

# argon2id with RFC 9106's second recommended option (64 MiB, 3 passes) in one lane.
# - One lane: lanes are threads inside one hash; with 4 (passlib's default) a single
#   login competed with validation for both cores. An attacker's cost per guess is the
#   same (memory times passes); only our own wall time grows, on a core nobody else wants.
# - 64 MiB and 3 passes, not OWASP's minimum (19 MiB, 2 passes): besides costing an
#   offline attacker 5 times more per guess, the cost bounds what anonymous callers can
#   make the event loop do. Logins are checked at the pool's pace (about 140 ms a hash
#   on one core here: 7 a second per worker, where the minimum allowed 50), and each
#   attempt also costs the event loop its GraphQL and its writes (its count, its audit
#   event), about 1.3 ms. At 50 failed logins a second that work alone took
#   validateToken's p99 to 1.8-2x the quiet p99; at 7 a second, 1.3x (bench case 10).
#   An admin waits about 140 ms to log in.
# Hashes made with other parameters keep verifying and are rehashed at the next login.
HASHER = argon2.using(type="ID", memory_cost=65_536, rounds=3, parallelism=1)


class HashPool:
    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        self.workers = workers
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="sat-hash", initializer=_lower_priority
        )
        self._slots = workers * (1 + QUEUE_PER_WORKER)
        self._busy = 0

    def close(self) -> None:
        """Let the threads end once their work is done; nothing new is taken."""
        self._executor.shutdown(wait=False)

    async def verify(self, password: str, stored_hash: str) -> bool:
        return bool(await self._run(_verify, password, stored_hash))

    async def hash(self, password: str) -> str:
        return str(await self._run(_hash, password))

    def check_room(self) -> None:
        """Raise ``PoolFull`` now if a hash asked for now would be refused."""
        if self._busy >= self._slots:
            raise PoolFull("too many logins at once; try again in a moment")

    async def _run(self, function: Callable[..., object], *arguments: str) -> object:
        self.check_room()
        self._busy += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, function, *arguments)
        finally:
            self._busy -= 1


def _lower_priority() -> None:
    # On Linux, a thread's id given as a process id sets that thread's priority alone.
    thread = threading.get_native_id()
    os.setpriority(os.PRIO_PROCESS, thread, NICENESS)
    if hasattr(os, "sched_setscheduler"):  # Linux; elsewhere nice 19 is what there is
        os.sched_setscheduler(thread, os.SCHED_IDLE, os.sched_param(0))


class PoolFull(RateLimited):
    retry_after_seconds = 1


def _verify(password: str, stored_hash: str) -> bool:
    # Looked up at each call, so that tests can stand in for the real verification.
    return bool(argon2.verify(password, stored_hash))


def _hash(password: str) -> str:
    return str(HASHER.hash(password))


def needs_update(stored_hash: str) -> bool:
    """True for a hash made with other parameters than ``HASHER``'s."""
    return bool(HASHER.needs_update(stored_hash))


_pool = HashPool()


def configure(*, workers: int) -> None:
    """Size the pool for this process (``SAT_PASSWORD_HASH_WORKERS``)."""
    global _pool
    if workers != _pool.workers:
        replaced, _pool = _pool, HashPool(workers)
        replaced.close()


def pool() -> HashPool:
    return _pool


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container sets it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def too_many_workers(workers: int) -> bool:
    """More than one worker and not fewer than the cores: while a storm of failed logins
    lasts, hashing takes every core and validation waits for one (bench case 10: with 2
    workers on 2 cores, validation's p50 doubled and its p99 went to 2x the quiet p99)."""
    return workers > 1 and workers >= usable_cores()
