"""What HTTP adds to the schema: routes, headers, status codes, body limit, client IP, logs.

Each test runs the real app under Starlette's TestClient, lifespan included
(migrations and the bundled catalog on an empty database).
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from models import Admin
from server.app import GIL_SWITCH_SECONDS, create_app
from server.client_ip import TrustedProxies
from server.middleware import MAX_BODY_BYTES
from server.settings import Settings
from tests.conftest import ON_POSTGRES, admin_password_hash
from tests.support import ADMIN_PASSWORD, NOW, error_codes, operation
from tokens import hashing, secrets
from tokens.secrets import SecretKind

PEER = "203.0.113.5"
OUTSIDE = "192.0.2.66"  # outside ALLOWED and never a proxy
INSIDE = "198.51.100.9"  # inside ALLOWED
ALLOWED = "198.51.100.0/24"

ME = "query { me { username } }"
SERVICE_CLIENTS = "query { serviceClients { id } }"
AUDIT = (
    "query($id: ID) { auditEvents(sharedAccessTokenId: $id, first: 100) { nodes { action ip } } }"
)
TOKEN_USAGE = "query($id: ID!) { sharedAccessToken(id: $id) { lastUsedIp } }"


# --- running the app --------------------------------------------------------------------------


@contextmanager
def running(
    database_url: str, *, peer: str = PEER, trusted_proxies: str = "", **settings: Any
) -> Iterator[TestClient]:
    """The app with its lifespan running and an admin ``alice``; requests come from ``peer``."""
    app = create_app(
        Settings(
            database_url=database_url,
            trusted_proxies=TrustedProxies.parse(trusted_proxies),
            **settings,
        )
    )
    with TestClient(app, client=(peer, 50000)) as client:
        client.portal.call(_store_admin)
        yield client


async def _store_admin() -> None:
    await Admin.create(username="alice", password_hash=admin_password_hash(), created_at=NOW)


def post(
    client: TestClient,
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    bearer: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """POST a GraphQL document; the decoded JSON body of a 200 answer."""
    all_headers = list(headers or [])
    if bearer is not None:
        all_headers.append(("authorization", f"Bearer {bearer}"))
    response = client.post(
        "/graphql", json={"query": document, "variables": variables or {}}, headers=all_headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def login(client: TestClient, *, headers: list[tuple[str, str]] | None = None) -> str:
    body = post(
        client,
        operation("Login"),
        {"username": "alice", "password": ADMIN_PASSWORD},
        headers=headers,
    )
    assert "errors" not in body, body
    token: str = body["data"]["login"]["token"]
    return token


def create_token(client: TestClient, session: str, **fields: Any) -> dict[str, Any]:
    body = post(
        client,
        operation("CreateSharedAccessToken"),
        {"input": {"name": "payroll export", **fields}},
        bearer=session,
    )
    assert "errors" not in body, body
    issued: dict[str, Any] = body["data"]["createSharedAccessToken"]
    return issued


def audit_ips(
    client: TestClient, session: str, action: str, *, token_id: str | None = None
) -> list[str | None]:
    """The ``ip`` of every audit event with ``action``, newest first."""
    body = post(client, AUDIT, {"id": token_id}, bearer=session)
    assert "errors" not in body, body
    return [e["ip"] for e in body["data"]["auditEvents"]["nodes"] if e["action"] == action]


def forwarded(*hops: str) -> list[tuple[str, str]]:
    """One ``X-Forwarded-For`` header per argument (each may itself hold a comma list)."""
    return [("x-forwarded-for", hop) for hop in hops]


# --- routes and headers -----------------------------------------------------------------------


def test_healthz_answers_ok_when_the_database_answers(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize(
    ("workers", "cores", "warned"),
    [(2, 2, True), (3, 2, True), (2, 4, False), (1, 1, False)],
)
def test_start_up_warns_when_hashing_workers_could_take_every_core(
    sync_database_url: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    cores: int,
    warned: bool,
) -> None:
    monkeypatch.setattr(hashing, "usable_cores", lambda: cores)
    _capture_server_logs(caplog)

    try:
        with running(sync_database_url, password_hash_workers=workers):
            pass
    finally:  # the app sized the process's pool: the next tests get the default one
        hashing.configure(workers=hashing.DEFAULT_WORKERS)

    warnings = [
        r.getMessage() for r in caplog.records if "SAT_PASSWORD_HASH_WORKERS" in r.getMessage()
    ]
    assert bool(warnings) is warned, warnings
    if warned:
        assert f"SAT_PASSWORD_HASH_WORKERS={workers} is not below the {cores} cores" in warnings[0]


def test_what_start_up_built_is_frozen_out_of_the_collector_while_serving(
    sync_database_url: str,
) -> None:
    """A full collection that walks the whole start-up heap pauses every connection at once."""
    assert gc.get_freeze_count() == 0
    with running(sync_database_url) as client:
        assert gc.get_freeze_count() > 10_000
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0


def test_threads_beside_the_event_loop_hand_it_the_gil_back_sooner_while_serving(
    sync_database_url: str,
) -> None:
    before = sys.getswitchinterval()
    with running(sync_database_url):
        assert sys.getswitchinterval() == GIL_SWITCH_SECONDS < before
    assert sys.getswitchinterval() == before


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_session_token_from_login_authenticates_later_requests(
    sync_database_url: str, scheme: str
) -> None:
    with running(sync_database_url) as client:
        session = login(client)
        response = client.post(
            "/graphql", json={"query": ME}, headers={"authorization": f"{scheme} {session}"}
        )

    assert session.startswith("sata_")
    assert response.json() == {"data": {"me": {"username": "alice"}}}


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param("Basic {session}", id="wrong-scheme"),
        pytest.param("Token {session}", id="other-scheme"),
        pytest.param("{session}", id="no-scheme"),
        pytest.param("Bearer", id="no-secret"),
        pytest.param("Bearer garbage", id="garbage"),
        pytest.param("Bearer {session}x", id="tampered"),
        pytest.param("Bearer {unknown}", id="well-formed-unknown"),
    ],
)
def test_unusable_authorization_leaves_the_caller_anonymous(
    sync_database_url: str, authorization: str
) -> None:
    with running(sync_database_url) as client:
        session = login(client)
        header = authorization.format(
            session=session, unknown=secrets.generate(SecretKind.ADMIN_SESSION)
        )
        me = client.post("/graphql", json={"query": ME}, headers={"authorization": header})
        admin_only = client.post(
            "/graphql", json={"query": SERVICE_CLIENTS}, headers={"authorization": header}
        )

    assert me.status_code == 200
    assert me.json() == {"data": {"me": None}}
    assert admin_only.status_code == 200
    assert error_codes(admin_only.json()) == ["UNAUTHENTICATED"]


def test_graphiql_is_served_on_get_by_default(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        response = client.get("/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_graphiql_is_not_served_when_disabled(sync_database_url: str) -> None:
    with running(sync_database_url, graphiql=False) as client:
        response = client.get("/graphql", headers={"accept": "text/html"})
        still_served = post(client, ME)

    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()
    assert still_served == {"data": {"me": None}}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        pytest.param("GET", "/healthz", {}, id="healthz"),
        pytest.param("POST", "/graphql", {"json": {"query": ME}}, id="graphql"),
        pytest.param("GET", "/graphql", {"headers": {"accept": "text/html"}}, id="graphiql"),
        pytest.param("GET", "/graphql?query={me{username}}", {}, id="refused-get-query"),
        pytest.param("POST", "/graphql", {"content": b"x" * (MAX_BODY_BYTES + 1)}, id="too-large"),
        pytest.param("GET", "/no-such-route", {}, id="not-found"),
    ],
)
def test_every_response_carries_a_fresh_request_id(
    sync_database_url: str, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    with running(sync_database_url) as client:
        first = client.request(method, path, **kwargs)
        second = client.request(method, path, **kwargs)

    assert first.headers["x-request-id"]
    assert second.headers["x-request-id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_an_unexpected_failure_is_a_500_with_a_request_id_and_an_access_line(
    sync_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Starlette's error layer answers what no endpoint caught, inside ``RequestContext``."""
    _capture_server_logs(caplog)

    async def crash(request: Request) -> Response:
        raise RuntimeError("a fault no endpoint expects")

    app = create_app(Settings(database_url=sync_database_url))
    app.router.routes.append(Route("/crash", crash))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/crash")

    assert response.status_code == 500
    assert response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert any(
        '"GET /crash" 500' in line and f"id={response.headers['x-request-id']}" in line
        for line in _access_lines(caplog)
    )


@pytest.mark.parametrize(
    ("path", "kwargs", "status"),
    [
        pytest.param("/graphql", {"json": {"query": "{ __typename }"}}, 200, id="graphql"),
        pytest.param("/oauth/introspect", {"data": {"token": "x"}}, 401, id="introspect"),
    ],
)
def test_api_answers_say_no_store_below_a_root_path_too(
    sync_database_url: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    """Served below a prefix (uvicorn's ``--root-path``), an answer that may carry a secret
    still tells every cache not to keep it."""
    app = create_app(Settings(database_url=sync_database_url))
    with TestClient(app, root_path="/sat") as client:
        response = client.post(f"/sat{path}", **kwargs)

    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"


def _padded_request(size: int) -> bytes:
    """A valid GraphQL JSON request of exactly ``size`` bytes."""
    empty = b'{"query": "{ me { username } }", "variables": {"pad": ""}}'
    pad = b"x" * (size - len(empty))
    return empty.replace(b'""', b'"' + pad + b'"')


def test_body_of_exactly_one_mebibyte_is_accepted(sync_database_url: str) -> None:
    body = _padded_request(MAX_BODY_BYTES)
    assert len(body) == 1 << 20
    with running(sync_database_url) as client:
        response = client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )

    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}


@pytest.mark.parametrize("chunked", [False, True], ids=["one-piece", "chunked"])
def test_body_over_one_mebibyte_is_refused_with_413(sync_database_url: str, chunked: bool) -> None:
    body = _padded_request((1 << 20) + 1)

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    with running(sync_database_url) as client:
        response = client.post(
            "/graphql",
            content=pieces() if chunked else body,
            headers={"content-type": "application/json"},
        )

    assert response.status_code == 413
    assert "data" not in response.json()


@pytest.mark.parametrize(
    "document",
    [
        pytest.param("{ me { username } }", id="query"),
        pytest.param(
            f'mutation {{ login(username: "alice", password: "{ADMIN_PASSWORD}") {{ token }} }}',
            id="mutation",
        ),
    ],
)
def test_operations_via_get_are_refused(sync_database_url: str, document: str) -> None:
    with running(sync_database_url) as client:
        response = client.get("/graphql", params={"query": document})
        session = login(client)
        logins = audit_ips(client, session, "ADMIN_LOGIN")

    assert response.status_code == 400
    assert "sata_" not in response.text
    assert '"data"' not in response.text
    assert len(logins) == 1  # only the POST login above


# --- logs -------------------------------------------------------------------------------------


def _capture_server_logs(caplog: pytest.LogCaptureFixture) -> None:
    """Capture every record at DEBUG, except the test client's own request log (its URLs)."""
    # set_level also sets the capturing handler's level: the root's DEBUG must come last.
    caplog.set_level(logging.WARNING, logger="httpx2")
    caplog.set_level(logging.WARNING, logger="httpx")
    caplog.set_level(logging.DEBUG)


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sat.access"]


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every trace a log record carries: message, arguments, exception text, extra fields."""
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.msg), repr(record.args), repr(vars(record))]
    return "\n".join(parts)


def test_access_log_names_method_path_and_status_but_never_the_query_string(
    sync_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _capture_server_logs(caplog)
    secret = secrets.generate(SecretKind.ACCESS_TOKEN)
    with running(sync_database_url) as client:
        client.get("/graphql", params={"query": "{ me { username } }", "token": secret})
        client.get("/healthz", params={"probe": "kubelet"})

    lines = _access_lines(caplog)
    assert any('"GET /graphql" 400' in line for line in lines), lines
    assert any('"GET /healthz" 200' in line for line in lines), lines
    logged = _everything_logged(caplog)
    for leaked in (secret, "token=", "query=", "probe=", "kubelet", "username }"):
        assert leaked not in logged


def test_no_secret_is_ever_logged(sync_database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    _capture_server_logs(caplog)
    wrong_password = "not the password, but still a secret"
    with running(sync_database_url) as client:
        failed = post(client, operation("Login"), {"username": "alice", "password": wrong_password})
        session = login(client)
        service = post(
            client, operation("CreateServiceClient"), {"name": "gateway"}, bearer=session
        )
        service_secret = service["data"]["createServiceClient"]["secret"]
        issued = create_token(
            client,
            session,
            grants=[{"area": "employees", "read": True, "write": False, "delete": False}],
        )
        validation = post(
            client,
            operation("ValidateToken"),
            {"token": issued["accessToken"], "ip": INSIDE, "area": "employees", "access": "READ"},
            bearer=service_secret,
        )
        refreshed = post(
            client, operation("RefreshAccessToken"), {"refreshKey": issued["refreshKey"]}
        )["data"]["refreshAccessToken"]
        revalidation = post(
            client,
            operation("ValidateToken"),
            {
                "token": refreshed["accessToken"],
                "ip": INSIDE,
                "area": "employees",
                "access": "READ",
            },
            bearer=service_secret,
        )
        reused = post(client, operation("RefreshAccessToken"), {"refreshKey": issued["refreshKey"]})

    assert error_codes(failed) == ["UNAUTHENTICATED"]
    assert validation["data"]["validateToken"]["valid"] is True
    assert revalidation["data"]["validateToken"]["valid"] is True
    assert error_codes(reused) == ["UNAUTHENTICATED"]
    lines = _access_lines(caplog)
    assert len(lines) == 8
    assert all('"POST /graphql" 200' in line for line in lines), lines
    logged = _everything_logged(caplog)
    for secret in (
        ADMIN_PASSWORD,
        wrong_password,
        session,
        service_secret,
        issued["accessToken"],
        issued["refreshKey"],
        refreshed["accessToken"],
        refreshed["refreshKey"],
    ):
        assert secret not in logged


def test_access_log_can_be_switched_off(
    sync_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    _capture_server_logs(caplog)
    with running(sync_database_url, access_log=False) as client:
        response = client.get("/healthz")

    assert response.headers["x-request-id"]
    assert _access_lines(caplog) == []


# --- validateToken: compiled and general paths ------------------------------------------------

# The same selection through a fragment: the compiled fast path leaves it to Strawberry.
VALIDATE_VIA_FRAGMENT = """
query ValidateToken(
  $token: String!, $ip: String!, $area: String!, $folder: String, $access: Access!
) {
  validateToken(token: $token, ip: $ip, area: $area, folder: $folder, access: $access) {
    ...Answer
  }
}
fragment Answer on TokenValidation { valid reason sharedAccessToken { id name expiresAt } }
"""


def _positionless(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without error locations, which differ between two documents by nature."""
    errors = [{k: v for k, v in e.items() if k != "locations"} for e in body.get("errors", [])]
    return {**body, "errors": errors} if errors else body


def test_validate_token_answers_alike_on_the_compiled_and_general_paths(
    sync_database_url: str,
) -> None:
    with running(sync_database_url) as client:
        session = login(client)
        service = post(
            client, operation("CreateServiceClient"), {"name": "gateway"}, bearer=session
        )
        service_secret = service["data"]["createServiceClient"]["secret"]
        read_employees = {"area": "employees", "read": True, "write": False, "delete": False}
        issued = create_token(
            client, session, grants=[read_employees], ipRanges=[{"from": ALLOWED}]
        )
        revoked = create_token(client, session, name="revoked one", grants=[read_employees])
        post(
            client,
            operation("RevokeSharedAccessToken"),
            {"id": revoked["sharedAccessToken"]["id"]},
            bearer=session,
        )
        token = issued["accessToken"]
        asks = {
            "valid": (service_secret, token, INSIDE, "employees", None, "READ"),
            "valid-folder": (service_secret, token, INSIDE, "employees", "contracts", "READ"),
            "admin-caller": (session, token, INSIDE, "employees", None, "READ"),
            "not-permitted": (service_secret, token, INSIDE, "employees", None, "DELETE"),
            "ip-not-allowed": (service_secret, token, OUTSIDE, "employees", None, "READ"),
            "unknown-resource": (service_secret, token, INSIDE, "employees", "no-such", "READ"),
            "revoked": (service_secret, revoked["accessToken"], INSIDE, "employees", None, "READ"),
            "malformed": (service_secret, "sat_nope", INSIDE, "employees", None, "READ"),
            "unknown": (
                service_secret,
                secrets.generate(SecretKind.ACCESS_TOKEN),
                INSIDE,
                "employees",
                None,
                "READ",
            ),
            "bad-ip": (service_secret, token, "not-an-ip", "employees", None, "READ"),
            "anonymous": ("garbage", token, INSIDE, "employees", None, "READ"),
        }
        answers = {}
        for name, (bearer, candidate, ip, area, folder, access) in asks.items():
            variables = {
                "token": candidate,
                "ip": ip,
                "area": area,
                "folder": folder,
                "access": access,
            }
            answers[name] = (
                _positionless(post(client, operation("ValidateToken"), variables, bearer=bearer)),
                _positionless(post(client, VALIDATE_VIA_FRAGMENT, variables, bearer=bearer)),
            )

    assert answers["valid"][0]["data"]["validateToken"]["valid"] is True
    assert error_codes(answers["anonymous"][0]) == ["UNAUTHENTICATED"]
    assert error_codes(answers["bad-ip"][0]) == ["BAD_USER_INPUT"]
    different = {name: pair for name, pair in answers.items() if pair[0] != pair[1]}
    assert different == {}


# --- client IP --------------------------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        session = login(client, headers=forwarded(INSIDE))
        ips = audit_ips(client, session, "ADMIN_LOGIN")

    assert ips == [PEER]


@pytest.mark.parametrize(
    ("trusted", "headers", "expected"),
    [
        pytest.param(PEER, forwarded(INSIDE), INSIDE, id="one-hop"),
        pytest.param(PEER, forwarded(f"10.9.9.9, {INSIDE}"), INSIDE, id="forged-left-most"),
        pytest.param(PEER, forwarded("10.9.9.9", INSIDE), INSIDE, id="forged-header-before"),
        pytest.param(
            "203.0.113.0/24", forwarded(f"10.9.9.9, {INSIDE}, 203.0.113.7"), INSIDE, id="chain"
        ),
        pytest.param(
            f"{PEER}, 192.0.2.0/24", forwarded(f"{INSIDE}, {OUTSIDE}"), INSIDE, id="list-of-proxies"
        ),
        pytest.param(PEER, [], PEER, id="no-header"),
        pytest.param("198.51.100.0/24", forwarded(OUTSIDE), PEER, id="peer-not-trusted"),
    ],
)
def test_forwarded_for_from_a_trusted_proxy_gives_the_right_most_untrusted_hop(
    sync_database_url: str, trusted: str, headers: list[tuple[str, str]], expected: str
) -> None:
    with running(sync_database_url, trusted_proxies=trusted) as client:
        session = login(client, headers=headers)
        ips = audit_ips(client, session, "ADMIN_LOGIN")

    assert ips == [expected]


def test_refresh_from_outside_the_ranges_is_forbidden_whatever_forwarded_for_claims(
    sync_database_url: str,
) -> None:
    with running(sync_database_url) as client:
        session = login(client)
        issued = create_token(client, session, ipRanges=[{"from": ALLOWED}])
        refused = post(
            client,
            operation("RefreshAccessToken"),
            {"refreshKey": issued["refreshKey"]},
            headers=forwarded(INSIDE),
        )
        token_id = issued["sharedAccessToken"]["id"]
        denied = audit_ips(client, session, "REFRESH_DENIED_IP", token_id=token_id)
        refreshed = audit_ips(client, session, "TOKEN_REFRESHED", token_id=token_id)

    assert error_codes(refused) == ["FORBIDDEN"]
    assert denied == [PEER]
    assert refreshed == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(forwarded(OUTSIDE), id="outside"),
        pytest.param(forwarded(f"{INSIDE}, {OUTSIDE}"), id="forged-inside-left-most"),
    ],
)
def test_refresh_behind_a_trusted_proxy_is_judged_by_the_forwarded_client(
    sync_database_url: str, headers: list[tuple[str, str]]
) -> None:
    with running(sync_database_url, trusted_proxies=PEER) as client:
        session = login(client)
        issued = create_token(client, session, ipRanges=[{"from": ALLOWED}])
        token_id = issued["sharedAccessToken"]["id"]
        refused = post(
            client,
            operation("RefreshAccessToken"),
            {"refreshKey": issued["refreshKey"]},
            headers=headers,
        )
        denied = audit_ips(client, session, "REFRESH_DENIED_IP", token_id=token_id)
        allowed = post(
            client,
            operation("RefreshAccessToken"),
            {"refreshKey": issued["refreshKey"]},
            headers=forwarded(INSIDE),
        )
        usage = post(client, TOKEN_USAGE, {"id": token_id}, bearer=session)
        refreshed = audit_ips(client, session, "TOKEN_REFRESHED", token_id=token_id)

    assert error_codes(refused) == ["FORBIDDEN"]
    assert denied == [OUTSIDE]
    assert "errors" not in allowed
    assert allowed["data"]["refreshAccessToken"]["accessToken"].startswith("sat_")
    assert usage["data"]["sharedAccessToken"]["lastUsedIp"] == INSIDE
    assert refreshed == [INSIDE]


# --- storage ----------------------------------------------------------------------------------


def _database_bytes(database_url: str) -> bytes:
    """The SQLite database file with its write-ahead log and journal, as they are on disk."""
    path = Path(database_url.removeprefix("sqlite://"))
    files = [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-journal"))]
    return b"".join(f.read_bytes() for f in files if f.exists())


@pytest.mark.skipif(ON_POSTGRES, reason="reads the SQLite database file")
def test_secrets_are_never_stored_in_clear(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        session = login(client)
        service = post(
            client, operation("CreateServiceClient"), {"name": "gateway"}, bearer=session
        )
        service_secret = service["data"]["createServiceClient"]["secret"]
        issued = create_token(client, session)
        refreshed = post(
            client, operation("RefreshAccessToken"), {"refreshKey": issued["refreshKey"]}
        )["data"]["refreshAccessToken"]
        while_running = _database_bytes(sync_database_url)
    after_stop = _database_bytes(sync_database_url)

    issued_secrets = [
        session,
        service_secret,
        issued["accessToken"],
        issued["refreshKey"],
        refreshed["accessToken"],
        refreshed["refreshKey"],
    ]
    for stored in (while_running, after_stop):
        # The rows are there, as digests: the file read is the one the app writes.
        assert secrets.digest(issued["accessToken"]).encode() in stored
        assert secrets.digest(service_secret).encode() in stored
        assert ADMIN_PASSWORD.encode() not in stored
        for secret in issued_secrets:
            assert secret.encode() not in stored
            # Nor the random part alone, in case a prefix were stripped before storing.
            assert secret.split("_", 1)[1].encode() not in stored
