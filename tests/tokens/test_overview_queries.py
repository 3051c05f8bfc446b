"""The overview reads a page in a fixed number of SQL statements, however many tokens it shows."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise import connections

from tests.support import NOW
from tokens import lifecycle, views
from tokens.grants import GrantRequest
from tokens.ip_ranges import IpRangeRequest
from tokens.paging import PageRequest

GRANTS = [
    GrantRequest(area="payroll", folder=None, read=True, write=False, delete=False),
    GrantRequest(area="employees", folder="contracts", read=True, write=True, delete=False),
]


@pytest.fixture
def statements(db: None, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement the default connection runs from now on."""
    seen: list[str] = []
    client = connections.get("default")
    for name in ("execute_query", "execute_query_dict"):
        original = getattr(client, name)

        async def counted(query: Any, *args: Any, _original: Any = original) -> Any:
            seen.append(str(query))
            return await _original(query, *args)

        monkeypatch.setattr(client, name, counted)
    return seen


async def create_tokens(count: int) -> None:
    for index in range(count):
        await lifecycle.create(
            actor="alice",
            name=f"token {index}",
            grants=GRANTS,
            ip_ranges=[IpRangeRequest(start="10.0.0.0/8", label="office")],
            now=NOW,
        )


async def statements_for_first_page(statements: list[str], size: int) -> int:
    statements.clear()
    page = await views.overview(page=PageRequest(first=size, before_id=None), now=NOW)
    assert len(page.nodes) == size
    assert all(len(node.grants) == 2 and len(node.ip_ranges) == 1 for node in page.nodes)
    return len(statements)


async def test_a_page_costs_the_same_statements_for_2_tokens_as_for_30(
    statements: list[str],
) -> None:
    await create_tokens(30)
    small = await statements_for_first_page(statements, 2)
    large = await statements_for_first_page(statements, 30)
    assert small == large
    assert large <= 8
