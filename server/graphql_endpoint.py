"""``/graphql``: compiled ``validateToken`` documents answered directly, all else by Strawberry.

The fast path answers only the ordinary case: a JSON POST of a compiled document
(see ``schema.compiled``) with well-typed variables, from a known caller, whose
validation succeeds as a value. Anything else, errors included, is handed to
Strawberry with the same body, so both paths give the same answers.
"""

from __future__ import annotations

import logging

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from schema import schema
from schema.compiled import CompiledDocuments
from server import callers
from server.middleware import read_body, replay
from server.settings import Settings
from tokens import validation

log = logging.getLogger("sat.graphql")

_JSON_HEADERS = [(b"content-type", b"application/json")]


class GraphQLEndpoint:
    def __init__(self, general: ASGIApp, settings: Settings) -> None:
        self.general = general
        self.settings = settings
        self.compiled = CompiledDocuments(schema._schema)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.general(scope, receive, send)
            return
        messages = await read_body(receive)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        answer = await self._fast(scope, body)
        if answer is None:
            await self.general(scope, replay(messages), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def _fast(self, scope: Scope, body: bytes) -> bytes | None:
        headers = _headers(scope)
        content_type = headers.get(b"content-type", b"")
        if not content_type.startswith(b"application/json"):
            return None
        accept = headers.get(b"accept")
        if accept is not None and b"application/json" not in accept and b"*/*" not in accept:
            return None
        try:
            request = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(request, dict):
            return None
        query = request.get("query")
        operation_name = request.get("operationName")
        variables = request.get("variables")
        if not isinstance(query, str) or not isinstance(operation_name, str | None):
            return None
        if not isinstance(variables, dict | None):
            return None
        plan = self.compiled.get(query, operation_name)
        if plan is None:
            return None
        arguments = plan.bind(variables)
        if arguments is None:
            return None
        if await callers.caller_of(scope) is None:
            return None
        try:
            result = await validation.validate(
                token=arguments.token,
                ip=arguments.ip,
                area=arguments.area,
                folder=arguments.folder,
                access=arguments.access,
                last_used_interval=self.settings.last_used_interval,
            )
        except Exception:  # the general path answers refusals and failures in full
            log.debug("fast path declined a validateToken request", exc_info=True)
            return None
        return orjson.dumps({"data": plan.render(result)})


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """Header values by name; the first of repeated headers wins, as in Starlette's ``get``."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name, value)
    return headers
