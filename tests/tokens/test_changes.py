"""Changes as values, the caches that follow them, and the transaction that announces them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import AuditEvent
from tokens import audit
from tokens.caches import CACHES, Caches
from tokens.callers import ServiceCaller
from tokens.changes import Change, ChangeKind
from tokens.clock import utcnow
from tokens.transactions import transaction


@given(st.integers(min_value=0, max_value=10**18 - 1), st.sampled_from(["token", "client"]))
def test_a_change_reads_back_what_it_wrote(row_id: int, kind: str) -> None:
    change = Change(ChangeKind(kind), row_id)
    assert Change.decode(change.encode()) == change


def test_the_catalog_change_reads_back() -> None:
    assert Change.catalog().encode() == "catalog"
    assert Change.decode("catalog") == Change.catalog()


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "token",
        "token:",
        "token:abc",
        "token:-1",
        "token:１",
        "client:1.5",
        "catalog:1",
        "nonsense:1",
        "token:" + "9" * 19,
    ],
)
def test_a_payload_this_version_does_not_know_decodes_as_none(payload: str) -> None:
    assert Change.decode(payload) is None


def _filled() -> Caches:
    caches = Caches()
    for cache_key, token_id in (("digest-a", 1), ("digest-b", 2)):
        caches.states.put(cache_key, None, epoch=caches.states.epoch, group=token_id)  # type: ignore[arg-type]
    for secret_key, client_id in (("secret-a", 1), ("secret-b", 2)):
        caches.callers.put(
            secret_key, ServiceCaller(client_id, "c"), epoch=caches.callers.epoch, group=client_id
        )
    caches.targets.put("all", frozenset({"payroll"}), epoch=caches.targets.epoch)
    return caches


def _sizes(caches: Caches) -> tuple[int, int, int]:
    return len(caches.states), len(caches.callers), len(caches.targets)


@pytest.mark.parametrize(
    ("change", "left"),
    [
        (Change.token(1), (1, 2, 1)),
        (Change.client(2), (2, 1, 1)),
        (Change.catalog(), (2, 2, 0)),
        (None, (0, 0, 0)),  # a change not understood: everything goes
    ],
)
def test_each_change_evicts_what_it_names_and_nothing_else(
    change: Change | None, left: tuple[int, int, int]
) -> None:
    caches = _filled()
    caches.forget(change)
    assert _sizes(caches) == left


def test_turning_caches_off_empties_them_and_keeps_them_empty() -> None:
    caches = _filled()
    caches.enable(False)
    assert _sizes(caches) == (0, 0, 0)
    caches.states.put("digest-a", None, epoch=caches.states.epoch, group=1)  # type: ignore[arg-type]
    assert _sizes(caches) == (0, 0, 0)
    caches.enable(True)
    assert _sizes(caches) == (0, 0, 0)


def test_configure_sizes_every_cache_and_empties_them() -> None:
    caches = _filled()
    caches.configure(max_entries=7, max_age_seconds=2.5)
    assert _sizes(caches) == (0, 0, 0)
    assert caches.states.max_entries == 7
    assert {c.max_age for c in (caches.states, caches.callers, caches.targets)} == {2.5}


@pytest.mark.usefixtures("db")
async def test_a_transaction_evicts_what_it_announced_once_it_commits() -> None:
    CACHES.states.put("digest", None, epoch=CACHES.states.epoch, group=41)  # type: ignore[arg-type]

    async with transaction() as announce:
        await announce(Change.token(41))
        assert len(CACHES.states) == 1  # not before the commit

    assert len(CACHES.states) == 0


@pytest.mark.usefixtures("db")
async def test_a_transaction_that_rolls_back_evicts_nothing_and_writes_nothing() -> None:
    CACHES.states.put("digest", None, epoch=CACHES.states.epoch, group=41)  # type: ignore[arg-type]
    events_before = await AuditEvent.all().count()

    async def refused_half_way() -> None:
        async with transaction() as announce:
            await audit.record(audit.Action.TOKEN_REVOKED, actor="alice", at=utcnow())
            await announce(Change.token(41))
            raise RuntimeError("refused half way")

    with pytest.raises(RuntimeError):
        await refused_half_way()

    assert len(CACHES.states) == 1
    assert await AuditEvent.all().count() == events_before
