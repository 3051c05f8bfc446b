"""The admin console's session cookie, and the check that keeps its writes same-origin.

The console never sees its session token: ``login`` answers it to the page's
script only if the document selects ``token`` (the console's does not) and sets it
here, in a cookie page scripts cannot read. Forgery from another site is stopped
twice: ``SameSite=Strict`` keeps the browser from sending the cookie with a
cross-site request at all, and ``cross_origin_reason`` refuses a cookie-carrying
write that is not a JSON request from this server's own origin, which a page of
another origin (a sibling subdomain included, which SameSite counts as the same
site) cannot send without a CORS preflight that SAT never grants.
"""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_address
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

COOKIE_NAME = "sat_session"

# Fetch metadata a browser sends with every request; absent from older browsers and scripts.
_SAME_ORIGIN_FETCH_SITES = frozenset({"same-origin", "none"})


class SessionCookie:
    """Sets and clears the session cookie on the answer to one request (a sub-response)."""

    def __init__(self, request: Request, response: Response) -> None:
        self.request = request
        self.response = response

    def start(self, token: str, lifetime: timedelta) -> None:
        """Hand the browser the session token, for as long as the session lives."""
        self.response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=int(lifetime.total_seconds()),
            path="/",
            secure=not _on_loopback(self.request),
            httponly=True,
            samesite="strict",
        )
        # An answer that carries a credential is never stored by any cache.
        self.response.headers["cache-control"] = "no-store"

    def end(self) -> None:
        """Make the browser forget the session token."""
        self.response.delete_cookie(
            COOKIE_NAME,
            path="/",
            secure=not _on_loopback(self.request),
            httponly=True,
            samesite="strict",
        )
        self.response.headers["cache-control"] = "no-store"


def cross_origin_reason(scope: Scope) -> str | None:
    """Why a cookie-authenticated write may have come from another origin; None if it cannot."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name, value)
    content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    if content_type != b"application/json":
        # HTML forms and no-cors fetches can only send text/plain, urlencoded or multipart.
        return "a request with the session cookie must be application/json"
    fetch_site = headers.get(b"sec-fetch-site")
    if fetch_site is not None and fetch_site.decode("latin-1") not in _SAME_ORIGIN_FETCH_SITES:
        return "a request with the session cookie must come from this server's own pages"
    origin = headers.get(b"origin")
    if origin is not None:
        host = headers.get(b"host", b"").decode("latin-1").lower()
        # Compared by host and port: behind a TLS proxy the scheme SAT sees is not the page's.
        if urlsplit(origin.decode("latin-1").lower()).netloc != host or not host:
            return "a request with the session cookie must come from this server's own pages"
    return None


def _on_loopback(request: Request) -> bool:
    """True when the browser reached SAT by a loopback name, over plain HTTP (local use)."""
    if request.url.scheme == "https":
        return False
    host = (request.url.hostname or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
