"""What ``/graphql`` answers besides results: JSON refusals, media types, GraphiQL's policy.

Strawberry answers some refusals itself as ``text/plain`` (a wrong method, a missing
query); the contract wants every refusal as a JSON error with a code. A client that
asks for ``application/graphql-response+json`` gets the status codes of the
GraphQL-over-HTTP specification (4xx when nothing was executed); ``application/json``
keeps answering 200 for every GraphQL result, as it always has.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

import orjson
from starlette.types import Message, Scope, Send

from schema.limits import BAD_REQUEST

GRAPHQL_RESPONSE = b"application/graphql-response+json"
JSON = b"application/json"

# GraphiQL (Strawberry's page) loads pinned, integrity-checked scripts from unpkg and
# starts with one inline script: that script is allowed by its hash, nothing else inline.
_GRAPHIQL_SOURCES = "https://unpkg.com"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
_MAX_MESSAGE = 200


class Refused(Exception):
    """A request refused before GraphQL: its status and what to tell the client."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = BAD_REQUEST,
        *,
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.retry_after_seconds = retry_after_seconds


def error_body(message: str, code: str, *, retry_after_seconds: int | None = None) -> bytes:
    extensions: dict[str, Any] = {"code": code}
    if retry_after_seconds is not None:
        extensions["retryAfterSeconds"] = retry_after_seconds
    return orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})


async def answer_error(send: Send, refused: Refused) -> None:
    """Every refusal before GraphQL runs, whoever refuses: one JSON error with its code."""
    body = error_body(
        refused.message, refused.code, retry_after_seconds=refused.retry_after_seconds
    )
    headers = [
        (b"content-type", JSON),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    if refused.retry_after_seconds is not None:
        headers.append((b"retry-after", str(refused.retry_after_seconds).encode()))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def prefers_graphql_response(accept: bytes) -> bool:
    """True when ``accept`` names ``application/graphql-response+json`` before ``application/json``.

    Quality values are not weighed: clients of the specification list the new type
    first, and every client that does not name it keeps the old answers.
    """
    accept = accept.lower()
    position = accept.find(GRAPHQL_RESPONSE)
    if position < 0:
        return False
    plain = accept.find(JSON)
    return plain < 0 or position < plain


def shape_answers(scope: Scope, send: Send) -> Send:
    """Wrap ``send`` so that Strawberry's answers take the shapes described above."""
    graphql_response = prefers_graphql_response(_accept(scope))
    started: Message | None = None

    async def shaped(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = message
            return
        if started is None or message["type"] != "http.response.body":
            await send(message)
            return
        start, started = started, None
        if message.get("more_body", False):  # a stream: not ours to reshape
            await send(start)
            await send(message)
            return
        status, headers, body = _reshape(
            start["status"],
            list(start.get("headers", [])),
            message.get("body", b""),
            graphql_response=graphql_response,
        )
        await send({**start, "status": status, "headers": headers})
        await send({**message, "body": body})

    return shaped


def _reshape(
    status: int, headers: list[tuple[bytes, bytes]], body: bytes, *, graphql_response: bool
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    content_type = _header(headers, b"content-type")
    if content_type.startswith(JSON):
        status, body = _json_answer(status, body, graphql_response=graphql_response)
        if graphql_response:
            content_type = GRAPHQL_RESPONSE
    elif content_type.startswith(b"text/html"):
        headers = [*headers, (b"content-security-policy", _graphiql_policy(body))]
    elif status >= 400:
        text = body.decode("utf-8", "replace").strip() or "request refused"
        body = error_body(text[:_MAX_MESSAGE], BAD_REQUEST)
        content_type = GRAPHQL_RESPONSE if graphql_response else JSON
    kept = [(n, v) for n, v in headers if n not in (b"content-type", b"content-length")]
    return (
        status,
        [*kept, (b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        body,
    )


def _json_answer(status: int, body: bytes, *, graphql_response: bool) -> tuple[int, bytes]:
    if b'"errors"' not in body:
        return status, body
    try:
        answer: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return status, body
    if not isinstance(answer, dict) or not isinstance(answer.get("errors"), list):
        return status, body
    errors = [e for e in answer["errors"] if isinstance(e, dict)]
    codes = {(e.get("extensions") or {}).get("code") for e in errors}
    # Nothing ran: no data, and no error comes from a field (parse, validation, variables).
    before_execution = answer.get("data") is None and not any(e.get("path") for e in errors)
    if BAD_REQUEST in codes and before_execution:
        status = 400
    if graphql_response and before_execution:
        answer.pop("data", None)
        return 400, orjson.dumps(answer)
    return status, body


def _graphiql_policy(page: bytes) -> bytes:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        "default-src 'none'; "
        f"script-src {_GRAPHIQL_SOURCES} {hashes}; "
        f"style-src {_GRAPHIQL_SOURCES} 'unsafe-inline'; "
        f"font-src {_GRAPHIQL_SOURCES} data:; "
        "img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ).encode()


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes:
    for key, value in headers:
        if key.lower() == name:
            return value.lower()
    return b""


def _accept(scope: Scope) -> bytes:
    """The first ``Accept`` header, as ``prefers_graphql_response`` reads it."""
    name: bytes
    value: bytes
    for name, value in scope["headers"]:
        if name == b"accept":
            return value
    return b""
