"""2. ``validateToken`` over HTTP: ``sat serve`` against a bare Starlette endpoint (bare_app.py).

wrk posts the same body to both; ``sat serve`` runs as configured by default (an
access log line per request), with the access log off, and on Strawberry's
general path (a document that the compiled fast path does not take).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from bench.fixtures import VALIDATE, fresh_database, issue, validate_body
from bench.harness import ROOT, post_script, report, wrk
from tests.launcher import UVICORN, Launcher, free_port, ready


async def run(directory: Path, *, quick: bool) -> None:
    print("2. validateToken over HTTP: sat serve vs a bare Starlette endpoint", flush=True)
    url = await fresh_database("sqlite", directory, "http")
    access_token, secret, expires_at = await issue(url, "http")
    facts = {"id": "1", "name": "http", "expiresAt": expires_at.isoformat()}
    tokens_file = directory / "bare-tokens.json"
    tokens_file.write_text(json.dumps([{"token": access_token, "facts": facts}]))
    body = validate_body(access_token, "10.1.2.3", "payroll", "payslips", "READ")
    fast = post_script(directory, "fast", [body], secret)
    general_doc = (
        VALIDATE.replace(
            "sharedAccessToken { id name expiresAt }", "sharedAccessToken { ...Facts }"
        )
        + "\nfragment Facts on ValidatedToken { id name expiresAt }\n"
    )
    general_body = json.dumps({"query": general_doc, "variables": json.loads(body)["variables"]})
    general = post_script(directory, "general", [general_body], secret)
    seconds = 5 if quick else 10
    bare_port = free_port()
    bare_args = [
        UVICORN, "bench.bare_app:app", "--port", str(bare_port), "--no-access-log",
        "--no-proxy-headers", "--no-server-header", "--log-level", "warning",
    ]  # fmt: skip
    results: dict[str, list[float]] = {"sat": [], "quiet": [], "bare": [], "general": []}
    with Launcher(directory) as launcher:
        # As configured by default: an access log line per request, at INFO.
        sat = launcher.start("sat", url, {"SAT_LOG_LEVEL": "INFO"})
        quiet = launcher.start("quiet", url, {"SAT_ACCESS_LOG": "false"})
        bare = launcher.server(
            launcher.spawn_command("bare", bare_args, {"BENCH_TOKENS": str(tokens_file)}, cwd=ROOT),
            bare_port,
        )
        ready(bare)
        for server, script in ((sat, fast), (bare, fast), (sat, general)):
            wrk(f"{server.url}/graphql", script, seconds=2)  # warm up
        for _ in range(3):
            for name, server, script in (
                ("sat", sat, fast),
                ("bare", bare, fast),
                ("quiet", quiet, fast),
                ("general", sat, general),
            ):
                outcome = wrk(f"{server.url}/graphql", script, seconds=seconds)
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
