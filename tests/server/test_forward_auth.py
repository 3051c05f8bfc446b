"""``/auth``: decisions for reverse proxies, in every proxy's header dialect, through the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import unquote

import httpx
import pytest
from starlette.testclient import TestClient

from server.forward_auth import ForwardAuthEndpoint
from server.route_map import RouteMap
from server.settings import Settings
from server.validating import TrustedProxy
from tests.server.gateways import (
    MALFORMED_TOKEN,
    UNKNOWN_TOKEN,
    Issued,
    expired_token,
    grant,
    last_use,
    make_client,
    make_token,
    revoke,
    revoke_client,
    roll,
)
from tests.server.test_http import running
from tests.server.test_route_map import EXAMPLE

PROXY = "203.0.113.5"  # the test client's peer address, trusted as a proxy unless said otherwise
STRANGER = "192.0.2.200"
INSIDE = "198.51.100.9"
OUTSIDE = "192.0.2.66"
ALLOWED = "198.51.100.0/24"
PAYSLIPS = "/api/v2/payroll/payslips/2026"


@pytest.fixture
def client(sync_database_url: str) -> Iterator[TestClient]:
    with running(
        sync_database_url, peer=PROXY, trusted_proxies=PROXY, routes=RouteMap.parse(EXAMPLE)
    ) as client:
        yield client


@pytest.fixture
def token(client: TestClient) -> Issued:
    return make_token(client, name="Zoë's export/β", grants=[grant("payroll", access="rw")])


def nginx(
    client: TestClient, token: str | None, uri: str = PAYSLIPS, method: str = "GET", **headers: str
) -> httpx.Response:
    """nginx ``auth_request``: a GET to /auth with the original method and URI in headers."""
    sent = {"X-Original-Method": method, "X-Original-URI": uri, **_header_names(headers)}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return client.get("/auth", headers=sent)


def _header_names(headers: dict[str, str]) -> dict[str, str]:
    return {name.replace("_", "-"): value for name, value in headers.items()}


def reason(response: httpx.Response) -> str | None:
    return response.headers.get("x-sat-reason")


# --- answers ----------------------------------------------------------------------------------


def test_permitted_request_passes_with_the_tokens_id_and_name(
    client: TestClient, token: Issued
) -> None:
    response = nginx(client, token.access_token)

    assert response.status_code == 200
    assert response.headers["x-sat-token-id"] == str(token.id)
    assert response.headers["x-sat-token-name"] == "Zo%C3%AB%27s%20export%2F%CE%B2"
    assert unquote(response.headers["x-sat-token-name"]) == "Zoë's export/β"
    assert "x-sat-reason" not in response.headers
    assert response.headers["cache-control"] == "no-store"
    assert response.content == b""


def test_no_token_is_401_with_a_bare_bearer_challenge(client: TestClient) -> None:
    for authorization in (None, "Basic dXNlcjpwYXNz", "Bearer ", "Bearer"):
        headers = {"X-Original-Method": "GET", "X-Original-URI": PAYSLIPS}
        if authorization is not None:
            headers["Authorization"] = authorization

        response = client.get("/auth", headers=headers)

        assert response.status_code == 401, authorization
        assert response.headers["www-authenticate"] == "Bearer"
        assert reason(response) == "NO_TOKEN"
        assert response.headers["cache-control"] == "no-store"


def _revoked(client: TestClient) -> str:
    token = make_token(client, grants=[grant("payroll")])
    revoke(client, token)
    return token.access_token


def _rotated(client: TestClient) -> str:
    token = make_token(client, grants=[grant("payroll")])
    roll(client, token)
    return token.access_token


UNAUTHENTICATED: dict[str, Callable[[TestClient], str]] = {
    "MALFORMED": lambda client: MALFORMED_TOKEN,
    "UNKNOWN": lambda client: UNKNOWN_TOKEN,
    "REVOKED": _revoked,
    "ROTATED": _rotated,
    "EXPIRED": lambda client: expired_token(client).access_token,
}


@pytest.mark.parametrize("denial", UNAUTHENTICATED)
def test_token_faults_are_401_with_invalid_token(client: TestClient, denial: str) -> None:
    response = nginx(client, UNAUTHENTICATED[denial](client))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert reason(response) == denial
    assert "x-sat-token-id" not in response.headers


@pytest.mark.parametrize(
    ("uri", "method", "denial"),
    [
        ("/api/v2/canteen/menus", "GET", "UNKNOWN_RESOURCE"),
        ("/api/v2/payroll/lunch-menus/1", "GET", "UNKNOWN_RESOURCE"),
        ("/api/v2/employees/contracts", "GET", "NOT_PERMITTED"),
        (PAYSLIPS, "DELETE", "NOT_PERMITTED"),
        ("/api/v1/payroll/payslips", "GET", "NO_ROUTE"),
        (PAYSLIPS, "OPTIONS", "METHOD_NOT_MAPPED"),
        (PAYSLIPS, "TRACE", "METHOD_NOT_MAPPED"),
        ("/legacy/payslips/../../api/v2/employees/contracts", "GET", "NOT_PERMITTED"),
    ],
)
def test_request_faults_are_403_with_the_reason(
    client: TestClient, token: Issued, uri: str, method: str, denial: str
) -> None:
    response = nginx(client, token.access_token, uri, method)

    assert response.status_code == 403
    assert reason(response) == denial
    assert "www-authenticate" not in response.headers


@pytest.mark.parametrize(
    ("method", "passes"),
    [("GET", True), ("HEAD", True), ("POST", True), ("PUT", True), ("PATCH", True),
     ("DELETE", False), ("get", True)],
)  # fmt: skip
def test_methods_map_to_access(
    client: TestClient, token: Issued, method: str, passes: bool
) -> None:
    response = nginx(client, token.access_token, method=method)

    assert (response.status_code == 200) is passes


def test_fixed_area_route_grants_by_its_folder(client: TestClient) -> None:
    payslips_only = make_token(client, grants=[grant("payroll", "payslips")])
    salaries_only = make_token(client, name="salaries", grants=[grant("payroll", "salaries")])

    assert nginx(client, payslips_only.access_token, "/legacy/payslips/2026.pdf").status_code == 200
    denied = nginx(client, salaries_only.access_token, "/legacy/payslips/2026.pdf")
    assert (denied.status_code, reason(denied)) == (403, "NOT_PERMITTED")


def test_single_segment_wildcard_route(client: TestClient) -> None:
    absence = make_token(client, grants=[grant("absence")])

    assert nginx(client, absence.access_token, "/reports/2026/absence").status_code == 200
    missed = nginx(client, absence.access_token, "/reports/absence")
    assert (missed.status_code, reason(missed)) == (403, "NO_ROUTE")


def test_query_string_is_ignored(client: TestClient, token: Issued) -> None:
    response = nginx(client, token.access_token, "/api/v2/payroll?area=employees&x=/../..")

    assert response.status_code == 200


# --- dialects ---------------------------------------------------------------------------------


def test_traefik_and_caddy_forwarded_headers(client: TestClient, token: Issued) -> None:
    headers = {
        "X-Forwarded-Method": "DELETE",
        "X-Forwarded-Uri": PAYSLIPS,
        "Authorization": f"Bearer {token.access_token}",
    }

    denied = client.get("/auth", headers=headers)
    allowed = client.get("/auth", headers={**headers, "X-Forwarded-Method": "PUT"})

    assert (denied.status_code, reason(denied)) == (403, "NOT_PERMITTED")
    assert allowed.status_code == 200


def test_original_headers_win_over_forwarded_ones(client: TestClient, token: Issued) -> None:
    response = client.get(
        "/auth",
        headers={
            "X-Original-Method": "GET",
            "X-Original-URI": "/api/v2/employees/contracts",
            "X-Forwarded-Method": "GET",
            "X-Forwarded-Uri": PAYSLIPS,
            "Authorization": f"Bearer {token.access_token}",
        },
    )

    assert reason(response) == "NOT_PERMITTED"


def test_envoy_path_prefix_form(client: TestClient, token: Issued) -> None:
    bearer = {"Authorization": f"Bearer {token.access_token}"}

    assert client.get(f"/auth{PAYSLIPS}?page=2", headers=bearer).status_code == 200
    assert client.head(f"/auth{PAYSLIPS}", headers=bearer).status_code == 200
    assert client.post(f"/auth{PAYSLIPS}", headers=bearer).status_code == 200
    denied = client.delete(f"/auth{PAYSLIPS}", headers=bearer)
    assert (denied.status_code, reason(denied)) == (403, "NOT_PERMITTED")
    unmapped = client.request("PROPFIND", f"/auth{PAYSLIPS}", headers=bearer)
    assert (unmapped.status_code, reason(unmapped)) == (403, "METHOD_NOT_MAPPED")
    nowhere = client.get("/auth/api/v1/payroll", headers=bearer)
    assert (nowhere.status_code, reason(nowhere)) == (403, "NO_ROUTE")


def test_envoy_prefix_form_takes_the_raw_path(client: TestClient, token: Issued) -> None:
    """``%2e%2e`` resolves like ``..``: the path is decoded once, here, as the upstream will."""
    bearer = {"Authorization": f"Bearer {token.access_token}"}

    response = client.get("/auth/api/v2/payroll/payslips/%2e%2e/%2e%2e/employees", headers=bearer)

    assert reason(response) == "NOT_PERMITTED"


def test_a_body_sent_along_is_never_read(client: TestClient, token: Issued) -> None:
    """The decision rests on headers alone: a body (Envoy may forward one), however long, is
    dropped unread, never refused as a GraphQL body over the limit would be (413)."""
    bearer = {"Authorization": f"Bearer {token.access_token}"}

    response = client.post(f"/auth{PAYSLIPS}", headers=bearer, content=b"x" * (2 << 20))

    assert response.status_code == 200
    assert response.headers["x-sat-token-id"] == str(token.id)
    assert response.content == b""


# --- callers and client IP --------------------------------------------------------------------


def test_untrusted_caller_gets_no_decision(sync_database_url: str) -> None:
    with running(
        sync_database_url, peer=STRANGER, trusted_proxies=PROXY, routes=RouteMap.parse(EXAMPLE)
    ) as client:
        token = make_token(client, grants=[grant("payroll")])
        revoked = make_client(client, "gone")
        revoke_client(client, revoked)

        for secret in (None, "satc_nonsense", revoked.secret, token.access_token):
            extra = {} if secret is None else {"X-SAT-Client-Secret": secret}
            response = nginx(client, token.access_token, **extra)

            assert response.status_code == 403, secret
            assert reason(response) == "CALLER_NOT_TRUSTED"
            assert "x-sat-token-id" not in response.headers
        assert last_use(client, token) == (None, None)


def test_service_secret_lets_a_caller_in_and_is_believed_like_a_proxy(
    sync_database_url: str,
) -> None:
    with running(sync_database_url, peer=STRANGER, routes=RouteMap.parse(EXAMPLE)) as client:
        gateway = make_client(client)
        token = make_token(client, grants=[grant("payroll")], ranges=[ALLOWED])

        inside = nginx(
            client,
            token.access_token,
            X_SAT_Client_Secret=gateway.secret,
            X_Forwarded_For=INSIDE,
        )
        outside = nginx(
            client,
            token.access_token,
            X_SAT_Client_Secret=gateway.secret,
            X_Forwarded_For=f"{INSIDE}, {OUTSIDE}",
        )

        assert inside.status_code == 200
        assert (outside.status_code, reason(outside)) == (403, "IP_NOT_ALLOWED")
        assert last_use(client, token)[1] == INSIDE


def test_trusted_proxy_forwarded_address_is_checked_against_ranges(client: TestClient) -> None:
    token = make_token(client, grants=[grant("payroll")], ranges=[ALLOWED])

    outside = nginx(client, token.access_token, X_Forwarded_For=OUTSIDE)
    direct = nginx(client, token.access_token)  # the proxy's own address: outside the ranges
    inside = nginx(client, token.access_token, X_Forwarded_For=f"{OUTSIDE}, {INSIDE}")

    assert (outside.status_code, reason(outside)) == (403, "IP_NOT_ALLOWED")
    assert (direct.status_code, reason(direct)) == (403, "IP_NOT_ALLOWED")
    assert inside.status_code == 200


def test_granted_request_records_last_use(client: TestClient, token: Issued) -> None:
    assert last_use(client, token) == (None, None)

    nginx(client, token.access_token, X_Forwarded_For=INSIDE)

    used_at, used_ip = last_use(client, token)
    assert used_at is not None
    assert used_ip == INSIDE


def test_denied_request_records_no_last_use(client: TestClient, token: Issued) -> None:
    nginx(client, token.access_token, "/api/v2/employees/contracts")

    assert last_use(client, token) == (None, None)


def test_without_a_routes_file_every_path_is_unmapped(sync_database_url: str) -> None:
    with running(sync_database_url, peer=PROXY, trusted_proxies=PROXY) as client:
        token = make_token(client, grants=[grant("payroll")])

        response = nginx(client, token.access_token)

        assert (response.status_code, reason(response)) == (403, "NO_ROUTE")


def test_revocation_bites_at_once(client: TestClient, token: Issued) -> None:
    assert nginx(client, token.access_token).status_code == 200

    revoke(client, token)

    response = nginx(client, token.access_token)
    assert (response.status_code, reason(response)) == (401, "REVOKED")


def test_peers_are_remembered_only_as_canonical_dotted_quads() -> None:
    """The peer memo answers as parsing does, and holds no request text but an address."""
    endpoint = ForwardAuthEndpoint(Settings.from_env({"SAT_TRUSTED_PROXIES": "127.0.0.1"}))
    peers = ["127.0.0.1", "::ffff:127.0.0.1", "10.0.0.9", " 127.0.0.1", "fe80::1%eth0", None]
    answers = [endpoint._peer(peer) for peer in peers] + [endpoint._peer(peer) for peer in peers]

    assert sorted(endpoint._peers) == ["10.0.0.9", "127.0.0.1"]
    proxy = TrustedProxy(peer="127.0.0.1")
    assert [trusted for _, trusted in answers] == [proxy, proxy, None, proxy, None, None] * 2
    assert [str(address) for address, _ in answers[:3]] == ["127.0.0.1", "127.0.0.1", "10.0.0.9"]
