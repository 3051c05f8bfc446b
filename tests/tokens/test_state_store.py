"""The hot path's own SQL reads and writes exactly what the models hold, on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Credential, SharedAccessToken
from tests.support import NOW
from tokens import lifecycle, refresh, secrets, state_store
from tokens.grants import GrantedAccess, GrantRequest
from tokens.ip_ranges import AddressRange, IpRangeRequest
from tokens.lifecycle import IssuedToken
from tokens.state_store import TokenState

pytestmark = pytest.mark.usefixtures("db")

GRANTS = [
    GrantRequest(area="payroll", folder=None, read=True, write=False, delete=False),
    GrantRequest(area="employees", folder="contracts", read=True, write=True, delete=True),
]
# Deliberately not in address order: ranges come back in the order they were given.
RANGES = [
    IpRangeRequest(start="198.51.100.0/24", label="office"),
    IpRangeRequest(start="10.0.0.1", end="10.0.0.9"),
    IpRangeRequest(start="2001:db8::/32", label="v6"),
]


async def _issue(*, name: str = "partner", grace: int = 0) -> IssuedToken:
    return await lifecycle.create(
        actor="alice",
        name=name,
        expires_in_days=90,
        grants=GRANTS,
        ip_ranges=RANGES,
        refresh_grace_seconds=grace,
        now=NOW,
    )


async def _expected(access_token: str) -> TokenState:
    """The same state read through the ORM, the slow and obvious way."""
    credential = await Credential.get(access_digest=secrets.digest(access_token)).select_related(
        "token"
    )
    token: SharedAccessToken = credential.token
    grants = await token.grants.all()  # type: ignore[attr-defined]
    ranges = await token.ip_ranges.all().order_by("position")  # type: ignore[attr-defined]
    return TokenState(
        token_id=token.id,
        name=token.name,
        revoked=token.revoked_at is not None,
        credential_id=credential.id,
        current=credential.current_of is not None,
        voided=credential.voided_at is not None,
        rotated_at=credential.rotated_at,
        grace=timedelta(seconds=credential.grace_seconds or 0),
        expires_at=credential.expires_at,
        issued_at=credential.issued_at,
        used=credential.used_at is not None,
        last_used_at=token.last_used_at,
        ip_ranges=tuple(
            AddressRange.stored(start=r.start, end=r.end, label=r.label) for r in ranges
        ),
        grants=tuple(
            GrantedAccess.from_target(
                g.target, read=g.allow_read, write=g.allow_write, delete=g.allow_delete
            )
            for g in grants
        ),
    )


def _same(actual: TokenState | None, expected: TokenState) -> None:
    assert actual is not None
    assert set(actual.grants) == set(expected.grants)
    assert sorted(map(repr, actual.ip_ranges)) == sorted(map(repr, expected.ip_ranges))
    assert (
        actual.token_id,
        actual.name,
        actual.revoked,
        actual.credential_id,
        actual.current,
        actual.voided,
        actual.rotated_at,
        actual.grace,
        actual.expires_at,
        actual.used,
        actual.last_used_at,
    ) == (
        expected.token_id,
        expected.name,
        expected.revoked,
        expected.credential_id,
        expected.current,
        expected.voided,
        expected.rotated_at,
        expected.grace,
        expected.expires_at,
        expected.used,
        expected.last_used_at,
    )


async def test_unknown_digest_reads_as_none() -> None:
    await _issue()
    assert await state_store.read_state(secrets.digest("sat_not_a_stored_token")) is None


async def test_fresh_token_reads_as_the_orm_sees_it() -> None:
    issued = await _issue()
    state = await state_store.read_state(secrets.digest(issued.access_token))
    _same(state, await _expected(issued.access_token))
    assert state is not None
    assert state.current
    assert not state.used
    assert not state.revoked
    assert state.expires_at == NOW + timedelta(days=90)
    assert state.expires_at.utcoffset() == timedelta(0)
    assert sorted(str(r.label) for r in state.ip_ranges) == ["None", "office", "v6"]
    assert len(state.grants) == 2


async def test_rotated_pair_reads_rotation_and_grace() -> None:
    issued = await _issue(grace=300)
    await refresh.refresh(refresh_key=issued.refresh_key, ip="198.51.100.7", now=NOW)
    state = await state_store.read_state(secrets.digest(issued.access_token))
    _same(state, await _expected(issued.access_token))
    assert state is not None
    assert not state.current
    assert state.rotated_at == NOW
    assert state.grace == timedelta(seconds=300)


async def test_voided_pair_reads_as_voided() -> None:
    issued = await _issue()
    first = await refresh.refresh(refresh_key=issued.refresh_key, ip="198.51.100.7", now=NOW)
    # A retry before the new pair is used voids it and issues another.
    await refresh.refresh(refresh_key=issued.refresh_key, ip="198.51.100.7", now=NOW)
    state = await state_store.read_state(secrets.digest(first.access_token))
    _same(state, await _expected(first.access_token))
    assert state is not None
    assert state.voided


async def test_revoked_token_reads_as_revoked() -> None:
    issued = await _issue()
    await lifecycle.revoke(token_id=str(issued.token.id), actor="alice", now=NOW)
    state = await state_store.read_state(secrets.digest(issued.access_token))
    _same(state, await _expected(issued.access_token))
    assert state is not None
    assert state.revoked


async def test_token_without_grants_or_ranges_reads_empty_tuples() -> None:
    issued = await lifecycle.create(
        actor="alice", name="bare", expires_in_days=1, grants=[], ip_ranges=[], now=NOW
    )
    state = await state_store.read_state(secrets.digest(issued.access_token))
    assert state is not None
    assert state.grants == ()
    assert state.ip_ranges == ()


async def test_mark_used_sets_the_first_use_only() -> None:
    issued = await _issue()
    state = await state_store.read_state(secrets.digest(issued.access_token))
    assert state is not None
    await state_store.mark_used(credential_id=state.credential_id, now=NOW)
    await state_store.mark_used(credential_id=state.credential_id, now=NOW + timedelta(hours=1))
    credential = await Credential.get(id=state.credential_id)
    assert credential.used_at == NOW
    reread = await state_store.read_state(secrets.digest(issued.access_token))
    assert reread is not None
    assert reread.used


async def test_last_use_is_written_as_the_orm_reads_it() -> None:
    issued = await _issue()
    other = await _issue(name="other")
    later = NOW + timedelta(minutes=5, microseconds=123456)
    token_id = issued.token.id
    await state_store.record_last_use(token_id=token_id, now=later, ip="198.51.100.7")
    token = await SharedAccessToken.get(id=token_id)
    assert (token.last_used_at, token.last_used_ip) == (later, "198.51.100.7")
    untouched = await SharedAccessToken.get(id=other.token.id)
    assert untouched.last_used_at is None
    state = await state_store.read_state(secrets.digest(issued.access_token))
    assert state is not None
    assert state.last_used_at == later
