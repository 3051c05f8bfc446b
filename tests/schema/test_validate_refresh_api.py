"""validateToken and refreshAccessToken through the real schema, with the clients' documents."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from models import AuditEvent
from tests.support import assert_no_errors, execute, issue_token, operation
from tokens import lifecycle, refresh, secrets
from tokens.callers import AdminCaller, ServiceCaller
from tokens.clock import utcnow
from tokens.grants import Access
from tokens.lifecycle import IssuedToken
from tokens.secrets import SecretKind
from tokens.validation import DenialReason, Validation, validate

# These tests run on the real clock: the GraphQL path takes no `now`.
CLIENT_IP = "203.0.113.9"
OUTSIDE = "198.51.100.1"
RANGE = "203.0.113.0/24"

VALIDATE = operation("ValidateToken")
REFRESH = operation("RefreshAccessToken")


# This file's tokens: read payroll from RANGE, 30 days, created now on the real clock.
issue = functools.partial(issue_token, ranges=(RANGE,), days=30, now=None)


def variables(
    token: str,
    *,
    ip: str = CLIENT_IP,
    area: str = "payroll",
    folder: str | None = "payslips",
    access: Access = Access.READ,
) -> dict[str, Any]:
    return {"token": token, "ip": ip, "area": area, "folder": folder, "access": access.value}


def as_response(result: Validation) -> dict[str, Any]:
    """What validateToken should answer for a domain result."""
    token = result.token
    return {
        "valid": result.valid,
        "reason": None if result.reason is None else result.reason.value,
        "sharedAccessToken": None
        if token is None
        else {"id": str(token.id), "name": token.name, "expiresAt": token.expires_at},
    }


def parsed(data: dict[str, Any]) -> dict[str, Any]:
    """A validateToken response with its DateTime read back, checked to be UTC."""
    answer = dict(data["validateToken"])
    facts = answer["sharedAccessToken"]
    if facts is not None:
        expires_at = datetime.fromisoformat(facts["expiresAt"])
        assert expires_at.utcoffset() == timedelta(0)
        answer["sharedAccessToken"] = {**facts, "expiresAt": expires_at}
    return answer


# --- validateToken ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["service client", "admin"])
async def test_service_clients_and_admins_may_validate_tokens(
    admin: AdminCaller, service: ServiceCaller, who: str
) -> None:
    caller = service if who == "service client" else admin
    issued = await issue()

    result = await execute(VALIDATE, variables(issued.access_token), caller=caller)

    assert_no_errors(result)
    assert result.data is not None
    assert parsed(result.data) == {
        "valid": True,
        "reason": None,
        "sharedAccessToken": {
            "id": str(issued.token.id),
            "name": "partner",
            "expiresAt": issued.expires_at,
        },
    }


async def test_anonymous_validation_is_unauthenticated(db: None) -> None:
    issued = await issue()

    result = await execute(VALIDATE, variables(issued.access_token), caller=None)

    assert result.codes == ["UNAUTHENTICATED"]
    assert result.data is None


@pytest.mark.parametrize("ip", ["", "not-an-ip", "10.0.0.256", "10.0.0.0/8"])
async def test_unparsable_ip_is_bad_user_input_naming_ip(
    db: None, service: ServiceCaller, ip: str
) -> None:
    issued = await issue()

    result = await execute(VALIDATE, variables(issued.access_token, ip=ip), caller=service)

    assert result.codes == ["BAD_USER_INPUT"]
    assert result.errors[0]["extensions"]["field"] == "ip"
    assert "ip" in result.errors[0]["message"]


# --- the domain and GraphQL give one answer --------------------------------------------------


@dataclass(frozen=True)
class Case:
    setup: Callable[[], Awaitable[dict[str, Any]]]  # prepares a token, returns the variables
    reason: DenialReason | None


async def _valid_folder() -> dict[str, Any]:
    return variables((await issue()).access_token)


async def _valid_area() -> dict[str, Any]:
    return variables((await issue()).access_token, folder=None)


async def _valid_mapped_ip() -> dict[str, Any]:
    return variables((await issue()).access_token, ip=f"::ffff:{CLIENT_IP}")


async def _malformed() -> dict[str, Any]:
    await issue()
    return variables("sat_not-a-token")


async def _refresh_key_as_token() -> dict[str, Any]:
    return variables((await issue()).refresh_key)


async def _unknown() -> dict[str, Any]:
    await issue()
    return variables(secrets.generate(SecretKind.ACCESS_TOKEN))


async def _revoked() -> dict[str, Any]:
    issued = await issue()
    await lifecycle.revoke(token_id=str(issued.token.id), actor="alice")
    return variables(issued.access_token)


async def _rotated() -> dict[str, Any]:
    issued = await issue(grace=0)
    await refresh.refresh(refresh_key=issued.refresh_key, ip=CLIENT_IP)
    return variables(issued.access_token)


async def _rotated_in_grace() -> dict[str, Any]:
    issued = await issue(grace=3600)
    await refresh.refresh(refresh_key=issued.refresh_key, ip=CLIENT_IP)
    return variables(issued.access_token)


async def _expired() -> dict[str, Any]:
    issued = await issue(days=1, now=utcnow() - timedelta(days=2))
    return variables(issued.access_token)


async def _outside() -> dict[str, Any]:
    return variables((await issue()).access_token, ip=OUTSIDE)


async def _unknown_area() -> dict[str, Any]:
    return variables((await issue()).access_token, area="no-such-area", folder=None)


async def _unknown_folder() -> dict[str, Any]:
    return variables((await issue()).access_token, folder="no-such-folder")


async def _empty_folder() -> dict[str, Any]:
    # An empty string names no folder of the area: "no such folder in that area".
    return variables((await issue()).access_token, folder="")


async def _not_permitted() -> dict[str, Any]:
    return variables((await issue()).access_token, access=Access.DELETE)


CASES = {
    "valid for a folder": Case(_valid_folder, None),
    "valid for the area": Case(_valid_area, None),
    "valid from an IPv4-mapped address": Case(_valid_mapped_ip, None),
    "malformed": Case(_malformed, DenialReason.MALFORMED),
    "refresh key as token": Case(_refresh_key_as_token, DenialReason.MALFORMED),
    "unknown": Case(_unknown, DenialReason.UNKNOWN),
    "revoked": Case(_revoked, DenialReason.REVOKED),
    "rotated": Case(_rotated, DenialReason.ROTATED),
    "rotated, in grace": Case(_rotated_in_grace, None),
    "expired": Case(_expired, DenialReason.EXPIRED),
    "outside the ranges": Case(_outside, DenialReason.IP_NOT_ALLOWED),
    "unknown area": Case(_unknown_area, DenialReason.UNKNOWN_RESOURCE),
    "unknown folder": Case(_unknown_folder, DenialReason.UNKNOWN_RESOURCE),
    "empty folder": Case(_empty_folder, DenialReason.UNKNOWN_RESOURCE),
    "not permitted": Case(_not_permitted, DenialReason.NOT_PERMITTED),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_graphql_answers_exactly_what_the_domain_answers(
    db: None, service: ServiceCaller, case: Case
) -> None:
    args = await case.setup()

    direct = await validate(
        token=args["token"],
        ip=args["ip"],
        area=args["area"],
        folder=args["folder"],
        access=Access(args["access"]),
    )
    over_graphql = await execute(VALIDATE, args, caller=service)

    assert direct.reason is case.reason
    assert_no_errors(over_graphql)
    assert over_graphql.data is not None
    assert parsed(over_graphql.data) == as_response(direct)


# --- refreshAccessToken ----------------------------------------------------------------------


async def test_anonymous_refresh_checks_the_callers_own_address(
    db: None, service: ServiceCaller
) -> None:
    issued = await issue(ranges=(RANGE,))

    result = await execute(
        REFRESH, {"refreshKey": issued.refresh_key}, caller=None, client_ip=CLIENT_IP
    )

    assert_no_errors(result)
    assert result.data is not None
    pair = result.data["refreshAccessToken"]
    assert secrets.is_well_formed(SecretKind.ACCESS_TOKEN, pair["accessToken"])
    assert secrets.is_well_formed(SecretKind.REFRESH_KEY, pair["refreshKey"])
    assert pair["accessToken"] != issued.access_token
    assert pair["sharedAccessToken"]["id"] == str(issued.token.id)
    assert pair["sharedAccessToken"]["expiresAt"] == pair["expiresAt"]
    refreshed = await AuditEvent.get(token_id=issued.token.id, action="TOKEN_REFRESHED")
    assert (refreshed.actor, refreshed.ip) == ("refresh-key", CLIENT_IP)
    # the new access token is the one that now validates
    new = await execute(VALIDATE, variables(pair["accessToken"]), caller=service)
    old = await execute(VALIDATE, variables(issued.access_token), caller=service)
    assert new.data is not None
    assert old.data is not None
    assert (new.data["validateToken"]["valid"], old.data["validateToken"]["reason"]) == (
        True,
        "ROTATED",
    )


async def test_refreshed_access_token_expires_expires_in_days_from_now(db: None) -> None:
    issued = await issue(days=10)
    before = utcnow()

    result = await execute(REFRESH, {"refreshKey": issued.refresh_key}, client_ip=CLIENT_IP)

    assert result.data is not None
    expires_at = datetime.fromisoformat(result.data["refreshAccessToken"]["expiresAt"])
    assert before + timedelta(days=10) <= expires_at <= utcnow() + timedelta(days=10)


@pytest.mark.parametrize("client_ip", [OUTSIDE, "2001:db8::1", None])
async def test_refresh_from_outside_the_ranges_is_forbidden(
    db: None, client_ip: str | None
) -> None:
    issued = await issue(ranges=(RANGE,))

    result = await execute(REFRESH, {"refreshKey": issued.refresh_key}, client_ip=client_ip)

    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    denied = await AuditEvent.get(token_id=issued.token.id, action="REFRESH_DENIED_IP")
    assert denied.ip == client_ip


async def test_token_without_ranges_refreshes_from_any_address(db: None) -> None:
    issued = await issue(ranges=())

    result = await execute(REFRESH, {"refreshKey": issued.refresh_key}, client_ip=OUTSIDE)

    assert_no_errors(result)
    assert result.data is not None
    assert result.data["refreshAccessToken"]["accessToken"] != issued.access_token


async def _malformed_key(issued: IssuedToken) -> str:
    return "satr_nope"


async def _access_token_as_key(issued: IssuedToken) -> str:
    return issued.access_token


async def _unknown_key(issued: IssuedToken) -> str:
    return secrets.generate(SecretKind.REFRESH_KEY)


async def _revoked_key(issued: IssuedToken) -> str:
    await lifecycle.revoke(token_id=str(issued.token.id), actor="alice")
    return issued.refresh_key


async def _reused_key(issued: IssuedToken) -> str:
    refreshed = await refresh.refresh(refresh_key=issued.refresh_key, ip=CLIENT_IP)
    await refresh.refresh(refresh_key=refreshed.refresh_key, ip=CLIENT_IP)
    return issued.refresh_key


BAD_KEYS = {
    "malformed": _malformed_key,
    "access token": _access_token_as_key,
    "unknown": _unknown_key,
    "revoked": _revoked_key,
    "reused": _reused_key,
}


@pytest.mark.parametrize("bad_key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
async def test_bad_or_revoked_refresh_key_is_unauthenticated(
    db: None, bad_key: Callable[[IssuedToken], Awaitable[str]]
) -> None:
    issued = await issue()
    key = await bad_key(issued)

    result = await execute(REFRESH, {"refreshKey": key}, client_ip=CLIENT_IP)

    assert result.codes == ["UNAUTHENTICATED"]
    assert result.data is None
