"""The admin API through GraphQL: who may call what, error codes, secrets shown once, the flow."""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tortoise.models import Model

from graphql import build_schema
from models import (
    Admin,
    AdminSession,
    AuditEvent,
    Credential,
    Grant,
    IpRange,
    ServiceClient,
    SharedAccessToken,
)
from schema import schema
from tests.support import (
    ADMIN_PASSWORD,
    UNKNOWN_IDS,
    GraphQLResult,
    assert_no_errors,
    execute,
    operation,
)
from tokens import admins, catalog, hashing, lifecycle, service_clients, views
from tokens.callers import AdminCaller, Caller, ServiceCaller
from tokens.grants import GrantRequest

pytestmark = pytest.mark.usefixtures("db")

CLIENT_IP = "198.51.100.7"  # what tests.support.execute reports as the client address
STORED_MODELS: tuple[type[Model], ...] = (
    Admin,
    AdminSession,
    AuditEvent,
    Credential,
    Grant,
    IpRange,
    ServiceClient,
    SharedAccessToken,
)
CATALOG_FILE = Path(catalog.__file__).with_name("default_catalog.toml")


@dataclass(frozen=True)
class World:
    """One live token (with a grant) and one service client, made through the domain."""

    token_id: str
    access_token: str
    refresh_key: str
    client_id: str
    client_secret: str


@pytest.fixture
async def world(admin: AdminCaller) -> World:
    issued = await lifecycle.create(
        actor=admin.username,
        name="Acme",
        grants=[GrantRequest("employees", None, read=True, write=False, delete=False)],
    )
    client = await service_clients.create(name="Gateway", actor=admin.username)
    return World(
        token_id=str(issued.token.id),
        access_token=issued.access_token,
        refresh_key=issued.refresh_key,
        client_id=str(client.client.id),
        client_secret=client.secret,
    )


async def snapshot() -> dict[str, list[str]]:
    """Every stored row, to show that a refused call wrote nothing."""
    return {
        model.__name__: sorted(json.dumps(row, default=str, sort_keys=True) for row in rows)
        for model in STORED_MODELS
        for rows in [await model.all().values()]
    }


def grant_input(area: str, folder: str | None = None, **access: bool) -> dict[str, Any]:
    return {
        "area": area,
        "folder": folder,
        "read": access.get("read", False),
        "write": access.get("write", False),
        "delete": access.get("delete", False),
    }


async def create_token(caller: Caller, **fields: Any) -> GraphQLResult:
    return await execute(
        operation("CreateSharedAccessToken"), {"input": {"name": "Acme", **fields}}, caller=caller
    )


# --- who may call what ---------------------------------------------------------------------------

Variables = Callable[[World], dict[str, Any]]

CALLS: dict[str, tuple[str, Variables]] = {
    "me": ("Me", lambda w: {}),
    "areas": ("Areas", lambda w: {}),
    "sharedAccessTokens": ("SharedAccessTokens", lambda w: {}),
    "sharedAccessToken": ("SharedAccessToken", lambda w: {"id": w.token_id}),
    "validateToken": (
        "ValidateToken",
        lambda w: {"token": w.access_token, "ip": CLIENT_IP, "area": "employees", "access": "READ"},
    ),
    "auditEvents": ("AuditEvents", lambda w: {"sharedAccessTokenId": w.token_id}),
    "serviceClients": ("ServiceClients", lambda w: {}),
    "login": ("Login", lambda w: {"username": "alice", "password": ADMIN_PASSWORD}),
    "logout": ("Logout", lambda w: {}),
    "createSharedAccessToken": ("CreateSharedAccessToken", lambda w: {"input": {"name": "New"}}),
    "grant": (
        "Grant",
        lambda w: {"id": w.token_id, "grants": [grant_input("payroll", read=True)]},
    ),
    "restrict": ("Restrict", lambda w: {"id": w.token_id, "ipRanges": [{"from": "10.0.0.0/8"}]}),
    "refreshAccessToken": ("RefreshAccessToken", lambda w: {"refreshKey": w.refresh_key}),
    "revokeSharedAccessToken": ("RevokeSharedAccessToken", lambda w: {"id": w.token_id}),
    "updateSharedAccessToken": (
        "UpdateSharedAccessToken",
        lambda w: {"id": w.token_id, "input": {"name": "Renamed"}},
    ),
    "rollSharedAccessToken": ("RollSharedAccessToken", lambda w: {"id": w.token_id}),
    "createServiceClient": ("CreateServiceClient", lambda w: {"name": "Backend"}),
    "revokeServiceClient": ("RevokeServiceClient", lambda w: {"id": w.client_id}),
}
OPEN_FIELDS = ["login", "refreshAccessToken"]
SERVICE_FIELDS = ["areas", "validateToken"]
ADMIN_FIELDS = sorted(set(CALLS) - {"me", *OPEN_FIELDS, *SERVICE_FIELDS})


async def call(field: str, world: World, caller: Caller | None) -> GraphQLResult:
    name, variables = CALLS[field]
    return await execute(operation(name), variables(world), caller=caller)


def test_the_access_table_covers_every_query_and_mutation_field() -> None:
    sdl = build_schema(str(schema))
    assert sdl.query_type is not None
    assert sdl.mutation_type is not None

    fields = set(sdl.query_type.fields) | set(sdl.mutation_type.fields)

    assert fields == set(CALLS)


@pytest.mark.parametrize("field", ADMIN_FIELDS + SERVICE_FIELDS)
async def test_anonymous_callers_are_unauthenticated(field: str, world: World) -> None:
    before = await snapshot()

    result = await call(field, world, caller=None)

    assert result.codes == ["UNAUTHENTICATED"]
    assert not (result.data or {}).get(field)
    assert await snapshot() == before


@pytest.mark.parametrize("field", ADMIN_FIELDS)
async def test_service_clients_may_not_call_admin_fields(
    field: str, world: World, service: ServiceCaller
) -> None:
    before = await snapshot()

    result = await call(field, world, caller=service)

    assert result.codes == ["FORBIDDEN"]
    assert not (result.data or {}).get(field)
    assert await snapshot() == before


@pytest.mark.parametrize("field", SERVICE_FIELDS)
async def test_service_clients_may_validate_tokens_and_read_areas(
    field: str, world: World, service: ServiceCaller
) -> None:
    result = await call(field, world, caller=service)

    assert_no_errors(result)
    assert result.data is not None
    assert result.data[field]


@pytest.mark.parametrize("field", sorted(CALLS))
async def test_admins_may_call_everything(field: str, world: World, admin: AdminCaller) -> None:
    result = await call(field, world, caller=admin)

    assert_no_errors(result)
    assert result.data is not None
    assert result.data[field] not in (None, False)


@pytest.mark.parametrize(
    ("caller_kind", "expected"),
    [("anonymous", None), ("service", None), ("admin", {"username": "alice"})],
)
async def test_me_is_the_logged_in_admin_or_null(
    caller_kind: str,
    expected: dict[str, str] | None,
    admin: AdminCaller,
    service: ServiceCaller,
) -> None:
    caller = {"anonymous": None, "service": service, "admin": admin}[caller_kind]

    result = await execute(operation("Me"), caller=caller)

    assert_no_errors(result)
    assert result.data == {"me": expected}


async def test_anyone_may_log_in(world: World) -> None:
    result = await call("login", world, caller=None)

    assert_no_errors(result)
    assert result.data is not None
    session = result.data["login"]
    assert session["token"].startswith("sata_")
    assert session["admin"] == {"username": "alice"}
    assert await admins.authenticate(session["token"]) is not None


async def test_anyone_holding_a_refresh_key_may_refresh(world: World) -> None:
    result = await call("refreshAccessToken", world, caller=None)

    assert_no_errors(result)
    assert result.data is not None
    refreshed = result.data["refreshAccessToken"]
    assert refreshed["accessToken"].startswith("sat_")
    assert refreshed["accessToken"] != world.access_token
    assert refreshed["refreshKey"].startswith("satr_")
    assert refreshed["sharedAccessToken"]["id"] == world.token_id


# --- error codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"expiresInDays": 0}, "expiresInDays", "expiresInDays must be between 1 and 365"),
        ({"expiresInDays": 366}, "expiresInDays", "expiresInDays must be between 1 and 365"),
        ({"expiresInDays": -1}, "expiresInDays", "expiresInDays must be between 1 and 365"),
        ({"refreshGraceSeconds": 86_401}, "refreshGraceSeconds", None),
        ({"name": "  "}, "name", None),
        ({"name": "x" * 101}, "name", None),
        ({"grants": [grant_input("nope", read=True)]}, "grants[0].area", None),
        (
            {"grants": [grant_input("employees", read=True), grant_input("employees", "nope")]},
            "grants[1].folder",
            None,
        ),
        (
            {"grants": [grant_input("payroll", "", read=True, write=True, delete=True)]},
            "grants[0].folder",
            "grants[0].folder must not be empty: omit it, or send null, for the whole area",
        ),
        ({"ipRanges": [{"from": "10.0.0.300"}]}, "ipRanges[0].from", None),
        ({"ipRanges": [{"from": "10.0.0.9", "to": "10.0.0.1"}]}, "ipRanges[0].to", None),
        ({"ipRanges": [{"from": "10.0.0.1", "to": "::1"}]}, "ipRanges[0].to", None),
    ],
)
async def test_invalid_create_input_is_bad_user_input_naming_the_field(
    fields: dict[str, Any], field: str, message: str | None, admin: AdminCaller
) -> None:
    before = await snapshot()

    result = await create_token(admin, **fields)

    assert result.codes == ["BAD_USER_INPUT"]
    [error] = result.errors
    assert error["extensions"]["field"] == field
    assert error["message"].startswith(field + " ")
    if message is not None:
        assert error["message"] == message
    assert result.data is None
    assert await snapshot() == before


@pytest.mark.parametrize(
    ("name", "variables", "field"),
    [
        ("SharedAccessTokens", {"first": 0}, "first"),
        ("SharedAccessTokens", {"first": 101}, "first"),
        ("SharedAccessTokens", {"after": "garbage"}, "after"),
        ("SharedAccessTokens", {"search": "x" * 101}, "search"),
        ("AuditEvents", {"first": 0}, "first"),
        ("AuditEvents", {"after": "not-a-cursor"}, "after"),
        (
            "ValidateToken",
            {"token": "sat_x", "ip": "not-an-ip", "area": "employees", "access": "READ"},
            "ip",
        ),
    ],
)
async def test_invalid_query_arguments_are_bad_user_input_naming_the_field(
    name: str, variables: dict[str, Any], field: str, admin: AdminCaller
) -> None:
    result = await execute(operation(name), variables, caller=admin)

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert result.errors[0]["message"].startswith(field + " ")


async def test_an_empty_folder_in_grant_is_refused_and_a_null_one_means_the_area(
    world: World, admin: AdminCaller
) -> None:
    before = await snapshot()

    refused = await execute(
        operation("Grant"),
        {"id": world.token_id, "grants": [grant_input("payroll", "", delete=True)]},
        caller=admin,
    )

    assert refused.codes == ["BAD_USER_INPUT"]
    assert refused.errors[0]["extensions"]["field"] == "grants[0].folder"
    assert await snapshot() == before
    granted = await execute(
        operation("Grant"),
        {"id": world.token_id, "grants": [grant_input("payroll", None, delete=True)]},
        caller=admin,
    )
    assert granted.errors == []
    assert granted.data is not None
    assert {"area": {"key": "payroll", "name": "Payroll"}, "folder": None} in [
        {"area": g["area"], "folder": g["folder"]} for g in granted.data["grant"]["grants"]
    ]


ID_MUTATIONS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("Grant", lambda i: {"id": i, "grants": [grant_input("payroll", read=True)]}),
    ("Restrict", lambda i: {"id": i, "ipRanges": [{"from": "10.0.0.1"}]}),
    ("RevokeSharedAccessToken", lambda i: {"id": i}),
    ("RevokeServiceClient", lambda i: {"id": i}),
]


@pytest.mark.parametrize("unknown_id", UNKNOWN_IDS)
@pytest.mark.parametrize(("name", "variables"), ID_MUTATIONS, ids=[m[0] for m in ID_MUTATIONS])
async def test_mutations_on_unknown_ids_are_not_found(
    name: str,
    variables: Callable[[str], dict[str, Any]],
    unknown_id: str,
    world: World,
    admin: AdminCaller,
) -> None:
    before = await snapshot()

    result = await execute(operation(name), variables(unknown_id), caller=admin)

    assert result.codes == ["NOT_FOUND"]
    assert result.data is None
    assert await snapshot() == before


@pytest.mark.parametrize("unknown_id", UNKNOWN_IDS)
async def test_shared_access_token_is_null_for_an_id_that_names_nothing(
    unknown_id: str, world: World, admin: AdminCaller
) -> None:
    result = await execute(operation("SharedAccessToken"), {"id": unknown_id}, caller=admin)

    assert_no_errors(result)
    assert result.data == {"sharedAccessToken": None}


@pytest.mark.parametrize("unknown_id", UNKNOWN_IDS)
async def test_audit_events_of_an_id_that_names_nothing_are_empty(
    unknown_id: str, world: World, admin: AdminCaller
) -> None:
    result = await execute(
        operation("AuditEvents"), {"sharedAccessTokenId": unknown_id}, caller=admin
    )

    assert_no_errors(result)
    assert result.data is not None
    assert result.data["auditEvents"]["nodes"] == []
    assert result.data["auditEvents"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("Grant", {"grants": [grant_input("payroll", read=True)]}),
        ("Restrict", {"ipRanges": []}),
    ],
)
async def test_changing_a_revoked_token_is_a_conflict(
    name: str, variables: dict[str, Any], world: World, admin: AdminCaller
) -> None:
    await lifecycle.revoke(token_id=world.token_id, actor="alice")
    before = await snapshot()

    result = await execute(operation(name), {"id": world.token_id, **variables}, caller=admin)

    assert result.codes == ["CONFLICT"]
    assert result.data is None
    assert await snapshot() == before


async def test_a_taken_token_name_is_a_conflict(world: World, admin: AdminCaller) -> None:
    result = await create_token(admin, name=" ACME ")

    assert result.codes == ["CONFLICT"]


async def test_failed_logins_are_unauthenticated_then_rate_limited(
    admin: AdminCaller, monkeypatch: pytest.MonkeyPatch
) -> None:
    # argon2 costs ~170 ms a call; the limit, not the hash, is under test here.
    monkeypatch.setattr(hashing.argon2, "verify", lambda password, hashed: False)
    variables = {"username": "alice", "password": "wrong password"}

    answers = [(await execute(operation("Login"), variables)).codes for _ in range(10)]
    limited = await execute(operation("Login"), variables)

    assert answers == [["UNAUTHENTICATED"]] * 10
    assert limited.codes == ["RATE_LIMITED"]
    assert 0 < limited.errors[0]["extensions"]["retryAfterSeconds"] <= 15 * 60


async def test_a_revoked_tokens_refresh_key_is_unauthenticated(world: World) -> None:
    await lifecycle.revoke(token_id=world.token_id, actor="alice")

    result = await call("refreshAccessToken", world, caller=None)

    assert result.codes == ["UNAUTHENTICATED"]


async def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("secret internals")


@pytest.mark.parametrize(
    ("field", "module", "function"),
    [
        ("sharedAccessTokens", views, "overview"),
        ("createSharedAccessToken", lifecycle, "create"),
        ("revokeSharedAccessToken", lifecycle, "revoke"),
        ("areas", catalog, "load"),
    ],
)
async def test_an_unexpected_failure_is_masked_and_logged_with_the_request_id(
    field: str,
    module: Any,
    function: str,
    world: World,
    admin: AdminCaller,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(module, function, _raise)

    with caplog.at_level(logging.ERROR):
        result = await call(field, world, caller=admin)

    assert result.codes == ["INTERNAL_SERVER_ERROR"]
    assert result.data is None
    shown = json.dumps(result.errors)
    assert "secret internals" not in shown
    assert "RuntimeError" not in shown
    logged = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.exc_info and "secret internals" in str(r.exc_info[1])
    ]
    assert len(logged) == 1
    assert "test" in logged[0].getMessage()


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        pytest.param("query { areas ", None, "GRAPHQL_PARSE_FAILED", id="syntax-error"),
        pytest.param(
            "query { noSuchField }", None, "GRAPHQL_VALIDATION_FAILED", id="unknown-field"
        ),
        pytest.param(
            "query { areas { key nope } }",
            None,
            "GRAPHQL_VALIDATION_FAILED",
            id="unknown-subfield",
        ),
        pytest.param(
            operation("CreateSharedAccessToken"), {}, "BAD_USER_INPUT", id="missing-variable"
        ),
        pytest.param(
            operation("CreateSharedAccessToken"),
            {"input": {"name": "Acme", "expiresInDays": "abc"}},
            "BAD_USER_INPUT",
            id="variable-of-wrong-type",
        ),
        pytest.param(
            operation("Grant"),
            {"id": "1", "grants": [{"area": "x"}]},
            "BAD_USER_INPUT",
            id="incomplete-input",
        ),
        pytest.param(
            operation("SharedAccessTokens"),
            {"status": "SLEEPING"},
            "BAD_USER_INPUT",
            id="unknown-enum-value",
        ),
    ],
)
async def test_a_malformed_request_is_refused_with_its_code_and_no_incident(
    document: str,
    variables: dict[str, Any] | None,
    code: str,
    admin: AdminCaller,
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = await snapshot()

    with caplog.at_level(logging.ERROR):
        result = await execute(document, variables, caller=admin)

    # One error per fault: an input missing three fields has three.
    assert result.codes
    assert set(result.codes) == {code}
    assert result.data is None
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await snapshot() == before


# --- areas ----------------------------------------------------------------------------------------


async def test_areas_are_the_catalog_in_order_with_folders_and_kinds(
    service: ServiceCaller,
) -> None:
    expected = [
        {
            "key": area["key"],
            "name": area["name"],
            "folders": [
                {"key": f["key"], "name": f["name"], "kind": f.get("kind", "FOLDER")}
                for f in area.get("folder", [])
            ],
        }
        for area in tomllib.loads(CATALOG_FILE.read_text(encoding="utf-8"))["area"]
    ]

    result = await execute(operation("Areas"), caller=service)

    assert_no_errors(result)
    assert result.data == {"areas": expected}
    assert any(f["kind"] == "FORM" for a in expected for f in a["folders"])


# --- the whole flow, and secrets shown once ------------------------------------------------------


async def test_create_grant_restrict_revoke_then_review(admin: AdminCaller) -> None:
    created = await create_token(
        admin,
        name="  Acme Payroll  ",
        expiresInDays=30,
        refreshGraceSeconds=120,
        grants=[grant_input("payroll", read=True), grant_input("absence", "holidays")],
        ipRanges=[{"from": "203.0.113.0/24", "label": "office"}],
    )
    assert_no_errors(created)
    assert created.data is not None
    issued = created.data["createSharedAccessToken"]
    token = issued["sharedAccessToken"]
    token_id = token["id"]
    assert token["name"] == "Acme Payroll"
    assert token["status"] == "ACTIVE"
    assert token["createdBy"] == "alice"
    assert token["expiresInDays"] == 30
    assert token["refreshGraceSeconds"] == 120
    assert token["expiresAt"] == issued["expiresAt"]
    assert token["revokedAt"] is None
    assert token["tokenHint"] == issued["accessToken"][-4:]
    assert token["grants"] == [
        {
            "area": {"key": "payroll", "name": "Payroll"},
            "folder": None,
            "read": True,
            "write": False,
            "delete": False,
        }
    ]
    assert token["ipRanges"] == [{"label": "office", "from": "203.0.113.0", "to": "203.0.113.255"}]

    granted = await execute(
        operation("Grant"),
        {
            "id": token_id,
            "grants": [
                grant_input("payroll"),
                grant_input("absence", "holidays", read=True, write=True),
            ],
        },
        caller=admin,
    )
    assert_no_errors(granted)
    assert granted.data is not None
    assert granted.data["grant"]["grants"] == [
        {
            "area": {"key": "absence", "name": "Absence"},
            "folder": {"key": "holidays", "name": "Holidays", "kind": "FOLDER"},
            "read": True,
            "write": True,
            "delete": False,
        }
    ]

    restricted = await execute(
        operation("Restrict"),
        {"id": token_id, "ipRanges": [{"from": "2001:db8::1", "to": "2001:db8::ff"}]},
        caller=admin,
    )
    assert_no_errors(restricted)
    assert restricted.data is not None
    assert restricted.data["restrict"]["ipRanges"] == [
        {"label": None, "from": "2001:db8::1", "to": "2001:db8::ff"}
    ]

    revoked = await execute(operation("RevokeSharedAccessToken"), {"id": token_id}, caller=admin)
    assert_no_errors(revoked)
    assert revoked.data is not None
    assert revoked.data["revokeSharedAccessToken"]["status"] == "REVOKED"
    assert revoked.data["revokeSharedAccessToken"]["revokedAt"] is not None

    overview = await execute(operation("SharedAccessTokens"), {"status": "REVOKED"}, caller=admin)
    assert_no_errors(overview)
    assert overview.data is not None
    assert overview.data["sharedAccessTokens"]["nodes"] == [revoked.data["revokeSharedAccessToken"]]
    active = await execute(operation("SharedAccessTokens"), {"status": "ACTIVE"}, caller=admin)
    assert active.data == {
        "sharedAccessTokens": {
            "totalCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [],
        }
    }

    trail = await execute(operation("AuditEvents"), {"sharedAccessTokenId": token_id}, caller=admin)
    assert_no_errors(trail)
    assert trail.data is not None
    nodes = trail.data["auditEvents"]["nodes"]
    assert [n["action"] for n in nodes] == [
        "TOKEN_REVOKED",
        "IP_RANGES_CHANGED",
        "GRANTS_CHANGED",
        "TOKEN_CREATED",
    ]
    assert {(n["actor"], n["ip"], n["sharedAccessTokenId"]) for n in nodes} == {
        ("alice", CLIENT_IP, token_id)
    }
    assert trail.data["auditEvents"]["totalCount"] == 4


async def test_secrets_appear_only_in_the_create_response(admin: AdminCaller) -> None:
    created = await create_token(admin, grants=[grant_input("employees", read=True)])
    assert created.data is not None
    issued = created.data["createSharedAccessToken"]
    access_token, refresh_key = issued["accessToken"], issued["refreshKey"]
    assert access_token.startswith("sat_")
    assert refresh_key.startswith("satr_")
    token_id = issued["sharedAccessToken"]["id"]
    await execute(operation("Restrict"), {"id": token_id, "ipRanges": []}, caller=admin)

    later = [
        await execute(operation("SharedAccessToken"), {"id": token_id}, caller=admin),
        await execute(operation("SharedAccessTokens"), caller=admin),
        await execute(operation("AuditEvents"), caller=admin),
        await execute(operation("AuditEvents"), {"sharedAccessTokenId": token_id}, caller=admin),
    ]

    for result in later:
        assert_no_errors(result)
        shown = json.dumps(result.data)
        assert token_id in shown
        for secret in (access_token, refresh_key):
            assert secret not in shown
            assert secret[-10:] not in shown


async def test_a_service_client_secret_appears_only_in_the_create_response(
    admin: AdminCaller,
) -> None:
    created = await execute(operation("CreateServiceClient"), {"name": "Backend"}, caller=admin)
    assert created.data is not None
    secret = created.data["createServiceClient"]["secret"]
    assert secret.startswith("satc_")
    assert await service_clients.authenticate(secret) is not None

    listed = await execute(operation("ServiceClients"), caller=admin)
    trail = await execute(operation("AuditEvents"), caller=admin)

    assert listed.data is not None
    assert [c["name"] for c in listed.data["serviceClients"]] == ["Backend"]
    assert secret not in json.dumps(listed.data)
    assert secret not in json.dumps(trail.data)


async def test_a_revoked_service_client_is_shown_revoked_and_locked_out(
    world: World, admin: AdminCaller
) -> None:
    assert await service_clients.authenticate(world.client_secret) is not None

    result = await execute(operation("RevokeServiceClient"), {"id": world.client_id}, caller=admin)

    assert_no_errors(result)
    assert result.data is not None
    assert result.data["revokeServiceClient"]["revokedAt"] is not None
    assert await service_clients.authenticate(world.client_secret) is None


# --- overview paging ---------------------------------------------------------------------------


async def test_overview_pages_through_graphql(admin: AdminCaller) -> None:
    names = [f"Partner {index}" for index in range(5)]
    for name in names:
        await lifecycle.create(actor="alice", name=name)
    await lifecycle.create(actor="alice", name="Unrelated")

    seen: list[str] = []
    more: list[bool] = []
    after = None
    for _ in range(10):
        result = await execute(
            operation("SharedAccessTokens"),
            {"search": "partner", "first": 2, "after": after},
            caller=admin,
        )
        assert_no_errors(result)
        assert result.data is not None
        connection = result.data["sharedAccessTokens"]
        assert connection["totalCount"] == 5
        seen.extend(node["name"] for node in connection["nodes"])
        more.append(connection["pageInfo"]["hasNextPage"])
        after = connection["pageInfo"]["endCursor"]
        if not connection["pageInfo"]["hasNextPage"]:
            break

    assert more == [True, True, False]
    assert seen == list(reversed(names))


async def test_audit_events_page_newest_first(world: World, admin: AdminCaller) -> None:
    everything = await execute(operation("AuditEvents"), {"first": 100}, caller=admin)
    assert everything.data is not None
    all_ids = [n["id"] for n in everything.data["auditEvents"]["nodes"]]
    assert len(all_ids) >= 3
    assert all_ids == sorted(all_ids, key=int, reverse=True)

    first = await execute(operation("AuditEvents"), {"first": 2}, caller=admin)
    assert first.data is not None
    cursor = first.data["auditEvents"]["pageInfo"]["endCursor"]
    rest = await execute(operation("AuditEvents"), {"first": 100, "after": cursor}, caller=admin)
    assert rest.data is not None

    paged = [n["id"] for n in first.data["auditEvents"]["nodes"]] + [
        n["id"] for n in rest.data["auditEvents"]["nodes"]
    ]
    assert paged == all_ids
    assert first.data["auditEvents"]["pageInfo"]["hasNextPage"] is True
    assert rest.data["auditEvents"]["pageInfo"]["hasNextPage"] is False
