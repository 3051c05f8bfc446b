"""The cases' shared fixtures: databases, a token with a service client, request bodies.

Servers come from ``tests.launcher``, the same launcher the tests use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from tortoise import Tortoise

from server.database import prepare, tortoise_config
from tests.operations import operation
from tokens import lifecycle, service_clients
from tokens.grants import GrantRequest
from tokens.ip_ranges import IpRangeRequest

T = TypeVar("T")

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
VALIDATE = operation("ValidateToken")
GRANTS = [
    GrantRequest(area="payroll", folder=None, read=True, write=False, delete=False),
    GrantRequest(area="employees", folder="contracts", read=True, write=True, delete=False),
]
RANGES = [IpRangeRequest(start="10.0.0.0/8", label="office"), IpRangeRequest(start="192.0.2.7")]


async def with_orm(database_url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with the ORM open on ``database_url``."""
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


async def fresh_database(kind: str, directory: Path, name: str) -> str:
    """An empty database, migrated and with the bundled catalog."""
    if kind == "sqlite":
        url = f"sqlite://{directory / (name + '.sqlite3')}"
    else:
        await drop_postgres(name)
        await _on_postgres(f'CREATE DATABASE "{name}"')
        url = f"{POSTGRES}/{name}"
    await prepare(url)
    return url


async def drop_postgres(name: str) -> None:
    await _on_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _on_postgres(statement: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(POSTGRES.replace("postgres://", "postgresql://") + "/postgres")
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def validate_body(token: str, ip: str, area: str, folder: str | None, access: str) -> str:
    """The JSON body of ``ValidateToken`` as a service sends it."""
    variables = {"token": token, "ip": ip, "area": area, "folder": folder, "access": access}
    return json.dumps({"query": VALIDATE, "variables": variables})


async def issue(database_url: str, name: str) -> tuple[str, str, datetime]:
    """A token with grants and ranges, and a service client: (access token, secret, expiry)."""

    async def work() -> tuple[str, str, datetime]:
        issued = await lifecycle.create(
            actor="bench", name=name, grants=GRANTS, ip_ranges=RANGES, expires_in_days=365
        )
        client = await service_clients.create(name=f"{name} gateway", actor="bench")
        return issued.access_token, client.secret, issued.expires_at

    return await with_orm(database_url, work)
