"""Fill a database with many Shared Access Tokens fast, for the benchmarks.

Rows are written with the database driver directly (not the ORM) in large
batches: the benchmarks measure reading, not writing. Every token gets one
current credential, grants and an IP range; a sample of them keeps its real
access token so that it can be validated.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tokens import secrets
from tokens.secrets import SecretKind

BATCH = 20_000
GRANTS = (("payroll", None, True, False, False), ("employees", "contracts", True, True, False))


@dataclass(frozen=True)
class Seeded:
    count: int
    sample: list[tuple[int, str]]  # (token id, access token) of tokens that can be validated


def _rows(start: int, count: int, sample_every: int, now: datetime):  # type: ignore[no-untyped-def]
    expires = now + timedelta(days=365)
    tokens, credentials, sample = [], [], []
    for token_id in range(start, start + count):
        if token_id % sample_every == 0:
            access = secrets.generate(SecretKind.ACCESS_TOKEN)
            sample.append((token_id, access))
            access_digest = secrets.digest(access)
        else:
            access_digest = hashlib.sha256(os.urandom(16)).hexdigest()
        refresh_digest = hashlib.sha256(os.urandom(16)).hexdigest()
        name = f"bench token {token_id}"
        tokens.append((token_id, name, name, now, "bench", 365, 0, expires, "abcd"))
        credentials.append(
            (token_id, token_id, token_id, access_digest, refresh_digest, now, expires)
        )
    return tokens, credentials, sample


async def seed(
    database_url: str, count: int, *, sample_size: int = 2_000, used: bool = False
) -> Seeded:
    """Add ``count`` tokens (ids 1..count) to a migrated, catalog-loaded, token-free database.

    ``used`` marks every token as used already (SQLite only), so that validating
    it reads without writing last-use.
    """
    now = datetime.now(UTC)
    sample_every = max(1, count // sample_size)
    if database_url.startswith("sqlite://"):
        sample = _seed_sqlite(database_url.removeprefix("sqlite://"), count, sample_every, now)
        if used:
            connection = sqlite3.connect(database_url.removeprefix("sqlite://"))
            connection.execute("UPDATE credential SET used_at = ?", (now.isoformat(),))
            connection.execute(
                "UPDATE shared_access_token SET last_used_at = ?, last_used_ip = '10.1.2.3'",
                (now.isoformat(),),
            )
            connection.commit()
            connection.close()
    else:
        sample = await _seed_postgres(database_url, count, sample_every, now)
    return Seeded(count=count, sample=sample)


def _seed_sqlite(path: str, count: int, sample_every: int, now: datetime) -> list[tuple[int, str]]:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    areas = dict(connection.execute("SELECT key, id FROM area"))
    folders = {
        (area, key): fid
        for fid, area, key in connection.execute(
            "SELECT folder.id, area.key, folder.key FROM folder"
            " JOIN area ON area.id = folder.area_id"
        )
    }
    sample: list[tuple[int, str]] = []
    iso = now.isoformat()
    for start in range(1, count + 1, BATCH):
        size = min(BATCH, count + 1 - start)
        tokens, credentials, batch_sample = _rows(start, size, sample_every, now)
        sample += batch_sample
        connection.executemany(
            "INSERT INTO shared_access_token (id, name, search_name, created_at, created_by,"
            " expires_in_days, refresh_grace_seconds, expires_at, token_hint)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            [(t[0], t[1], t[2], iso, t[4], t[5], t[6], t[7].isoformat(), t[8]) for t in tokens],
        )
        connection.executemany(
            "INSERT INTO credential (id, token_id, current_of, access_digest, refresh_digest,"
            " issued_at, expires_at) VALUES (?,?,?,?,?,?,?)",
            [(c[0], c[1], c[2], c[3], c[4], iso, c[6].isoformat()) for c in credentials],
        )
        connection.executemany(
            'INSERT INTO "grant" (token_id, area_id, folder_id, target, allow_read, allow_write,'
            " allow_delete) VALUES (?,?,?,?,?,?,?)",
            [
                (t[0], areas[a], folders.get((a, f)), a if f is None else f"{a}/{f}", r, w, d)
                for t in tokens
                for a, f, r, w, d in GRANTS
            ],
        )
        connection.executemany(
            'INSERT INTO ip_range (token_id, position, label, start, "end") VALUES (?,?,?,?,?)',
            [(t[0], 0, "office", "10.0.0.0", "10.255.255.255") for t in tokens],
        )
        connection.commit()
    connection.execute("ANALYZE")
    connection.commit()
    connection.close()
    return sample


async def _seed_postgres(
    url: str, count: int, sample_every: int, now: datetime
) -> list[tuple[int, str]]:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        areas = dict(await connection.fetch("SELECT key, id FROM area"))
        folders = {
            (r["area"], r["key"]): r["id"]
            for r in await connection.fetch(
                "SELECT folder.id, area.key AS area, folder.key FROM folder"
                " JOIN area ON area.id = folder.area_id"
            )
        }
        sample: list[tuple[int, str]] = []
        for start in range(1, count + 1, BATCH):
            size = min(BATCH, count + 1 - start)
            tokens, credentials, batch_sample = _rows(start, size, sample_every, now)
            sample += batch_sample
            await connection.copy_records_to_table(
                "shared_access_token",
                records=tokens,
                columns=[
                    "id",
                    "name",
                    "search_name",
                    "created_at",
                    "created_by",
                    "expires_in_days",
                    "refresh_grace_seconds",
                    "expires_at",
                    "token_hint",
                ],
            )
            await connection.copy_records_to_table(
                "credential",
                records=[(c[0], c[1], c[2], c[3], c[4], c[5], c[6]) for c in credentials],
                columns=[
                    "id",
                    "token_id",
                    "current_of",
                    "access_digest",
                    "refresh_digest",
                    "issued_at",
                    "expires_at",
                ],
            )
            await connection.copy_records_to_table(
                "grant",
                records=[
                    (t[0], areas[a], folders.get((a, f)), a if f is None else f"{a}/{f}", r, w, d)
                    for t in tokens
                    for a, f, r, w, d in GRANTS
                ],
                columns=[
                    "token_id",
                    "area_id",
                    "folder_id",
                    "target",
                    "allow_read",
                    "allow_write",
                    "allow_delete",
                ],
            )
            await connection.copy_records_to_table(
                "ip_range",
                records=[(t[0], 0, "office", "10.0.0.0", "10.255.255.255") for t in tokens],
                columns=["token_id", "position", "label", "start", "end"],
            )
        for table in ("shared_access_token", "credential", "grant", "ip_range"):
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                f' (SELECT max(id) FROM "{table}"))'
            )
        # Settle the bulk load as a database in service would be: a first read of freshly
        # copied rows sets their hint bits (a write), and the checkpoint after a large
        # load flushes gigabytes; either would land inside the timed validations.
        await connection.execute("VACUUM (ANALYZE)")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    return sample


if __name__ == "__main__":  # python bench/seed.py URL COUNT
    import sys

    result = asyncio.run(seed(sys.argv[1], int(sys.argv[2])))
    print(f"seeded {result.count} tokens; {len(result.sample)} sampled")
