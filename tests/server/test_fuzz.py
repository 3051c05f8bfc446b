"""Schemathesis (GraphQL mode) against a real `sat serve`: no document it makes gets a 5xx.

Every operation of graphql/schema.graphql, with arguments Schemathesis generates
from the schema, sent as an admin and as a service client. A failure is a 5xx, a
non-JSON answer, or an INTERNAL_SERVER_ERROR in the errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.server.test_serve import create_admin, serving
from tests.support import ADMIN_PASSWORD, operation

SCHEMA = schemathesis.graphql.from_path(
    Path(__file__).resolve().parents[2] / "graphql" / "schema.graphql"
)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
# An admin that logs itself out, or revokes the service client the other half of the
# run uses, would test nothing after that: those two run as the service client only.
NOT_AS_ADMIN = {"Mutation.logout", "Mutation.revokeServiceClient"}
EXAMPLES = 20


@pytest.fixture(scope="module")
def callers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("fuzz")
    create_admin(workdir)
    with serving(workdir, SAT_DATABASE_URL="", SAT_TRUSTED_PROXIES="") as (base, _):
        session = httpx.post(
            f"{base}/graphql",
            json={
                "query": operation("Login"),
                "variables": {"username": "alice", "password": ADMIN_PASSWORD},
            },
        ).json()["data"]["login"]["token"]
        admin = {"Authorization": f"Bearer {session}"}
        secret = httpx.post(
            f"{base}/graphql",
            json={"query": operation("CreateServiceClient"), "variables": {"name": "fuzz"}},
            headers=admin,
        ).json()["data"]["createServiceClient"]["secret"]
        yield base, {"admin": session, "service-client": secret}


def assert_no_server_error(response: httpx.Response, document: str) -> None:
    assert response.status_code < 500, document
    answer: Any = response.json()
    codes = [(e.get("extensions") or {}).get("code") for e in answer.get("errors") or []]
    assert "INTERNAL_SERVER_ERROR" not in codes, (document, answer)


CASES = [
    pytest.param(label, caller, id=f"{caller}-{label}")
    for caller in ("admin", "service-client")
    for label in sorted(OPERATIONS)
    if not (caller == "admin" and label in NOT_AS_ADMIN)
]


@pytest.mark.parametrize(("label", "caller"), CASES)
def test_no_generated_document_gets_a_server_error(
    callers: tuple[str, dict[str, str]], label: str, caller: str
) -> None:
    base, secrets = callers
    headers = {"Authorization": f"Bearer {secrets[caller]}"}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(OPERATIONS[label].as_strategy())
    def check(case: Any) -> None:
        response = httpx.post(
            f"{base}/graphql", json={"query": case.body}, headers=headers, timeout=30
        )
        assert_no_server_error(response, case.body)

    check()
