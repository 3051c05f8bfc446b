"""The admin console: static files at ``/`` and ``/console/...``, and the operation documents.

The console is plain HTML, CSS and ES modules (no build step); it talks to
``/graphql`` alone, with the documents of ``graphql/operations/`` (complete: with the
fragments they spread, ``server.operations``), which are served from here so that the
page and every other client send the same text.
Every answer carries the console's security headers: a CSP that allows no
inline script and nothing from another origin, no sniffing, no referrer.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.operations import OPERATIONS_DIR, document

CONSOLE_DIR = Path(__file__).resolve().parent / "console"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # Revalidate every time (the ETag makes that cheap): a new release shows at once.
    "cache-control": "no-cache",
}

_OPERATION_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
_ASSET_NAME = re.compile(r"[a-z][a-z0-9-]*\.(html|css|js|svg)")
_MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "svg": "image/svg+xml",
    "graphql": "text/plain; charset=utf-8",
}


def _file(request: Request, path: Path) -> Response:
    """A small file, whole (read into memory rather than streamed, see ``_whole``)."""
    return _whole(request, path.read_bytes(), _MEDIA_TYPES[path.suffix.lstrip(".")])


def _whole(request: Request, content: bytes, media_type: str) -> Response:
    """A small answer, whole, with an ETag so that revalidation costs no body.

    Never streamed: the request body middleware replays a disconnect once the body
    is read, which would cut a streamed answer short.
    """
    etag = f'"{hashlib.sha256(content).hexdigest()[:32]}"'
    headers = {**HEADERS, "etag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


def _not_found() -> Response:
    return Response("not found\n", status_code=404, media_type="text/plain", headers=HEADERS)


async def index(request: Request) -> Response:
    return _file(request, CONSOLE_DIR / "index.html")


async def asset(request: Request) -> Response:
    """One file of the console (a flat folder: no path ever leaves it)."""
    name = request.path_params["name"]
    path = CONSOLE_DIR / name
    if not _ASSET_NAME.fullmatch(name) or not path.is_file():
        return _not_found()
    return _file(request, path)


async def operation(request: Request) -> Response:
    """One document of ``graphql/operations/``, by operation name, with its fragments."""
    name = request.path_params["name"]
    if not _OPERATION_NAME.fullmatch(name) or not (OPERATIONS_DIR / f"{name}.graphql").is_file():
        return _not_found()
    return _whole(request, document(name).encode(), _MEDIA_TYPES["graphql"])


def routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/console/operations/{name}.graphql", operation, methods=["GET", "HEAD"]),
        Route("/console/{name}", asset, methods=["GET", "HEAD"]),
    ]
