"""The ceiling for ``validateToken`` over HTTP: the least work the same answer needs.

Parse the JSON body, hash the token, look it up in a dict, write the JSON answer.
Run under the same uvicorn settings as ``sat serve``, as ``bench.bare_app:app`` from
the repository root.
"""

from __future__ import annotations

import hashlib
import json
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# token digest -> the answer's ValidatedToken facts; filled from BENCH_TOKENS (JSON file).
KNOWN: dict[str, dict[str, str]] = {}
if os.environ.get("BENCH_TOKENS"):
    with open(os.environ["BENCH_TOKENS"], encoding="utf-8") as handle:
        for entry in json.load(handle):
            KNOWN[hashlib.sha256(entry["token"].encode()).hexdigest()] = entry["facts"]

UNKNOWN = {"valid": False, "reason": "UNKNOWN", "sharedAccessToken": None}


async def graphql(request: Request) -> Response:
    body = json.loads(await request.body())
    token = body["variables"]["token"]
    facts = KNOWN.get(hashlib.sha256(token.encode()).hexdigest())
    answer = (
        UNKNOWN if facts is None else {"valid": True, "reason": None, "sharedAccessToken": facts}
    )
    return Response(json.dumps({"data": {"validateToken": answer}}), media_type="application/json")


async def healthz(request: Request) -> Response:
    """What the launcher waits for, as for ``sat serve``; after /graphql, which matches first."""
    return Response("ok")


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)])
