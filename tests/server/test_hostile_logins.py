"""Login and refresh floods against a real `sat serve` behind a trusted proxy (X-Forwarded-For).

Each test uses addresses of its own, so that the limits of one do not reach another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server.test_serve import create_admin, serving
from tests.support import ADMIN_PASSWORD, operation

GUARD_SECONDS = 30
BEHIND_PROXY = {"SAT_DATABASE_URL": "", "SAT_TRUSTED_PROXIES": "127.0.0.1"}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("logins")
    create_admin(workdir)
    with serving(workdir, **BEHIND_PROXY) as (url, _):
        yield url


def body(name: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"query": operation(name), "variables": variables}


def login_body(username: str, password: str) -> dict[str, Any]:
    return body("Login", {"username": username, "password": password})


async def send_all(base: str, requests: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    """Send every request at once; the JSON answers in order."""
    async with httpx.AsyncClient(timeout=GUARD_SECONDS) as client:
        answers = await asyncio.gather(
            *(client.post(f"{base}/graphql", json=b, headers=h) for b, h in requests)
        )
    return [a.json() for a in answers]


def codes(answers: list[Any]) -> list[str]:
    return [a["errors"][0]["extensions"]["code"] if "errors" in a else "OK" for a in answers]


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def admin_token(base: str, address: str) -> str:
    answer = await send_all(base, [(login_body("alice", ADMIN_PASSWORD), from_address(address))])
    return str(answer[0]["data"]["login"]["token"])


async def audit_actions(base: str, token: str) -> list[dict[str, Any]]:
    answer = await send_all(
        base, [(body("AuditEvents", {"first": 100}), {"Authorization": f"Bearer {token}"})]
    )
    return list(answer[0]["data"]["auditEvents"]["nodes"])


async def test_a_concurrent_burst_of_wrong_passwords_checks_only_the_limit(base: str) -> None:
    attacker = from_address("203.0.113.5")

    answers = await send_all(
        base, [(login_body("alice", f"wrong {i}"), attacker) for i in range(40)]
    )
    correct = await send_all(base, [(login_body("alice", ADMIN_PASSWORD), attacker)])

    # At most the limit are checked; of those, some may find the hashing queue full
    # (also RATE_LIMITED, and counted all the same).
    assert 1 <= codes(answers).count("UNAUTHENTICATED") <= 10
    assert codes(answers).count("RATE_LIMITED") == 40 - codes(answers).count("UNAUTHENTICATED")
    assert codes(correct) == ["RATE_LIMITED"]
    retry = correct[0]["errors"][0]["extensions"]["retryAfterSeconds"]
    assert isinstance(retry, int)
    assert 0 < retry <= 900
    events = await audit_actions(base, await admin_token(base, "198.51.100.50"))
    limited = [e for e in events if e["action"] == "LOGIN_RATE_LIMITED"]
    failed = [e for e in events if e["action"] == "ADMIN_LOGIN_FAILED"]
    assert [e["ip"] for e in limited] == ["203.0.113.5"]
    assert 1 <= len([e for e in failed if e["ip"] == "203.0.113.5"]) <= 10
    async with httpx.AsyncClient(timeout=GUARD_SECONDS) as client:
        assert (await client.get(f"{base}/healthz")).status_code == 200


async def test_a_spray_of_usernames_from_one_address_stops_at_the_address_limit(base: str) -> None:
    sprayer = from_address("203.0.113.9")

    answers = []
    for i in range(200):  # one at a time: each finds the hashing queue free
        answers += await send_all(base, [(login_body(f"user{i}", "wrong"), sprayer)])

    assert codes(answers).count("UNAUTHENTICATED") == 30
    assert codes(answers).count("RATE_LIMITED") == 170


async def test_failures_from_one_address_do_not_lock_the_admin_out_elsewhere(base: str) -> None:
    stranger = from_address("203.0.113.66")
    for _ in range(5):
        await send_all(base, [(login_body("alice", "wrong"), stranger) for _ in range(30)])

    answer = await send_all(
        base, [(login_body("alice", ADMIN_PASSWORD), from_address("198.51.100.2"))]
    )

    assert codes(answer) == ["OK"]


async def test_failed_refreshes_are_limited_per_address(base: str) -> None:
    client = from_address("203.0.113.77")
    refresh = body("RefreshAccessToken", {"refreshKey": "satr_not-a-key"})

    answers = await send_all(base, [(refresh, client) for _ in range(35)])

    assert sorted(codes(answers)) == ["RATE_LIMITED"] * 5 + ["UNAUTHENTICATED"] * 30


async def test_a_service_client_is_never_rate_limited(base: str) -> None:
    token = await admin_token(base, "198.51.100.60")
    issued = await send_all(
        base,
        [(body("CreateServiceClient", {"name": "gateway"}), {"Authorization": f"Bearer {token}"})],
    )
    secret = issued[0]["data"]["createServiceClient"]["secret"]
    headers = {"Authorization": f"Bearer {secret}", **from_address("203.0.113.88")}
    refresh = body("RefreshAccessToken", {"refreshKey": "satr_not-a-key"})

    answers = await send_all(base, [(refresh, headers) for _ in range(40)])

    assert codes(answers) == ["UNAUTHENTICATED"] * 40
