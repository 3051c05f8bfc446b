"""``POST /oauth/introspect``: RFC 7662 token introspection for service clients.

The request is form-encoded (RFC 7662 §2.1); errors are JSON in RFC 6749 §5.2's
form. An inactive token, whatever the reason, answers ``{"active": false}``
alone, so that a caller learns nothing it may not know about foreign tokens.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope, Send

from server import metrics, validating
from server.asgi import body_of, encoded, headers_of, respond_json, text
from server.settings import Settings
from server.validating import Facts
from tokens.errors import InvalidInput
from tokens.grants import Access

log = logging.getLogger("sat.introspection")

PATH = "introspect"
_FORM = "application/x-www-form-urlencoded"
_MAX_FIELDS = 16  # token, token_type_hint, ip, area, folder, access, and a few extensions
_ACCESS = {access.value.lower(): access for access in Access}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_NO_STORE_WRITTEN = encoded(_NO_STORE)  # the headers of most answers, encoded once


class MalformedRequest(ValueError):
    """The request itself is unusable: RFC 6749's ``invalid_request``."""


# An answer: its status, its JSON body and the headers beside no-store.
Answer = tuple[int, dict[str, Any], dict[str, str]]


class IntrospectionEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Every method reaches us, so that a wrong one too is answered with no-store, in JSON.
        status, body, headers = await self.answer(scope, receive)
        written = _NO_STORE_WRITTEN if not headers else encoded({**_NO_STORE, **headers})
        await respond_json(send, status, body, written)

    async def answer(self, scope: Scope, receive: Receive) -> Answer:
        if scope["method"] != "POST":
            return _error(405, "invalid_request", {"Allow": "POST"})
        headers = headers_of(scope)
        authorization = text(headers.get(b"authorization"))
        caller = await validating.service_client(authorization)
        if caller is None:
            metrics.count_refusal(path=PATH, reason="invalid_client")
            return _invalid_client(authorization)
        try:
            facts = _facts(text(headers.get(b"content-type")) or "", await body_of(scope, receive))
            result = await validating.validate(
                caller=caller,
                facts=facts,
                path=PATH,
                last_used_interval=self.settings.last_used_interval,
            )
        except (MalformedRequest, InvalidInput):
            metrics.count_refusal(path=PATH, reason="invalid_request")
            return _error(400, "invalid_request")
        except Exception:  # storage failed: answer like RFC 6749 does, never with internals
            log.exception("introspection failed")
            return _error(500, "server_error")
        return 200, validating.introspection_answer(result), {}


def _facts(content_type: str, body: bytes) -> Facts:
    """The form's fields; each may appear once (RFC 6749 §3.1), unknown ones are ignored."""
    if content_type.split(";", 1)[0].strip().lower() != _FORM:
        raise MalformedRequest("the body must be application/x-www-form-urlencoded")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=bool(body),
            max_num_fields=_MAX_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise MalformedRequest("the body is not a form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise MalformedRequest(f"{name} is given more than once")
        form[name] = value
    token = form.get("token", "")
    if not token:
        raise MalformedRequest("token is required")
    area = form.get("area")
    folder = form.get("folder")
    if folder is not None and area is None:
        raise MalformedRequest("folder needs an area")
    access_name = form.get("access", "read")
    access = _ACCESS.get(access_name)
    if access is None:
        raise MalformedRequest("access must be read, write or delete")
    return Facts(token=token, ip=form.get("ip"), area=area, folder=folder, access=access)


def _invalid_client(authorization: str | None) -> Answer:
    # RFC 6749 §5.2: the challenge matches the scheme the client tried.
    tried_bearer = (authorization or "").lower().startswith("bearer")
    challenge = 'Bearer realm="SAT", error="invalid_token"' if tried_bearer else 'Basic realm="SAT"'
    return _error(401, "invalid_client", {"WWW-Authenticate": challenge})


def _error(status: int, error: str, headers: dict[str, str] | None = None) -> Answer:
    return status, {"error": error}, headers or {}
