"""The GraphQL schema: Strawberry types, resolvers and permissions over the ``tokens`` domain."""

from __future__ import annotations

import functools
import logging
import re
import weakref
from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.extensions import DisableIntrospection, SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext

from graphql import GraphQLError, GraphQLResolveInfoHelpers
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
        Once logged or not, an error's traceback is let go: it holds the frames that hold
        the error, a cycle that only the cyclic garbage collector frees (and with it the
        whole execution, see ``SatExecutionContext``).
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
            error.__traceback__ = None
            if error.original_error is not None:
                error.original_error.__traceback__ = None
            give_code(error, request_id=request_id)
            if not self.suggestions:
                error.message = _SUGGESTION.sub("", error.message)


class SatExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's execution context, without a reference cycle through itself.

    It hands resolvers two of its own bound methods (``async_helpers``), so each
    execution, and all it refers to (the request, its context, its errors), outlived
    its request until the cyclic garbage collector came by. A storm of failed logins
    made it come seven times a second, each time for 0.4 ms (the young generation) or
    2 ms (the middle one), and every validation that arrived meanwhile waited (bench
    case 10). Held weakly, the methods leave no cycle: an execution is freed by
    reference counting the moment its request is done.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=_weakly(self.gather_async_work), track=_weakly(self.track_async_work)
        )


def _weakly(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, calling its object through a weak reference."""
    held = weakref.WeakMethod(method)

    def call(*args: Any, **kwargs: Any) -> Any:
        bound = held()
        if bound is None:  # an execution outlives every resolver it runs
            raise RuntimeError("the execution that made this helper has ended")
        return bound(*args, **kwargs)

    return call


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
    built = SatSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        execution_context_class=SatExecutionContext,
    )
    built.suggestions = introspection
    return built


schema = build_schema()
