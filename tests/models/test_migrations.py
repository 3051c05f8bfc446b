"""The checked-in migrations and the models describe the same schema."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import Tortoise, connections
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from server.database import apply_migrations, tortoise_config
from tests.conftest import ON_POSTGRES


async def test_models_have_no_changes_missing_from_the_migrations() -> None:
    """`makemigrations` would write nothing: every model change has its migration."""
    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    assert [w.name for w in writers] == [], (
        "run: python -m tortoise -c server.database.TORTOISE_ORM makemigrations"
    )


async def _shape() -> dict[str, Any]:
    """Tables, their columns with nullability, and every index's columns and uniqueness."""
    connection = connections.get("default")
    shape: dict[str, Any] = {}
    if ON_POSTGRES:
        _, rows = await connection.execute_query(
            "SELECT table_name, column_name, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name <> 'tortoise_migrations'"
        )
        for row in rows:
            shape.setdefault(row["table_name"], {})[row["column_name"]] = (
                row["is_nullable"] == "YES"
            )
        _, rows = await connection.execute_query(
            "SELECT t.relname AS table_name, i.indisunique AS is_unique, "
            "array_agg(a.attname ORDER BY a.attname) AS columns "
            "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = 'public' AND t.relname <> 'tortoise_migrations' "
            "GROUP BY t.relname, i.indexrelid, i.indisunique"
        )
        indexes = {(row["table_name"], tuple(row["columns"]), row["is_unique"]) for row in rows}
    else:
        _, tables = await connection.execute_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name <> 'tortoise_migrations'"
        )
        indexes = set()
        for (table,) in tables:
            _, columns = await connection.execute_query(f'PRAGMA table_info("{table}")')
            shape[table] = {c["name"]: not c["notnull"] and not c["pk"] for c in columns}
            _, table_indexes = await connection.execute_query(f'PRAGMA index_list("{table}")')
            for index in table_indexes:
                _, cols = await connection.execute_query(f'PRAGMA index_info("{index["name"]}")')
                columns = tuple(sorted(c["name"] for c in cols))
                indexes.add((table, columns, bool(index["unique"])))
    shape["__indexes__"] = sorted(indexes)
    return shape


async def test_migrations_build_the_schema_the_models_describe(database_url: str) -> None:
    """Applying every migration to an empty database gives the tables, columns and unique keys
    that the models generate."""
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        migrated = await _shape()
    finally:
        await Tortoise.close_connections()

    async with TortoiseContext() as ctx:
        await ctx.init(
            config=tortoise_config("sqlite://:memory:" if not ON_POSTGRES else database_url)
        )
        if ON_POSTGRES:
            # Same server, a clean slate: drop what the migrations made, then generate.
            await connections.get("default").execute_script(
                "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
            )
        await ctx.generate_schemas(safe=False)
        generated = await _shape()

    assert migrated == generated


async def test_applying_migrations_twice_changes_nothing(database_url: str) -> None:
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        before = await _shape()
    finally:
        await Tortoise.close_connections()
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        assert await _shape() == before
    finally:
        await Tortoise.close_connections()


@pytest.mark.postgres
async def test_tables_that_validation_updates_leave_room_for_in_place_updates(
    database_url: str,
) -> None:
    """A first use's updates can stay on the row's page (HOT) instead of touching every index."""
    await apply_migrations(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        _, rows = await connections.get("default").execute_query(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY($1)",
            [["credential", "shared_access_token", "audit_event"]],
        )
    finally:
        await Tortoise.close_connections()

    options = {row["relname"]: row["reloptions"] for row in rows}
    assert options == {
        "credential": ["fillfactor=85"],
        "shared_access_token": ["fillfactor=85"],
        "audit_event": None,  # appended to, never updated: full pages
    }
