"""3. Uncached validation with many tokens stored: 1,000 against 1,000,000 (100,000 quick)."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from tortoise import connections

from bench.fixtures import drop_postgres, fresh_database, with_orm
from bench.harness import report
from bench.seed import seed
from tokens import secrets, state_store, validation
from tokens.caches import CACHES, DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_SECONDS
from tokens.grants import Access


@dataclass
class Uncached:
    first_use: list[float]  # seconds: reads, then the pair's first use is written
    used: list[float]  # seconds: a token used before, not cached here (reads only)
    plan: str = ""


async def uncached_validation(url: str, tokens: list[tuple[int, str]], into: Uncached) -> None:
    """Time validating each token twice with the cache off: at its first use, then used."""

    async def work() -> None:
        # No token state is kept; the catalog's targets and callers are cached as in service.
        CACHES.configure(max_entries=0, max_age_seconds=DEFAULT_CACHE_SECONDS)
        for times in (into.first_use, into.used):
            for _, token in tokens:
                started = time.perf_counter()
                result = await validation.validate(
                    token=token, ip="10.1.2.3", area="payroll", folder=None, access=Access.READ
                )
                times.append(time.perf_counter() - started)
                assert result.valid, result
        into.plan = await query_plans(tokens[0])
        CACHES.configure(
            max_entries=DEFAULT_CACHE_ENTRIES,
            max_age_seconds=DEFAULT_CACHE_SECONDS,
        )

    await with_orm(url, work)


async def query_plans(sampled: tuple[int, str]) -> str:
    """The plan of validation's statement (``tokens.state_store``), as the database tells."""
    _, token = sampled
    connection = connections.get("default")
    dialect = connection.capabilities.dialect
    statement = state_store._STATEMENTS[dialect]["state"]
    if dialect == "sqlite":
        _, rows = await connection.execute_query(
            f"EXPLAIN QUERY PLAN {statement}", [secrets.digest(token)]
        )
        steps = [str(dict(r)["detail"]) for r in rows]
    else:
        _, rows = await connection.execute_query(f"EXPLAIN {statement}", [secrets.digest(token)])
        steps = [str(next(iter(dict(r).values()))).strip() for r in rows]
        steps = [step.removeprefix("->  ").split("  (cost")[0] for step in steps if "Scan" in step]
    return "; ".join(steps)


async def run(directory: Path, *, quick: bool, kind: str) -> None:
    print(f"3. uncached validation with many tokens stored ({kind})", flush=True)
    large = 100_000 if quick else 1_000_000
    urls, samples, names = {}, {}, {}
    figures = {count: Uncached([], []) for count in (1_000, large)}
    try:
        for count in figures:
            names[count] = f"sat_bench_scale_{kind}_{count}_{os.getpid()}"
            urls[count] = await fresh_database(kind, directory, names[count])
            started = time.perf_counter()
            samples[count] = (await seed(urls[count], count, sample_size=1_000)).sample
            print(f"   seeded {count} tokens on {kind} in {time.perf_counter() - started:.0f} s")
        # Both databases in turns of 100 tokens, so that a noisy moment hits both alike.
        for turn in range(0, 1_000, 100):
            for count, figure in figures.items():
                await uncached_validation(urls[count], samples[count][turn : turn + 100], figure)
    finally:
        if kind == "postgres":
            for name in names.values():
                await drop_postgres(name)
    small, big = figures[1_000], figures[large]
    used = (statistics.median(small.used), statistics.median(big.used))
    first = (statistics.median(small.first_use), statistics.median(big.first_use))
    # The same ratio turn by turn: how far one run's noise moves it.
    turns = sorted(
        statistics.median(big.used[i : i + 100]) / statistics.median(small.used[i : i + 100])
        for i in range(0, len(small.used), 100)
    )
    report(
        f"3 scale ({kind})",
        f"uncached validation of a token used before: {used[0] * 1e3:.2f} ms with 1,000 "
        f"tokens, {used[1] * 1e3:.2f} ms with {large:,}: {used[1] / used[0]:.2f}x (turns of "
        f"100: {turns[0]:.2f}x to {turns[-1]:.2f}x); at a pair's first use, which also writes "
        f"it: {first[0] * 1e3:.2f} ms, {first[1] * 1e3:.2f} ms: {first[1] / first[0]:.2f}x; "
        f"plans: {big.plan}",
        "<= 1.2x",
        used[1] / used[0] <= 1.2 and first[1] / first[0] <= 1.2,
    )
