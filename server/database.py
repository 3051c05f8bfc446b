"""Connecting Tortoise, applying migrations and the bundled catalog."""

from __future__ import annotations

import logging
import os
from typing import Any

from tortoise import Tortoise
from tortoise.migrations.api import migrate as migrate_api

from tokens import catalog

log = logging.getLogger("sat.database")

MODELS = ["models"]
MIGRATIONS = "models.migrations"


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


async def apply_migrations(database_url: str) -> None:
    """Apply every pending migration; a no-op on an up-to-date database."""
    await migrate_api(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def prepare(database_url: str) -> catalog.ImportSummary:
    """What every command does first: migrate, then apply the bundled catalog."""
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        return await catalog.apply(catalog.default_catalog())
    finally:
        await Tortoise.close_connections()
