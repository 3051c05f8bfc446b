"""9. Integration endpoints against their baselines, measured in the same run.

    .venv/bin/python -m bench --only integrations            # 3 rounds of 10 s per figure
    .venv/bin/python -m bench --only integrations --quick    # 3 rounds of 4 s

1. ``POST /oauth/introspect`` of ``sat serve`` vs a bare Starlette endpoint (target >= 60%).
2. ``/auth`` (nginx's header dialect) of ``sat serve`` vs a bare endpoint (target >= 60%).
3. nginx ``auth_request`` (the configuration of docs/integrations.md) to SAT's ``/auth``
   vs the same nginx to the bare endpoint, both in front of the same upstream (>= 60%).

Needs wrk and nginx (``apt-get install wrk nginx``). Its load scripts and the bare app
live in ``bench/integrations_load/``. Medians of three rounds are reported.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from bench.harness import report as report_row
from server.database import prepare, tortoise_config
from tokens import lifecycle, service_clients
from tokens.grants import GrantRequest
from tokens.ip_ranges import IpRangeRequest

ROOT = Path(__file__).resolve().parents[2]
LOAD = ROOT / "bench" / "integrations_load"

DOCS = ROOT / "docs" / "integrations.md"
UVICORN = str(ROOT / ".venv" / "bin" / "uvicorn")
SAT = str(ROOT / ".venv" / "bin" / "sat")


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
def process(args: list[str], *, env: dict[str, str], port: int, cwd: Path) -> Iterator[None]:
    log_path = cwd / f"process-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=cwd, stdout=log, stderr=log)
        try:
            try:
                wait_for(port)
            except RuntimeError as error:
                raise RuntimeError(f"{error}:\n{log_path.read_text()}") from None
            yield
        finally:
            proc.send_signal(signal.SIGINT if args[0] != "nginx" else signal.SIGQUIT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def wrk(url: str, script: str, *, seconds: int, env: dict[str, str]) -> float:
    finished = subprocess.run(
        ["wrk", "-t1", "-c16", f"-d{seconds}s", "-s", str(LOAD / script), url],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{finished.stdout}\n{finished.stderr}")
    rps = bad = None
    for line in finished.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            rps = float(line.split()[1])
        elif line.startswith("bench:"):
            bad = json.loads(line.removeprefix("bench:"))["bad"]
    if rps is None or bad:
        raise RuntimeError(f"{url}: {bad} answers were not grants:\n{finished.stdout}")
    return rps


async def seed(url: str) -> tuple[str, str, dict[str, Any]]:
    """A token that may read payroll from 10.0.0.0/8, a service client, and the answer."""
    await prepare(url)
    await Tortoise.init(config=tortoise_config(url))
    try:
        issued = await lifecycle.create(
            actor="bench",
            name="bench",
            grants=[GrantRequest("payroll", None, read=True, write=False, delete=False)],
            ip_ranges=[IpRangeRequest(start="10.0.0.0/8")],
        )
        client = await service_clients.create(name="bench gateway", actor="bench")
    finally:
        await Tortoise.close_connections()
    basic = base64.b64encode(f"{client.client.id}:{client.secret}".encode()).decode()
    answer = {
        "active": True,
        "token_type": "Bearer",
        "sub": str(issued.token.id),
        "username": "bench",
        "exp": int(issued.expires_at.timestamp()),
        "iat": int(issued.token.created_at.timestamp()),
        "scope": "payroll:read",
    }
    return issued.access_token, basic, answer


def nginx_conf(directory: Path, *, port: int, auth: int, upstream: int) -> Path:
    """The documented nginx server block, pointed at ``auth`` and ``upstream``."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- tested: nginx -->\n```nginx\n(.*?)\n```", text, re.DOTALL)
    if match is None:
        raise RuntimeError("docs/integrations.md has no tested nginx example")
    server = (
        match[1]
        .replace("listen 80;", f"listen 127.0.0.1:{port};")
        .replace("127.0.0.1:8000", f"127.0.0.1:{auth}")
        .replace("127.0.0.1:8080", f"127.0.0.1:{upstream}")
    )
    temp = "".join(
        f"{kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = directory / f"nginx-{port}.conf"
    conf.write_text(
        "worker_processes 1;\nevents { worker_connections 1024; }\n"
        f"http {{ access_log off; {temp}\n{server}\n}}\n"
    )
    return conf


def nginx(directory: Path, conf: Path, port: int) -> Any:
    return process(
        ["nginx", "-p", str(directory), "-c", str(conf),
         "-g", f"daemon off; pid {directory / f'nginx-{port}.pid'}; error_log stderr;"],
        env={}, port=port, cwd=directory,
    )  # fmt: skip


def report(case: str, sat: float, bare: float) -> None:
    ratio = sat / bare
    report_row(
        f"9 {case}",
        f"SAT {sat:,.0f} req/s vs bare {bare:,.0f} req/s: {ratio:.0%}",
        ">= 60%",
        ratio >= 0.6,
    )


async def run(directory: Path, *, quick: bool) -> None:
    print("9. integrations: introspection, /auth, nginx auth_request vs bare endpoints", flush=True)
    if shutil.which("nginx") is None:
        report_row("9 integrations", "skipped: no nginx (apt-get install nginx)", "-", None)
        return
    seconds = 4 if quick else 10
    url = f"sqlite://{directory / 'bench.sqlite3'}"
    token, basic, answer = await seed(url)
    (directory / "tokens.json").write_text(json.dumps([{"token": token, "answer": answer}]))
    routes = re.search(
        r"<!-- tested: routes -->\n```toml\n(.*?)\n```",
        DOCS.read_text(encoding="utf-8"),
        re.DOTALL,
    )
    assert routes is not None
    (directory / "routes.toml").write_text(routes[1])
    env = {"BENCH_TOKEN": token, "BENCH_BASIC": basic}
    sat_port, bare_port, via_sat, via_bare = (free_port() for _ in range(4))
    sat_env = {
        "SAT_DATABASE_URL": url,
        "SAT_ROUTES_FILE": str(directory / "routes.toml"),
        "SAT_TRUSTED_PROXIES": "127.0.0.1",
        "SAT_LOG_LEVEL": "WARNING",
    }
    bare_args = [
        UVICORN, "bare:app", "--port", str(bare_port), "--no-access-log",
        "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    with (
        process([SAT, "serve", "--port", str(sat_port)], env=sat_env, port=sat_port,
                cwd=directory),
        process(bare_args, env={"BENCH_TOKENS": str(directory / "tokens.json"),
                                "BENCH_BASIC": basic, "PYTHONPATH": str(LOAD)},
                port=bare_port, cwd=directory),
        nginx(directory, nginx_conf(directory, port=via_sat, auth=sat_port,
                                    upstream=bare_port), via_sat),
        nginx(directory, nginx_conf(directory, port=via_bare, auth=bare_port,
                                    upstream=bare_port), via_bare),
    ):  # fmt: skip
        cases = {
            "1 /oauth/introspect": (
                f"http://127.0.0.1:{sat_port}/oauth/introspect",
                f"http://127.0.0.1:{bare_port}/oauth/introspect",
                "introspect.lua",
            ),
            "2 /auth": (
                f"http://127.0.0.1:{sat_port}/auth",
                f"http://127.0.0.1:{bare_port}/auth",
                "auth.lua",
            ),
            "3 nginx auth_request": (
                f"http://127.0.0.1:{via_sat}/api/v2/payroll/payslips/2026",
                f"http://127.0.0.1:{via_bare}/api/v2/payroll/payslips/2026",
                "proxied.lua",
            ),
        }
        for case, (sat_url, bare_url, script) in cases.items():
            wrk(sat_url, script, seconds=2, env=env)  # warm up
            wrk(bare_url, script, seconds=2, env=env)
            sat_rps, bare_rps = [], []
            for _ in range(3):
                sat_rps.append(wrk(sat_url, script, seconds=seconds, env=env))
                bare_rps.append(wrk(bare_url, script, seconds=seconds, env=env))
            report(case, statistics.median(sat_rps), statistics.median(bare_rps))
