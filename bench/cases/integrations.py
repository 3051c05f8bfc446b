"""9. Integration endpoints against their baselines, measured in the same run.

    .venv/bin/python -m bench --only integrations            # 3 rounds of 10 s per figure
    .venv/bin/python -m bench --only integrations --quick    # 3 rounds of 4 s

1. ``POST /oauth/introspect`` of ``sat serve`` vs a bare Starlette endpoint (target >= 60%).
2. ``/auth`` (nginx's header dialect) of ``sat serve`` vs a bare endpoint (target >= 60%).
3. nginx ``auth_request`` (the configuration of docs/integrations.md) to SAT's ``/auth``
   vs the same nginx to the bare endpoint, both in front of the same upstream (>= 60%).

Needs wrk and nginx (``apt-get install wrk nginx``). Its load scripts are
``bench/lua/introspect.lua``, ``auth.lua`` and ``proxied.lua``; the bare app is
``bench/bare_integrations.py``. Medians of three rounds are reported.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import statistics
from pathlib import Path
from typing import Any

from tortoise import Tortoise

from bench.harness import LUA, ROOT, Script, wrk
from bench.harness import report as report_row
from server.database import prepare, tortoise_config
from tests.launcher import UVICORN, Launcher, Server, free_ports, ready
from tokens import lifecycle, service_clients
from tokens.grants import GrantRequest
from tokens.ip_ranges import IpRangeRequest

DOCS = ROOT / "docs" / "integrations.md"
API_PATH = "/api/v2/payroll/payslips/2026"


def requests_per_second(url: str, script: Script, *, seconds: int) -> float:
    outcome = wrk(url, script, seconds=seconds)
    if outcome.get("bad"):
        raise RuntimeError(f"{url}: {outcome['bad']} answers were not grants:\n{outcome['raw']}")
    rps: float = outcome["rps"]
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


def nginx(launcher: Launcher, conf: Path, port: int) -> Server:
    """nginx with ``conf``, ready once a request without a token is refused through it."""
    directory = launcher.directory
    command = [
        "nginx", "-p", str(directory), "-c", str(conf),
        "-g", f"daemon off; pid {directory / f'nginx-{port}.pid'}; error_log stderr;",
    ]  # fmt: skip
    server = launcher.server(launcher.spawn_command(f"nginx-{port}", command, {}), port)
    ready(server, path=API_PATH, status=401)
    return server


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
    bare_port, via_sat_port, via_bare_port = free_ports(3)
    sat_env = {
        "SAT_ROUTES_FILE": str(directory / "routes.toml"),
        "SAT_TRUSTED_PROXIES": "127.0.0.1",
    }
    bare_args = [
        UVICORN, "bench.bare_integrations:app", "--port", str(bare_port), "--no-access-log",
        "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    bare_env = {"BENCH_TOKENS": str(directory / "tokens.json"), "BENCH_BASIC": basic}
    with Launcher(directory) as launcher:
        sat = launcher.start("sat", url, sat_env)
        bare = launcher.server(
            launcher.spawn_command("bare", bare_args, bare_env, cwd=ROOT), bare_port
        )
        ready(bare, path=API_PATH)
        via_sat = nginx(
            launcher,
            nginx_conf(directory, port=via_sat_port, auth=sat.port, upstream=bare_port),
            via_sat_port,
        )
        via_bare = nginx(
            launcher,
            nginx_conf(directory, port=via_bare_port, auth=bare_port, upstream=bare_port),
            via_bare_port,
        )
        cases = {
            "1 /oauth/introspect": (sat, bare, "/oauth/introspect", "introspect.lua"),
            "2 /auth": (sat, bare, "/auth", "auth.lua"),
            "3 nginx auth_request": (via_sat, via_bare, API_PATH, "proxied.lua"),
        }
        for case, (ours, baseline, path, script_name) in cases.items():
            script = Script(LUA / script_name, env)
            sat_url, bare_url = f"{ours.url}{path}", f"{baseline.url}{path}"
            requests_per_second(sat_url, script, seconds=2)  # warm up
            requests_per_second(bare_url, script, seconds=2)
            sat_rps, bare_rps = [], []
            for _ in range(3):
                sat_rps.append(requests_per_second(sat_url, script, seconds=seconds))
                bare_rps.append(requests_per_second(bare_url, script, seconds=seconds))
            report(case, statistics.median(sat_rps), statistics.median(bare_rps))
