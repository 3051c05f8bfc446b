"""``/graphql``: compiled ``validateToken`` documents answered directly, all else by Strawberry.

The fast path answers only the ordinary case: a JSON POST of a compiled document
(see ``schema.compiled``) with well-typed variables, from a known caller, whose
validation succeeds as a value. Anything else, errors included, is handed to
Strawberry with the same body, so both paths give the same answers.

Before either path, a body that is not one GraphQL-over-HTTP request (not JSON, not
an object, a batch, nested past reason) is refused here with a JSON error, and every
answer of Strawberry's that is not JSON becomes one (see ``server.graphql_responses``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from schema import schema
from schema.arguments import text_fault
from schema.compiled import CompiledDocuments, ValidateArguments
from server import callers, validating
from server.admission import OVERLOADED, Admission
from server.asgi import headers_of
from server.graphql_responses import (
    Refused,
    answer_error,
    prefers_graphql_response,
    shape_answers,
)
from server.middleware import replay, request_messages
from server.settings import Settings
from server.validating import Facts

log = logging.getLogger("sat.graphql")

_JSON_HEADERS = [(b"content-type", b"application/json")]


class GraphQLEndpoint:
    def __init__(self, general: ASGIApp, settings: Settings) -> None:
        self.general = general
        self.settings = settings
        self.compiled = CompiledDocuments(schema._schema, limits=settings.document_limits)
        self.admission = Admission(
            concurrency=settings.anonymous_concurrency, queue=settings.anonymous_queue
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.general(scope, receive, send)
            return
        messages = await request_messages(scope, receive)
        if scope["method"] != "POST":
            await self._general(scope, replay(messages), send)
            return
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        headers = headers_of(scope)
        try:
            request = decode_request(headers.get(b"content-type", b""), body)
        except Refused as refused:
            await answer_error(send, refused)
            return
        answer = await self._fast(scope, headers, request)
        if answer is None:
            await self._general(scope, replay(messages), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _general(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's answer; callers who are not signed in take turns (``server.admission``)."""
        if await callers.caller_of(scope) is not None:
            await self.general(scope, receive, shape_answers(scope, send))
            return
        if not await self.admission.enter():
            await answer_error(send, OVERLOADED)
            return
        try:
            await self.general(scope, receive, shape_answers(scope, send))
        finally:
            self.admission.leave()

    async def _fast(
        self, scope: Scope, headers: dict[bytes, bytes], request: GraphQLRequest
    ) -> bytes | None:
        accept = headers.get(b"accept")
        if accept is not None and b"application/json" not in accept and b"*/*" not in accept:
            return None
        if accept is not None and prefers_graphql_response(accept):
            return None  # the general path answers in that media type
        plan = self.compiled.get(request.query, request.operation_name)
        if plan is None:
            return None
        arguments = plan.bind(request.variables)
        if arguments is None or not _within_text_floor(arguments):
            return None  # the general path answers, with the refusal naming the argument
        caller = await callers.caller_of(scope)
        if not validating.may_validate(caller):
            return None  # the general path refuses it, as validateToken's permission says
        try:
            result = await validating.validate(
                caller=caller,
                facts=Facts(
                    token=arguments.token,
                    ip=arguments.ip,
                    area=arguments.area,
                    folder=arguments.folder,
                    access=arguments.access,
                ),
                path="graphql",
                last_used_interval=self.settings.last_used_interval,
            )
        except Exception:  # the general path answers refusals and failures in full
            log.debug("fast path declined a validateToken request", exc_info=True)
            return None
        return self.compiled.body(plan, result)


# JSON nesting a GraphQL request needs: variables of input objects holding lists of
# input objects (createSharedAccessToken's grants) are 4 deep.
MAX_JSON_DEPTH = 16


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None


def decode_request(content_type: bytes, body: bytes) -> GraphQLRequest:
    """The one GraphQL request a POST body holds; ``Refused`` for anything else."""
    media_type = content_type.split(b";", 1)[0].strip().lower()
    if media_type != b"application/json":
        raise Refused(415, "the body must be application/json")
    if not body.strip():
        raise Refused(400, "the body is empty")
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        decoded = _decode_leniently(body)
    if isinstance(decoded, list):
        raise Refused(400, "batches are not accepted: send one request per body")
    if not isinstance(decoded, dict):
        raise Refused(400, "the body must be a JSON object with a query")
    # A value nests no deeper than its text has opening brackets: most bodies need no walk.
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and _depth_exceeds(
        decoded, MAX_JSON_DEPTH
    ):
        raise Refused(400, f"the body is nested deeper than {MAX_JSON_DEPTH} levels")
    query = decoded.get("query")
    operation_name = decoded.get("operationName")
    variables = decoded.get("variables")
    extensions = decoded.get("extensions")
    if not isinstance(query, str) or not query:
        raise Refused(400, "query must be a non-empty string")
    if not isinstance(operation_name, str | None):
        raise Refused(400, "operationName must be a string or null")
    if not isinstance(variables, dict | None):
        raise Refused(400, "variables must be an object or null")
    if not isinstance(extensions, dict | None):
        raise Refused(400, "extensions must be an object or null")
    return GraphQLRequest(query=query, operation_name=operation_name, variables=variables)


def _decode_leniently(body: bytes) -> Any:
    """JSON that orjson refuses but Strawberry's ``json.loads`` takes, or ``Refused``.

    Lone surrogate escapes are valid JSON and reach the arguments, where they are
    refused naming the field; invalid UTF-8 and broken JSON are refused here.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not valid UTF-8") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, "the body is not valid JSON") from None


def _depth_exceeds(value: Any, limit: int) -> bool:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def _within_text_floor(arguments: ValidateArguments) -> bool:
    """The check every argument gets on the general path (``schema.arguments``)."""
    folder = arguments.folder
    return (
        text_fault(arguments.token, "token") is None
        and text_fault(arguments.ip, "ip") is None
        and text_fault(arguments.area, "area") is None
        and (folder is None or text_fault(folder, "folder") is None)
    )
