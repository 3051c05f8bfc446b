"""refresh(): rotation, IP checks, retry after a lost response, reuse as theft, concurrency."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import pytest

from models import AuditEvent, Credential, SharedAccessToken
from tests.support import NOW, issue_token
from tokens import lifecycle, secrets
from tokens.errors import DomainError, Forbidden, Unauthenticated
from tokens.grants import Access
from tokens.lifecycle import IssuedToken
from tokens.refresh import refresh
from tokens.secrets import SecretKind
from tokens.validation import DenialReason, Validation, validate

INSIDE = "192.0.2.5"
OUTSIDE = "198.51.100.1"
T1 = NOW + timedelta(hours=1)
T2 = NOW + timedelta(hours=2)
T3 = NOW + timedelta(hours=3)
T4 = NOW + timedelta(hours=4)


# This file's tokens: read payroll from 192.0.2.0/24, 30 days, created at NOW.
issue = functools.partial(issue_token, ranges=("192.0.2.0/24",), days=30)


async def check(access_token: str, *, at: datetime) -> Validation:
    return await validate(
        token=access_token,
        ip=INSIDE,
        area="payroll",
        folder="payslips",
        access=Access.READ,
        now=at,
    )


async def reason(access_token: str, *, at: datetime) -> DenialReason | None:
    return (await check(access_token, at=at)).reason


async def actions(token_id: int) -> list[str]:
    return [e.action for e in await AuditEvent.filter(token_id=token_id).order_by("id")]


async def current_credentials(token_id: int) -> list[Credential]:
    return await Credential.filter(token_id=token_id, current_of__isnull=False)


async def is_revoked(token_id: int) -> bool:
    return (await SharedAccessToken.get(id=token_id)).revoked_at is not None


# --- a plain refresh -------------------------------------------------------------------------


async def test_refresh_returns_a_new_well_formed_pair(db: None) -> None:
    issued = await issue()

    refreshed = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)

    assert secrets.is_well_formed(SecretKind.ACCESS_TOKEN, refreshed.access_token)
    assert secrets.is_well_formed(SecretKind.REFRESH_KEY, refreshed.refresh_key)
    assert refreshed.access_token != issued.access_token
    assert refreshed.refresh_key != issued.refresh_key
    assert refreshed.token.id == issued.token.id
    assert refreshed.token.token_hint == refreshed.access_token[-4:]
    assert await reason(refreshed.access_token, at=T1) is None
    assert await reason(issued.access_token, at=T1) is DenialReason.ROTATED  # no grace


@pytest.mark.parametrize("days", [1, 30, 365])
async def test_new_access_token_expires_expires_in_days_after_the_refresh(
    db: None, days: int
) -> None:
    issued = await issue(days=days)
    refreshed_at = NOW + timedelta(hours=20)

    refreshed = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=refreshed_at)

    expected = refreshed_at + timedelta(days=days)
    assert refreshed.expires_at == expected
    assert refreshed.token.expires_at == expected
    assert (await SharedAccessToken.get(id=issued.token.id)).expires_at == expected


async def test_refresh_is_audited_as_token_refreshed_by_the_refresh_key(db: None) -> None:
    issued = await issue()

    await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)

    event = await AuditEvent.get(token_id=issued.token.id, action="TOKEN_REFRESHED")
    assert (event.actor, event.ip, event.at) == ("refresh-key", INSIDE, T1)


async def test_refresh_counts_as_last_use(db: None) -> None:
    issued = await issue()

    await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)

    row = await SharedAccessToken.get(id=issued.token.id)
    assert (row.last_used_at, row.last_used_ip) == (T1, INSIDE)


def _other_check_digit(key: str) -> str:
    return key[:-1] + ("0" if key[-1] != "0" else "1")


REFUSED_KEYS: dict[str, Callable[[IssuedToken], str]] = {
    "empty": lambda issued: "",
    "garbage": lambda issued: "not a refresh key",
    "access token": lambda issued: issued.access_token,
    "bad check digit": lambda issued: _other_check_digit(issued.refresh_key),
    "never issued": lambda issued: secrets.generate(SecretKind.REFRESH_KEY),
}


@pytest.mark.parametrize("key_of", REFUSED_KEYS.values(), ids=REFUSED_KEYS.keys())
async def test_malformed_or_unknown_key_is_unauthenticated_and_changes_nothing(
    db: None, key_of: Callable[[IssuedToken], str]
) -> None:
    issued = await issue()

    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=key_of(issued), ip=INSIDE, now=T1)

    assert await actions(issued.token.id) == ["TOKEN_CREATED"]
    assert await reason(issued.access_token, at=T1) is None


@pytest.mark.parametrize("refreshed_before", [False, True])
async def test_revoked_tokens_key_is_unauthenticated(db: None, refreshed_before: bool) -> None:
    issued = await issue()
    key = issued.refresh_key
    if refreshed_before:
        key = (await refresh(refresh_key=key, ip=INSIDE, now=T1)).refresh_key
    await lifecycle.revoke(token_id=str(issued.token.id), actor="alice", now=T2)

    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=key, ip=INSIDE, now=T3)

    assert await Credential.filter(token_id=issued.token.id).count() == 1 + refreshed_before


# --- IP ranges -------------------------------------------------------------------------------


@pytest.mark.parametrize("ip", [OUTSIDE, "2001:db8::1", None, "not-an-address"])
async def test_refresh_from_outside_the_ranges_is_forbidden_and_rotates_nothing(
    db: None, ip: str | None
) -> None:
    issued = await issue(ranges=["192.0.2.0/24"])

    with pytest.raises(Forbidden):
        await refresh(refresh_key=issued.refresh_key, ip=ip, now=T1)

    denied = await AuditEvent.get(token_id=issued.token.id, action="REFRESH_DENIED_IP")
    assert (denied.actor, denied.ip, denied.at) == ("refresh-key", ip, T1)
    assert await reason(issued.access_token, at=T2) is None
    (current,) = await current_credentials(issued.token.id)
    assert current.access_digest == secrets.digest(issued.access_token)
    # The pair is untouched: its key still refreshes normally, not as a reuse.
    refreshed = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T2)
    assert await reason(refreshed.access_token, at=T2) is None
    assert not await is_revoked(issued.token.id)


@pytest.mark.parametrize("ip", [INSIDE, "192.0.2.0", "192.0.2.255", "::ffff:192.0.2.5"])
async def test_refresh_from_inside_the_ranges_works(db: None, ip: str) -> None:
    issued = await issue(ranges=["192.0.2.0/24"])

    refreshed = await refresh(refresh_key=issued.refresh_key, ip=ip, now=T1)

    assert await reason(refreshed.access_token, at=T1) is None


@pytest.mark.parametrize("ip", [OUTSIDE, "2001:db8::1", None])
async def test_token_without_ranges_refreshes_from_any_address(db: None, ip: str | None) -> None:
    issued = await issue(ranges=[])

    refreshed = await refresh(refresh_key=issued.refresh_key, ip=ip, now=T1)

    assert await reason(refreshed.access_token, at=T1) is None


# --- retry after a lost response -------------------------------------------------------------


async def test_previous_key_retries_while_the_new_pair_is_unused(db: None) -> None:
    issued = await issue()
    lost = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)

    retried = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T2)

    assert {retried.access_token, retried.refresh_key}.isdisjoint(
        {lost.access_token, lost.refresh_key, issued.access_token, issued.refresh_key}
    )
    assert retried.expires_at == T2 + timedelta(days=30)
    assert await reason(retried.access_token, at=T2) is None
    assert await reason(lost.access_token, at=T2) is DenialReason.ROTATED
    assert not await is_revoked(issued.token.id)
    assert await actions(issued.token.id) == ["TOKEN_CREATED", "TOKEN_REFRESHED", "TOKEN_REFRESHED"]
    (current,) = await current_credentials(issued.token.id)
    assert current.access_digest == secrets.digest(retried.access_token)


async def test_previous_key_retries_again_while_the_retried_pair_is_unused(db: None) -> None:
    issued = await issue()
    first = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)
    second = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T2)

    third = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T3)

    assert await reason(third.access_token, at=T3) is None
    assert await reason(second.access_token, at=T3) is DenialReason.ROTATED
    assert await reason(first.access_token, at=T3) is DenialReason.ROTATED
    assert not await is_revoked(issued.token.id)
    # and the pair that the retries settled on refreshes normally
    fourth = await refresh(refresh_key=third.refresh_key, ip=INSIDE, now=T4)
    assert await reason(fourth.access_token, at=T4) is None


async def test_key_of_a_voided_pair_counts_as_reuse(db: None) -> None:
    issued = await issue()
    lost = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)
    retried = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T2)

    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=lost.refresh_key, ip=INSIDE, now=T3)

    assert await is_revoked(issued.token.id)
    assert "REFRESH_KEY_REUSED" in await actions(issued.token.id)
    assert await reason(retried.access_token, at=T3) is DenialReason.REVOKED


# --- reuse as theft --------------------------------------------------------------------------


async def _use_access_token(issued: IssuedToken, refreshed: IssuedToken) -> list[str]:
    assert await reason(refreshed.access_token, at=T2) is None
    return [refreshed.access_token]


async def _use_refresh_key(issued: IssuedToken, refreshed: IssuedToken) -> list[str]:
    newest = await refresh(refresh_key=refreshed.refresh_key, ip=INSIDE, now=T2)
    return [refreshed.access_token, newest.access_token]


NEW_PAIR_USES = {"access token validated": _use_access_token, "refresh key used": _use_refresh_key}


@pytest.mark.parametrize("use", NEW_PAIR_USES.values(), ids=NEW_PAIR_USES.keys())
async def test_previous_key_after_the_new_pair_was_used_revokes_the_token(
    db: None, use: Callable[[IssuedToken, IssuedToken], Awaitable[list[str]]]
) -> None:
    issued = await issue()
    refreshed = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)
    later_tokens = await use(issued, refreshed)

    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T3)

    row = await SharedAccessToken.get(id=issued.token.id)
    assert row.revoked_at == T3
    reused = await AuditEvent.get(token_id=issued.token.id, action="REFRESH_KEY_REUSED")
    assert (reused.actor, reused.ip, reused.at) == ("refresh-key", INSIDE, T3)
    for access_token in [issued.access_token, *later_tokens]:
        assert await reason(access_token, at=T3) is DenialReason.REVOKED
    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=refreshed.refresh_key, ip=INSIDE, now=T4)


async def test_any_older_key_revokes_the_token_even_while_the_newest_pair_is_unused(
    db: None,
) -> None:
    issued = await issue()
    second = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)
    third = await refresh(refresh_key=second.refresh_key, ip=INSIDE, now=T2)

    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T3)

    assert await is_revoked(issued.token.id)
    assert "REFRESH_KEY_REUSED" in await actions(issued.token.id)
    assert await reason(third.access_token, at=T3) is DenialReason.REVOKED
    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=third.refresh_key, ip=INSIDE, now=T4)


async def test_reuse_from_outside_the_ranges_still_revokes(db: None) -> None:
    issued = await issue(ranges=["192.0.2.0/24"])
    refreshed = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)
    await check(refreshed.access_token, at=T2)

    with pytest.raises(DomainError):
        await refresh(refresh_key=issued.refresh_key, ip=OUTSIDE, now=T3)

    assert await is_revoked(issued.token.id)
    assert "REFRESH_KEY_REUSED" in await actions(issued.token.id)


# --- concurrency -----------------------------------------------------------------------------


async def _refresh_all(keys: Sequence[str], *, at: datetime) -> list[IssuedToken]:
    """Present every key at once; only refusals of the domain are acceptable failures."""
    results = await asyncio.gather(
        *(refresh(refresh_key=key, ip=INSIDE, now=at) for key in keys), return_exceptions=True
    )
    unexpected = [r for r in results if isinstance(r, BaseException) and not _refusal(r)]
    assert unexpected == []
    return [r for r in results if isinstance(r, IssuedToken)]


def _refusal(error: BaseException) -> bool:
    return isinstance(error, DomainError) and error.code in {"UNAUTHENTICATED", "CONFLICT"}


@pytest.mark.parametrize("count", [2, 25])
async def test_concurrent_refreshes_with_one_key_never_leave_two_live_pairs(
    db: None, count: int
) -> None:
    issued = await issue()

    pairs = await _refresh_all([issued.refresh_key] * count, at=T1)

    assert pairs, "the first refresh to run rotates the current pair: it cannot fail"
    assert len(await current_credentials(issued.token.id)) == 1
    answers = [await reason(pair.access_token, at=T1) for pair in pairs]
    live = [pair for pair, answer in zip(pairs, answers, strict=True) if answer is None]
    assert await reason(issued.access_token, at=T1) in {DenialReason.ROTATED, DenialReason.REVOKED}
    if await is_revoked(issued.token.id):
        assert live == []
        assert set(answers) == {DenialReason.REVOKED}
        return
    assert len(live) == 1
    assert answers.count(DenialReason.ROTATED) == len(pairs) - 1
    (winner,) = live
    (current,) = await current_credentials(issued.token.id)
    assert current.access_digest == secrets.digest(winner.access_token)
    # The live pair's key refreshes normally; any other returned key is void.
    newest = await refresh(refresh_key=winner.refresh_key, ip=INSIDE, now=T2)
    assert await reason(newest.access_token, at=T2) is None
    loser = next(pair for pair in pairs if pair is not winner)
    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=loser.refresh_key, ip=INSIDE, now=T3)


async def _previous_key_unused(issued: IssuedToken) -> tuple[str, str]:
    refreshed = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)
    return refreshed.refresh_key, issued.refresh_key


async def _previous_key_after_use(issued: IssuedToken) -> tuple[str, str]:
    refreshed = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)
    await check(refreshed.access_token, at=T1)
    return refreshed.refresh_key, issued.refresh_key


async def _older_key(issued: IssuedToken) -> tuple[str, str]:
    second = await refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=T1)
    third = await refresh(refresh_key=second.refresh_key, ip=INSIDE, now=T1)
    return third.refresh_key, issued.refresh_key


OLD_KEYS = {
    "previous key, new pair unused": _previous_key_unused,
    "previous key, new pair used": _previous_key_after_use,
    "older key": _older_key,
}


@pytest.mark.parametrize("setup", OLD_KEYS.values(), ids=OLD_KEYS.keys())
async def test_concurrent_refreshes_with_current_and_old_key_always_revoke(
    db: None, setup: Callable[[IssuedToken], Awaitable[tuple[str, str]]]
) -> None:
    """Whatever order they run in, the old key's reuse is seen and revokes the token."""
    issued = await issue()
    current_key, old_key = await setup(issued)

    pairs = await _refresh_all([current_key, old_key] * 10, at=T2)

    assert await is_revoked(issued.token.id)
    assert "REFRESH_KEY_REUSED" in await actions(issued.token.id)
    for access_token in [issued.access_token, *(pair.access_token for pair in pairs)]:
        assert await reason(access_token, at=T2) is DenialReason.REVOKED
    with pytest.raises(Unauthenticated):
        await refresh(refresh_key=current_key, ip=INSIDE, now=T3)
