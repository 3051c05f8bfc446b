"""Who is calling: resolved once per request, onto the scope, by ``CallerMiddleware``.

A script presents ``Authorization: Bearer sata_.../satc_...``; the admin console
presents its session cookie (see ``server.session_cookie``). Every transport and
permission reads the result with ``caller_of(scope)`` instead of resolving again,
as Starlette's ``AuthenticationMiddleware`` keeps ``scope["user"]``.
"""

from __future__ import annotations

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from server.graphql_responses import Refused, answer_error
from server.session_cookie import COOKIE_NAME, cross_origin_reason
from tokens import admins, service_clients
from tokens.callers import Caller
from tokens.secrets import SecretKind

CALLER_KEY = "sat.caller"

# Methods that change nothing: GraphQL over GET is refused, static files are GETs.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def resolve(authorization: str | None) -> Caller | None:
    """The admin or service client behind the bearer secret; None for anything else."""
    if not authorization:
        return None
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return await _by_secret(secret.strip())


async def _by_secret(secret: str) -> Caller | None:
    if secret.startswith(SecretKind.ADMIN_SESSION.prefix):
        return await admins.authenticate(secret)
    if secret.startswith(SecretKind.SERVICE_CLIENT.prefix):
        return await service_clients.authenticate(secret)
    return None


def caller_of(scope: Scope) -> Caller | None:
    """The caller ``CallerMiddleware`` stored for this request (None: anonymous)."""
    caller: Caller | None = scope.get(CALLER_KEY)
    return caller


class CallerMiddleware:
    """Store the caller on the scope; refuse cookie-authenticated writes that come cross-origin.

    A bearer header wins over the cookie, so scripts keep working exactly as before.
    A session cookie is only ever honoured for admins (``sata_``): the console never
    holds a service client's secret.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization, cookie_header = _credentials(scope)
        caller: Caller | None = None
        if authorization is not None:
            caller = await resolve(authorization)
        elif cookie_header is not None:
            session = _session_token(cookie_header)
            if session is not None and session.startswith(SecretKind.ADMIN_SESSION.prefix):
                caller = await admins.authenticate(session)
                # Only a live session makes a request dangerous enough to check its origin.
                if caller is not None and scope["method"] not in _SAFE_METHODS:
                    reason = cross_origin_reason(scope)
                    if reason is not None:
                        await _refuse(send, reason)
                        return
        scope[CALLER_KEY] = caller
        await self.app(scope, receive, send)


def _credentials(scope: Scope) -> tuple[str | None, str | None]:
    authorization: str | None = None
    cookie: str | None = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"cookie" and cookie is None:
            cookie = value.decode("latin-1")
    return authorization, cookie


def _session_token(cookie_header: str) -> str | None:
    # Starlette's parser reads cookies as browsers write them; a garbled header yields nothing.
    return cookie_parser(cookie_header).get(COOKIE_NAME)


async def _refuse(send: Send, reason: str) -> None:
    await answer_error(send, Refused(403, f"request refused: {reason}", code="FORBIDDEN"))
