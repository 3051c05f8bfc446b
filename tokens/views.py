"""The read side: tokens as admins see them, one by one and in the overview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models import SharedAccessToken
from tokens import catalog
from tokens.catalog import AreaEntry, Catalog, FolderEntry
from tokens.clock import utcnow
from tokens.errors import InvalidInput
from tokens.grants import GrantedAccess
from tokens.ip_ranges import AddressRange
from tokens.lifetimes import MAX_LIFETIME_DAYS, TokenStatus, status_of
from tokens.names import parse_id, search_key
from tokens.paging import Page, PageRequest, page_of

MAX_SEARCH_LENGTH = 100
# The overview's "expiring soon" filter looks this far ahead at most.
MAX_EXPIRES_WITHIN_DAYS = MAX_LIFETIME_DAYS


@dataclass(frozen=True, slots=True)
class GrantView:
    area: AreaEntry
    folder: FolderEntry | None
    read: bool
    write: bool
    delete: bool


@dataclass(frozen=True, slots=True)
class TokenView:
    # Which token: the overview's first columns.
    id: int
    name: str
    token_hint: str
    created_at: datetime
    created_by: str
    # Where it stands now.
    status: TokenStatus
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None
    # How it rotates: each new access token's lifetime, and the old pair's grace.
    expires_in_days: int
    refresh_grace_seconds: int
    # What it may reach, and from where.
    grants: tuple[GrantView, ...]
    ip_ranges: tuple[AddressRange, ...]


async def get(*, token_id: str, now: datetime | None = None) -> TokenView | None:
    row_id = parse_id(token_id)
    if row_id is None or not await SharedAccessToken.exists(id=row_id):
        return None
    return await view_of(row_id, await catalog.load(), now=now or utcnow())


async def overview(
    *,
    page: PageRequest,
    status: TokenStatus | None = None,
    search: str | None = None,
    expires_within_days: int | None = None,
    now: datetime | None = None,
) -> Page[TokenView]:
    """Tokens newest first, filtered by status, name and nearness of expiry.

    ``expires_within_days`` keeps only active tokens whose current access token expires
    within that many days. A fixed number of queries per page, whatever its size.
    """
    now = now or utcnow()
    query = SharedAccessToken.all()
    if expires_within_days is not None:
        if not 1 <= expires_within_days <= MAX_EXPIRES_WITHIN_DAYS:
            raise InvalidInput(
                "expiresWithinDays", f"must be between 1 and {MAX_EXPIRES_WITHIN_DAYS}"
            )
        query = query.filter(
            revoked_at__isnull=True,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=expires_within_days),
        )
    if status is TokenStatus.REVOKED:
        query = query.filter(revoked_at__isnull=False)
    elif status is TokenStatus.EXPIRED:
        query = query.filter(revoked_at__isnull=True, expires_at__lte=now)
    elif status is TokenStatus.ACTIVE:
        query = query.filter(revoked_at__isnull=True, expires_at__gt=now)
    if search:
        if len(search) > MAX_SEARCH_LENGTH:
            raise InvalidInput("search", f"must be at most {MAX_SEARCH_LENGTH} characters")
        query = query.filter(search_name__contains=search_key(search))
    total = await query.count()
    if page.before_id is not None:
        query = query.filter(id__lt=page.before_id)
    rows = await query.order_by("-id").limit(page.first + 1).prefetch_related("grants", "ip_ranges")
    tree = await catalog.load()
    views = [_view(row, tree, now=now) for row in rows]
    return page_of(views, [v.id for v in views], request=page, total=total)


async def view_of(token_id: int, tree: Catalog, *, now: datetime) -> TokenView:
    row = await SharedAccessToken.get(id=token_id).prefetch_related("grants", "ip_ranges")
    return _view(row, tree, now=now)


def _view(row: SharedAccessToken, tree: Catalog, *, now: datetime) -> TokenView:
    grant_views = []
    for grant_row in sorted(row.grants, key=lambda g: g.id):
        entry = GrantedAccess.from_target(
            grant_row.target,
            read=grant_row.allow_read,
            write=grant_row.allow_write,
            delete=grant_row.allow_delete,
        )
        area = tree.area(entry.area)
        if area is None:  # areas are never deleted; a missing one is a broken database
            raise LookupError(f"grant {grant_row.id} names unknown area {entry.area!r}")
        folder = None if entry.folder is None else area.folder(entry.folder)
        grant_views.append(GrantView(area, folder, entry.read, entry.write, entry.delete))
    ranges = tuple(
        AddressRange.stored(start=r.start, end=r.end, label=r.label)
        for r in sorted(row.ip_ranges, key=lambda r: r.position)
    )
    return TokenView(
        id=row.id,
        name=row.name,
        token_hint=row.token_hint,
        created_at=row.created_at,
        created_by=row.created_by,
        status=status_of(revoked_at=row.revoked_at, expires_at=row.expires_at, now=now),
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        last_used_ip=row.last_used_ip,
        expires_in_days=row.expires_in_days,
        refresh_grace_seconds=row.refresh_grace_seconds,
        grants=tuple(grant_views),
        ip_ranges=ranges,
    )
