"""7. A revoke on instance A refused by instance B (PostgreSQL, LISTEN/NOTIFY)."""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from bench.fixtures import drop_postgres, fresh_database, validate_body, with_orm
from bench.harness import report
from tests.launcher import Launcher
from tests.operations import operation
from tokens import admins, service_clients

READ_PAYROLL = {"area": "payroll", "read": True, "write": False, "delete": False}


async def run(directory: Path, *, quick: bool) -> None:
    print("7. revocation on instance A seen by instance B (PostgreSQL, LISTEN/NOTIFY)", flush=True)
    name = f"sat_bench_propagation_{os.getpid()}"
    url = await fresh_database("postgres", directory, name)
    trials = 20 if quick else 100
    try:
        password = "bench password 123"

        async def setup() -> str:
            await admins.create_admin(username="bench", password=password)
            return (await service_clients.create(name="gateway", actor="bench")).secret

        secret = await with_orm(url, setup)
        # Cache entries live 30 s here: only a change notice can explain a fast turn.
        with Launcher(directory) as launcher:
            a = launcher.start("A", url, {"SAT_CACHE_SECONDS": "30"})
            b = launcher.start("B", url, {"SAT_CACHE_SECONDS": "30"})
            login, create, revoke = (
                operation(document)
                for document in ("Login", "CreateSharedAccessToken", "RevokeSharedAccessToken")
            )
            session = a.http.post(
                "/graphql",
                json={"query": login, "variables": {"username": "bench", "password": password}},
            ).json()["data"]["login"]["token"]
            admin = {"authorization": f"Bearer {session}"}
            service = {"authorization": f"Bearer {secret}"}
            delays = []
            for trial in range(trials):
                issued = a.http.post(
                    "/graphql",
                    headers=admin,
                    json={"query": create, "variables": {"input": {
                        "name": f"propagation {trial}", "grants": [READ_PAYROLL],
                    }}},
                ).json()["data"]["createSharedAccessToken"]  # fmt: skip
                body = json.loads(
                    validate_body(issued["accessToken"], "10.1.2.3", "payroll", None, "READ")
                )
                assert b.http.post("/graphql", headers=service, json=body).json()["data"][
                    "validateToken"
                ]["valid"]
                token_id = issued["sharedAccessToken"]["id"]
                a.http.post(
                    "/graphql", headers=admin, json={"query": revoke, "variables": {"id": token_id}}
                )
                revoked_at = time.perf_counter()
                while True:
                    answer = b.http.post("/graphql", headers=service, json=body).json()
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
