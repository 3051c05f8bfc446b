"""May this access token do this? Answered as a value, never by raising for a bad token.

The answer is split in three: ``load_state`` reads what the decision needs
(through a bounded cache that every change evicts), ``decide`` is a pure
function of that state, and ``record_use`` writes last-use, at once on first use
and at most once per interval after that.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from models import Credential, SharedAccessToken
from models import Grant as GrantRow
from models import IpRange as IpRangeRow
from tokens import catalog, secrets
from tokens.cache import Cache
from tokens.clock import utcnow
from tokens.grants import Access, Grant, permits
from tokens.ip_ranges import IpAddress, IpRange, allows, parse_address
from tokens.secrets import SecretKind

DEFAULT_CACHE_ENTRIES = 50_000
DEFAULT_CACHE_SECONDS = 5.0


class DenialReason(Enum):
    """Why a token is refused; the first that applies wins, in this order."""

    MALFORMED = "MALFORMED"
    UNKNOWN = "UNKNOWN"
    REVOKED = "REVOKED"
    ROTATED = "ROTATED"
    EXPIRED = "EXPIRED"
    IP_NOT_ALLOWED = "IP_NOT_ALLOWED"
    UNKNOWN_RESOURCE = "UNKNOWN_RESOURCE"
    NOT_PERMITTED = "NOT_PERMITTED"


@dataclass(frozen=True, slots=True)
class ValidatedToken:
    id: int
    name: str
    expires_at: datetime  # when the presented access token stops being valid


@dataclass(frozen=True, slots=True)
class Validation:
    valid: bool
    reason: DenialReason | None
    token: ValidatedToken | None


@dataclass(frozen=True, slots=True)
class TokenState:
    """What the decision needs to know of one access token, as read from storage."""

    token_id: int
    name: str
    revoked: bool
    credential_id: int
    current: bool
    voided: bool
    rotated_at: datetime | None
    grace: timedelta
    expires_at: datetime
    used: bool
    last_used_at: datetime | None
    ip_ranges: tuple[IpRange, ...]
    grants: tuple[Grant, ...]

    @property
    def valid_until(self) -> datetime:
        """The access token's own expiry, cut short by the end of its grace once rotated."""
        if self.rotated_at is None:
            return self.expires_at
        return min(self.expires_at, self.rotated_at + self.grace)


def decide(
    state: TokenState | None,
    *,
    ip: IpAddress,
    area: str,
    folder: str | None,
    access: Access,
    resource_exists: bool,
    now: datetime,
) -> Validation:
    """The first denial reason that applies, or valid. ``state`` is None for an unknown token."""
    if state is None:
        return Validation(False, DenialReason.UNKNOWN, None)
    facts = ValidatedToken(state.token_id, state.name, state.valid_until)
    reason: DenialReason | None = None
    if state.revoked:
        reason = DenialReason.REVOKED
    elif state.voided or (state.rotated_at is not None and now >= state.rotated_at + state.grace):
        reason = DenialReason.ROTATED
    elif now >= state.expires_at:
        reason = DenialReason.EXPIRED
    elif not allows(state.ip_ranges, ip):
        reason = DenialReason.IP_NOT_ALLOWED
    elif not resource_exists:
        reason = DenialReason.UNKNOWN_RESOURCE
    elif not permits(state.grants, area=area, folder=folder, access=access):
        reason = DenialReason.NOT_PERMITTED
    return Validation(reason is None, reason, facts)


@dataclass(slots=True)
class _Entry:
    """A cached state and what this process has since written of its use."""

    state: TokenState | None  # None: no token has this digest
    used: bool
    last_used_at: datetime | None


# Token states by access digest; a token's entries are grouped under its id.
_states: Cache[str, _Entry] = Cache(
    max_entries=DEFAULT_CACHE_ENTRIES, max_age=DEFAULT_CACHE_SECONDS
)


def configure_cache(*, max_entries: int, max_age_seconds: float) -> None:
    """Size the validation cache (``SAT_CACHE_ENTRIES``, ``SAT_CACHE_SECONDS``); empties it."""
    _states.max_entries = max_entries
    _states.max_age = max_age_seconds
    _states.clear()


def forget_token(token_id: int) -> None:
    """Evict a token's cached states: call after a change to it commits."""
    _states.forget(token_id)


def forget_all() -> None:
    _states.clear()


def enable_cache(enabled: bool) -> None:
    """Off while changes made elsewhere could go unheard (see ``server.listener``)."""
    _states.enabled = enabled


@functools.lru_cache(maxsize=16_384)
def _client_address(ip: str) -> IpAddress:
    return parse_address(ip, field="ip")


async def validate(
    *,
    token: str,
    ip: str,
    area: str,
    folder: str | None,
    access: Access,
    last_used_interval: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
) -> Validation:
    """Validate ``token`` for ``access`` to ``area``/``folder`` from the end client at ``ip``.

    An unparsable ``ip`` raises ``InvalidInput``; every fault of the token is an answer.
    """
    address = _client_address(ip)
    if not secrets.is_well_formed(SecretKind.ACCESS_TOKEN, token):
        return Validation(False, DenialReason.MALFORMED, None)
    now = now or utcnow()
    entry = await _cached_state(secrets.digest(token))
    state = entry.state
    exists = state is not None and await catalog.has_target(area, folder)
    result = decide(
        state,
        ip=address,
        area=area,
        folder=folder,
        access=access,
        resource_exists=exists,
        now=now,
    )
    if state is not None:
        await record_use(entry, result, ip=address, now=now, interval=last_used_interval)
    return result


async def _cached_state(access_digest: str) -> _Entry:
    hit, entry = _states.get(access_digest)
    if hit and entry is not None:
        return entry
    epoch = _states.epoch
    state = await load_state(access_digest)
    entry = _Entry(
        state=state,
        used=state is not None and state.used,
        last_used_at=None if state is None else state.last_used_at,
    )
    _states.put(access_digest, entry, epoch=epoch, group=None if state is None else state.token_id)
    return entry


async def load_state(access_digest: str) -> TokenState | None:
    credential = await Credential.get_or_none(access_digest=access_digest).select_related("token")
    if credential is None:
        return None
    token: SharedAccessToken = credential.token
    grant_rows = await GrantRow.filter(token_id=token.id)
    range_rows = await IpRangeRow.filter(token_id=token.id).order_by("position")
    return TokenState(
        token_id=token.id,
        name=token.name,
        revoked=token.revoked_at is not None,
        credential_id=credential.id,
        current=credential.current_of is not None,
        voided=credential.voided_at is not None,
        rotated_at=credential.rotated_at,
        grace=timedelta(seconds=token.refresh_grace_seconds),
        expires_at=credential.expires_at,
        used=credential.used_at is not None,
        last_used_at=token.last_used_at,
        ip_ranges=tuple(
            IpRange.stored(start=r.start, end=r.end, label=r.label) for r in range_rows
        ),
        grants=tuple(
            Grant.from_target(
                g.target, read=g.allow_read, write=g.allow_write, delete=g.allow_delete
            )
            for g in grant_rows
        ),
    )


async def record_use(
    entry: _Entry, result: Validation, *, ip: IpAddress, now: datetime, interval: timedelta
) -> None:
    """Mark the pair used (ends the retry window) and keep last-use about ``interval`` fresh.

    Presenting the current access token, whatever the answer, proves its holder
    received it; only a successful validation counts as the token's last use.
    """
    state = entry.state
    if state is None:
        return
    if state.current and not state.revoked and not entry.used:
        entry.used = True
        await Credential.filter(id=state.credential_id, used_at__isnull=True).update(used_at=now)
    if not result.valid:
        return
    if entry.last_used_at is None or now - entry.last_used_at >= interval:
        entry.last_used_at = now
        await SharedAccessToken.filter(id=state.token_id).update(
            last_used_at=now, last_used_ip=str(ip)
        )
