"""6. Sustained load: 1,000 validations a second on a fixed schedule, valid and not."""

from __future__ import annotations

from pathlib import Path

from bench.fixtures import fresh_database, issue, validate_body
from bench.harness import post_script, report, rss_mb, wrk
from bench.seed import seed
from tests.launcher import Launcher
from tokens import secrets


async def run(directory: Path, *, quick: bool) -> None:
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
            unknown = secrets.generate(secrets.SecretKind.ACCESS_TOKEN)
            bodies.append(validate_body(unknown, "10.1.2.3", "payroll", None, "READ"))
    # Enough connections that one is always free when the schedule says send.
    connections_count = 32
    script = post_script(directory, "sustained", bodies, secret, rate=1_000)
    seconds = 20 if quick else 120
    with Launcher(directory) as launcher:
        server = launcher.start("sustained", url)
        outcome = wrk(
            f"{server.url}/graphql", script, seconds=seconds, connections=connections_count
        )
        memory = rss_mb(server.process.pid)
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
