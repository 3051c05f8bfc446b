"""4. The overview: the first page of 50 of 100,000 tokens (20,000 quick) with grants and ranges."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from tortoise import connections

from bench.fixtures import fresh_database, with_orm
from bench.harness import report
from bench.seed import seed
from tokens import views
from tokens.paging import PageRequest


async def run(directory: Path, *, quick: bool) -> None:
    print("4. overview: first page of 50 of 100,000 tokens with grants and ranges", flush=True)
    count = 20_000 if quick else 100_000
    url = await fresh_database("sqlite", directory, "overview")
    await seed(url, count, sample_size=10)

    async def work() -> tuple[float, int]:
        page = PageRequest(first=50, before_id=None)
        await views.overview(page=page)  # warm up; opens the connection
        sqlite = connections.get("default")._connection  # the aiosqlite connection
        statements: list[str] = []
        await sqlite.set_trace_callback(statements.append)
        await views.overview(page=page)
        counted = len(statements)
        await sqlite.set_trace_callback(None)
        times = []
        for _ in range(30):
            started = time.perf_counter()
            result = await views.overview(page=page)
            times.append(time.perf_counter() - started)
        assert len(result.nodes) == 50
        assert all(node.grants for node in result.nodes)
        return statistics.median(times), counted

    median, counted = await with_orm(url, work)
    report(
        "4 overview",
        f"{median * 1e3:.1f} ms median for the first 50 of {count:,} tokens, "
        f"{counted} SQL statements",
        "< 50 ms, fixed statement count",
        median < 0.050,
    )
