"""The one mapping from failures to GraphQL errors with ``extensions.code``."""

from __future__ import annotations

from graphql import GraphQLError
from tokens.errors import DomainError

INTERNAL_MESSAGE = "Internal server error"


def is_unexpected(error: GraphQLError) -> bool:
    """True for a failure in a resolver that is not a refusal of ours.

    Errors without a path arise before execution (syntax, validation, variable
    coercion): the request is at fault, not the server.
    """
    original = error.original_error
    if error.path is None or original is None or isinstance(original, DomainError):
        return False
    return not (isinstance(original, GraphQLError) and "code" in (original.extensions or {}))


def give_code(error: GraphQLError, *, request_id: str) -> None:
    """Set ``extensions.code`` (and mask unexpected failures) on ``error`` itself.

    In place: Strawberry hands every error, parse errors included, to
    ``Schema.process_errors`` once, but keeps its own lists of them.
    """
    extensions = dict(error.extensions or {})
    if "code" in extensions:
        return
    original = error.original_error
    if isinstance(original, DomainError):
        extensions["code"] = original.code
        if original.field is not None:
            extensions["field"] = original.field
        error.message = original.message
    elif is_unexpected(error):
        extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
        error.message = f"{INTERNAL_MESSAGE} (request id {request_id})"
    else:
        extensions["code"] = "BAD_USER_INPUT"
    error.extensions = extensions
