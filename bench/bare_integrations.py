"""The ceiling for ``/oauth/introspect`` and ``/auth``: the least work the same answers need.

Check the caller, hash the token, look it up in a dict, answer. ``/api/...`` stands
for the protected API behind nginx. Run under the same uvicorn settings as ``sat serve``,
as ``bench.bare_integrations:app`` from the repository root.
"""

from __future__ import annotations

import hashlib
import json
import os
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# token digest -> the introspection answer; BENCH_TOKENS: a JSON file of {token, answer}.
KNOWN: dict[str, dict[str, object]] = {}
if os.environ.get("BENCH_TOKENS"):
    with open(os.environ["BENCH_TOKENS"], encoding="utf-8") as handle:
        for entry in json.load(handle):
            KNOWN[hashlib.sha256(entry["token"].encode()).hexdigest()] = entry["answer"]
BASIC = os.environ.get("BENCH_BASIC", "")


def _answer(token: str) -> dict[str, object] | None:
    return KNOWN.get(hashlib.sha256(token.encode()).hexdigest())


async def introspect(request: Request) -> Response:
    if request.headers.get("authorization") != f"Basic {BASIC}":
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    form = dict(parse_qsl((await request.body()).decode()))
    answer = _answer(form.get("token", ""))
    return JSONResponse(answer or {"active": False}, headers={"Cache-Control": "no-store"})


async def auth(request: Request) -> Response:
    token = request.headers.get("authorization", "").removeprefix("Bearer ")
    answer = _answer(token)
    if answer is None:
        return Response(status_code=401, headers={"X-SAT-Reason": "UNKNOWN"})
    return Response(
        headers={"X-SAT-Token-Id": str(answer["sub"]), "X-SAT-Token-Name": "bench"},
    )


async def api(request: Request) -> Response:
    return Response(b"ok\n", media_type="text/plain")


app = Starlette(
    routes=[
        Route("/oauth/introspect", introspect, methods=["POST"]),
        Route("/auth", auth),
        Route("/api/{rest:path}", api),
    ]
)
