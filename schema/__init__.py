"""The GraphQL schema: Strawberry types, resolvers and permissions over the ``tokens`` domain."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

import strawberry
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.types import ExecutionContext

from graphql import GraphQLError
from schema.errors import give_code, is_unexpected
from schema.limits import DocumentCache, DocumentGuard, DocumentLimits
from schema.resolvers import Mutation, Query

log = logging.getLogger("sat.graphql")

# graphql-core's validation hides its suggestions when asked; coercing variables during
# execution does not take the option through Strawberry, so those are cut here.
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


class SatSchema(strawberry.Schema):
    suggestions: bool = True

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
            if not self.suggestions:
                error.message = _SUGGESTION.sub("", error.message)


def build_schema(*, limits: DocumentLimits | None = None, introspection: bool = True) -> SatSchema:
    """The schema with these document limits; without introspection, without suggestions."""
    guard = functools.partial(
        DocumentGuard,
        limits=limits or DocumentLimits(),
        cache=DocumentCache(),
        suggestions=introspection,
    )
    extensions: list[type[SchemaExtension] | functools.partial[DocumentGuard]] = [guard]
    if not introspection:
        extensions.insert(0, DisableIntrospection)
    built = SatSchema(query=Query, mutation=Mutation, extensions=extensions)
    built.suggestions = introspection
    return built


schema = build_schema()
