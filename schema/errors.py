"""The one mapping from failures to GraphQL errors with ``extensions.code``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from graphql import GraphQLError
from tokens.errors import DomainError, InvalidInput

log = logging.getLogger("sat.graphql")

INTERNAL_MESSAGE = "Internal server error"


def is_unexpected(error: GraphQLError) -> bool:
    """True for a failure that is neither a refusal of ours nor a GraphQL error in the request."""
    original = error.original_error
    if original is None or isinstance(original, DomainError):
        return False
    return not (isinstance(original, GraphQLError) and "code" in (original.extensions or {}))


def coded(error: GraphQLError, *, request_id: str) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        extensions: dict[str, Any] = {"code": original.code}
        if isinstance(original, InvalidInput):
            extensions["field"] = original.field
        return _copy(error, original.message, extensions)
    if is_unexpected(error):
        return _copy(
            error,
            f"{INTERNAL_MESSAGE} (request id {request_id})",
            {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        )
    if "code" in (error.extensions or {}):
        return error
    # Syntax, validation and argument-coercion errors: the request itself is at fault.
    return _copy(error, error.message, {**(error.extensions or {}), "code": "BAD_USER_INPUT"})


def _copy(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    """Give every error a code from the contract and mask unexpected failures."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = getattr(result, "errors", None)
        if errors:
            request_id = getattr(self.execution_context.context, "request_id", "-")
            result.errors = [coded(e, request_id=request_id) for e in errors]  # type: ignore[union-attr]
        pre = self.execution_context.pre_execution_errors
        if pre:
            self.execution_context.pre_execution_errors = [coded(e, request_id="-") for e in pre]
