"""Shared fixtures: a fresh database per test, on SQLite by default or on PostgreSQL.

Set ``SAT_TEST_DATABASE_URL=postgres://user@host:port`` to run the suite on
PostgreSQL: every test then gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from hypothesis import settings
from tortoise.contrib.test import tortoise_test_context

from models import Admin
from tests.support import ADMIN_PASSWORD, NOW
from tokens import catalog, catalog_file, hashing
from tokens.caches import CACHES, DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_SECONDS
from tokens.callers import AdminCaller, ServiceCaller

# No deadline: Hypothesis's default (200 ms per example) is a timing assertion, and this
# machine is shared and noisy. Examples are bounded by max_examples instead.
settings.register_profile("sat", deadline=None)
settings.load_profile("sat")

TEST_DATABASE_URL = os.environ.get("SAT_TEST_DATABASE_URL", "").strip()
ON_POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql://", "asyncpg://"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs SAT_TEST_DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords and not ON_POSTGRES:
            item.add_marker(skip)


# --- databases --------------------------------------------------------------------------------


def _server_url() -> str:
    return TEST_DATABASE_URL.rstrip("/").rsplit("/", 1)[0] if _has_db_name() else TEST_DATABASE_URL


def _has_db_name() -> bool:
    rest = TEST_DATABASE_URL.split("://", 1)[1]
    return "/" in rest and rest.split("/", 1)[1] != ""


async def _drop_postgres_database(name: str) -> None:
    server = _server_url().replace("asyncpg://", "postgres://")
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _create_postgres_database(name: str) -> None:
    server = _server_url().replace("asyncpg://", "postgres://")
    connection = await asyncpg.connect(f"{server}/postgres")
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


@pytest.fixture
async def db() -> AsyncIterator[None]:
    """A fresh, empty schema with the bundled catalog applied, for domain and schema tests."""
    if ON_POSTGRES:
        name = f"sat_test_{uuid.uuid4().hex[:12]}"
        url = f"{_server_url()}/{name}"
    else:
        name, url = "", "sqlite://:memory:"
    _forget_cached_state()
    try:
        async with tortoise_test_context(["models"], db_url=url):
            await catalog.apply(catalog_file.default_catalog())
            yield
    finally:
        if ON_POSTGRES:
            await _drop_postgres_database(name)


def _forget_cached_state() -> None:
    """Each test has a database of its own: nothing cached may outlive it.

    Caches start on, as in a process that has not yet heard of trouble: an app's
    lifespan on PostgreSQL turns them off until it listens, and may end that way.
    """
    CACHES.configure(max_entries=DEFAULT_CACHE_ENTRIES, max_age_seconds=DEFAULT_CACHE_SECONDS)
    CACHES.enable(True)


@pytest.fixture
async def database_url(tmp_path: Any) -> AsyncIterator[str]:
    """An empty database that a real server or the CLI migrates itself."""
    _forget_cached_state()
    if ON_POSTGRES:
        name = f"sat_test_{uuid.uuid4().hex[:12]}"
        await _create_postgres_database(name)
        try:
            yield f"{_server_url()}/{name}"
        finally:
            await _drop_postgres_database(name)
    else:
        yield f"sqlite://{tmp_path / 'sat.sqlite3'}"


@pytest.fixture
def sync_database_url(tmp_path: Any) -> Iterator[str]:
    """``database_url`` for synchronous tests (HTTP through TestClient, the CLI)."""
    _forget_cached_state()
    import asyncio

    if ON_POSTGRES:
        name = f"sat_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(_create_postgres_database(name))
        try:
            yield f"{_server_url()}/{name}"
        finally:
            asyncio.run(_drop_postgres_database(name))
    else:
        yield f"sqlite://{tmp_path / 'sat.sqlite3'}"


# --- callers and GraphQL ----------------------------------------------------------------------


@functools.cache
def admin_password_hash() -> str:
    """One argon2 hash per test session (hashing costs about 140 ms), made as SAT makes them,
    so that a login does not rehash it."""
    return str(hashing.HASHER.hash(ADMIN_PASSWORD))


@pytest.fixture
async def admin(db: None) -> AdminCaller:
    """A stored admin ``alice`` (password ``ADMIN_PASSWORD``), as a caller with a session."""
    row = await Admin.create(username="alice", password_hash=admin_password_hash(), created_at=NOW)
    return AdminCaller(admin_id=row.id, username=row.username, session_id=0)


@pytest.fixture
def service() -> ServiceCaller:
    return ServiceCaller(client_id=1, name="gateway")
