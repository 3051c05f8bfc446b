"""Anonymous requests on the general path take turns: a few run, some wait in order, the rest
are refused at once (``server.admission``); signed-in callers and validateToken never wait."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.admission import Admission
from tests.server.test_http import create_token, login, post, running
from tests.server.test_serve import create_admin, serving
from tests.support import ADMIN_PASSWORD, operation
from tokens import rate_limits


async def test_no_more_than_the_concurrency_run_and_the_next_waits_its_turn() -> None:
    admission = Admission(concurrency=2, queue=10)
    assert await admission.enter()
    assert await admission.enter()

    third = asyncio.ensure_future(admission.enter())
    await asyncio.sleep(0)
    assert not third.done()
    assert admission.waiting == 1

    admission.leave()
    assert await third is True
    assert admission.waiting == 0


async def test_waiting_requests_get_their_turns_in_order() -> None:
    admission = Admission(concurrency=1, queue=10)
    await admission.enter()
    order: list[int] = []

    async def wait(number: int) -> None:
        await admission.enter()
        order.append(number)
        admission.leave()

    waiting = [asyncio.ensure_future(wait(n)) for n in range(5)]
    await asyncio.sleep(0)
    admission.leave()
    await asyncio.gather(*waiting)

    assert order == [0, 1, 2, 3, 4]


async def test_past_the_queue_a_request_is_refused_at_once_and_counted() -> None:
    admission = Admission(concurrency=1, queue=2)
    before = rate_limits.REFUSALS["anonymous-queue"]
    await admission.enter()
    waiting = [asyncio.ensure_future(admission.enter()) for _ in range(2)]
    await asyncio.sleep(0)

    assert await admission.enter() is False
    assert rate_limits.REFUSALS["anonymous-queue"] == before + 1
    for _ in range(3):
        admission.leave()
    assert await asyncio.gather(*waiting) == [True, True]


async def test_a_waiter_that_goes_away_leaves_its_place_in_the_queue() -> None:
    admission = Admission(concurrency=1, queue=1)
    await admission.enter()
    gone = asyncio.ensure_future(admission.enter())
    await asyncio.sleep(0)

    gone.cancel()
    await asyncio.sleep(0)
    assert admission.waiting == 0

    next_in_line = asyncio.ensure_future(admission.enter())  # waits: the place is free
    await asyncio.sleep(0)
    assert admission.waiting == 1
    admission.leave()
    assert await next_in_line is True


def _admission_of(app: Any) -> Admission:
    for route in app.routes:
        endpoint = getattr(route, "app", None)
        admission = getattr(endpoint, "admission", None)
        if isinstance(admission, Admission):
            return admission
    raise AssertionError("no admission on /graphql")


def test_with_every_anonymous_turn_taken_signed_in_callers_and_validations_are_answered(
    sync_database_url: str,
) -> None:
    grants = [{"area": "employees", "read": True, "write": False, "delete": False}]
    with running(sync_database_url, anonymous_concurrency=1, anonymous_queue=1) as client:
        session = login(client)
        issued = create_token(client, session, grants=grants)
        service = post(client, operation("CreateServiceClient"), {"name": "gw"}, bearer=session)
        secret = service["data"]["createServiceClient"]["secret"]
        client.cookies.clear()  # the login's session cookie: what follows is anonymous
        admission = _admission_of(client.app)
        client.portal.call(admission.enter)  # the one turn
        client.portal.start_task_soon(admission.enter)  # and the one place in the queue
        while admission.waiting == 0:
            client.portal.call(asyncio.sleep, 0)

        try:
            anonymous = client.post("/graphql", json={"query": operation("Me")})
            me = client.post(
                "/graphql",
                json={"query": operation("Me")},
                headers={"authorization": f"Bearer {session}"},
            )
            validation = client.post(
                "/graphql",
                json={
                    "query": operation("ValidateToken"),
                    "variables": {
                        "token": issued["accessToken"],
                        "ip": "198.51.100.7",
                        "area": "employees",
                        "access": "READ",
                    },
                },
                headers={"authorization": f"Bearer {secret}"},
            )
        finally:
            client.portal.call(admission.leave)
            client.portal.call(admission.leave)

    assert anonymous.status_code == 503
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert me.json()["data"]["me"]["username"] == "alice"
    assert validation.json()["data"]["validateToken"]["valid"] is True


# Against a real `sat serve`: one anonymous request at a time, two more may wait.
TURNS = {
    "SAT_DATABASE_URL": "",
    "SAT_TRUSTED_PROXIES": "127.0.0.1",
    "SAT_ANONYMOUS_CONCURRENCY": "1",
    "SAT_ANONYMOUS_QUEUE": "2",
}


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("admission")
    create_admin(workdir)
    with serving(workdir, **TURNS) as (url, _):
        yield url


def login_body(username: str, password: str) -> dict[str, Any]:
    return {"query": operation("Login"), "variables": {"username": username, "password": password}}


async def test_a_flood_of_anonymous_logins_is_refused_past_the_queue_and_others_are_served(
    base: str,
) -> None:
    async with (
        httpx.AsyncClient(base_url=base, timeout=60) as admin,
        httpx.AsyncClient(base_url=base, timeout=60) as stranger,
    ):
        signed_in = await admin.post(
            "/graphql",
            json=login_body("alice", ADMIN_PASSWORD),
            headers={"X-Forwarded-For": "198.51.100.1"},
        )
        session = signed_in.json()["data"]["login"]["token"]
        flood = [
            stranger.post(
                "/graphql",
                json=login_body(f"user{i}", "wrong password"),
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            )
            for i in range(12)
        ]
        flooding = asyncio.gather(*flood)
        await asyncio.sleep(0.05)  # the flood has arrived: one hashing, two waiting
        me = await admin.post(
            "/graphql",
            json={"query": operation("Me")},
            headers={"Authorization": f"Bearer {session}"},
        )
        answers = await flooding
        metrics = await admin.get("/metrics")

    assert me.json()["data"]["me"]["username"] == "alice"  # signed in: never waits here
    refused = [a for a in answers if a.status_code == 503]
    checked = [a for a in answers if a.status_code == 200]
    assert len(refused) >= 12 - 3 - 2  # at most one running and two waiting when they came
    assert {a.json()["errors"][0]["extensions"]["code"] for a in checked} == {"UNAUTHENTICATED"}
    for answer in refused:
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["errors"][0]["extensions"] == {
            "code": "RATE_LIMITED",
            "retryAfterSeconds": 1,
        }
    assert f'sat_rate_limited_total{{scope="anonymous-queue"}} {len(refused)}.0' in metrics.text
