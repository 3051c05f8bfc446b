"""Helpers for tests: run GraphQL documents through the real schema, read operation files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models import AuditEvent
from schema import schema
from schema.context import Context
from tests.operations import OPERATIONS_DIR, operation
from tokens import audit
from tokens.callers import Caller

__all__ = [
    "ADMIN_PASSWORD",
    "NOW",
    "OPERATIONS_DIR",
    "UNKNOWN_IDS",
    "GraphQLResult",
    "error_codes",
    "events",
    "execute",
    "operation",
]

ADMIN_PASSWORD = "correct horse battery staple"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# Ids that name no token: unknown, malformed, out of range, or digits that are not ASCII.
UNKNOWN_IDS = ["999", "abc", "", "-1", "0", "1.5", "99999999999999999999", " ", "1e3", "１"]


@dataclass
class GraphQLResult:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]

    @property
    def codes(self) -> list[str]:
        return error_codes({"errors": self.errors})


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
) -> GraphQLResult:
    """Run a document through the real schema (no HTTP), errors formatted as clients see them."""
    result = await schema.execute(
        document,
        variable_values=variables,
        context_value=Context(
            caller=caller,
            client_ip=client_ip,
            request_id="test",
            last_used_interval=last_used_interval,
        ),
    )
    return GraphQLResult(data=result.data, errors=[e.formatted for e in result.errors or []])


async def events(action: audit.Action) -> list[AuditEvent]:
    """The audit trail's events of ``action``, oldest first."""
    return await AuditEvent.filter(action=action.value).order_by("id")
