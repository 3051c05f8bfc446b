"""May this access token do this? Answered as a value, never by raising for a bad token.

The answer is split in three: the token's state is read (``state_store.read_state``, on a
miss of the bounded cache that every change evicts, ``tokens.caches``; concurrent
misses of one token share one read, ``Cache.load``), ``decide`` is a pure
function of that state, and ``record_use`` writes last-use, at once on first use
and at most once per interval after that. A validation of a cached token in steady
use awaits nothing and makes no new object (``answer``).
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
    state: TokenState,
    *,
    ip: IpAddress | None,
    area: str | None,
    folder: str | None,
    access: Access,
    resource_exists: bool,
    now: datetime,
) -> DenialReason | None:
    """The first denial reason that applies to a known token, None when it is valid.

    Without ``ip`` a token restricted to ranges is refused (fail closed); without
    ``area`` no resource is checked (RFC 7662 introspection asks about the token alone).
    """
    if state.revoked:
        return DenialReason.REVOKED
    if state.voided or (state.rotated_at is not None and now >= state.rotated_at + state.grace):
        return DenialReason.ROTATED
    if now >= state.expires_at:
        return DenialReason.EXPIRED
    if state.ip_ranges if ip is None else not allows(state.ip_ranges, ip):
        return DenialReason.IP_NOT_ALLOWED
    if area is None:  # a question about the token alone: no resource to check
        return None
    if not resource_exists:
        return DenialReason.UNKNOWN_RESOURCE
    if not permits(state.grants, area=area, folder=folder, access=access):
        return DenialReason.NOT_PERMITTED
    return None


def answer(entry: CachedState, reason: DenialReason | None) -> Validation:
    """The answer for ``reason`` about the known token of ``entry``.

    Answers are values of a state and a reason: a state asked about again keeps its last
    answer, so that a token in steady use is answered with the same object and no new one
    (making it is a quarter of a cached validation's work). Only from its second question
    on: a state read for one validation (one of a great many tokens) keeps nothing more.
    """
    last = entry.answer
    if last is not None and last.reason is reason:
        return last
    state = entry.state
    assert state is not None  # only known tokens are decided
    facts = ValidatedToken(
        state.token_id, state.name, state.valid_until, state.issued_at, state.grants
    )
    made = Validation(reason is None, reason, facts)
    if entry.asked:
        entry.answer = made
    entry.asked = True
    return made


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
_UNKNOWN = Validation(False, DenialReason.UNKNOWN, None)


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
    address = parse_address(ip, field="ip") if isinstance(ip, str) else ip
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
    state = entry.state
    if state is None:
        return _UNKNOWN
    now = now or utcnow()
    exists = False
    if area is not None:
        known = catalog.cached_has_target(area, folder)
        exists = known if known is not None else await catalog.has_target(area, folder)
    result = answer(
        entry,
        decide(
            state,
            ip=address,
            area=area,
            folder=folder,
            access=access,
            resource_exists=exists,
            now=now,
        ),
    )
    if use_to_record(entry, result, now=now, interval=last_used_interval):
        await record_use(entry, result, ip=address, now=now, interval=last_used_interval)
    return result


async def _shared_load(access_digest: str) -> CachedState:
    """Read and cache a token's state (``tokens.caches``); callers asking while a read is
    under way share it."""
    return await _states.load(access_digest)


def use_to_record(
    entry: CachedState, result: Validation, *, now: datetime, interval: timedelta
) -> bool:
    """Whether ``record_use`` has anything to write: mostly not, and then it is not called."""
    return _first_use(entry) or (result.valid and _last_use_due(entry, now, interval))


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
    if _first_use(entry):
        entry.used = True
        await state_store.mark_used(credential_id=state.credential_id, now=now)
    if result.valid and _last_use_due(entry, now, interval):
        entry.last_used_at = now
        await state_store.record_last_use(
            token_id=state.token_id, now=now, ip=None if ip is None else str(ip)
        )


def _first_use(entry: CachedState) -> bool:
    state = entry.state
    return state is not None and state.current and not state.revoked and not entry.used


def _last_use_due(entry: CachedState, now: datetime, interval: timedelta) -> bool:
    return entry.last_used_at is None or now - entry.last_used_at >= interval
