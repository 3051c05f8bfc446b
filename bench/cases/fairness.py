"""Fairness under saturation: 16 connections validating one cached token flat out.

Every connection sends its next request as soon as its answer arrives, so the
server is never idle. A fair server answers each in about the same time: the
slowest answers stay within a few times the median, and none waits 100 ms while
the others are served.
"""

from __future__ import annotations

from pathlib import Path

from bench.fixtures import fresh_database, issue, validate_body
from bench.harness import post_script, report, wrk
from tests.launcher import Launcher

CONNECTIONS = 16


async def run(directory: Path, *, quick: bool) -> None:
    print(f"12. fairness: {CONNECTIONS} connections validating a cached token flat out", flush=True)
    url = await fresh_database("sqlite", directory, "fairness")
    access_token, secret, _ = await issue(url, "fairness")
    body = validate_body(access_token, "10.1.2.3", "payroll", "payslips", "READ")
    script = post_script(directory, "fairness", [body], secret)
    seconds = 10 if quick else 30
    runs = []
    with Launcher(directory) as launcher:
        server = launcher.start("fairness", url, {"SAT_LOG_LEVEL": "INFO"})
        wrk(f"{server.url}/graphql", script, seconds=2)  # warm up
        for _ in range(3):
            outcome = wrk(f"{server.url}/graphql", script, seconds=seconds, connections=CONNECTIONS)
            if outcome.get("bad") or outcome.get("non2xx"):
                raise RuntimeError(f"{outcome.get('bad')} answers were not data")
            runs.append(outcome)
    worst = max(runs, key=lambda outcome: outcome["max"])
    met = all(o["99%"] <= 5 * o["50%"] and o["max"] <= 100 for o in runs)
    report(
        "12 fairness under saturation",
        "; ".join(
            f"p50 {o['50%']:.1f} ms, p99 {o['99%']:.1f} ms, slowest {o['max']:.0f} ms" for o in runs
        )
        + f" ({worst['rps']:.0f} req/s, {seconds} s each)",
        "p99 <= 5x p50, none > 100 ms",
        met,
    )
