"""Validation for every transport: one caller check, one domain call, one mapping per answer.

``/graphql``'s fast path, ``/oauth/introspect`` and ``/auth`` all ask
``tokens.validation.validate`` through ``validate`` here, which also counts the
answer for ``/metrics``; each transport turns the resulting ``Validation`` into
its own answer with the mapping below, so a rule never lives in a transport.
"""

from __future__ import annotations

import base64
import binascii
import functools
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from schema.context import Validate
from server import metrics
from tokens import service_clients, validation
from tokens.callers import Caller, ServiceCaller, logged_in
from tokens.errors import InvalidInput
from tokens.grants import Access
from tokens.introspection import scope
from tokens.ip_ranges import IpAddress
from tokens.secrets import SecretKind
from tokens.validation import DenialReason, Validation


@dataclass(frozen=True, slots=True)
class TrustedProxy:
    """A reverse proxy let in by its address (``SAT_TRUSTED_PROXIES``), with no secret."""

    peer: str


Validator = Caller | TrustedProxy


@dataclass(slots=True)  # not frozen: one is made per request, and frozen ones cost 5x
class Facts:
    """What is asked: may ``token`` do ``access`` to ``area``/``folder`` from ``ip``?

    ``ip`` None: unknown, so a token with IP ranges is refused. ``area`` None:
    only the token itself is checked (introspection without a resource).
    """

    token: str
    ip: str | IpAddress | None  # as the request wrote it, or as the transport parsed it
    area: str | None
    folder: str | None
    access: Access


class CallerRefused(Exception):
    """The caller may not ask for validations (no caller, or one of the wrong kind)."""


def may_validate(caller: Validator | None) -> bool:
    """Service clients and admins may validate (the contract's table); so may trusted proxies."""
    return logged_in(caller) or isinstance(caller, TrustedProxy)


async def validate(
    *, caller: Validator | None, facts: Facts, path: str, last_used_interval: timedelta
) -> Validation:
    """The domain's answer for ``facts``, counted under ``path`` (graphql, introspect, auth).

    Raises ``CallerRefused`` for a caller that may not validate, ``InvalidInput``
    for an unparsable ``ip``; a storage failure propagates and is counted.
    """
    if not may_validate(caller):
        raise CallerRefused
    started = time.perf_counter()
    try:
        result = await validation.validate(
            token=facts.token,
            ip=facts.ip,
            area=facts.area,
            folder=facts.folder,
            access=facts.access,
            last_used_interval=last_used_interval,
        )
    except InvalidInput:
        raise
    except Exception:
        metrics.count_database_error(path=path)
        raise
    metrics.count_validation(result, path=path, seconds=time.perf_counter() - started)
    return result


def for_graphql(caller: Validator | None) -> Validate:
    """validateToken's resolver on Strawberry's general path asks through ``validate`` too."""

    # The keywords are ``Validate``'s (schema.context), which the type checker holds us to.
    async def ask(*, last_used_interval: timedelta, **facts: Any) -> Validation:
        return await validate(
            caller=caller,
            facts=Facts(**facts),
            path="graphql",
            last_used_interval=last_used_interval,
        )

    return ask


# --- who is asking ----------------------------------------------------------------------------


async def service_client(authorization: str | None) -> ServiceCaller | None:
    """The live service client of ``Authorization``: Basic (id and secret) or Bearer satc_...

    With Basic the username must be the id of the client that holds the secret:
    a secret presented under another client's id is refused.
    """
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    scheme, credentials = scheme.lower(), credentials.strip()
    if scheme == "bearer":
        return await service_client_secret(credentials)
    if scheme != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id.isdigit():
        return None
    caller = await service_client_secret(secret)
    if caller is None or str(caller.client_id) != client_id:
        return None
    return caller


_SERVICE = SecretKind.SERVICE_CLIENT.prefix


async def service_client_secret(secret: str | None) -> ServiceCaller | None:
    """The live service client holding ``secret`` (``satc_...``), or None."""
    if not secret or not secret.startswith(_SERVICE):
        return None
    return await service_clients.authenticate(secret)


# --- answers ----------------------------------------------------------------------------------

INACTIVE: dict[str, Any] = {"active": False}


def introspection_answer(result: Validation) -> dict[str, Any]:
    """RFC 7662's answer: the token's facts when active, exactly ``{"active": false}`` else."""
    token = result.token
    if not result.valid or token is None:
        return INACTIVE
    return {
        "active": True,
        "token_type": "Bearer",
        "sub": str(token.id),
        "username": token.name,
        "exp": int(token.expires_at.timestamp()),
        "iat": int(token.issued_at.timestamp()),
        "scope": scope(token.grants),
    }


# Denials of the token itself are 401 (authenticate again); of the request, 403.
_UNAUTHENTICATED = frozenset(
    {
        DenialReason.MALFORMED,
        DenialReason.UNKNOWN,
        DenialReason.REVOKED,
        DenialReason.ROTATED,
        DenialReason.EXPIRED,
    }
)


# After an answer's own headers, which never set a cache policy: no cache may keep a
# decision, and no answer has a body.
_NO_STORE = (b"cache-control", b"no-store")
_NO_BODY = (b"content-length", b"0")


@dataclass(frozen=True, slots=True)  # made once per reason, or per token (``_granted``)
class ProxyAnswer:
    """``/auth``'s answer: a status and headers (as written: lower-case names, latin-1), no
    body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    # Every header the answer is written with, made once with the answer.
    written: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "written", (*self.headers, _NO_STORE, _NO_BODY))


CHALLENGE = "Bearer"
INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'  # noqa: S105  (RFC 6750's words, no secret)


def proxy_answer(result: Validation) -> ProxyAnswer:
    """200 with the token's id and name for the upstream; 401 or 403 with ``X-SAT-Reason``."""
    if result.valid and result.token is not None:
        return _granted(result.token.id, result.token.name)
    reason = result.reason or DenialReason.NOT_PERMITTED
    if reason in _UNAUTHENTICATED:
        return proxy_denial(401, reason.value, challenge=INVALID_TOKEN_CHALLENGE)
    return proxy_denial(403, reason.value)


@functools.lru_cache(maxsize=4096)
def _granted(token_id: int, name: str) -> ProxyAnswer:
    """The grant for one token, its name percent-encoded: the few tokens in use, made once."""
    return ProxyAnswer(
        200,
        (
            (b"x-sat-token-id", str(token_id).encode()),
            (b"x-sat-token-name", quote(name, safe="").encode("latin-1")),
        ),
    )


@functools.lru_cache(maxsize=64)
def proxy_denial(status: int, reason: str, *, challenge: str | None = None) -> ProxyAnswer:
    """A refusal; ``reason`` is a ``DenialReason`` or NO_TOKEN, NO_ROUTE, METHOD_NOT_MAPPED,
    CALLER_NOT_TRUSTED. A few dozen in all, each made once."""
    headers = [(b"x-sat-reason", reason.encode("latin-1"))]
    if challenge is not None:
        headers.append((b"www-authenticate", challenge.encode("latin-1")))
    return ProxyAnswer(status, tuple(headers))
