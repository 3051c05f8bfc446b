"""Connecting Tortoise, applying migrations and the bundled catalog."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as migrate_api
from tortoise.migrations.executor import MigrationExecutor

from tokens import catalog, catalog_file

log = logging.getLogger("sat.database")

MODELS = ["models"]
MIGRATIONS = "models.migrations"
# pg_advisory_lock key held while migrating: "SAT\0" as an integer.
MIGRATION_LOCK = 0x53415400
# Query parameters of a database URL that are Tortoise's, not the driver's.
_TORTOISE_PARAMETERS = {"minsize", "maxsize", "max_queries", "max_inactive_connection_lifetime"}


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise configuration for ``database_url`` (SQLite path or PostgreSQL URL)."""
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": MODELS,
                "migrations": MIGRATIONS,
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For Tortoise's own CLI: `python -m tortoise -c server.database.TORTOISE_ORM makemigrations`.
TORTOISE_ORM = tortoise_config(os.environ.get("SAT_DATABASE_URL") or "sqlite://sat.sqlite3")


def is_postgres(database_url: str) -> bool:
    return database_url.split("://", 1)[0] in {"postgres", "postgresql", "asyncpg", "psycopg"}


def driver_dsn(database_url: str) -> str:
    """A PostgreSQL URL as asyncpg takes it: Tortoise's own query parameters removed."""
    parts = urlsplit(database_url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _TORTOISE_PARAMETERS]
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))


@asynccontextmanager
async def _migration_lock(database_url: str) -> AsyncIterator[None]:
    """On PostgreSQL, one migrating process at a time: instances starting together queue here."""
    if not is_postgres(database_url):
        yield
        return
    import asyncpg

    connection = await asyncpg.connect(driver_dsn(database_url))
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            yield
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    finally:
        await connection.close()


async def apply_migrations(database_url: str) -> None:
    """Apply every pending migration; a no-op on an up-to-date database."""
    async with _migration_lock(database_url):
        await migrate_api(config=tortoise_config(database_url))
        await Tortoise.close_connections()


async def prepare(database_url: str) -> catalog.ImportSummary:
    """Migrate, then apply the bundled catalog, under the migration lock."""
    async with _migration_lock(database_url):
        await migrate_api(config=tortoise_config(database_url))
        await Tortoise.close_connections()
        await Tortoise.init(config=tortoise_config(database_url))
        try:
            return await catalog.apply(catalog_file.default_catalog())
        finally:
            await Tortoise.close_connections()


class DatabaseNotReady(Exception):
    """The database's migrations do not match this version and may not be applied now."""


async def bring_to_this_version(database_url: str, *, migrate: bool) -> None:
    """What the server and every command do first, before they use the database.

    With ``migrate`` (``SAT_AUTO_MIGRATE``, the default), pending migrations and the
    bundled catalog are applied (``prepare``); without it, nothing is written. Either
    way a database that is not exactly at this version's migrations (unapplied ones,
    or unknown ones from a newer version) raises ``DatabaseNotReady``.
    """
    if migrate:
        await prepare(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        state = await migration_state()
    finally:
        await Tortoise.close_connections()
    if not state.current:
        raise DatabaseNotReady(state.problem())


@dataclass(frozen=True, slots=True)
class MigrationState:
    pending: tuple[str, ...]  # on disk, not applied
    unknown: tuple[str, ...]  # applied, not on disk: a newer SAT migrated this database

    @property
    def current(self) -> bool:
        return not self.pending and not self.unknown

    def problem(self) -> str:
        if self.unknown:
            return (
                f"the database has migrations this version of SAT does not know "
                f"({', '.join(self.unknown)}): it was migrated by a newer version"
            )
        return (
            f"the database has {len(self.pending)} unapplied migration(s) "
            f"({', '.join(self.pending)}): run `sat migrate` first"
        )


async def migration_state() -> MigrationState:
    """Compare the applied migrations with those on disk; Tortoise must be initialised."""
    executor = MigrationExecutor(connections.get("default"), tortoise_config("")["apps"])
    await executor.loader.build_graph()
    applied = {key.name for key in await executor.recorder.applied_migrations()}
    on_disk = {key.name for key in executor.loader.disk_migrations}
    return MigrationState(
        pending=tuple(sorted(on_disk - applied)), unknown=tuple(sorted(applied - on_disk))
    )
