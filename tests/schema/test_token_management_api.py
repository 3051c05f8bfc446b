"""Roll, update and the expiring-soon filter through GraphQL, with the documents clients send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models import AuditEvent, Credential, SharedAccessToken
from tests.support import NOW, GraphQLResult, assert_no_errors, execute, operation
from tokens import lifecycle
from tokens.callers import AdminCaller, ServiceCaller
from tokens.grants import GrantRequest

pytestmark = pytest.mark.usefixtures("db")

CLIENT_IP = "198.51.100.7"  # what tests.support.execute reports as the client address


async def make_token(
    admin: AdminCaller, name: str = "Acme", days: int = 90
) -> lifecycle.IssuedToken:
    return await lifecycle.create(
        actor=admin.username,
        name=name,
        expires_in_days=days,
        grants=[GrantRequest("payroll", None, read=True, write=False, delete=False)],
    )


async def roll(admin: AdminCaller, token_id: int | str, **variables: Any) -> GraphQLResult:
    return await execute(
        operation("RollSharedAccessToken"), {"id": str(token_id), **variables}, caller=admin
    )


async def update(admin: AdminCaller, token_id: int | str, **fields: Any) -> GraphQLResult:
    return await execute(
        operation("UpdateSharedAccessToken"),
        {"id": str(token_id), "input": fields},
        caller=admin,
    )


async def validate(service: ServiceCaller, token: str) -> dict[str, Any]:
    result = await execute(
        operation("ValidateToken"),
        {"token": token, "ip": CLIENT_IP, "area": "payroll", "access": "READ"},
        caller=service,
    )
    assert_no_errors(result)
    assert result.data is not None
    answer: dict[str, Any] = result.data["validateToken"]
    return answer


async def refresh(refresh_key: str) -> GraphQLResult:
    return await execute(operation("RefreshAccessToken"), {"refreshKey": refresh_key})


async def row_counts() -> tuple[int, int, int]:
    return (
        await SharedAccessToken.all().count(),
        await Credential.all().count(),
        await AuditEvent.all().count(),
    )


# --- roll ------------------------------------------------------------------------------------


async def test_roll_shows_a_new_pair_once_and_the_old_access_token_is_rotated(
    admin: AdminCaller, service: ServiceCaller
) -> None:
    issued = await make_token(admin)

    result = await roll(admin, issued.token.id)

    assert_no_errors(result)
    assert result.data is not None
    rolled = result.data["rollSharedAccessToken"]
    assert rolled["accessToken"].startswith("sat_")
    assert rolled["refreshKey"].startswith("satr_")
    assert rolled["sharedAccessToken"]["tokenHint"] == rolled["accessToken"][-4:]
    assert (await validate(service, rolled["accessToken"]))["valid"] is True
    assert (await validate(service, issued.access_token))["reason"] == "ROTATED"


async def test_roll_grace_defaults_to_zero_and_can_be_given(
    admin: AdminCaller, service: ServiceCaller
) -> None:
    issued = await make_token(admin)

    result = await roll(admin, issued.token.id, graceSeconds=3600)

    assert_no_errors(result)
    assert (await validate(service, issued.access_token))["valid"] is True
    (event,) = await AuditEvent.filter(action="TOKEN_ROLLED")
    assert '"graceSeconds":3600' in (event.detail or "")
    assert event.ip == CLIENT_IP


async def test_an_earlier_refresh_key_after_a_roll_is_unauthenticated_and_not_reuse(
    admin: AdminCaller,
) -> None:
    issued = await make_token(admin)
    await roll(admin, issued.token.id)

    result = await refresh(issued.refresh_key)

    assert result.codes == ["UNAUTHENTICATED"]
    row = await SharedAccessToken.get(id=issued.token.id)
    assert row.revoked_at is None
    assert not await AuditEvent.filter(action="REFRESH_KEY_REUSED").exists()


@pytest.mark.parametrize("grace", [-1, 86_401])
async def test_roll_with_a_grace_out_of_range_names_the_field(
    admin: AdminCaller, grace: int
) -> None:
    issued = await make_token(admin)
    before = await row_counts()

    result = await roll(admin, issued.token.id, graceSeconds=grace)

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == "graceSeconds"
    assert result.errors[0]["message"].startswith("graceSeconds ")
    assert await row_counts() == before


async def test_roll_of_a_revoked_token_is_a_conflict(admin: AdminCaller) -> None:
    issued = await make_token(admin)
    await lifecycle.revoke(token_id=str(issued.token.id), actor=admin.username)

    result = await roll(admin, issued.token.id)

    assert result.codes == ["CONFLICT"]
    assert result.data is None


@pytest.mark.parametrize("token_id", ["999", "abc", "", "-1", "99999999999999999999"])
async def test_roll_of_an_unknown_id_is_not_found(admin: AdminCaller, token_id: str) -> None:
    result = await roll(admin, token_id)
    assert result.codes == ["NOT_FOUND"]


# --- update ----------------------------------------------------------------------------------


async def test_update_changes_only_the_fields_given(admin: AdminCaller) -> None:
    issued = await make_token(admin, days=90)

    result = await update(admin, issued.token.id, name="Payroll bureau", refreshGraceSeconds=30)

    assert_no_errors(result)
    assert result.data is not None
    view = result.data["updateSharedAccessToken"]
    assert (view["name"], view["refreshGraceSeconds"], view["expiresInDays"]) == (
        "Payroll bureau",
        30,
        90,
    )
    result = await update(admin, issued.token.id, expiresInDays=30, name=None)
    assert result.data is not None
    view = result.data["updateSharedAccessToken"]
    assert (view["name"], view["refreshGraceSeconds"], view["expiresInDays"]) == (
        "Payroll bureau",
        30,
        30,
    )


async def test_update_is_audited_as_token_updated(admin: AdminCaller) -> None:
    issued = await make_token(admin)

    await update(admin, issued.token.id, name="Renamed")

    (event,) = await AuditEvent.filter(action="TOKEN_UPDATED")
    assert (event.actor, event.ip, event.token_id) == ("alice", CLIENT_IP, issued.token.id)
    assert event.detail == '{"new":{"name":"Renamed"},"old":{"name":"Acme"}}'


async def test_update_to_a_taken_name_is_a_conflict_naming_the_field(admin: AdminCaller) -> None:
    await make_token(admin, "Taken")
    issued = await make_token(admin, "Acme")

    result = await update(admin, issued.token.id, name="taken")

    assert result.codes == ["CONFLICT"]
    assert result.errors[0]["extensions"]["field"] == "name"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"expiresInDays": 366}, "expiresInDays"),
        ({"refreshGraceSeconds": 86_401}, "refreshGraceSeconds"),
    ],
)
async def test_invalid_update_names_the_field_and_writes_nothing(
    admin: AdminCaller, fields: dict[str, Any], field: str
) -> None:
    issued = await make_token(admin)
    before = await row_counts()

    result = await update(admin, issued.token.id, **fields)

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == field
    assert await row_counts() == before


async def test_update_of_a_revoked_token_is_a_conflict(admin: AdminCaller) -> None:
    issued = await make_token(admin)
    await lifecycle.revoke(token_id=str(issued.token.id), actor=admin.username)

    result = await update(admin, issued.token.id, name="Renamed")

    assert result.codes == ["CONFLICT"]


# --- the expiring-soon filter -------------------------------------------------------------------


async def test_expires_within_days_lists_only_tokens_expiring_by_then(admin: AdminCaller) -> None:
    await make_token(admin, "soon", days=7)
    await make_token(admin, "later", days=90)

    result = await execute(operation("SharedAccessTokens"), {"expiresWithinDays": 14}, caller=admin)

    assert_no_errors(result)
    assert result.data is not None
    connection = result.data["sharedAccessTokens"]
    assert [n["name"] for n in connection["nodes"]] == ["soon"]
    assert connection["totalCount"] == 1
    expires = datetime.fromisoformat(connection["nodes"][0]["expiresAt"])
    assert expires - datetime.now(UTC) < timedelta(days=14)


@pytest.mark.parametrize("days", [0, 366])
async def test_expires_within_days_out_of_range_names_the_argument(
    admin: AdminCaller, days: int
) -> None:
    result = await execute(
        operation("SharedAccessTokens"), {"expiresWithinDays": days}, caller=admin
    )

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == "expiresWithinDays"


async def test_the_overview_reads_the_clock_of_the_request_context(admin: AdminCaller) -> None:
    """GraphQL-level tests move the context's clock instead of sleeping."""
    created = await execute(
        operation("CreateSharedAccessToken"),
        {"input": {"name": "thirty days", "expiresInDays": 30}},
        caller=admin,
        now=NOW,
    )
    assert_no_errors(created)

    async def listed(at: datetime, **variables: Any) -> list[tuple[str, str]]:
        result = await execute(operation("SharedAccessTokens"), variables, caller=admin, now=at)
        assert_no_errors(result)
        assert result.data is not None
        return [(n["name"], n["status"]) for n in result.data["sharedAccessTokens"]["nodes"]]

    assert await listed(NOW + timedelta(days=10), expiresWithinDays=14) == []
    assert await listed(NOW + timedelta(days=20), expiresWithinDays=14) == [
        ("thirty days", "ACTIVE")
    ]
    assert await listed(NOW + timedelta(days=31)) == [("thirty days", "EXPIRED")]
