"""Hearing other instances' changes: PostgreSQL LISTEN on ``tokens.changes.CHANNEL``.

Each notice evicts what it names from this process's caches. The caches are
used only while the listener is known to be connected: until it first
connects, and from the moment its connection is lost (or a heartbeat fails)
until it is back, every validation reads the database, and on every
(re)connect all caches are flushed, since notices may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from server.database import driver_dsn
from tokens.caches import CACHES
from tokens.changes import CHANNEL, Change

log = logging.getLogger("sat.listener")

HEARTBEAT_SECONDS = 1.0
RETRY_SECONDS = 0.5


def apply(payload: str) -> None:
    """Evict what one change notice names; a notice not understood empties every cache."""
    change = Change.decode(payload)
    if change is None:
        log.warning("unknown change notice %r: emptying every cache", payload[:100])
    CACHES.forget(change)


# Whether this process hears other instances' changes now (for /metrics); never on SQLite.
LISTENING = {"connected": False}


class ChangeListener:
    def __init__(self, database_url: str) -> None:
        self.dsn = driver_dsn(database_url)
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        CACHES.enable(False)
        self._task = asyncio.create_task(self._run(), name="sat-change-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        LISTENING["connected"] = False
        CACHES.enable(False)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # any failure: stop trusting caches, then retry
                if self.connected.is_set():
                    log.warning("change listener lost its connection (%s); caches off", error)
                self.connected.clear()
                LISTENING["connected"] = False
                CACHES.enable(False)
            await asyncio.sleep(RETRY_SECONDS)

    async def _listen(self) -> None:
        """Listen on one connection until it is lost; returns or raises when it is."""
        import asyncpg

        lost = asyncio.Event()
        connection = await asyncpg.connect(self.dsn, timeout=5)
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(CHANNEL, self._notice)
            CACHES.enable(True)  # flushes too: notices may have been missed while away
            self.connected.set()
            LISTENING["connected"] = True
            log.info("listening for changes made by other instances")
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), HEARTBEAT_SECONDS)
                if not lost.is_set():
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), HEARTBEAT_SECONDS)
            raise ConnectionError("listener connection closed")
        finally:
            if not connection.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.close(), RETRY_SECONDS)

    def _notice(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        apply(payload)
