"""One construct for every change of state: a transaction that tells every instance.

``announce(change)`` inside the transaction sends the notice with it: PostgreSQL
delivers a ``pg_notify`` at commit, never on rollback, to every instance that
listens (``server.listener``). Once the transaction has committed, this process
evicts what the announced changes name from its own caches at once. SQLite serves
one process: there the local eviction is all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from tortoise import connections
from tortoise.transactions import in_transaction

from tokens.caches import CACHES
from tokens.changes import CHANNEL, Change

Announce = Callable[[Change], Awaitable[None]]


@asynccontextmanager
async def transaction() -> AsyncIterator[Announce]:
    """A database transaction; ``announce`` what it changes, and caches follow at commit."""
    made: list[Change] = []

    async def announce(change: Change) -> None:
        connection = connections.get("default")
        if connection.capabilities.dialect == "postgres":
            await connection.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, change.encode()])
        made.append(change)

    async with in_transaction():
        yield announce
    for change in made:
        CACHES.forget(change)
