"""5. Server memory after validating many distinct tokens over HTTP (bench/lua/memory.lua)."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from bench.fixtures import fresh_database, issue, validate_body
from bench.harness import LUA, SCRIPT_PREFIX, Script, report, rss_mb, script_counts
from bench.seed import seed
from tests.launcher import Launcher
from tokens.caches import DEFAULT_CACHE_ENTRIES


async def run(directory: Path, *, quick: bool) -> None:
    print("5. server memory after validating many distinct tokens", flush=True)
    count = 100_000 if quick else 1_000_000
    url = await fresh_database("sqlite", directory, "memory")
    seeded = await seed(url, count, sample_size=count, used=True)
    _, secret, _ = await issue(url, "memory")
    tokens_file = directory / "memory-tokens.txt"
    tokens_file.write_text("\n".join(token for _, token in seeded.sample))
    del seeded
    marker = "TOKEN_GOES_HERE"
    head, tail = validate_body(marker, "10.1.2.3", "payroll", None, "READ").split(marker)
    mark = directory / "memory.done"
    script = Script(
        LUA / "memory.lua",
        {
            "BENCH_SECRET": secret,
            "BENCH_TOKENS": str(tokens_file),
            "BENCH_HEAD": head,
            "BENCH_TAIL": tail,
            "BENCH_MARK": str(mark),
        },
    )
    samples: list[float] = []
    started = time.perf_counter()
    # Seeded tokens count as used a moment ago and the run takes minutes, not an hour:
    # validating them reads and never writes.
    with Launcher(directory) as launcher:
        server = launcher.start("memory", url, {"SAT_LAST_USED_INTERVAL_SECONDS": "3600"})
        pid = server.process.pid
        idle = rss_mb(pid)
        load = subprocess.Popen(
            script.command(f"{server.url}/graphql", seconds=3600, connections=16, latency=False),
            stdout=subprocess.PIPE,
            text=True,
            env=script.environment(),
        )
        while not mark.exists() and load.poll() is None:
            samples.append(rss_mb(pid))
            time.sleep(2)
        load.send_signal(signal.SIGINT)  # wrk prints its summary and the script's done()
        output = load.communicate()[0]
        final = rss_mb(pid)
    outcome = script_counts(
        next(line for line in output.splitlines() if line.startswith(SCRIPT_PREFIX))
    )
    if outcome["bad"]:
        raise RuntimeError(f"{outcome['bad']} of the memory case's answers were not valid")
    peak = max([*samples, final])
    report(
        "5 memory",
        f"server resident {final:.0f} MB after validating {outcome['requests']:,} distinct "
        f"tokens over HTTP (peak {peak:.0f} MB, {idle:.0f} MB at start; cache bound "
        f"SAT_CACHE_ENTRIES={DEFAULT_CACHE_ENTRIES:,}; "
        f"{time.perf_counter() - started:.0f} s)",
        "< 250 MB",
        peak < 250,
    )
