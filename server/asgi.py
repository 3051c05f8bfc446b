"""The request and the answer in plain ASGI, for the validation transports.

``/graphql``'s fast path, ``/oauth/introspect`` and ``/auth`` answer every request a
service or a proxy makes. Starlette's ``Request`` and ``Response`` cost more than the
answer itself there (a header object built per request and searched per lookup, the
standard library's JSON), so these endpoints read the scope and write their answer
with the few functions below.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from starlette.types import Receive, Scope, Send

from server.middleware import request_messages

Headers = list[tuple[bytes, bytes]]


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """Header values by (lower-case) name; the first of repeated headers wins, as in Starlette."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name, value)
    return headers


def text(value: bytes | None) -> str | None:
    """A header value as Starlette reads it (latin-1), or None."""
    return None if value is None else value.decode("latin-1")


def headers_with_every(scope: Scope, repeated: bytes) -> tuple[dict[bytes, bytes], list[str]]:
    """``headers_of`` and every value of the header ``repeated`` (``X-Forwarded-For``), in
    order, in one pass."""
    headers: dict[bytes, bytes] = {}
    every: list[str] = []
    for name, value in scope["headers"]:
        if name == repeated:
            every.append(value.decode("latin-1"))
        elif name not in headers:
            headers[name] = value
    return headers, every


async def body_of(scope: Scope, receive: Receive) -> bytes:
    """The whole request body (``RequestContext`` has read and bounded it already)."""
    messages = await request_messages(scope, receive)
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")


# Header names as written: only names of our own code reach ``encoded``, a few dozen.
_NAMES: dict[str, bytes] = {}


def encoded(headers: Mapping[str, str]) -> Headers:
    """Headers as Starlette's ``Response`` writes them: names in lower case, latin-1."""
    return [
        (_NAMES.get(name) or _name(name), value.encode("latin-1"))
        for name, value in headers.items()
    ]


def _name(name: str) -> bytes:
    written = _NAMES[name] = name.lower().encode("latin-1")
    return written


async def respond(send: Send, status: int, headers: Headers, body: bytes = b"") -> None:
    """One whole answer: ``headers`` with the body's length, then the body."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


_JSON = (b"content-type", b"application/json")


async def respond_json(send: Send, status: int, answer: object, headers: Headers) -> None:
    """``answer`` as compact JSON (the bytes Starlette's ``JSONResponse`` writes, by orjson)."""
    await respond(send, status, [*headers, _JSON], orjson.dumps(answer))
