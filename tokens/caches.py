"""Every cache of the validation hot path, owned in one place.

Three caches serve ``validateToken``: token states by access-token digest
(``tokens.validation``), service-client callers by secret digest
(``tokens.service_clients``) and the grant targets that exist (``tokens.catalog``).
``CACHES`` sizes them from the settings, turns them off while changes made elsewhere
could go unheard (``server.listener``), and evicts what a ``Change`` names, whether
this process made it (``tokens.transactions``) or another instance announced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from models import ServiceClient
from tokens import state_store
from tokens.cache import Cache
from tokens.callers import ServiceCaller
from tokens.changes import Change, ChangeKind
from tokens.state_store import TokenState

if TYPE_CHECKING:
    from tokens.validation import Validation

DEFAULT_CACHE_ENTRIES = 50_000  # SAT_CACHE_ENTRIES: token states kept at most
DEFAULT_CACHE_SECONDS = 5.0  # SAT_CACHE_SECONDS: the longest any entry is used
MAX_CACHED_CALLERS = 10_000  # service clients are few; unknown secrets are never cached
# Token states' lives are spread over the last fifth of their age, so that states
# loaded together (after a restart, say) are not all reloaded in the same instant.
STATE_LIFE_SPREAD = 0.2


@dataclass(slots=True)
class CachedState:
    """A token's state as read, and what this process has since written of its use."""

    state: TokenState | None  # None: no token has this digest
    used: bool
    last_used_at: datetime | None
    # Kept by ``tokens.validation.answer`` for a state asked about more than once.
    answer: Validation | None = None
    asked: bool = False


async def _read_state(access_digest: str) -> CachedState:
    state = await state_store.read_state(access_digest)
    return CachedState(
        state=state,
        used=state is not None and state.used,
        last_used_at=None if state is None else state.last_used_at,
    )


def _token_of(entry: CachedState) -> int | None:
    return None if entry.state is None else entry.state.token_id


async def _read_caller(secret_digest: str) -> ServiceCaller | None:
    row = await ServiceClient.get_or_none(secret_digest=secret_digest, revoked_at__isnull=True)
    return None if row is None else ServiceCaller(client_id=row.id, name=row.name)


def _client_of(caller: ServiceCaller | None) -> int | None:
    return None if caller is None else caller.client_id


async def _read_targets(_: str) -> frozenset[str]:
    # tokens.catalog keeps the catalog and reads through this cache: imported when first read.
    from tokens.catalog import target_ids

    return frozenset(await target_ids())


class Caches:
    """Each cache with its reader and grouping, given once: a lookup passes only its key."""

    def __init__(self) -> None:
        self.states: Cache[str, CachedState] = Cache(
            max_entries=DEFAULT_CACHE_ENTRIES,
            max_age=DEFAULT_CACHE_SECONDS,
            spread=STATE_LIFE_SPREAD,
            read=_read_state,
            group=_token_of,
        )
        self.callers: Cache[str, ServiceCaller | None] = Cache(
            max_entries=MAX_CACHED_CALLERS,
            max_age=DEFAULT_CACHE_SECONDS,
            read=_read_caller,
            group=_client_of,
        )
        self.targets: Cache[str, frozenset[str]] = Cache(
            max_entries=1, max_age=DEFAULT_CACHE_SECONDS, read=_read_targets
        )

    def _every(self) -> tuple[Cache[Any, Any], ...]:
        return (self.states, self.callers, self.targets)

    def configure(self, *, max_entries: int, max_age_seconds: float) -> None:
        """Bound token states to ``max_entries`` (0: none kept) and every entry's age; empty all."""
        self.states.max_entries = max_entries
        for cache in self._every():
            cache.max_age = max_age_seconds
        self.reset()

    def enable(self, enabled: bool) -> None:
        """On only while every change is heard; empty either way: some may have been missed."""
        self.reset()
        for cache in self._every():
            cache.enabled = enabled

    def forget(self, change: Change | None) -> None:
        """Evict what ``change`` names; None (a change not understood) empties everything."""
        if change is None:
            self.reset()
        elif change.kind is ChangeKind.TOKEN:
            self.states.forget(change.id)
        elif change.kind is ChangeKind.CLIENT:
            self.callers.forget(change.id)
        else:
            self.targets.clear()

    def reset(self) -> None:
        for cache in self._every():
            cache.clear()


CACHES = Caches()
