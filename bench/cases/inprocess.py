"""1. In-process validation of a cached token, against ``jwt.decode`` (HS256) of the same facts.

And what counting it for ``/metrics`` adds to each validation (``server.metrics``: the
clock read twice and three integer additions), against the validation itself.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import jwt

from bench.fixtures import fresh_database, issue, with_orm
from bench.harness import report
from server import metrics
from tokens import validation
from tokens.grants import Access


async def run(directory: Path, *, quick: bool) -> None:
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

    async def work() -> tuple[float, float, float, float]:
        arguments = {
            "token": access_token,
            "ip": "10.1.2.3",
            "area": "employees",
            "folder": "contracts",
            "access": Access.WRITE,
        }
        assert (await validation.validate(**arguments)).valid  # type: ignore[arg-type]
        result = await validation.validate(**arguments)  # type: ignore[arg-type]
        sat_times, jwt_times, count_times = [], [], []
        for _ in range(7):
            started = time.perf_counter()
            for _ in range(calls):
                await validation.validate(**arguments)  # type: ignore[arg-type]
            sat_times.append((time.perf_counter() - started) / calls)
            started = time.perf_counter()
            for _ in range(calls):
                jwt.decode(signed, key, algorithms=["HS256"])
            jwt_times.append((time.perf_counter() - started) / calls)
            started = time.perf_counter()
            for _ in range(calls):
                began = time.perf_counter()  # as server/validating.py counts each answer
                metrics.count_validation(
                    result, path="graphql", seconds=time.perf_counter() - began
                )
            count_times.append((time.perf_counter() - started) / calls)
        noise = (max(sat_times) - min(sat_times)) / statistics.median(sat_times)
        return (
            statistics.median(sat_times),
            statistics.median(jwt_times),
            statistics.median(count_times),
            noise,
        )

    sat_s, jwt_s, count_s, noise = await with_orm(url, work)
    ratio = sat_s / jwt_s
    report(
        "1 in-process validation",
        f"{sat_s * 1e6:.1f} us vs jwt.decode {jwt_s * 1e6:.1f} us: ratio {ratio:.2f}",
        "ratio <= 1.0 (aim 0.3)",
        ratio <= 1.0,
    )
    share = count_s / sat_s
    report(
        "1 metrics counting",
        f"{count_s * 1e9:.0f} ns a validation: {share:.1%} of a cached validation, whose own "
        f"spread over the rounds of this run is {noise:.1%}",
        "within the validation's own spread",
        share < noise,
    )
