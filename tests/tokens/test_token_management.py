"""An admin's roll and update of a token, and the overview's expiring-soon filter."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from models import AuditEvent, Credential, SharedAccessToken
from tests.support import NOW
from tokens import audit, lifecycle, refresh, secrets
from tokens.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from tokens.grants import Access, GrantRequest
from tokens.lifecycle import IssuedToken, TokenStatus
from tokens.paging import PageRequest
from tokens.secrets import SecretKind
from tokens.validation import DenialReason, Validation, validate

pytestmark = pytest.mark.usefixtures("db")

ACTOR = "alice"
CLIENT_IP = "192.0.2.5"
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def issue(name: str = "partner", *, days: int = 30, grace: int = 0, **kw: Any) -> IssuedToken:
    return await lifecycle.create(
        actor=ACTOR,
        name=name,
        expires_in_days=days,
        grants=[GrantRequest(area="payroll", folder=None, read=True, write=False, delete=False)],
        refresh_grace_seconds=grace,
        now=kw.pop("now", NOW),
        **kw,
    )


async def check(access_token: str, *, at: datetime) -> Validation:
    return await validate(
        token=access_token, ip=CLIENT_IP, area="payroll", folder=None, access=Access.READ, now=at
    )


async def reason(access_token: str, *, at: datetime) -> DenialReason | None:
    return (await check(access_token, at=at)).reason


async def roll(issued: IssuedToken, *, at: datetime, grace: int = 0) -> IssuedToken:
    return await lifecycle.roll(
        token_id=str(issued.token.id), grace_seconds=grace, actor=ACTOR, now=at
    )


async def events(token_id: int, action: audit.Action) -> list[AuditEvent]:
    return await AuditEvent.filter(token_id=token_id, action=action.value).order_by("id")


async def row_counts() -> tuple[int, int]:
    return await Credential.all().count(), await AuditEvent.all().count()


async def is_revoked(token_id: int) -> bool:
    return (await SharedAccessToken.get(id=token_id)).revoked_at is not None


# --- roll ------------------------------------------------------------------------------------


async def test_roll_issues_a_new_well_formed_pair_that_works() -> None:
    issued = await issue(days=30)

    rolled = await roll(issued, at=NOW + HOUR)

    assert secrets.is_well_formed(SecretKind.ACCESS_TOKEN, rolled.access_token)
    assert secrets.is_well_formed(SecretKind.REFRESH_KEY, rolled.refresh_key)
    assert rolled.access_token != issued.access_token
    assert rolled.refresh_key != issued.refresh_key
    assert rolled.expires_at == NOW + HOUR + timedelta(days=30)
    assert rolled.token.expires_at == rolled.expires_at
    assert rolled.token.token_hint == rolled.access_token[-4:]
    assert (await check(rolled.access_token, at=NOW + 2 * HOUR)).valid


async def test_roll_without_grace_refuses_the_previous_access_token_at_once() -> None:
    issued = await issue()

    await roll(issued, at=NOW + HOUR)

    assert await reason(issued.access_token, at=NOW + HOUR) is DenialReason.ROTATED


async def test_roll_with_grace_keeps_the_previous_access_token_valid_until_it_ends() -> None:
    issued = await issue(grace=0)  # the token's own refresh grace does not apply to a roll

    await roll(issued, at=NOW + HOUR, grace=600)

    assert await reason(issued.access_token, at=NOW + HOUR + 599 * SECOND) is None
    assert await reason(issued.access_token, at=NOW + HOUR + 600 * SECOND) is (DenialReason.ROTATED)


async def test_previous_refresh_key_is_refused_after_a_roll_without_revoking_the_token() -> None:
    issued = await issue()
    rolled = await roll(issued, at=NOW + HOUR)

    with pytest.raises(Unauthenticated):
        await refresh.refresh(refresh_key=issued.refresh_key, ip=CLIENT_IP, now=NOW + 2 * HOUR)

    assert not await is_revoked(issued.token.id)
    assert await events(issued.token.id, audit.Action.REFRESH_KEY_REUSED) == []
    assert len(await events(issued.token.id, audit.Action.REFRESH_DENIED_ROLLED)) == 1
    assert (await check(rolled.access_token, at=NOW + 2 * HOUR)).valid


async def test_every_earlier_refresh_key_is_refused_after_a_roll() -> None:
    first = await issue()
    second = await refresh.refresh(refresh_key=first.refresh_key, ip=CLIENT_IP, now=NOW + HOUR)
    assert (await check(second.access_token, at=NOW + HOUR)).valid  # used: no retry window
    await roll(second, at=NOW + 2 * HOUR)

    for key in (first.refresh_key, second.refresh_key):
        with pytest.raises(Unauthenticated):
            await refresh.refresh(refresh_key=key, ip=CLIENT_IP, now=NOW + 3 * HOUR)

    assert not await is_revoked(first.token.id)


async def test_a_retry_of_a_refresh_is_impossible_after_a_roll() -> None:
    """The pre-roll key of an unused refresh would otherwise count as a retry."""
    first = await issue()
    await refresh.refresh(refresh_key=first.refresh_key, ip=CLIENT_IP, now=NOW + HOUR)
    rolled = await lifecycle.roll(token_id=str(first.token.id), actor=ACTOR, now=NOW + 2 * HOUR)

    with pytest.raises(Unauthenticated):
        await refresh.refresh(refresh_key=first.refresh_key, ip=CLIENT_IP, now=NOW + 3 * HOUR)

    assert (await check(rolled.access_token, at=NOW + 3 * HOUR)).valid


async def test_the_rolled_refresh_key_refreshes_as_usual() -> None:
    issued = await issue()
    rolled = await roll(issued, at=NOW + HOUR)

    refreshed = await refresh.refresh(
        refresh_key=rolled.refresh_key, ip=CLIENT_IP, now=NOW + 2 * HOUR
    )

    assert (await check(refreshed.access_token, at=NOW + 2 * HOUR)).valid
    assert not await is_revoked(issued.token.id)


async def test_roll_ends_the_grace_of_access_tokens_rotated_by_an_earlier_refresh() -> None:
    issued = await issue(grace=86_400)
    refreshed = await refresh.refresh(refresh_key=issued.refresh_key, ip=CLIENT_IP, now=NOW)
    assert await reason(issued.access_token, at=NOW + HOUR) is None  # in its refresh grace

    await roll(refreshed, at=NOW + 2 * HOUR, grace=600)

    assert await reason(issued.access_token, at=NOW + 2 * HOUR) is DenialReason.ROTATED
    assert await reason(refreshed.access_token, at=NOW + 2 * HOUR) is None  # the roll's grace


async def test_roll_evicts_the_cached_state_of_the_previous_access_token() -> None:
    issued = await issue()
    assert (await check(issued.access_token, at=NOW + HOUR)).valid  # now cached

    await roll(issued, at=NOW + HOUR)

    assert await reason(issued.access_token, at=NOW + HOUR) is DenialReason.ROTATED


async def test_roll_is_audited_with_its_grace_and_no_secret() -> None:
    issued = await issue()

    rolled = await lifecycle.roll(
        token_id=str(issued.token.id), grace_seconds=60, actor=ACTOR, ip="203.0.113.9", now=NOW
    )

    (event,) = await events(issued.token.id, audit.Action.TOKEN_ROLLED)
    assert (event.actor, event.ip) == (ACTOR, "203.0.113.9")
    detail = json.loads(event.detail or "{}")
    assert detail == {"graceSeconds": 60, "expiresAt": rolled.expires_at.isoformat()}
    for secret in (rolled.access_token, rolled.refresh_key, issued.access_token):
        assert secret not in (event.detail or "")


@pytest.mark.parametrize("grace", [-1, 86_401])
async def test_roll_with_a_grace_out_of_range_is_refused_and_writes_nothing(grace: int) -> None:
    issued = await issue()
    before = await row_counts()

    with pytest.raises(InvalidInput) as refused:
        await roll(issued, at=NOW, grace=grace)

    assert refused.value.field == "graceSeconds"
    assert await row_counts() == before
    assert (await check(issued.access_token, at=NOW)).valid


@pytest.mark.parametrize("grace", [0, 86_400])
async def test_roll_accepts_a_grace_of_0_to_86400_seconds(grace: int) -> None:
    issued = await issue()
    await roll(issued, at=NOW, grace=grace)


async def test_roll_of_a_revoked_token_is_a_conflict_and_writes_nothing() -> None:
    issued = await issue()
    await lifecycle.revoke(token_id=str(issued.token.id), actor=ACTOR, now=NOW)
    before = await row_counts()

    with pytest.raises(Conflict):
        await roll(issued, at=NOW + HOUR)

    assert await row_counts() == before


@pytest.mark.parametrize("token_id", ["999", "abc", "", "-1", "99999999999999999999"])
async def test_roll_of_an_unknown_id_is_not_found(token_id: str) -> None:
    await issue()
    with pytest.raises(NotFound):
        await lifecycle.roll(token_id=token_id, actor=ACTOR, now=NOW)


# --- update ----------------------------------------------------------------------------------


async def update(issued: IssuedToken, **changes: Any) -> lifecycle.TokenView:
    changes.setdefault("now", NOW + HOUR)
    return await lifecycle.update(token_id=str(issued.token.id), actor=ACTOR, **changes)


async def test_update_changes_only_the_fields_given() -> None:
    issued = await issue(days=30, grace=60)

    view = await update(issued, name="  Payroll bureau  ")

    assert (view.name, view.expires_in_days, view.refresh_grace_seconds) == (
        "Payroll bureau",
        30,
        60,
    )
    view = await update(issued, refresh_grace_seconds=0)
    assert (view.name, view.expires_in_days, view.refresh_grace_seconds) == (
        "Payroll bureau",
        30,
        0,
    )


async def test_update_is_audited_with_old_and_new_values_of_what_changed() -> None:
    issued = await issue(days=30, grace=60)

    await update(issued, name="Renamed", expires_in_days=30, refresh_grace_seconds=120)

    (event,) = await events(issued.token.id, audit.Action.TOKEN_UPDATED)
    assert json.loads(event.detail or "{}") == {
        "old": {"name": "partner", "refreshGraceSeconds": 60},
        "new": {"name": "Renamed", "refreshGraceSeconds": 120},
    }


async def test_an_update_that_changes_nothing_writes_no_event() -> None:
    issued = await issue(days=30)

    await update(issued, name="partner", expires_in_days=30)
    await update(issued)

    assert await events(issued.token.id, audit.Action.TOKEN_UPDATED) == []


async def test_a_new_lifetime_applies_from_the_next_refresh() -> None:
    issued = await issue(days=30)

    view = await update(issued, expires_in_days=7)

    assert view.expires_at == NOW + timedelta(days=30)  # the current access token keeps its own
    refreshed = await refresh.refresh(
        refresh_key=issued.refresh_key, ip=CLIENT_IP, now=NOW + 2 * HOUR
    )
    assert refreshed.expires_at == NOW + 2 * HOUR + timedelta(days=7)


async def test_a_new_lifetime_applies_from_the_next_roll() -> None:
    issued = await issue(days=30)
    await update(issued, expires_in_days=90)

    rolled = await roll(issued, at=NOW + 2 * HOUR)

    assert rolled.expires_at == NOW + 2 * HOUR + timedelta(days=90)


async def test_a_new_grace_applies_to_later_refreshes_only() -> None:
    issued = await issue(grace=3600)
    second = await refresh.refresh(refresh_key=issued.refresh_key, ip=CLIENT_IP, now=NOW)

    await update(issued, refresh_grace_seconds=0)

    # Rotated before the change: keeps the hour it was given.
    assert await reason(issued.access_token, at=NOW + 30 * 60 * SECOND) is None
    assert (await check(second.access_token, at=NOW + HOUR)).valid
    await refresh.refresh(refresh_key=second.refresh_key, ip=CLIENT_IP, now=NOW + HOUR)
    assert await reason(second.access_token, at=NOW + HOUR) is DenialReason.ROTATED


async def test_a_new_name_reaches_validation_at_once() -> None:
    issued = await issue()
    assert (await check(issued.access_token, at=NOW)).token is not None  # now cached

    await update(issued, name="Renamed")

    result = await check(issued.access_token, at=NOW + HOUR)
    assert result.token is not None
    assert result.token.name == "Renamed"


async def test_update_to_a_name_another_live_token_holds_is_a_conflict_naming_the_field() -> None:
    await issue("Payroll bureau")
    issued = await issue("partner")
    before = await row_counts()

    with pytest.raises(Conflict) as refused:
        await update(issued, name="PAYROLL BUREAU", refresh_grace_seconds=30)

    assert refused.value.field == "name"
    assert await row_counts() == before
    row = await SharedAccessToken.get(id=issued.token.id)
    assert (row.name, row.refresh_grace_seconds) == ("partner", 0)


async def test_update_may_change_the_case_of_its_own_name() -> None:
    issued = await issue("partner")

    view = await update(issued, name="Partner")

    assert view.name == "Partner"


async def test_update_frees_the_old_name() -> None:
    issued = await issue("partner")
    await update(issued, name="Renamed")

    await issue("partner")  # no conflict


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "tab\there"}, "name"),
        ({"expires_in_days": 0}, "expiresInDays"),
        ({"expires_in_days": 366}, "expiresInDays"),
        ({"refresh_grace_seconds": -1}, "refreshGraceSeconds"),
        ({"refresh_grace_seconds": 86_401}, "refreshGraceSeconds"),
        ({"name": "fine", "expires_in_days": 400}, "expiresInDays"),
    ],
)
async def test_invalid_update_is_refused_naming_the_field_and_writes_nothing(
    changes: dict[str, Any], field: str
) -> None:
    issued = await issue()
    before = await row_counts()

    with pytest.raises(InvalidInput) as refused:
        await update(issued, **changes)

    assert refused.value.field == field
    assert await row_counts() == before
    assert (await SharedAccessToken.get(id=issued.token.id)).name == "partner"


async def test_update_of_a_revoked_token_is_a_conflict() -> None:
    issued = await issue()
    await lifecycle.revoke(token_id=str(issued.token.id), actor=ACTOR, now=NOW)

    with pytest.raises(Conflict):
        await update(issued, name="Renamed")


async def test_update_of_an_unknown_id_is_not_found() -> None:
    with pytest.raises(NotFound):
        await lifecycle.update(token_id="12345", actor=ACTOR, name="x", now=NOW)


# --- the overview's expiring-soon filter -------------------------------------------------------


async def names_expiring_within(days: int, *, at: datetime = NOW) -> list[str]:
    page = await lifecycle.overview(
        page=PageRequest.parse(first=100, after=None), expires_within_days=days, now=at
    )
    return [view.name for view in page.nodes]


async def test_expires_within_days_keeps_active_tokens_expiring_by_then() -> None:
    await issue("in 3 days", days=3)
    await issue("in 14 days", days=14)
    await issue("in 15 days", days=15)
    revoked = await issue("revoked in 2 days", days=2)
    await lifecycle.revoke(token_id=str(revoked.token.id), actor=ACTOR, now=NOW)
    await issue("expired", days=1, now=NOW - 2 * DAY)

    assert await names_expiring_within(14) == ["in 14 days", "in 3 days"]
    assert await names_expiring_within(1) == []


async def test_expires_within_days_follows_the_clock() -> None:
    await issue("thirty", days=30)

    assert await names_expiring_within(14) == []
    assert await names_expiring_within(14, at=NOW + 20 * DAY) == ["thirty"]
    assert await names_expiring_within(14, at=NOW + 31 * DAY) == []  # expired by then


async def test_expires_within_days_counts_in_the_total_and_combines_with_search() -> None:
    await issue("payroll soon", days=5)
    await issue("other soon", days=5)
    await issue("payroll later", days=60)

    page = await lifecycle.overview(
        page=PageRequest.parse(first=1, after=None),
        search="payroll",
        expires_within_days=14,
        now=NOW,
    )

    assert page.total_count == 1
    assert [v.name for v in page.nodes] == ["payroll soon"]
    assert page.nodes[0].status is TokenStatus.ACTIVE


@pytest.mark.parametrize("days", [0, -1, 366])
async def test_expires_within_days_outside_1_to_365_is_refused(days: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        await names_expiring_within(days)
    assert refused.value.field == "expiresWithinDays"
