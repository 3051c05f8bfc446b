"""Refreshing a token with its refresh key: rotation, retry after a lost response, reuse as theft.

A refresh is one transaction that holds the token's row lock (PostgreSQL) or the
connection's transaction lock (SQLite), so refreshes of one token run one after
another; the unique ``credential.current_of`` index forbids two current pairs
even if that ever failed. A refusal that must leave a trace (reuse, wrong IP,
revoked, rolled) commits its audit event first and is raised afterwards.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, auto
from typing import Any

from tortoise.exceptions import IntegrityError

from models import Credential, IpRange, SharedAccessToken
from tokens import audit, catalog, rate_limits, secrets
from tokens.changes import Change
from tokens.clock import utcnow
from tokens.errors import Conflict, DomainError, Forbidden, RateLimited, Unauthenticated
from tokens.ip_ranges import AddressRange, client_allowed
from tokens.lifecycle import IssuedToken, issue_pair, mark_revoked
from tokens.secrets import SecretKind
from tokens.transactions import Announce, transaction
from tokens.views import view_of

INVALID_KEY_MESSAGE = "the refresh key is not valid"


class _Kind(Enum):
    ROTATE = auto()  # the current pair's key
    RETRY = auto()  # the previous pair's key while the current pair is unused


@dataclass(frozen=True, slots=True)
class _Refused:
    error: DomainError
    outcome: str


# Refreshes by outcome since start, for /metrics (read at scrape time; tokens/ needs no
# Prometheus): rotated, retried, invalid_key, revoked, rolled, reused, ip_not_allowed,
# rate_limited.
OUTCOMES: Counter[str] = Counter()


async def refresh(
    *,
    refresh_key: str,
    ip: str | None,
    now: datetime | None = None,
    rate_limited: bool = True,
) -> IssuedToken:
    """Trade a refresh key for a new access token and refresh key, both shown this once.

    Counted per client address when it begins; only a failed refresh stays counted.
    ``rate_limited=False`` for a service client's call: never limited, never counted.
    """
    now = now or utcnow()
    try:
        counted = (
            await rate_limits.count(
                rate_limits.refresh_keys(ip=ip),
                now=now,
                action=audit.Action.REFRESH_RATE_LIMITED,
                actor=audit.REFRESH_KEY_ACTOR,
                ip=ip,
            )
            if rate_limited
            else rate_limits.NOT_COUNTED
        )
    except RateLimited:
        OUTCOMES["rate_limited"] += 1
        raise
    issued = await _refresh(refresh_key=refresh_key, ip=ip, now=now)
    await rate_limits.forgive(counted)
    return issued


async def _refresh(*, refresh_key: str, ip: str | None, now: datetime) -> IssuedToken:
    if not secrets.is_well_formed(SecretKind.REFRESH_KEY, refresh_key):
        OUTCOMES["invalid_key"] += 1
        raise Unauthenticated(INVALID_KEY_MESSAGE)
    key_digest = secrets.digest(refresh_key)
    found = await Credential.get_or_none(refresh_digest=key_digest).only("id", "token_id")
    if found is None:
        OUTCOMES["invalid_key"] += 1
        raise Unauthenticated(INVALID_KEY_MESSAGE)
    token_id: int = found.token_id  # type: ignore[attr-defined]
    try:
        async with transaction() as announce:
            outcome = await _refresh_locked(token_id, key_digest, ip=ip, now=now, announce=announce)
    except IntegrityError:
        # Only reachable if two refreshes ever overlapped: the index kept one pair.
        raise Conflict("another refresh of this token happened at the same time") from None
    if isinstance(outcome, _Refused):
        OUTCOMES[outcome.outcome] += 1
        raise outcome.error
    return outcome


async def _refresh_locked(
    token_id: int, key_digest: str, *, ip: str | None, now: datetime, announce: Announce
) -> IssuedToken | _Refused:
    async def record(action: audit.Action, detail: dict[str, Any] | None = None) -> None:
        """An event of this refresh: by the refresh key, about this token, from ``ip``."""
        await audit.record(
            action, actor=audit.REFRESH_KEY_ACTOR, at=now, token_id=token_id, ip=ip, detail=detail
        )

    token = await SharedAccessToken.select_for_update().get(id=token_id)
    presented = await Credential.get(refresh_digest=key_digest)
    if token.revoked_at is not None:
        await record(audit.Action.REFRESH_DENIED_REVOKED)
        return _Refused(Unauthenticated(INVALID_KEY_MESSAGE), "revoked")
    if presented.rolled_at is not None:
        # An admin rolled the token since this key was issued: refused, but not theft.
        await record(audit.Action.REFRESH_DENIED_ROLLED, {"credentialId": presented.id})
        return _Refused(Unauthenticated(INVALID_KEY_MESSAGE), "rolled")
    current = await Credential.get_or_none(current_of=token.id)
    kind = _classify(presented, current)
    if kind is None:
        await mark_revoked(token, now=now, announce=announce)
        await record(
            audit.Action.REFRESH_KEY_REUSED, {"credentialId": presented.id, "revoked": True}
        )
        return _Refused(Unauthenticated(INVALID_KEY_MESSAGE), "reused")
    if not await _ip_allowed(token.id, ip):
        await record(audit.Action.REFRESH_DENIED_IP)
        return _Refused(Forbidden("this address may not refresh the token"), "ip_not_allowed")
    assert current is not None  # _classify returns a kind only when there is a current pair
    if kind is _Kind.ROTATE:
        presented.current_of = None
        presented.rotated_at = now
        presented.grace_seconds = token.refresh_grace_seconds
        await presented.save(update_fields=["current_of", "rotated_at", "grace_seconds"])
    else:
        current.current_of = None
        current.voided_at = now
        await current.save(update_fields=["current_of", "voided_at"])
    pair = await issue_pair(token, now=now, refreshed_from=presented.id)
    await announce(Change.token(token.id))
    token.last_used_at = now
    token.last_used_ip = ip
    await token.save(update_fields=["expires_at", "token_hint", "last_used_at", "last_used_ip"])
    await record(
        audit.Action.TOKEN_REFRESHED,
        {"retry": kind is _Kind.RETRY, "expiresAt": pair.credential.expires_at.isoformat()},
    )
    view = await view_of(token.id, await catalog.load(), now=now)
    OUTCOMES["retried" if kind is _Kind.RETRY else "rotated"] += 1
    return IssuedToken(view, pair.access_token, pair.refresh_key, pair.credential.expires_at)


def _classify(presented: Credential, current: Credential | None) -> _Kind | None:
    """ROTATE, RETRY, or None for reuse (theft)."""
    if current is None:
        return None
    if presented.id == current.id:
        return _Kind.ROTATE
    if current.refreshed_from_id == presented.id and current.used_at is None:
        return _Kind.RETRY
    return None


async def _ip_allowed(token_id: int, ip: str | None) -> bool:
    rows = await IpRange.filter(token_id=token_id)
    ranges = [AddressRange.stored(start=r.start, end=r.end, label=r.label) for r in rows]
    return client_allowed(ranges, ip)
