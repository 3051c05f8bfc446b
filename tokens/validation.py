"""May this access token do this? Answered as a value, never by raising for a bad token.

The answer is split in three: the token's state is read (``state_store.read_state``, on a
miss of the bounded cache that every change evicts, ``tokens.caches``; concurrent
misses of one token share one read, ``Cache.load``), ``decide`` is a pure
function of that state, and ``record_use`` writes last-use, at once on first use
and at most once per interval after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from tokens import catalog, secrets, state_store
from tokens.caches import CACHES, CachedState
from tokens.clock import utcnow
from tokens.grants import Access, GrantedAccess, permits
from tokens.ip_ranges import IpAddress, allows, parse_address
from tokens.secrets import SecretKind
from tokens.state_store import TokenState

# SAT_LAST_USED_INTERVAL_SECONDS: after a token's first use, how often last use is written.
DEFAULT_LAST_USED_INTERVAL = timedelta(seconds=60)


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
    issued_at: datetime  # when the presented access token was issued
    grants: tuple[GrantedAccess, ...]


@dataclass(frozen=True, slots=True)
class Validation:
    valid: bool
    reason: DenialReason | None
    token: ValidatedToken | None


def decide(
    state: TokenState | None,
    *,
    ip: IpAddress | None,
    area: str | None,
    folder: str | None,
    access: Access,
    resource_exists: bool,
    now: datetime,
) -> Validation:
    """The first denial reason that applies, or valid. ``state`` is None for an unknown token.

    Without ``ip`` a token restricted to ranges is refused (fail closed); without
    ``area`` no resource is checked (RFC 7662 introspection asks about the token alone).
    """
    if state is None:
        return Validation(False, DenialReason.UNKNOWN, None)
    facts = ValidatedToken(
        state.token_id, state.name, state.valid_until, state.issued_at, state.grants
    )
    reason: DenialReason | None = None
    if state.revoked:
        reason = DenialReason.REVOKED
    elif state.voided or (state.rotated_at is not None and now >= state.rotated_at + state.grace):
        reason = DenialReason.ROTATED
    elif now >= state.expires_at:
        reason = DenialReason.EXPIRED
    elif state.ip_ranges if ip is None else not allows(state.ip_ranges, ip):
        reason = DenialReason.IP_NOT_ALLOWED
    elif area is None:  # a question about the token alone: no resource to check
        pass
    elif not resource_exists:
        reason = DenialReason.UNKNOWN_RESOURCE
    elif not permits(state.grants, area=area, folder=folder, access=access):
        reason = DenialReason.NOT_PERMITTED
    return Validation(reason is None, reason, facts)


_states = CACHES.states


@dataclass(frozen=True, slots=True)
class CacheStats:
    hits: int
    misses: int
    entries: int
    enabled: bool


def cache_stats() -> CacheStats:
    """How the validation cache has fared, for metrics; counters only grow."""
    return CacheStats(_states.hits, _states.misses, len(_states), _states.enabled)


_TOKEN_LENGTH = secrets.LENGTHS[SecretKind.ACCESS_TOKEN]
_MALFORMED = Validation(False, DenialReason.MALFORMED, None)


# Addresses written as canonical dotted quads (as ``ipaddress`` writes them, at most 15
# characters), parsed: nearly every validation's ``ip``. Nothing else is kept, so the
# memo never holds raw request text (padding, zone ids, junk); emptied when full.
_ADDRESSES: dict[str, IpAddress] = {}
MAX_REMEMBERED_ADDRESSES = 16_384
_DOTTED_QUAD_LENGTH = len("255.255.255.255")


def _client_address(ip: str) -> IpAddress:
    short = len(ip) <= _DOTTED_QUAD_LENGTH
    if short:
        known = _ADDRESSES.get(ip)
        if known is not None:
            return known
    # Parsed otherwise: the length check inside comes first, so the cost is bounded.
    address = parse_address(ip, field="ip")
    if short and address.version == 4 and str(address) == ip:
        if len(_ADDRESSES) >= MAX_REMEMBERED_ADDRESSES:
            _ADDRESSES.clear()
        _ADDRESSES[ip] = address
    return address


async def validate(
    *,
    token: str,
    ip: str | IpAddress | None,
    area: str | None,
    folder: str | None,
    access: Access,
    last_used_interval: timedelta = DEFAULT_LAST_USED_INTERVAL,
    now: datetime | None = None,
) -> Validation:
    """Validate ``token`` for ``access`` to ``area``/``folder`` from the end client at ``ip``.

    An unparsable ``ip`` raises ``InvalidInput``; every fault of the token is an answer.
    ``ip`` may be an address a transport has parsed (``tokens.ip_ranges``) already. ``ip``
    and ``area`` may be None: see ``decide``.
    """
    address = _client_address(ip) if isinstance(ip, str) else ip
    if len(token) != _TOKEN_LENGTH:
        return _MALFORMED
    access_digest = secrets.digest(token)
    hit, entry = _states.get(access_digest)
    if not hit or entry is None:
        # Only well-formed tokens are ever looked up, so only they are cached: a hit
        # needs no second format check, and a miss is checked before storage is touched.
        if not secrets.is_well_formed(SecretKind.ACCESS_TOKEN, token):
            return _MALFORMED
        entry = await _shared_load(access_digest)
    now = now or utcnow()
    state = entry.state
    exists = state is not None and area is not None and await catalog.has_target(area, folder)
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


async def _shared_load(access_digest: str) -> CachedState:
    """Read and cache a token's state (``tokens.caches``); callers asking while a read is
    under way share it."""
    return await _states.load(access_digest)


async def record_use(
    entry: CachedState,
    result: Validation,
    *,
    ip: IpAddress | None,
    now: datetime,
    interval: timedelta,
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
        await state_store.mark_used(credential_id=state.credential_id, now=now)
    if not result.valid:
        return
    if entry.last_used_at is None or now - entry.last_used_at >= interval:
        entry.last_used_at = now
        await state_store.record_last_use(
            token_id=state.token_id, now=now, ip=None if ip is None else str(ip)
        )
