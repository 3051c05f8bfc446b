"""Who is calling: resolved at most once per request, from the scope ``mark`` marks.

A script presents ``Authorization: Bearer sata_.../satc_...``; the admin console
presents its session cookie (see ``server.session_cookie``). Every transport and
permission reads the caller with ``await caller_of(scope)`` instead of resolving
again, as Starlette's ``AuthenticationMiddleware`` keeps ``scope["user"]``. The
lookup runs on first use, so a request for a console asset costs no database read.
"""

from __future__ import annotations

from starlette.requests import cookie_parser
from starlette.types import Scope, Send

from server.graphql_responses import Refused, answer_error
from server.session_cookie import COOKIE_NAME, cross_origin_reason
from tokens import admins, service_clients
from tokens.callers import Caller
from tokens.secrets import SecretKind

CALLER_KEY = "sat.caller"

_ADMIN = SecretKind.ADMIN_SESSION.prefix
_SERVICE = SecretKind.SERVICE_CLIENT.prefix

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
    if secret.startswith(_ADMIN):
        return await admins.authenticate(secret)
    if secret.startswith(_SERVICE):
        return await service_clients.authenticate(secret)
    return None


class _CallerOnce:
    """The request's credential, and the caller behind it once someone has asked."""

    __slots__ = ("_caller", "_resolved", "authorization", "session")

    def __init__(self, *, authorization: str | None, session: str | None) -> None:
        self.authorization = authorization
        self.session = session
        self._resolved = False
        self._caller: Caller | None = None

    async def get(self) -> Caller | None:
        if not self._resolved:
            if self.authorization is not None:
                self._caller = await resolve(self.authorization)
            elif self.session is not None:
                self._caller = await admins.authenticate(self.session)
            self._resolved = True
        return self._caller


async def caller_of(scope: Scope) -> Caller | None:
    """The caller of this request (None: anonymous), looked up once whoever asks first."""
    once: _CallerOnce | None = scope.get(CALLER_KEY)
    return await once.get() if once is not None else None


def mark(scope: Scope) -> str | None:
    """Put the request's credential on the scope; the reason to refuse a cookie-carrying
    write from elsewhere, if it is one (then answer with ``refuse``).

    A bearer header wins over the cookie, so scripts keep working exactly as before.
    A session cookie is only ever honoured for admins (``sata_``): the console never
    holds a service client's secret. ``server.middleware.RequestContext`` marks every
    HTTP request so, once its body is read.
    """
    authorization, cookie_header = _credentials(scope)
    session = None
    if authorization is None and cookie_header is not None:
        session = _session_token(cookie_header)
        if session is not None and not session.startswith(_ADMIN):
            session = None
    # Checked before any lookup: a write carrying a session cookie must be same-origin,
    # whether or not the session is still alive (no legitimate client sends one otherwise).
    if session is not None and scope["method"] not in _SAFE_METHODS:
        reason = cross_origin_reason(scope)
        if reason is not None:
            return reason
    scope[CALLER_KEY] = _CallerOnce(authorization=authorization, session=session)
    return None


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


async def refuse(send: Send, reason: str) -> None:
    await answer_error(send, Refused(403, f"request refused: {reason}", code="FORBIDDEN"))
