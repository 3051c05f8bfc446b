"""The audit trail: every state change writes one event, in the same transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from models import AuditEvent
from tokens.paging import Page, PageRequest, page_of

REFRESH_KEY_ACTOR = "refresh-key"


class Action(StrEnum):
    ADMIN_CREATED = "ADMIN_CREATED"
    ADMIN_LOGIN = "ADMIN_LOGIN"
    ADMIN_LOGIN_FAILED = "ADMIN_LOGIN_FAILED"
    ADMIN_LOGOUT = "ADMIN_LOGOUT"
    SERVICE_CLIENT_CREATED = "SERVICE_CLIENT_CREATED"
    SERVICE_CLIENT_REVOKED = "SERVICE_CLIENT_REVOKED"
    CATALOG_IMPORTED = "CATALOG_IMPORTED"
    TOKEN_CREATED = "TOKEN_CREATED"
    GRANTS_CHANGED = "GRANTS_CHANGED"
    IP_RANGES_CHANGED = "IP_RANGES_CHANGED"
    TOKEN_REVOKED = "TOKEN_REVOKED"
    TOKEN_ROLLED = "TOKEN_ROLLED"
    TOKEN_UPDATED = "TOKEN_UPDATED"
    TOKEN_REFRESHED = "TOKEN_REFRESHED"
    REFRESH_KEY_REUSED = "REFRESH_KEY_REUSED"
    REFRESH_DENIED_IP = "REFRESH_DENIED_IP"
    REFRESH_DENIED_REVOKED = "REFRESH_DENIED_REVOKED"
    REFRESH_DENIED_ROLLED = "REFRESH_DENIED_ROLLED"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    token_id: int | None
    ip: str | None
    detail: str | None


async def record(
    action: Action,
    *,
    actor: str,
    at: datetime,
    token_id: int | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one event. Call it inside the transaction of the change it describes."""
    await AuditEvent.create(
        at=at,
        actor=actor[:100],
        action=action.value,
        token_id=token_id,
        ip=ip,
        detail=None
        if detail is None
        else json.dumps(detail, separators=(",", ":"), sort_keys=True),
    )


async def events(*, token_id: int | None, page: PageRequest) -> Page[AuditEntry]:
    """Events newest first, optionally only those of one Shared Access Token."""
    query = AuditEvent.all()
    if token_id is not None:
        query = query.filter(token_id=token_id)
    total = await query.count()
    if page.before_id is not None:
        query = query.filter(id__lt=page.before_id)
    rows = await query.order_by("-id").limit(page.first + 1)
    entries = [AuditEntry(r.id, r.at, r.actor, r.action, r.token_id, r.ip, r.detail) for r in rows]
    return page_of(entries, [e.id for e in entries], request=page, total=total)
