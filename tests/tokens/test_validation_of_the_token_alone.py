"""``validate`` without an address (fail closed on ranges) or without a resource (token alone)."""

from __future__ import annotations

from datetime import timedelta

from tests.support import NOW
from tests.tokens.test_validation import SOON, issue, row_of
from tokens.grants import Access
from tokens.validation import DenialReason, Validation, validate


async def alone(token: str, *, ip: str | None = None, area: str | None = None) -> Validation:
    return await validate(token=token, ip=ip, area=area, folder=None, access=Access.READ, now=SOON)


async def test_without_an_address_a_token_with_ranges_is_refused(db: None) -> None:
    issued = await issue(ranges=["192.0.2.0/24"])

    result = await alone(issued.access_token)

    assert (result.valid, result.reason) == (False, DenialReason.IP_NOT_ALLOWED)


async def test_without_an_address_a_token_without_ranges_is_valid(db: None) -> None:
    issued = await issue(ranges=[])

    assert (await alone(issued.access_token)).valid is True


async def test_without_an_area_no_resource_is_checked(db: None) -> None:
    issued = await issue(grants=[], ranges=["192.0.2.0/24"])

    result = await alone(issued.access_token, ip="192.0.2.10")

    assert (result.valid, result.reason) == (True, None)


async def test_token_faults_still_apply_without_an_area(db: None) -> None:
    issued = await issue(days=1)

    later = await validate(
        token=issued.access_token,
        ip=None,
        area=None,
        folder=None,
        access=Access.READ,
        now=NOW + timedelta(days=2),
    )

    assert later.reason is DenialReason.EXPIRED


async def test_valid_answer_without_an_address_records_use_with_no_address(db: None) -> None:
    issued = await issue(ranges=[])

    await alone(issued.access_token)

    row = await row_of(issued)
    assert row.last_used_at == SOON
    assert row.last_used_ip is None


async def test_valid_answer_carries_issue_time_and_grants(db: None) -> None:
    issued = await issue()

    token = (await alone(issued.access_token)).token

    assert token is not None
    assert token.issued_at == NOW
    assert [grant.target for grant in token.grants] == ["payroll"]
