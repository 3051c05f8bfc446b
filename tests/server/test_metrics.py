"""``GET /metrics``: what it counts, and who may read it."""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from server import metrics, validating
from server.route_map import RouteMap
from server.settings import Settings, SettingsError
from server.validating import CallerRefused, Facts
from tests.conftest import ON_POSTGRES
from tests.server.gateways import UNKNOWN_TOKEN, grant, make_client, make_token
from tests.server.test_http import running
from tests.server.test_route_map import EXAMPLE
from tests.support import operation
from tokens import lifecycle
from tokens.callers import ServiceCaller
from tokens.grants import Access
from tokens.validation import DenialReason

LOOPBACK = "127.0.0.1"


@pytest.fixture
def client(sync_database_url: str) -> Iterator[TestClient]:
    with running(
        sync_database_url, peer=LOOPBACK, trusted_proxies=LOOPBACK, routes=RouteMap.parse(EXAMPLE)
    ) as client:
        yield client


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def validations(result: str, path: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("sat_validations_total", (("path", path), ("result", result)))


def test_validations_are_counted_by_result_and_path(client: TestClient) -> None:
    gateway = make_client(client)
    token = make_token(client, grants=[grant("payroll")])
    before = scrape(client)
    basic = {"Authorization": gateway.basic}
    bearer = {"Authorization": f"Bearer {token.access_token}"}

    client.post("/oauth/introspect", data={"token": token.access_token}, headers=basic)
    client.post("/oauth/introspect", data={"token": UNKNOWN_TOKEN}, headers=basic)
    client.get("/auth/api/v2/payroll/payslips", headers=bearer)
    client.get("/auth/api/v2/payroll/payslips", headers=bearer)
    client.delete("/auth/api/v2/payroll/payslips", headers=bearer)
    after = scrape(client)

    def added(result: str, path: str) -> float:
        return after[validations(result, path)] - before[validations(result, path)]

    assert added("valid", "introspect") == 1
    assert added("UNKNOWN", "introspect") == 1
    assert added("valid", "auth") == 2
    assert added("NOT_PERMITTED", "auth") == 1
    assert added("valid", "graphql") == 0
    latency = ("sat_validation_seconds_count", (("path", "auth"),))
    assert after[latency] - before[latency] == 3


def test_every_result_and_path_is_exported_from_the_start(client: TestClient) -> None:
    samples = scrape(client)

    for path in ("graphql", "introspect", "auth"):
        for result in ("valid", "MALFORMED", "IP_NOT_ALLOWED", "NOT_PERMITTED"):
            assert validations(result, path) in samples


def caches_in_use(client: TestClient) -> None:
    """On PostgreSQL caches are used once the change listener connects: wait for that."""
    deadline = time.monotonic() + 30
    while scrape(client)[("sat_caches_enabled", ())] != 1:
        assert time.monotonic() < deadline, "the change listener never connected"
        time.sleep(0.05)


def test_cache_hits_and_misses_are_counted(client: TestClient) -> None:
    caches_in_use(client)
    token = make_token(client, grants=[grant("payroll")])
    bearer = {"Authorization": f"Bearer {token.access_token}"}
    hit = ("sat_validation_cache_lookups_total", (("outcome", "hit"),))
    miss = ("sat_validation_cache_lookups_total", (("outcome", "miss"),))
    before = scrape(client)

    client.get("/auth/api/v2/payroll", headers=bearer)  # first sight: read from the database
    client.get("/auth/api/v2/payroll", headers=bearer)  # then from the cache
    after = scrape(client)

    assert after[miss] - before[miss] == 1
    assert after[hit] - before[hit] == 1
    assert after[("sat_caches_enabled", ())] == 1
    assert after[("sat_validation_cache_entries", ())] >= 1


def test_refusals_before_validation_are_counted(client: TestClient) -> None:
    key = ("sat_auth_refusals_total", (("path", "auth"), ("reason", "NO_TOKEN")))
    before = scrape(client).get(key, 0.0)

    client.get("/auth/api/v2/payroll")

    assert scrape(client)[key] - before == 1


def test_graphql_validations_count_through_the_shared_function(client: TestClient) -> None:
    """The fast path of /graphql counts its answers with the same call as the others."""
    before = scrape(client)[validations("MALFORMED", "graphql")]

    result = client.portal.call(
        functools.partial(
            validating.validate,
            caller=ServiceCaller(client_id=1, name="gateway"),
            facts=Facts(
                token="sat_x", ip="10.0.0.1", area="payroll", folder=None, access=Access.READ
            ),
            path="graphql",
            last_used_interval=timedelta(seconds=60),
        )
    )

    assert result.reason is DenialReason.MALFORMED
    assert scrape(client)[validations("MALFORMED", "graphql")] - before == 1


VALIDATE_VIA_FRAGMENT = """
query($token: String!, $ip: String!) {
  validateToken(token: $token, ip: $ip, area: "payroll", access: READ) { ...Answer }
}
fragment Answer on TokenValidation { valid reason }
"""


def test_graphql_validations_are_counted_on_the_fast_and_the_general_path(
    client: TestClient,
) -> None:
    """A fragment sends the document to Strawberry's general path; both paths count."""
    gateway = make_client(client)
    token = make_token(client, grants=[grant("payroll")])
    variables = {"token": token.access_token, "ip": LOOPBACK}
    before = scrape(client)[validations("valid", "graphql")]

    for document in (operation("ValidateToken"), VALIDATE_VIA_FRAGMENT):
        answer = client.post(
            "/graphql",
            json={
                "query": document,
                "variables": {**variables, "area": "payroll", "access": "READ"},
            },
            headers={"Authorization": gateway.bearer},
        )
        assert answer.json()["data"]["validateToken"]["valid"] is True, answer.text

    assert scrape(client)[validations("valid", "graphql")] - before == 2


def test_shared_validation_refuses_a_missing_caller(client: TestClient) -> None:
    with pytest.raises(CallerRefused):
        client.portal.call(
            functools.partial(
                validating.validate,
                caller=None,
                facts=Facts(
                    token=UNKNOWN_TOKEN, ip=None, area=None, folder=None, access=Access.READ
                ),
                path="graphql",
                last_used_interval=timedelta(seconds=60),
            )
        )


def test_metrics_are_refused_to_peers_outside_the_allow_list(sync_database_url: str) -> None:
    with running(sync_database_url, peer="203.0.113.5") as client:
        response = client.get("/metrics")

        assert response.status_code == 403
        assert "sat_validations_total" not in response.text


@pytest.mark.parametrize(("peer", "status"), [(LOOPBACK, 403), ("10.1.2.3", 200)])
def test_allow_list_replaces_loopback(sync_database_url: str, peer: str, status: int) -> None:
    allow = Settings.from_env({"SAT_METRICS_ALLOW": "10.1.0.0/16"}).metrics_allow
    with running(sync_database_url, peer=peer, metrics_allow=allow) as client:
        assert client.get("/metrics").status_code == status


def test_ipv4_mapped_peer_is_matched_as_ipv4(sync_database_url: str) -> None:
    with running(sync_database_url, peer="::ffff:127.0.0.1") as client:
        assert client.get("/metrics").status_code == 200


def test_metrics_allow_defaults_to_loopback() -> None:
    assert Settings.from_env({}).metrics_allow == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )


def test_metrics_allow_with_a_bad_entry_is_refused() -> None:
    with pytest.raises(SettingsError, match="SAT_METRICS_ALLOW has an invalid entry 'nope'"):
        Settings.from_env({"SAT_METRICS_ALLOW": "127.0.0.1, nope"})


def _refresh(client: TestClient, key: str) -> list[str]:
    answer = client.post(
        "/graphql",
        json={"query": operation("RefreshAccessToken"), "variables": {"refreshKey": key}},
    ).json()
    return [error["extensions"]["code"] for error in answer.get("errors", [])]


def refreshes(outcome: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return ("sat_refreshes_total", (("outcome", outcome),))


def test_refreshes_are_counted_by_outcome(client: TestClient) -> None:
    issued = client.portal.call(
        functools.partial(lifecycle.create, actor="alice", name="partner", grants=[])
    )
    before = scrape(client)

    assert _refresh(client, issued.refresh_key) == []  # rotated
    assert _refresh(client, issued.refresh_key) == []  # the new pair is unused: a retry
    assert _refresh(client, "satr_not-a-key") == ["UNAUTHENTICATED"]
    after = scrape(client)

    def added(outcome: str) -> float:
        return after[refreshes(outcome)] - before[refreshes(outcome)]

    assert (added("rotated"), added("retried"), added("invalid_key"), added("reused")) == (
        1,
        1,
        1,
        0,
    )


def test_rate_limit_refusals_are_counted_by_scope(sync_database_url: str) -> None:
    with running(sync_database_url, peer="203.0.113.77") as other:
        key = ("sat_rate_limited_total", (("scope", "refresh-ip"),))
        outcome = refreshes("rate_limited")
        allowed = Settings().rate_limits.refresh_per_address
        codes = [_refresh(other, "satr_not-a-key") for _ in range(allowed + 1)]
        # /metrics answers loopback only: read the registry it exports, in process.
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in metrics.registry.collect()
            for s in family.samples
        }

    assert codes[-1] == ["RATE_LIMITED"]
    assert codes[:-1] == [["UNAUTHENTICATED"]] * allowed
    assert samples[key] >= 1
    assert samples[outcome] >= 1


def test_the_change_listener_state_is_exported(client: TestClient) -> None:
    if ON_POSTGRES:
        caches_in_use(client)
    assert scrape(client)[("sat_change_listener_connected", ())] == (1 if ON_POSTGRES else 0)
