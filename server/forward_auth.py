"""``/auth`` and ``/auth/<path>``: may the request a reverse proxy holds pass?

One endpoint speaks every proxy's dialect: nginx ``auth_request`` sends
``X-Original-Method``/``X-Original-URI``, Traefik and Caddy send
``X-Forwarded-Method``/``X-Forwarded-Uri``, and Envoy's HTTP ``ext_authz`` sends
the original method to ``/auth`` followed by the original path
(``path_prefix``). The answer is a status and headers with an empty body.
"""

from __future__ import annotations

import ipaddress
import logging

from starlette.datastructures import URL
from starlette.types import Receive, Scope, Send

from server import metrics, validating
from server.asgi import headers_with_every, text
from server.client_ip import TrustedProxies
from server.route_map import RouteMap
from server.settings import Settings
from server.validating import CHALLENGE, Facts, ProxyAnswer, TrustedProxy, Validator
from tokens.grants import Access
from tokens.ip_ranges import IpAddress, address_or_none

log = logging.getLogger("sat.auth")

MAX_REMEMBERED_PEERS = 1024
_DOTTED_QUAD_LENGTH = len("255.255.255.255")

_FAILED = ProxyAnswer(500, ())

PATH = "auth"
PREFIX = "/auth"
METHODS = {
    "GET": Access.READ,
    "HEAD": Access.READ,
    "POST": Access.WRITE,
    "PUT": Access.WRITE,
    "PATCH": Access.WRITE,
    "DELETE": Access.DELETE,
}


class ForwardAuthEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.routes: RouteMap = settings.routes
        # Peers written as canonical dotted quads (the proxies: a few addresses asking
        # all the time), parsed, with the TrustedProxy they are if SAT_TRUSTED_PROXIES
        # holds them. Nothing else is kept; emptied when full.
        self._peers: dict[str, tuple[IpAddress, TrustedProxy | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # An ASGI app, not a request handler: Starlette's routes take every method only so.
        try:
            answer = await self._decide(scope)
        except Exception:  # storage failed: no decision, and the proxy refuses the request
            log.exception("forward authorization failed")
            answer = _FAILED
        await send(
            {"type": "http.response.start", "status": answer.status, "headers": answer.written}
        )
        await send({"type": "http.response.body", "body": b""})

    async def _decide(self, scope: Scope) -> ProxyAnswer:
        headers, forwarded_for = headers_with_every(scope, b"x-forwarded-for")
        client = scope.get("client")
        peer = client[0] if client else None
        # Parsed once, for both questions: is the peer a trusted proxy, and who is the client.
        address, proxy = self._peer(peer)
        caller: Validator | None
        if proxy is not None:  # a trusted proxy: nothing to look up
            caller, proxies = proxy, self.settings.trusted_proxies
        else:
            caller, proxies = await self._by_secret(
                address, text(headers.get(b"x-sat-client-secret"))
            )
        if caller is None:
            return _refused(403, "CALLER_NOT_TRUSTED")
        token = _bearer(text(headers.get(b"authorization")))
        if token is None:
            return _refused(401, "NO_TOKEN", challenge=CHALLENGE)
        method = (
            text(headers.get(b"x-original-method"))
            or text(headers.get(b"x-forwarded-method"))
            or scope["method"]
        )
        access = METHODS.get(method) or METHODS.get(method.strip().upper())
        if access is None:
            return _refused(403, "METHOD_NOT_MAPPED")
        uri = (
            text(headers.get(b"x-original-uri"))
            or text(headers.get(b"x-forwarded-uri"))
            or _prefixed(scope)
        )
        target = self.routes.target(uri)
        if target is None:
            return _refused(403, "NO_ROUTE")
        # The peer is trusted here: a trusted proxy, or the caller of a secret (``_by_secret``).
        client_ip = (
            peer if address is None else proxies.client_behind_trusted(address, forwarded_for)
        )
        result = await validating.validate(
            caller=caller,
            facts=Facts(
                token=token, ip=client_ip, area=target.area, folder=target.folder, access=access
            ),
            path=PATH,
            last_used_interval=self.settings.last_used_interval,
        )
        return validating.proxy_answer(result)

    def _peer(self, peer: str | None) -> tuple[IpAddress | None, TrustedProxy | None]:
        """The peer's address, and the trusted proxy it is (None: it is none)."""
        if peer is not None and len(peer) <= _DOTTED_QUAD_LENGTH:
            known = self._peers.get(peer)
            if known is not None:
                return known
        address = address_or_none(peer)
        if address is None:
            return None, None
        trusted = self.settings.trusted_proxies.trusts(address)
        facts = (address, TrustedProxy(peer=str(address)) if trusted else None)
        if address.version == 4 and str(address) == peer:
            if len(self._peers) >= MAX_REMEMBERED_PEERS:
                self._peers.clear()
            self._peers[peer] = facts
        return facts

    async def _by_secret(
        self, address: IpAddress | None, secret: str | None
    ) -> tuple[Validator | None, TrustedProxies]:
        """A caller that is no trusted proxy, by its secret, and whose ``X-Forwarded-For`` to
        believe: a caller with a secret is believed like a trusted proxy."""
        proxies = self.settings.trusted_proxies
        service = await validating.service_client_secret(secret)
        if service is None:
            return None, proxies
        if address is None:
            return service, proxies
        return service, TrustedProxies(networks=(*proxies.networks, ipaddress.ip_network(address)))


def _refused(status: int, reason: str, *, challenge: str | None = None) -> ProxyAnswer:
    metrics.count_refusal(path=PATH, reason=reason)
    return validating.proxy_denial(status, reason, challenge=challenge)


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _prefixed(scope: Scope) -> str:
    """Envoy's form: the original path follows ``/auth`` (raw, as the client sent it)."""
    raw = scope.get("raw_path") or URL(scope=scope).path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    rest = path[len(PREFIX) :] if path.startswith(PREFIX) else path
    return rest or "/"
