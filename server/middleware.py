"""ASGI middleware: request ids, an access log that never holds secrets, a body limit, headers."""

from __future__ import annotations

import logging
import os
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.graphql_responses import Refused, answer_error
from server.logs import escape

access_log = logging.getLogger("sat.access")

MAX_BODY_BYTES = 1 << 20

# Answers that may carry secrets (issued tokens, sessions, introspection results):
# no cache, shared or private, may keep them.
NO_STORE_PATHS = ("/graphql", "/oauth/introspect", "/auth")
_NO_STORE = (b"cache-control", b"no-store")
_NOSNIFF = (b"x-content-type-options", b"nosniff")
# For an HTML page that sets no policy of its own: nothing inline, nothing from elsewhere.
_DEFAULT_PAGE_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        b"frame-ancestors 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class RequestContext:
    """Give each request an id (``X-Request-Id``), log it without its query string, cap its body.

    The query string is never logged: GraphQL over GET carries the document, and
    with it any token, in the URL.
    """

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int = MAX_BODY_BYTES, access_log: bool = True
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = os.urandom(8).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        no_store = _under(scope["path"], NO_STORE_PATHS)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                if not any(name.lower() == _NOSNIFF[0] for name, _ in headers):
                    headers.append(_NOSNIFF)
                if no_store:
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append(_NO_STORE)
                if _is_html(headers):
                    headers.extend(_page_headers(headers))
                message = {**message, "headers": headers}
            await send(message)

        try:
            try:
                body = await read_body(receive, limit=self.max_body_bytes)
            except BodyTooLarge:
                await _too_large(send_with_id)
                return
            await self.app(scope, replay(body), send_with_id)
        finally:
            if self.access_log:
                access_log.info(
                    '%s "%s %s" %d %.1fms id=%s',
                    _peer(scope),
                    escape(scope["method"]),
                    escape(scope["path"]),
                    status,
                    (time.perf_counter() - started) * 1000,
                    request_id,
                )


class BodyTooLarge(Exception):
    """The request body grew past the limit."""


async def read_body(receive: Receive, *, limit: int | None = None) -> list[Message]:
    """All messages of a request body; ``BodyTooLarge`` once it grows past ``limit`` bytes."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages
        size += len(message.get("body", b""))
        if limit is not None and size > limit:
            raise BodyTooLarge
        if not message.get("more_body", False):
            return messages


def replay(messages: list[Message]) -> Receive:
    """A ``receive`` that hands out ``messages`` again, then reports a disconnect."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    return receive


async def _too_large(send: Send) -> None:
    await answer_error(send, Refused(413, "request body too large"))


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "-"


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers)


def _page_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers every HTML page carries, where the page did not set them itself."""
    present = {name.lower() for name, _ in headers}
    return [h for h in _DEFAULT_PAGE_HEADERS if h[0] not in present]
