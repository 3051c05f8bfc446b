"""SAT benchmarks: every figure of the performance targets, side by side in one run.

    .venv/bin/python bench/run.py            # the full run (about 20 minutes)
    .venv/bin/python bench/run.py --quick    # smaller sizes and shorter loads (about 5 minutes)
    .venv/bin/python bench/run.py --only inprocess,http   # cases: see CASES below

Needs wrk (`apt-get install wrk`) and, for the PostgreSQL figures, a server at
BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432); databases it
creates are named sat_bench_* and dropped afterwards. Figures are ratios to a
baseline measured in the same run wherever one exists: the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jwt  # noqa: E402
from tortoise import Tortoise, connections  # noqa: E402

from bench.seed import seed  # noqa: E402
from server.database import prepare, tortoise_config  # noqa: E402
from tokens import lifecycle, service_clients, validation  # noqa: E402
from tokens.grants import Access, GrantRequest  # noqa: E402
from tokens.lifecycle import IpRangeRequest  # noqa: E402
from tokens.paging import PageRequest  # noqa: E402

POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
VALIDATE = (ROOT / "graphql" / "operations" / "ValidateToken.graphql").read_text()
GRANTS = [
    GrantRequest(area="payroll", folder=None, read=True, write=False, delete=False),
    GrantRequest(area="employees", folder="contracts", read=True, write=True, delete=False),
]
RANGES = [IpRangeRequest(start="10.0.0.0/8", label="office"), IpRangeRequest(start="192.0.2.7")]


@dataclass
class Row:
    case: str
    figure: str
    target: str
    met: bool | None


ROWS: list[Row] = []


def report(case: str, figure: str, target: str, met: bool | None) -> None:
    ROWS.append(Row(case, figure, target, met))
    mark = {True: "met", False: "NOT MET", None: "-"}[met]
    print(f"  -> {case}: {figure}  (target {target}: {mark})", flush=True)
    # The parent process collects each case process's rows from these lines.
    print("row:" + json.dumps([case, figure, target, met]), flush=True)


# --- helpers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def process(
    args: list[str], *, env: dict[str, str], port: int, cwd: Path, logs: Path | None = None
) -> Iterator[int]:
    log_path = (logs or cwd) / f"server-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=cwd, stdout=log, stderr=log)
    try:
        try:
            wait_for(port)
        except RuntimeError as error:
            raise RuntimeError(f"{error}; the server wrote:\n{log_path.read_text()}") from None
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def sat_serve(database_url: str, port: int, cwd: Path, **settings: str) -> Any:
    env = {"SAT_DATABASE_URL": database_url, "SAT_LOG_LEVEL": "WARNING", **settings}
    return process(
        [str(ROOT / ".venv" / "bin" / "sat"), "serve", "--port", str(port)],
        env=env,
        port=port,
        cwd=cwd,
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def with_orm(database_url: str, work: Callable[[], Awaitable[Any]]) -> Any:
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
        import asyncpg

        admin = await asyncpg.connect(
            POSTGRES.replace("postgres://", "postgresql://") + "/postgres"
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        url = f"{POSTGRES}/{name}"
    await prepare(url)
    return url


async def drop_postgres(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(POSTGRES.replace("postgres://", "postgresql://") + "/postgres")
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def wrk(url: str, script: Path, *, seconds: int, connections: int = 16) -> dict[str, Any]:
    finished = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{finished.stdout}\n{finished.stderr}")
    out = finished.stdout
    result: dict[str, Any] = {"raw": out}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif line.strip().startswith(("50%", "75%", "90%", "99%")):
            result[parts[0]] = _ms(parts[1])
        elif line.startswith("  Non-2xx"):
            result["non2xx"] = int(parts[-1])
        elif line.startswith("  Socket errors"):
            result["socket_errors"] = line.strip()
        elif line.startswith("bench:"):
            result.update(json.loads(line.removeprefix("bench:")))
    return result


def _ms(text: str) -> float:
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# A fixed schedule for wrk: request n goes out at start + n / rate, on whichever connection
# is free, however long earlier answers took (LuaJIT's ffi reads the monotonic clock).
# Per-connection pauses (wrk's usual delay()) would slow the rate as latency grows.
PACING = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local interval = 1000 / RATE
local next_slot = nil
function delay()
  local now = now_ms()
  next_slot = next_slot or now
  local slot = next_slot
  next_slot = next_slot + interval
  if slot <= now then return 0 end
  return math.ceil(slot - now)
end
"""


# What every wrk script here shares: a POST of JSON as the service client, and a count of
# bad answers that each script's response() keeps and done() prints for the bench to read.
LUA_COMMON = """
bad = 0  -- a global: done() reads it from each thread with thread:get
local threads = {}
function setup(thread) table.insert(threads, thread) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer SECRET"
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format('bench:{"bad": %d, "requests": %d}\\n', total, summary.requests))
end
"""


def lua_post(path: Path, bodies: list[str], secret: str, *, rate: float | None = None) -> Path:
    """A wrk script that posts ``bodies`` round-robin and counts answers that are not data.

    With ``rate``, requests follow a fixed schedule of ``rate`` per second in all.
    """
    quoted = ",\n".join(json.dumps(b) for b in bodies)
    delay = PACING.replace("RATE", str(rate)) if rate else ""
    path.write_text(
        LUA_COMMON.replace("SECRET", secret)
        + f"""
local bodies = {{
{quoted}
}}
local i = 0
function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
function response(status, headers, body)
  local data = string.find(body, '"data"', 1, true)
  if status ~= 200 or not data or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
  end
end
{delay}
"""
    )
    return path


def validate_body(token: str, ip: str, area: str, folder: str | None, access: str) -> str:
    variables = {"token": token, "ip": ip, "area": area, "folder": folder, "access": access}
    return json.dumps({"query": VALIDATE, "variables": variables})


async def issue(database_url: str, name: str) -> tuple[str, str, Any]:
    """A token with grants and ranges, and a service client: (access token, secret, expiry)."""

    async def work() -> tuple[str, str, Any]:
        issued = await lifecycle.create(
            actor="bench", name=name, grants=GRANTS, ip_ranges=RANGES, expires_in_days=365
        )
        client = await service_clients.create(name=f"{name} gateway", actor="bench")
        return issued.access_token, client.secret, issued.expires_at

    result: tuple[str, str, Any] = await with_orm(database_url, work)
    return result


# --- 1. in-process validation against jwt.decode --------------------------------------------


async def case_inprocess(directory: Path, quick: bool) -> None:
    print("1. in-process validation of a cached token vs jwt.decode (HS256)", flush=True)
    url = await fresh_database("sqlite", directory, "inprocess")
    access_token, _, expires_at = await issue(url, "in-process")
    key = "k" * 32
    claims = {
        "sub": "1",
        "name": "in-process",
        "exp": int(expires_at.timestamp()),
        "grants": [["payroll", None, "r"], ["employees", "contracts", "rw"]],
        "ips": [["10.0.0.0", "10.255.255.255"], ["192.0.2.7", "192.0.2.7"]],
    }
    signed = jwt.encode(claims, key, algorithm="HS256")
    calls = 5_000 if quick else 20_000

    async def work() -> tuple[float, float]:
        arguments = {
            "token": access_token,
            "ip": "10.1.2.3",
            "area": "employees",
            "folder": "contracts",
            "access": Access.WRITE,
        }
        assert (await validation.validate(**arguments)).valid  # type: ignore[arg-type]
        sat_times, jwt_times = [], []
        for _ in range(7):
            started = time.perf_counter()
            for _ in range(calls):
                await validation.validate(**arguments)  # type: ignore[arg-type]
            sat_times.append((time.perf_counter() - started) / calls)
            started = time.perf_counter()
            for _ in range(calls):
                jwt.decode(signed, key, algorithms=["HS256"])
            jwt_times.append((time.perf_counter() - started) / calls)
        return statistics.median(sat_times), statistics.median(jwt_times)

    sat_s, jwt_s = await with_orm(url, work)
    ratio = sat_s / jwt_s
    report(
        "1 in-process validation",
        f"{sat_s * 1e6:.1f} us vs jwt.decode {jwt_s * 1e6:.1f} us: ratio {ratio:.2f}",
        "ratio <= 1.0 (aim 0.3)",
        ratio <= 1.0,
    )


# --- 2. GraphQL over HTTP against a bare Starlette endpoint ---------------------------------


async def case_http(directory: Path, quick: bool) -> None:
    print("2. validateToken over HTTP: sat serve vs a bare Starlette endpoint", flush=True)
    url = await fresh_database("sqlite", directory, "http")
    access_token, secret, expires_at = await issue(url, "http")
    facts = {"id": "1", "name": "http", "expiresAt": expires_at.isoformat()}
    tokens_file = directory / "bare-tokens.json"
    tokens_file.write_text(json.dumps([{"token": access_token, "facts": facts}]))
    body = validate_body(access_token, "10.1.2.3", "payroll", "payslips", "READ")
    fast = lua_post(directory / "fast.lua", [body], secret)
    general_doc = (
        VALIDATE.replace(
            "sharedAccessToken { id name expiresAt }", "sharedAccessToken { ...Facts }"
        )
        + "\nfragment Facts on ValidatedToken { id name expiresAt }\n"
    )
    general_body = json.dumps({"query": general_doc, "variables": json.loads(body)["variables"]})
    general = lua_post(directory / "general.lua", [general_body], secret)
    seconds = 5 if quick else 10
    sat_port, quiet_port, bare_port = free_port(), free_port(), free_port()
    uvicorn = str(ROOT / ".venv" / "bin" / "uvicorn")
    bare_args = [
        uvicorn, "bare_app:app", "--port", str(bare_port), "--no-access-log",
        "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    results: dict[str, list[float]] = {"sat": [], "quiet": [], "bare": [], "general": []}
    with (
        # As configured by default: an access log line per request, at INFO.
        sat_serve(url, sat_port, directory, SAT_LOG_LEVEL="INFO"),
        sat_serve(url, quiet_port, directory, SAT_ACCESS_LOG="false"),
        process(
            bare_args,
            env={"BENCH_TOKENS": str(tokens_file)},
            port=bare_port,
            cwd=ROOT / "bench",
            logs=directory,
        ),
    ):
        for port, script in ((sat_port, fast), (bare_port, fast), (sat_port, general)):
            wrk(f"http://127.0.0.1:{port}/graphql", script, seconds=2)  # warm up
        for _ in range(3):
            for name, port, script in (
                ("sat", sat_port, fast),
                ("bare", bare_port, fast),
                ("quiet", quiet_port, fast),
                ("general", sat_port, general),
            ):
                outcome = wrk(f"http://127.0.0.1:{port}/graphql", script, seconds=seconds)
                if outcome.get("bad"):
                    raise RuntimeError(f"{name}: {outcome['bad']} answers were not data")
                results[name].append(outcome["rps"])
    rps = {name: statistics.median(values) for name, values in results.items()}
    ratio = rps["sat"] / rps["bare"]
    report(
        "2 GraphQL over HTTP",
        f"sat serve {rps['sat']:.0f} req/s vs bare Starlette {rps['bare']:.0f} req/s: "
        f"{ratio:.0%} (access log off: {rps['quiet'] / rps['bare']:.0%}; "
        f"Strawberry's general path: {rps['general'] / rps['bare']:.0%})",
        ">= 50%",
        ratio >= 0.5,
    )


# --- 3. scale in tokens, 4. overview, 5. memory ---------------------------------------------


@dataclass
class Uncached:
    first_use: list[float]  # seconds: reads, then the pair's first use is written
    used: list[float]  # seconds: a token used before, not cached here (reads only)
    plan: str = ""


async def uncached_validation(url: str, tokens: list[tuple[int, str]], into: Uncached) -> None:
    """Time validating each token twice with the cache off: at its first use, then used."""

    async def work() -> None:
        validation.configure_cache(max_entries=0, max_age_seconds=0)
        for times in (into.first_use, into.used):
            for _, token in tokens:
                started = time.perf_counter()
                result = await validation.validate(
                    token=token, ip="10.1.2.3", area="payroll", folder=None, access=Access.READ
                )
                times.append(time.perf_counter() - started)
                assert result.valid, result
        into.plan = await query_plans(tokens[0])
        validation.configure_cache(
            max_entries=validation.DEFAULT_CACHE_ENTRIES,
            max_age_seconds=validation.DEFAULT_CACHE_SECONDS,
        )

    await with_orm(url, work)


async def query_plans(sampled: tuple[int, str]) -> str:
    """The plan of validation's statement (``tokens.state_store``), as the database tells."""
    from tokens import secrets, state_store

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


async def case_scale_sqlite(directory: Path, quick: bool) -> None:
    await _scale(directory, quick, "sqlite")


async def case_scale_postgres(directory: Path, quick: bool) -> None:
    await _scale(directory, quick, "postgres")


async def _scale(directory: Path, quick: bool, kind: str) -> None:
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


async def case_overview(directory: Path, quick: bool) -> None:
    print("4. overview: first page of 50 of 100,000 tokens with grants and ranges", flush=True)
    count = 20_000 if quick else 100_000
    url = await fresh_database("sqlite", directory, "overview")
    await seed(url, count, sample_size=10)

    async def work() -> tuple[float, int]:
        page = PageRequest(first=50, before_id=None)
        await lifecycle.overview(page=page)  # warm up; opens the connection
        sqlite = connections.get("default")._connection  # the aiosqlite connection
        statements: list[str] = []
        await sqlite.set_trace_callback(statements.append)
        await lifecycle.overview(page=page)
        counted = len(statements)
        await sqlite.set_trace_callback(None)
        times = []
        for _ in range(30):
            started = time.perf_counter()
            result = await lifecycle.overview(page=page)
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


MEMORY_LUA = """
-- Each request validates the next token of the file once. After the last answer the
-- thread stops and leaves a mark; wrk itself waits for its -d duration or a SIGINT.
local tokens = {}
for line in io.lines("TOKENS") do tokens[#tokens + 1] = line end
local head = [==[HEAD]==]
local tail = [==[TAIL]==]
local sent, answered = 0, 0
function request()
  sent = sent % #tokens + 1
  return wrk.format(nil, nil, nil, head .. tokens[sent] .. tail)
end
function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 or not string.find(body, '"valid":true', 1, true) then bad = bad + 1 end
  if answered == #tokens then
    local mark = io.open("MARK", "w")
    mark:write("done")
    mark:close()
    wrk.thread:stop()
  end
end
"""


async def case_memory(directory: Path, quick: bool) -> None:
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
    script = directory / "memory.lua"
    mark = directory / "memory.done"
    script.write_text(
        (LUA_COMMON + MEMORY_LUA)
        .replace("TOKENS", str(tokens_file))
        .replace("MARK", str(mark))
        .replace("HEAD", head)
        .replace("TAIL", tail)
        .replace("SECRET", secret)
    )
    port = free_port()
    samples: list[float] = []
    started = time.perf_counter()
    # Seeded tokens count as used a moment ago and the run takes minutes, not an hour:
    # validating them reads and never writes.
    with sat_serve(url, port, directory, SAT_LAST_USED_INTERVAL_SECONDS="3600") as pid:
        idle = rss_mb(pid)
        load = subprocess.Popen(
            ["wrk", "-t1", "-c16", "-d3600s", "-s", str(script),
             f"http://127.0.0.1:{port}/graphql"],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        while not mark.exists() and load.poll() is None:
            samples.append(rss_mb(pid))
            time.sleep(2)
        load.send_signal(signal.SIGINT)  # wrk prints its summary and the script's done()
        output = load.communicate()[0]
        final = rss_mb(pid)
    outcome = json.loads(
        next(line for line in output.splitlines() if line.startswith("bench:"))[6:]
    )
    if outcome["bad"]:
        raise RuntimeError(f"{outcome['bad']} of the memory case's answers were not valid")
    peak = max([*samples, final])
    report(
        "5 memory",
        f"server resident {final:.0f} MB after validating {outcome['requests']:,} distinct "
        f"tokens over HTTP (peak {peak:.0f} MB, {idle:.0f} MB at start; cache bound "
        f"SAT_CACHE_ENTRIES={validation.DEFAULT_CACHE_ENTRIES:,}; "
        f"{time.perf_counter() - started:.0f} s)",
        "< 250 MB",
        peak < 250,
    )


# --- 6. sustained load -----------------------------------------------------------------------


async def case_sustained(directory: Path, quick: bool) -> None:
    print(
        "6. sustained load: 1,000 validations/s, a mix of valid, denied and malformed", flush=True
    )
    url = await fresh_database("sqlite", directory, "sustained")
    seeded = await seed(url, 10_000, sample_size=200)
    _, secret, _ = await issue(url, "sustained")
    bodies = []
    for index, (_, token) in enumerate(seeded.sample):
        bodies.append(validate_body(token, "10.1.2.3", "payroll", "payslips", "READ"))
        if index % 3 == 0:
            bodies.append(validate_body(token, "10.1.2.3", "payroll", None, "DELETE"))
        if index % 5 == 0:
            bodies.append(validate_body(token, "203.0.113.9", "payroll", None, "READ"))
        if index % 4 == 0:
            bodies.append(validate_body(token[:-1] + "x", "10.1.2.3", "payroll", None, "READ"))
        if index % 6 == 0:
            from tokens import secrets

            unknown = secrets.generate(secrets.SecretKind.ACCESS_TOKEN)
            bodies.append(validate_body(unknown, "10.1.2.3", "payroll", None, "READ"))
    # Enough connections that one is always free when the schedule says send.
    connections_count = 32
    script = lua_post(directory / "sustained.lua", bodies, secret, rate=1_000)
    seconds = 20 if quick else 120
    port = free_port()
    with sat_serve(url, port, directory) as pid:
        outcome = wrk(
            f"http://127.0.0.1:{port}/graphql",
            script,
            seconds=seconds,
            connections=connections_count,
        )
        memory = rss_mb(pid)
    errors = outcome.get("bad", 0) + outcome.get("non2xx", 0)
    socket_errors = outcome.get("socket_errors")
    met = outcome["99%"] < 25 and errors == 0 and socket_errors is None
    report(
        "6 sustained load",
        f"{outcome['rps']:.0f} req/s for {seconds} s, p50 {outcome['50%']:.1f} ms, "
        f"p99 {outcome['99%']:.1f} ms, {errors} errors, {socket_errors or 'no socket errors'}; "
        f"server RSS {memory:.0f} MB",
        "~1,000 req/s, p99 < 25 ms, no errors",
        met,
    )


# --- 7. revocation propagation between two instances ---------------------------------------


READ_PAYROLL = {"area": "payroll", "read": True, "write": False, "delete": False}


async def case_propagation(directory: Path, quick: bool) -> None:
    print("7. revocation on instance A seen by instance B (PostgreSQL, LISTEN/NOTIFY)", flush=True)
    import httpx

    from tokens import admins

    name = f"sat_bench_propagation_{os.getpid()}"
    url = await fresh_database("postgres", directory, name)
    trials = 20 if quick else 100
    try:
        password = "bench password 123"

        async def setup() -> str:
            await admins.create_admin(username="bench", password=password)
            return (await service_clients.create(name="gateway", actor="bench")).secret

        secret = await with_orm(url, setup)
        port_a, port_b = free_port(), free_port()
        # Cache entries live 30 s here: only a change notice can explain a fast turn.
        with (
            sat_serve(url, port_a, directory, SAT_CACHE_SECONDS="30"),
            sat_serve(url, port_b, directory, SAT_CACHE_SECONDS="30"),
            httpx.Client(timeout=5) as client,
        ):
            a, b = f"http://127.0.0.1:{port_a}/graphql", f"http://127.0.0.1:{port_b}/graphql"
            login = (ROOT / "graphql" / "operations" / "Login.graphql").read_text()
            create = (
                ROOT / "graphql" / "operations" / "CreateSharedAccessToken.graphql"
            ).read_text()
            revoke = (
                ROOT / "graphql" / "operations" / "RevokeSharedAccessToken.graphql"
            ).read_text()
            session = client.post(
                a, json={"query": login, "variables": {"username": "bench", "password": password}}
            ).json()["data"]["login"]["token"]
            admin = {"authorization": f"Bearer {session}"}
            service = {"authorization": f"Bearer {secret}"}
            delays = []
            for trial in range(trials):
                issued = client.post(
                    a,
                    headers=admin,
                    json={"query": create, "variables": {"input": {
                        "name": f"propagation {trial}", "grants": [READ_PAYROLL],
                    }}},
                ).json()["data"]["createSharedAccessToken"]  # fmt: skip
                body = json.loads(
                    validate_body(issued["accessToken"], "10.1.2.3", "payroll", None, "READ")
                )
                assert client.post(b, headers=service, json=body).json()["data"]["validateToken"][
                    "valid"
                ]
                token_id = issued["sharedAccessToken"]["id"]
                client.post(a, headers=admin, json={"query": revoke, "variables": {"id": token_id}})
                revoked_at = time.perf_counter()
                while True:
                    answer = client.post(b, headers=service, json=body).json()
                    if answer["data"]["validateToken"]["reason"] == "REVOKED":
                        delays.append(time.perf_counter() - revoked_at)
                        break
                    if time.perf_counter() - revoked_at > 10:
                        raise RuntimeError("B never saw the revocation")
    finally:
        await drop_postgres(name)
    median, worst = statistics.median(delays), max(delays)
    report(
        "7 revocation propagation",
        f"B denies {median * 1e3:.1f} ms median, {worst * 1e3:.1f} ms worst after A's revoke "
        f"returned ({trials} trials; cache entries live 30 s, so the notice did it)",
        "< 100 ms",
        worst < 0.1,
    )


CASES = {
    "inprocess": case_inprocess,
    "http": case_http,
    "scale-sqlite": case_scale_sqlite,
    "scale-postgres": case_scale_postgres,
    "overview": case_overview,
    "memory": case_memory,
    "sustained": case_sustained,
    "propagation": case_propagation,
}


def run_case(name: str, *, quick: bool) -> None:
    """Run one case in a process of its own: Tortoise keeps per-dialect state in a process."""
    command = [sys.executable, __file__, "--case", name, *(["--quick"] if quick else [])]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("row:"):
                ROWS.append(Row(*json.loads(line.removeprefix("row:"))))
            else:
                print(line, end="", flush=True)
    if child.returncode != 0:
        ROWS.append(Row(name, f"the case failed (exit {child.returncode}); see above", "-", False))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        with tempfile.TemporaryDirectory(prefix="sat-bench-") as tmp:
            await CASES[args.case](Path(tmp), args.quick)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("bench needs wrk: apt-get install wrk")
    print(
        f"SAT benchmarks on {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (quick)' if args.quick else ''}",
        flush=True,
    )
    for name in args.only.split(","):
        run_case(name, quick=args.quick)
    print()
    print(f"| case | figure | target | met |  ({os.cpu_count()} cores)")
    print("|---|---|---|---|")
    for row in ROWS:
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        print(f"| {row.case} | {row.figure} | {row.target} | {met} |")


if __name__ == "__main__":
    asyncio.run(main())
