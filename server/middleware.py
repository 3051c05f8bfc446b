"""The one ASGI layer before every endpoint: request ids, an access log that never holds
secrets, a body limit, the caller's credential, headers, the validation transports' routes."""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Collection, Iterable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import callers
from server.graphql_responses import Refused, answer_error
from server.logs import DirectLog, escape

access_log = logging.getLogger("sat.access")
_access_lines = DirectLog(access_log)

MAX_BODY_BYTES = 1 << 20

# Request ids tell requests apart in logs and error reports; they need no secrecy, so
# they come from a generator of this process (seeded by the system), not a system call.
_request_ids = random.Random(os.urandom(16))  # noqa: S311 (an identifier, not a secret)
os.register_at_fork(after_in_child=lambda: _request_ids.seed(os.urandom(16)))

# Answers that may carry secrets (issued tokens, sessions, introspection results):
# no cache, shared or private, may keep them.
NO_STORE_PATHS = ("/graphql", "/oauth/introspect", "/auth")
_NO_STORE_PREFIXES = tuple(path + "/" for path in NO_STORE_PATHS)
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


def route_path(scope: Scope) -> str:
    """The path the router matches: ``path`` without the ``root_path`` it starts with, as
    Starlette's routing reads it (an app mounted below a prefix, uvicorn's ``--root-path``)."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if not root_path or not path.startswith(root_path):
        return path
    rest = path[len(root_path) :]
    return rest if rest.startswith("/") or not rest else path


class RequestContext:
    """Give each request an id (``X-Request-Id``), log it without its query string, cap its body,
    put its credential on the scope (``server.callers.mark``), answer with our headers.

    The query string is never logged: GraphQL over GET carries the document, and
    with it any token, in the URL.

    One layer, not one per concern: each layer of the stack is another call and another
    ``send`` wrapped for every request. The validation transports are called from here
    too: ``direct`` by path, ``under`` by path prefix (ending in ``/``), the routes the
    router would match them with; every other path (and any request with a
    ``root_path``) goes on to ``app``, the router.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        access_log: bool = True,
        direct: Mapping[str, ASGIApp] | None = None,
        under: Mapping[str, ASGIApp] | None = None,
        headers_only: Collection[ASGIApp] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.access_log = access_log
        self.direct = dict(direct or {})
        self.under = tuple((under or {}).items())
        self.headers_only = frozenset(headers_only)

    def direct_endpoint(self, scope: Scope) -> ASGIApp | None:
        """The validation transport the path names, or None: the router's business."""
        if scope.get("root_path"):
            return None
        path = scope["path"]
        found = self.direct.get(path)
        if found is not None:
            return found
        for prefix, app in self.under:
            if path.startswith(prefix):
                return app
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"{_request_ids.getrandbits(64):016x}"
        scope.setdefault("state", {})["request_id"] = request_id
        logged = self.access_log and _access_lines.enabled()
        started = time.perf_counter() if logged else 0.0
        status = 500
        path = route_path(scope)
        no_store = path in NO_STORE_PATHS or path.startswith(_NO_STORE_PREFIXES)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _with_policy(
                    message.get("headers", ()), request_id, no_store=no_store
                )
            await send(message)

        try:
            direct = self.direct_endpoint(scope)
            if direct in self.headers_only:
                await direct(scope, receive, send_with_id)
                return
            try:
                body = await read_body(receive, limit=self.max_body_bytes)
            except BodyTooLarge:
                await _too_large(send_with_id)
                return
            refusal = callers.mark(scope)
            if refusal is not None:
                await callers.refuse(send_with_id, refusal)
                return
            scope[BODY] = body
            if direct is not None:  # it takes the body from the scope (``request_messages``)
                await direct(scope, _body_taken, send_with_id)
            else:
                await self.app(scope, replay(body), send_with_id)
        finally:
            if logged:
                _access_lines.log(
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


# The request body's messages, read (and bounded) by ``RequestContext``.
BODY = "sat.body"


async def request_messages(scope: Scope, receive: Receive) -> list[Message]:
    """The request body's messages: those ``RequestContext`` read, else read now."""
    messages: list[Message] | None = scope.get(BODY)
    return messages if messages is not None else await read_body(receive)


async def _body_taken() -> Message:
    """``receive`` for an endpoint that takes the body from the scope: nothing more comes."""
    return {"type": "http.disconnect"}


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


def _with_policy(
    headers: Iterable[tuple[bytes, bytes]], request_id: str, *, no_store: bool
) -> list[tuple[bytes, bytes]]:
    """The response's headers and ours: the request id, ``nosniff`` unless set, ``no-store``
    in place of any cache policy where answers may hold secrets, a page's default policy.

    One pass over the headers: this runs for every answer.
    """
    kept: list[tuple[bytes, bytes]] = []
    html = nosniff = False
    for header in headers:
        name = header[0].lower()
        if name == b"cache-control":
            if no_store:
                continue
        elif name == b"content-type":
            html = html or header[1].startswith(b"text/html")
        elif name == b"x-content-type-options":
            nosniff = True
        kept.append(header)
    kept.append((b"x-request-id", request_id.encode()))
    if not nosniff:
        kept.append(_NOSNIFF)
    if no_store:
        kept.append(_NO_STORE)
    if html:
        present = {header[0].lower() for header in kept}
        kept.extend(h for h in _DEFAULT_PAGE_HEADERS if h[0] not in present)
    return kept
