"""The console's session: a cookie set by login, honoured once per request, safe from forgery.

Runs the real app under Starlette's TestClient. Cookies are sent by hand (a
``Cookie`` header) so that each test states exactly what the browser would send.
"""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.session_cookie import COOKIE_NAME
from tests.server.test_http import ME, SERVICE_CLIENTS, login, post, running
from tests.support import ADMIN_PASSWORD, error_codes, operation
from tokens import admins

LOGIN = operation("ConsoleLogin")
CREATE_CLIENT = operation("CreateServiceClient")


def console_login(client: TestClient, **headers: str) -> tuple[dict[str, Any], SimpleCookie]:
    """Log in as the console does; the JSON answer and the cookie the server set."""
    response = client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"username": "alice", "password": ADMIN_PASSWORD}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    cookie: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return {"body": response.json(), "cache_control": response.headers.get("cache-control")}, cookie


def with_cookie(client: TestClient, document: str, token: str, **headers: str) -> Any:
    client.cookies.clear()
    return client.post(
        "/graphql",
        json={"query": document},
        headers={"cookie": f"{COOKIE_NAME}={token}", **headers},
    )


def test_console_login_sets_an_http_only_strict_cookie_for_the_session_lifetime(
    sync_database_url: str,
) -> None:
    with running(sync_database_url, session_lifetime=timedelta(hours=2)) as client:
        answer, cookie = console_login(client)

    morsel = cookie[COOKIE_NAME]
    assert morsel.value.startswith("sata_")
    assert morsel["httponly"] is True
    assert morsel["samesite"].lower() == "strict"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == str(2 * 3600)
    assert morsel["secure"] is True  # reached as http://testserver: not loopback
    assert answer["cache_control"] == "no-store"
    # The console's document never selects the token: no page script sees it.
    assert "token" not in answer["body"]["data"]["login"]


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000"])
def test_cookie_is_not_secure_only_when_reached_on_loopback(
    sync_database_url: str, host: str
) -> None:
    with running(sync_database_url) as client:
        _, cookie = console_login(client, host=host)

    assert cookie[COOKIE_NAME]["secure"] == ""


def test_session_cookie_authenticates_later_requests(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        _, cookie = console_login(client)
        me = with_cookie(client, ME, cookie[COOKIE_NAME].value)

    assert me.json() == {"data": {"me": {"username": "alice"}}}


def test_logout_clears_the_cookie_and_ends_the_session(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        _, cookie = console_login(client)
        token = cookie[COOKIE_NAME].value
        out = with_cookie(client, operation("Logout"), token)
        cleared: SimpleCookie = SimpleCookie()
        cleared.load(out.headers["set-cookie"])
        me_after = with_cookie(client, ME, token)

    assert out.json() == {"data": {"logout": True}}
    assert cleared[COOKIE_NAME].value == ""
    assert cleared[COOKIE_NAME]["max-age"] == "0"
    assert out.headers["cache-control"] == "no-store"
    assert me_after.json() == {"data": {"me": None}}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"content-type": "text/plain"}, id="form-like-text-plain"),
        pytest.param({"content-type": "application/x-www-form-urlencoded"}, id="urlencoded"),
        pytest.param({"origin": "https://evil.example"}, id="foreign-origin"),
        pytest.param({"origin": "http://testserver.evil.example"}, id="lookalike-origin"),
        pytest.param({"origin": "null"}, id="opaque-origin"),
        pytest.param({"sec-fetch-site": "cross-site"}, id="fetch-metadata-cross-site"),
        pytest.param({"sec-fetch-site": "same-site"}, id="fetch-metadata-sibling-site"),
    ],
)
def test_forged_cross_site_write_with_the_cookie_is_refused_and_does_nothing(
    sync_database_url: str, headers: dict[str, str]
) -> None:
    with running(sync_database_url) as client:
        _, cookie = console_login(client)
        session = login(client)
        client.cookies.clear()
        forged = client.post(
            "/graphql",
            content=(
                '{"query": "mutation { createServiceClient(name: \\"forged\\") { secret } }"}'
            ),
            headers={
                "content-type": "application/json",
                "cookie": f"{COOKIE_NAME}={cookie[COOKIE_NAME].value}",
                **headers,
            },
        )
        clients = post(client, SERVICE_CLIENTS.replace("id", "id name"), bearer=session)

    assert forged.status_code == 403
    assert error_codes(forged.json()) == ["FORBIDDEN"]
    assert clients["data"]["serviceClients"] == []


def test_same_origin_write_with_the_cookie_is_accepted(sync_database_url: str) -> None:
    with running(sync_database_url) as client:
        _, cookie = console_login(client)
        client.cookies.clear()
        response = client.post(
            "/graphql",
            json={"query": CREATE_CLIENT, "variables": {"name": "gateway"}},
            headers={
                "cookie": f"{COOKIE_NAME}={cookie[COOKIE_NAME].value}",
                "origin": "http://testserver",
                "sec-fetch-site": "same-origin",
            },
        )

    assert response.status_code == 200
    assert response.json()["data"]["createServiceClient"]["secret"].startswith("satc_")


def test_bearer_wins_over_the_cookie_and_ignores_origin(sync_database_url: str) -> None:
    """Scripts keep working exactly as before, whatever cookie or Origin they carry."""
    with running(sync_database_url) as client:
        session = login(client)
        client.cookies.clear()
        response = client.post(
            "/graphql",
            json={"query": ME},
            headers={
                "authorization": f"Bearer {session}",
                "cookie": f"{COOKIE_NAME}=sata_garbage",
                "origin": "https://elsewhere.example",
            },
        )

    assert response.json() == {"data": {"me": {"username": "alice"}}}


def test_a_cookie_holding_a_service_client_secret_authenticates_nobody(
    sync_database_url: str,
) -> None:
    with running(sync_database_url) as client:
        session = login(client)
        issued = post(client, CREATE_CLIENT, {"name": "gateway"}, bearer=session)
        secret = issued["data"]["createServiceClient"]["secret"]
        areas = with_cookie(client, "query { areas { key } }", secret)

    assert error_codes(areas.json()) == ["UNAUTHENTICATED"]


def test_the_caller_is_resolved_once_per_request(
    sync_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that the fast path hands on to Strawberry authenticates its caller once."""
    calls: list[str] = []
    authenticate = admins.authenticate

    async def counting(session_token: str, **kwargs: Any) -> Any:
        calls.append(session_token)
        return await authenticate(session_token, **kwargs)

    with running(sync_database_url) as client:
        session = login(client)
        monkeypatch.setattr(admins, "authenticate", counting)
        # A compiled validateToken document whose validation the fast path declines (bad ip).
        body = post(
            client,
            operation("ValidateToken"),
            {"token": "sat_x", "ip": "not an ip", "area": "payroll", "access": "READ"},
            bearer=session,
        )

    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert calls == [session]
