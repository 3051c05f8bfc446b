"""The tests' support layer: one home for each piece of test data and each helper.

Run GraphQL documents through the real schema (no HTTP), read what they answer
(``error_codes``, ``assert_no_errors``), create tokens (``issue_token``, the one
factory), read the audit trail (``events``). The documents themselves come from
``tests.operations``; real ``sat`` processes from ``tests.launcher``; the
contract's oracles (check digits, addresses) from ``tests.strategies``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models import AuditEvent
from schema import schema
from schema.context import Context
from tests.operations import OPERATIONS_DIR, operation
from tokens import audit, lifecycle
from tokens.callers import Caller
from tokens.grants import GrantRequest
from tokens.ip_ranges import IpRangeRequest
from tokens.lifecycle import IssuedToken

__all__ = [
    "ADMIN_PASSWORD",
    "NOW",
    "OPERATIONS_DIR",
    "READ_PAYROLL",
    "UNKNOWN_IDS",
    "GraphQLResult",
    "assert_no_errors",
    "error_codes",
    "events",
    "execute",
    "ip_ranges",
    "issue_token",
    "operation",
]

ADMIN_PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
READ_PAYROLL = GrantRequest(area="payroll", folder=None, read=True, write=False, delete=False)
# Ids that name no token: unknown, malformed, out of range, or digits that are not ASCII.
UNKNOWN_IDS = ["999", "abc", "", "-1", "0", "1.5", "99999999999999999999", " ", "1e3", "１"]


@dataclass
class GraphQLResult:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]

    @property
    def codes(self) -> list[str]:
        return error_codes({"errors": self.errors})


def assert_no_errors(result: GraphQLResult) -> None:
    """The document ran without errors; the failure shows them."""
    assert result.errors == [], result.errors


def error_codes(body: dict[str, Any]) -> list[str]:
    """The ``extensions.code`` of each error of a GraphQL answer, in order."""
    return [e.get("extensions", {}).get("code") for e in body.get("errors") or []]


async def execute(
    document: str,
    variables: dict[str, Any] | None = None,
    *,
    caller: Caller | None = None,
    client_ip: str | None = "198.51.100.7",
    last_used_interval: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
) -> GraphQLResult:
    """Run a document through the real schema (no HTTP), errors formatted as clients see them.

    ``now`` sets the clock the resolvers ask the domain with (the real one by default).
    """
    context = Context(
        caller=caller,
        client_ip=client_ip,
        request_id="test",
        last_used_interval=last_used_interval,
    )
    if now is not None:
        context.now = lambda: now
    result = await schema.execute(document, variable_values=variables, context_value=context)
    return GraphQLResult(data=result.data, errors=[e.formatted for e in result.errors or []])


async def events(action: audit.Action) -> list[AuditEvent]:
    """The audit trail's events of ``action``, oldest first."""
    return await AuditEvent.filter(action=action.value).order_by("id")


def ip_ranges(*specs: str) -> list[IpRangeRequest]:
    """``"a..b"`` is the inclusive range a to b; anything else is a single address or a CIDR."""
    result = []
    for spec in specs:
        start, _, end = spec.partition("..")
        result.append(IpRangeRequest(start=start, end=end or None))
    return result


async def issue_token(
    *,
    name: str = "partner",
    grants: Sequence[GrantRequest] = (READ_PAYROLL,),
    ranges: Sequence[str] = (),
    days: int = 365,
    grace: int = 0,
    now: datetime | None = NOW,
) -> IssuedToken:
    """A token created through the domain by admin alice: the tests' one token factory.

    ``ranges`` as ``ip_ranges`` reads them; ``now=None`` is the real clock.
    """
    return await lifecycle.create(
        actor="alice",
        name=name,
        expires_in_days=days,
        grants=grants,
        ip_ranges=ip_ranges(*ranges),
        refresh_grace_seconds=grace,
        now=now,
    )
