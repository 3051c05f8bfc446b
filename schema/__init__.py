"""The GraphQL schema: Strawberry types, resolvers and permissions over the ``tokens`` domain."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from graphql import GraphQLError
from schema.errors import give_code, is_unexpected
from schema.resolvers import Mutation, Query

log = logging.getLogger("sat.graphql")


class SatSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Code every error; log unexpected failures with the request id.

        Refusals and malformed requests are answers, not incidents: they are not logged.
        """
        context: Any = execution_context.context if execution_context else None
        request_id = getattr(context, "request_id", "-")
        for error in errors:
            if is_unexpected(error):
                log.error(
                    "unexpected error in request %s at %s",
                    request_id,
                    ".".join(str(p) for p in error.path or ()),
                    exc_info=error.original_error,
                )
            give_code(error, request_id=request_id)


schema = SatSchema(
    query=Query,
    mutation=Mutation,
    extensions=[ParserCache, ValidationCache],
)
