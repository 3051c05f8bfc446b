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
from tokens import catalog, changes, service_clients, validation

log = logging.getLogger("sat.listener")

HEARTBEAT_SECONDS = 1.0
RETRY_SECONDS = 0.5


def apply(payload: str) -> None:
    """Evict what one change notice names."""
    kind, _, key = payload.partition(":")
    if kind == "token" and key.isdigit():
        validation.forget_token(int(key))
    elif kind == "client" and key.isdigit():
        service_clients.forget_client(int(key))
    elif payload == changes.CATALOG:
        catalog.forget_targets()
    else:
        log.warning("unknown change notice %r: flushing every cache", payload)
        forget_everything()


def forget_everything() -> None:
    validation.forget_all()
    service_clients.forget_all()
    catalog.forget_targets()


def use_caches(enabled: bool) -> None:
    forget_everything()
    validation.enable_cache(enabled)
    service_clients.enable_cache(enabled)
    catalog.enable_cache(enabled)


class ChangeListener:
    def __init__(self, database_url: str) -> None:
        self.dsn = driver_dsn(database_url)
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        use_caches(False)
        self._task = asyncio.create_task(self._run(), name="sat-change-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        use_caches(False)

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
                use_caches(False)
            await asyncio.sleep(RETRY_SECONDS)

    async def _listen(self) -> None:
        """Listen on one connection until it is lost; returns or raises when it is."""
        import asyncpg

        lost = asyncio.Event()
        connection = await asyncpg.connect(self.dsn, timeout=5)
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(changes.CHANNEL, self._notice)
            use_caches(True)  # flushes too: notices may have been missed while away
            self.connected.set()
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
