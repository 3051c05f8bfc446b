"""What a change notice does to this process's caches (no PostgreSQL needed)."""

from __future__ import annotations

import logging

import pytest

from server.listener import apply
from tokens.caches import CACHES
from tokens.callers import ServiceCaller
from tokens.changes import Change


@pytest.fixture(autouse=True)
def filled() -> None:
    CACHES.enable(True)
    CACHES.states.put("digest-1", None, epoch=CACHES.states.epoch, group=1)  # type: ignore[arg-type]
    CACHES.states.put("digest-2", None, epoch=CACHES.states.epoch, group=2)  # type: ignore[arg-type]
    CACHES.callers.put("secret-1", ServiceCaller(1, "gateway"), epoch=CACHES.callers.epoch, group=1)
    CACHES.targets.put("all", frozenset({"payroll"}), epoch=CACHES.targets.epoch)


def sizes() -> tuple[int, int, int]:
    return len(CACHES.states), len(CACHES.callers), len(CACHES.targets)


def test_a_token_notice_evicts_that_token_only() -> None:
    apply(Change.token(2).encode())
    assert sizes() == (1, 1, 1)
    assert CACHES.states.get("digest-1")[0]


def test_a_client_notice_evicts_that_client() -> None:
    apply(Change.client(1).encode())
    assert sizes() == (2, 0, 1)


def test_a_catalog_notice_evicts_the_targets() -> None:
    apply("catalog")
    assert sizes() == (2, 1, 0)


def test_an_unknown_notice_empties_every_cache_and_is_logged_cut_short(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="sat.listener"):
        apply("from-the-future:" + "x" * 500)

    assert sizes() == (0, 0, 0)
    assert "unknown change notice" in caplog.text
    assert "x" * 101 not in caplog.text
