"""``POST /oauth/introspect``: RFC 7662 for service clients, through the real app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.server.gateways import (
    MALFORMED_TOKEN,
    UNKNOWN_TOKEN,
    Client,
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
from tests.server.test_http import login, running

INSIDE = "198.51.100.9"
OUTSIDE = "192.0.2.66"
ALLOWED = "198.51.100.0/24"


@pytest.fixture
def client(sync_database_url: str) -> Iterator[TestClient]:
    with running(sync_database_url) as client:
        yield client


@pytest.fixture
def gateway(client: TestClient) -> Client:
    return make_client(client)


def introspect(client: TestClient, authorization: str | None, **form: str) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.post("/oauth/introspect", data=form, headers=headers)


def test_active_token_answers_every_field(client: TestClient, gateway: Client) -> None:
    token = make_token(
        client,
        name="Zoë's export",
        grants=[grant("payroll"), grant("employees", "contracts", access="wd")],
    )

    response = introspect(client, gateway.basic, token=token.access_token, ip=INSIDE)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "active": True,
        "token_type": "Bearer",
        "sub": str(token.id),
        "username": "Zoë's export",
        "exp": int(token.expires_at.timestamp()),
        "iat": int(token.issued_at.timestamp()),
        "scope": "employees/contracts:write employees/contracts:delete payroll:read",
    }


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_service_client_authenticates_with_basic_or_bearer(
    client: TestClient, gateway: Client, scheme: str
) -> None:
    token = make_token(client)

    response = introspect(client, getattr(gateway, scheme), token=token.access_token, ip=INSIDE)

    assert response.status_code == 200
    assert response.json()["active"] is True


def _altered(secret: str) -> str:
    """``secret`` with its last character changed (to another one, whatever it was)."""
    return secret[:-1] + ("y" if secret.endswith("x") else "x")


def _other_clients_id(client: TestClient, gateway: Client) -> str:
    other = make_client(client, "other gateway")
    return Client(id=other.id, secret=gateway.secret).basic


def _revoked_client(client: TestClient, gateway: Client) -> str:
    revoke_client(client, gateway)
    return gateway.basic


def _admin_session(client: TestClient, gateway: Client) -> str:
    return f"Bearer {login(client)}"


CALLERS: dict[str, Callable[[TestClient, Client], str | None]] = {
    "no credentials": lambda client, gateway: None,
    "a wrong secret": lambda client, gateway: Client(gateway.id, UNKNOWN_TOKEN).basic,
    "a wrong bearer secret": lambda client, gateway: f"Bearer {_altered(gateway.secret)}",
    "another client's id": _other_clients_id,
    "a revoked client": _revoked_client,
    "an admin session": _admin_session,
    "basic that is not base64": lambda client, gateway: "Basic !!!",
    "an unknown scheme": lambda client, gateway: f"Digest {gateway.secret}",
}


@pytest.mark.parametrize("caller", CALLERS)
def test_caller_without_service_credentials_is_refused_with_a_challenge(
    client: TestClient, gateway: Client, caller: str
) -> None:
    token = make_token(client)

    response = introspect(client, CALLERS[caller](client, gateway), token=token.access_token)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client"}
    assert response.headers["www-authenticate"].split()[0] in {"Basic", "Bearer"}
    assert "active" not in response.text


def test_bearer_caller_is_challenged_with_bearer(client: TestClient, gateway: Client) -> None:
    response = introspect(client, f"Bearer {_altered(gateway.secret)}", token=UNKNOWN_TOKEN)

    assert response.headers["www-authenticate"] == 'Bearer realm="SAT", error="invalid_token"'


def _revoked(client: TestClient) -> Issued:
    token = make_token(client)
    revoke(client, token)
    return token


def _rotated(client: TestClient) -> Issued:
    token = make_token(client)
    roll(client, token)
    return token


INACTIVE: dict[str, tuple[Callable[[TestClient], str], dict[str, str]]] = {
    "malformed": (lambda client: MALFORMED_TOKEN, {}),
    "unknown": (lambda client: UNKNOWN_TOKEN, {}),
    "revoked": (lambda client: _revoked(client).access_token, {}),
    "rotated": (lambda client: _rotated(client).access_token, {}),
    "expired": (lambda client: expired_token(client).access_token, {}),
    "outside its IP ranges": (
        lambda client: make_token(client, ranges=[ALLOWED]).access_token,
        {"ip": OUTSIDE},
    ),
    "IP ranges and no ip (fail closed)": (
        lambda client: make_token(client, ranges=[ALLOWED]).access_token,
        {},
    ),
    "unknown area": (lambda client: make_token(client).access_token, {"area": "canteen"}),
    "unknown folder": (
        lambda client: make_token(client, grants=[grant("payroll")]).access_token,
        {"area": "payroll", "folder": "lunch-menus"},
    ),
    "not permitted": (
        lambda client: make_token(client, grants=[grant("payroll")]).access_token,
        {"area": "payroll", "access": "write"},
    ),
}


@pytest.mark.parametrize("case", INACTIVE)
def test_every_inactive_case_answers_active_false_alone(
    client: TestClient, gateway: Client, case: str
) -> None:
    make, facts = INACTIVE[case]
    token = make(client)

    response = introspect(client, gateway.basic, token=token, **facts)

    assert response.status_code == 200
    assert response.content == b'{"active":false}'


def test_ip_inside_the_ranges_makes_a_restricted_token_active(
    client: TestClient, gateway: Client
) -> None:
    token = make_token(client, ranges=[ALLOWED])

    assert introspect(client, gateway.basic, token=token.access_token).json() == {"active": False}
    assert introspect(client, gateway.basic, token=token.access_token, ip=INSIDE).json()["active"]


def test_without_area_no_resource_is_checked(client: TestClient, gateway: Client) -> None:
    token = make_token(client, grants=[])

    answer = introspect(client, gateway.basic, token=token.access_token, ip=INSIDE).json()

    assert answer["active"] is True
    assert answer["scope"] == ""


def test_grant_on_the_area_covers_its_folder_for_the_asked_access(
    client: TestClient, gateway: Client
) -> None:
    token = make_token(client, grants=[grant("payroll", access="rw")])

    answer = introspect(
        client,
        gateway.bearer,
        token=token.access_token,
        ip=INSIDE,
        area="payroll",
        folder="payslips",
        access="write",
    ).json()

    assert answer["active"] is True


MALFORMED_REQUESTS: dict[str, dict[str, Any]] = {
    "no token": {"data": {"ip": INSIDE}},
    "an empty token": {"data": {"token": ""}},
    "an unparsable ip": {"data": {"token": UNKNOWN_TOKEN, "ip": "10.0.0.300"}},
    "an unknown access": {"data": {"token": UNKNOWN_TOKEN, "access": "admin"}},
    "access in capitals": {"data": {"token": UNKNOWN_TOKEN, "access": "READ"}},
    "a folder without an area": {"data": {"token": UNKNOWN_TOKEN, "folder": "payslips"}},
    "a token given twice": {
        "content": f"token={UNKNOWN_TOKEN}&token={UNKNOWN_TOKEN}",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    },
    "a JSON body": {"json": {"token": UNKNOWN_TOKEN}},
    "a form that is not UTF-8": {
        "content": b"token=\xff\xfe",
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    },
}


@pytest.mark.parametrize("case", MALFORMED_REQUESTS)
def test_malformed_request_answers_invalid_request(
    client: TestClient, gateway: Client, case: str
) -> None:
    request = MALFORMED_REQUESTS[case]
    headers = {"Authorization": gateway.basic, **request.get("headers", {})}
    kwargs = {key: value for key, value in request.items() if key != "headers"}

    response = client.post("/oauth/introspect", headers=headers, **kwargs)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "invalid_request"}


def test_unknown_parameters_and_the_type_hint_are_ignored(
    client: TestClient, gateway: Client
) -> None:
    token = make_token(client)

    response = introspect(
        client,
        gateway.basic,
        token=token.access_token,
        ip=INSIDE,
        token_type_hint="refresh_token",
        audience="anything",
    )

    assert response.json()["active"] is True


def test_active_introspection_records_last_use(client: TestClient, gateway: Client) -> None:
    token = make_token(client)
    assert last_use(client, token) == (None, None)

    introspect(client, gateway.basic, token=token.access_token, ip=INSIDE)

    used_at, used_ip = last_use(client, token)
    assert used_at is not None
    assert used_ip == INSIDE


def test_inactive_introspection_records_no_last_use(client: TestClient, gateway: Client) -> None:
    token = make_token(client, grants=[grant("payroll")])

    introspect(client, gateway.basic, token=token.access_token, ip=INSIDE, area="absence")

    assert last_use(client, token) == (None, None)


def test_revocation_makes_the_token_inactive_at_once(client: TestClient, gateway: Client) -> None:
    token = make_token(client)
    assert introspect(client, gateway.basic, token=token.access_token, ip=INSIDE).json()["active"]

    revoke(client, token)

    assert introspect(client, gateway.basic, token=token.access_token, ip=INSIDE).json() == {
        "active": False
    }


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_are_refused_in_json_and_not_stored(client: TestClient, method: str) -> None:
    response = client.request(method, "/oauth/introspect")

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"error": "invalid_request"}
