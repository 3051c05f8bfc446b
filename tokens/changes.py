"""Telling every server instance what changed, so that none answers from a stale cache.

A change is announced twice: inside its transaction with PostgreSQL's
``pg_notify`` (delivered to every listening instance at commit, never on
rollback; see ``server.listener``), and in this process by evicting the cache
entries at once after commit. SQLite serves one process: there the local
eviction is all.
"""

from __future__ import annotations

from tortoise import connections

CHANNEL = "sat_changes"


def token(token_id: int) -> str:
    return f"token:{token_id}"


def client(client_id: int) -> str:
    return f"client:{client_id}"


CATALOG = "catalog"


async def announce(payload: str) -> None:
    """Notify other instances; call inside the transaction of the change."""
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query("SELECT pg_notify($1, $2)", [CHANNEL, payload])
