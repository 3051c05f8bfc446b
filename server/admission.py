"""Anonymous requests on Strawberry's general path take turns, a few at a time.

The event loop runs the ready steps of every request in turn. During a storm of
twenty clients sending failed logins flat out (bench case 10), a validation waited
behind the steps of all twenty: its p99 went from 1.5 ms to 10 ms, and to over
200 ms once each refused login was made cheaper, because cheaper refusals only
brought more of them. So requests from callers who are not signed in (``login``,
``refreshAccessToken``, ``me``, anything with an unknown or no credential) take
turns: at most ``SAT_ANONYMOUS_CONCURRENCY`` run at once, up to
``SAT_ANONYMOUS_QUEUE`` more wait in order (waiting costs the loop nothing), and
past that a request is refused at once, before any work: 503, ``RATE_LIMITED``,
``retryAfterSeconds`` 1. A validation then waits behind a few steps at most, and a
storm goes at the pace of password hashing.

Signed-in admins and service clients never wait here, nor does validateToken's
compiled path (``server.graphql_endpoint``), ``/oauth/introspect`` or ``/auth``.
"""

from __future__ import annotations

import asyncio

from server.graphql_responses import Refused
from tokens import rate_limits
from tokens.errors import RateLimited

DEFAULT_CONCURRENCY = 4
DEFAULT_QUEUE = 256
# The scope under which refusals are counted for /metrics (sat_rate_limited).
SCOPE = "anonymous-queue"


# What a request refused here is told.
OVERLOADED = Refused(
    503,
    "too many requests at once; try again in a moment",
    RateLimited.code,
    retry_after_seconds=1,
)


class Admission:
    def __init__(
        self, *, concurrency: int = DEFAULT_CONCURRENCY, queue: int = DEFAULT_QUEUE
    ) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self._turns = asyncio.Semaphore(concurrency)
        self._waiting = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    async def enter(self) -> bool:
        """Wait for a turn; False, at once, when the queue is full. ``leave`` after a True."""
        if self._turns.locked():
            if self._waiting >= self.queue:
                rate_limits.REFUSALS[SCOPE] += 1
                return False
            self._waiting += 1
            try:
                await self._turns.acquire()
            finally:
                self._waiting -= 1
        else:
            await self._turns.acquire()
        return True

    def leave(self) -> None:
        self._turns.release()
