"""The life of a Shared Access Token as admins see it: create, grant, restrict, revoke, review."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Credential, SharedAccessToken
from models import Grant as GrantRow
from models import IpRange as IpRangeRow
from tokens import audit, catalog, changes, secrets, validation
from tokens.catalog import AreaEntry, Catalog, FolderEntry
from tokens.clock import utcnow
from tokens.errors import Conflict, InvalidInput, NotFound
from tokens.grants import Grant, GrantRequest, resolve
from tokens.ip_ranges import MAX_RANGES, IpRange
from tokens.names import clean_name, parse_id
from tokens.paging import Page, PageRequest, page_of
from tokens.secrets import SecretKind

MAX_LIFETIME_DAYS = 365
MAX_GRACE_SECONDS = 86_400
MAX_SEARCH_LENGTH = 100
# The overview's "expiring soon" filter looks this far ahead at most.
MAX_EXPIRES_WITHIN_DAYS = MAX_LIFETIME_DAYS


class TokenStatus(Enum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


def status_of(*, revoked_at: datetime | None, expires_at: datetime, now: datetime) -> TokenStatus:
    if revoked_at is not None:
        return TokenStatus.REVOKED
    if now >= expires_at:
        return TokenStatus.EXPIRED
    return TokenStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class IpRangeRequest:
    """An IP range as an admin types it: ``start`` may be a CIDR when ``end`` is None."""

    start: str
    end: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class GrantView:
    area: AreaEntry
    folder: FolderEntry | None
    read: bool
    write: bool
    delete: bool


@dataclass(frozen=True, slots=True)
class TokenView:
    id: int
    name: str
    status: TokenStatus
    created_at: datetime
    created_by: str
    expires_in_days: int
    expires_at: datetime
    refresh_grace_seconds: int
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None
    token_hint: str
    grants: tuple[GrantView, ...]
    ip_ranges: tuple[IpRange, ...]


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token with its live secrets: returned once, by create and refresh, never again."""

    token: TokenView
    access_token: str
    refresh_key: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewPair:
    access_token: str
    refresh_key: str
    credential: Credential


async def issue_pair(
    token: SharedAccessToken, *, now: datetime, refreshed_from: int | None
) -> NewPair:
    """Create the token's new current credential and mirror its expiry and hint on the token."""
    access_token = secrets.generate(SecretKind.ACCESS_TOKEN)
    refresh_key = secrets.generate(SecretKind.REFRESH_KEY)
    credential = await Credential.create(
        token_id=token.id,
        current_of=token.id,
        access_digest=secrets.digest(access_token),
        refresh_digest=secrets.digest(refresh_key),
        issued_at=now,
        expires_at=now + timedelta(days=token.expires_in_days),
        refreshed_from_id=refreshed_from,
    )
    token.expires_at = credential.expires_at
    token.token_hint = secrets.hint(access_token)
    return NewPair(access_token, refresh_key, credential)


async def create(
    *,
    actor: str,
    name: str,
    expires_in_days: int = MAX_LIFETIME_DAYS,
    grants: Sequence[GrantRequest] = (),
    ip_ranges: Sequence[IpRangeRequest] = (),
    refresh_grace_seconds: int = 0,
    ip: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Create a token and its first pair; all checks pass before anything is written."""
    now = now or utcnow()
    name = clean_name(name, field="name")
    _check_lifetime(expires_in_days)
    _check_grace(refresh_grace_seconds, field="refreshGraceSeconds")
    tree = await catalog.load()
    kept = [g for g in resolve(grants, tree, field="grants") if not _empty(g)]
    ranges = _parse_ranges(ip_ranges)
    try:
        async with in_transaction():
            token = SharedAccessToken(
                name=name,
                live_name=name.casefold(),
                search_name=name.casefold(),
                created_at=now,
                created_by=actor,
                expires_in_days=expires_in_days,
                refresh_grace_seconds=refresh_grace_seconds,
                expires_at=now,
                token_hint="",
            )
            await token.save()
            pair = await issue_pair(token, now=now, refreshed_from=None)
            await token.save(update_fields=["expires_at", "token_hint"])
            await _write_grants(token.id, kept)
            await _write_ranges(token.id, ranges)
            await audit.record(
                audit.Action.TOKEN_CREATED,
                actor=actor,
                at=now,
                token_id=token.id,
                ip=ip,
                detail={
                    "name": name,
                    "expiresInDays": expires_in_days,
                    "refreshGraceSeconds": refresh_grace_seconds,
                    "grants": [g.as_detail() for g in kept],
                    "ipRanges": [_range_detail(r) for r in ranges],
                },
            )
    except IntegrityError:
        raise _name_taken(name) from None
    view = await view_of(token.id, tree, now=now)
    return IssuedToken(view, pair.access_token, pair.refresh_key, pair.credential.expires_at)


async def grant(
    *,
    token_id: str,
    grants: Sequence[GrantRequest],
    actor: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> TokenView:
    """Upsert each listed grant; one with all flags false removes the grant on that target."""
    now = now or utcnow()
    tree = await catalog.load()
    resolved = resolve(grants, tree, field="grants")
    async with in_transaction():
        token = await _live_token_for_update(token_id)
        for entry in resolved:
            if _empty(entry):
                await GrantRow.filter(token_id=token.id, target=entry.target).delete()
                continue
            updated = await GrantRow.filter(token_id=token.id, target=entry.target).update(
                allow_read=entry.read, allow_write=entry.write, allow_delete=entry.delete
            )
            if not updated:
                await _write_grants(token.id, [entry])
        await audit.record(
            audit.Action.GRANTS_CHANGED,
            actor=actor,
            at=now,
            token_id=token.id,
            ip=ip,
            detail={"grants": [g.as_detail() for g in resolved]},
        )
        await changes.announce(changes.token(token.id))
    validation.forget_token(token.id)
    return await view_of(token.id, tree, now=now)


async def restrict(
    *,
    token_id: str,
    ip_ranges: Sequence[IpRangeRequest],
    actor: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> TokenView:
    """Replace the token's IP ranges; an empty list lifts the restriction."""
    now = now or utcnow()
    ranges = _parse_ranges(ip_ranges)
    async with in_transaction():
        token = await _live_token_for_update(token_id)
        await IpRangeRow.filter(token_id=token.id).delete()
        await _write_ranges(token.id, ranges)
        await audit.record(
            audit.Action.IP_RANGES_CHANGED,
            actor=actor,
            at=now,
            token_id=token.id,
            ip=ip,
            detail={"ipRanges": [_range_detail(r) for r in ranges]},
        )
        await changes.announce(changes.token(token.id))
    validation.forget_token(token.id)
    return await view_of(token.id, await catalog.load(), now=now)


async def revoke(
    *, token_id: str, actor: str, ip: str | None = None, now: datetime | None = None
) -> TokenView:
    """Revoke every credential of the token at once; revoking twice changes nothing."""
    now = now or utcnow()
    async with in_transaction():
        token = await _token_for_update(token_id)
        if token.revoked_at is None:
            await mark_revoked(token, now=now)
            await audit.record(
                audit.Action.TOKEN_REVOKED, actor=actor, at=now, token_id=token.id, ip=ip
            )
    validation.forget_token(token.id)
    return await view_of(token.id, await catalog.load(), now=now)


async def roll(
    *,
    token_id: str,
    grace_seconds: int = 0,
    actor: str,
    ip: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """An admin's rotation: a new pair, shown once; every earlier refresh key stops working.

    The current access token stays valid for ``grace_seconds`` (0: refused at once as
    rotated); access tokens still in the grace of an earlier refresh end now, since a roll
    is what an admin does when keys may have leaked. Earlier refresh keys are refused as
    unauthenticated, not taken as reuse: the token stays live.
    """
    now = now or utcnow()
    _check_grace(grace_seconds, field="graceSeconds")
    async with in_transaction():
        token = await _live_token_for_update(token_id)
        current = await Credential.get_or_none(current_of=token.id)
        await Credential.filter(
            token_id=token.id, voided_at__isnull=True, current_of__isnull=True
        ).update(voided_at=now)
        await Credential.filter(token_id=token.id, rolled_at__isnull=True).update(rolled_at=now)
        if current is not None:
            current.current_of = None
            current.rotated_at = now
            current.grace_seconds = grace_seconds
            await current.save(update_fields=["current_of", "rotated_at", "grace_seconds"])
        pair = await issue_pair(token, now=now, refreshed_from=None)
        await token.save(update_fields=["expires_at", "token_hint"])
        await audit.record(
            audit.Action.TOKEN_ROLLED,
            actor=actor,
            at=now,
            token_id=token.id,
            ip=ip,
            detail={
                "graceSeconds": grace_seconds,
                "expiresAt": pair.credential.expires_at.isoformat(),
            },
        )
        await changes.announce(changes.token(token.id))
    validation.forget_token(token.id)
    view = await view_of(token.id, await catalog.load(), now=now)
    return IssuedToken(view, pair.access_token, pair.refresh_key, pair.credential.expires_at)


async def update(
    *,
    token_id: str,
    actor: str,
    name: str | None = None,
    refresh_grace_seconds: int | None = None,
    expires_in_days: int | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> TokenView:
    """Change only the settings given (None: unchanged); audited with old and new values.

    A new lifetime applies from the next refresh or roll; a new grace to rotations from
    now on (a rotated access token keeps the grace it was given).
    """
    now = now or utcnow()
    if name is not None:
        name = clean_name(name, field="name")
    if expires_in_days is not None:
        _check_lifetime(expires_in_days)
    if refresh_grace_seconds is not None:
        _check_grace(refresh_grace_seconds, field="refreshGraceSeconds")
    try:
        async with in_transaction():
            token = await _live_token_for_update(token_id)
            wanted = {
                "name": name,
                "refreshGraceSeconds": refresh_grace_seconds,
                "expiresInDays": expires_in_days,
            }
            before = {
                "name": token.name,
                "refreshGraceSeconds": token.refresh_grace_seconds,
                "expiresInDays": token.expires_in_days,
            }
            changed = {
                key: value
                for key, value in wanted.items()
                if value is not None and value != before[key]
            }
            if changed:
                if name is not None:
                    token.name = name
                    token.live_name = name.casefold()
                    token.search_name = name.casefold()
                if refresh_grace_seconds is not None:
                    token.refresh_grace_seconds = refresh_grace_seconds
                if expires_in_days is not None:
                    token.expires_in_days = expires_in_days
                await token.save(
                    update_fields=[
                        "name",
                        "live_name",
                        "search_name",
                        "refresh_grace_seconds",
                        "expires_in_days",
                    ]
                )
                await audit.record(
                    audit.Action.TOKEN_UPDATED,
                    actor=actor,
                    at=now,
                    token_id=token.id,
                    ip=ip,
                    detail={
                        "old": {key: before[key] for key in changed},
                        "new": changed,
                    },
                )
                await changes.announce(changes.token(token.id))
    except IntegrityError:
        raise _name_taken(name or "") from None
    if changed:
        validation.forget_token(token.id)
    return await view_of(token.id, await catalog.load(), now=now)


async def mark_revoked(token: SharedAccessToken, *, now: datetime) -> None:
    """Revoke inside the caller's transaction; frees the name for a new token."""
    token.revoked_at = now
    token.live_name = None
    await token.save(update_fields=["revoked_at", "live_name"])
    await changes.announce(changes.token(token.id))


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
        query = query.filter(search_name__contains=search.casefold())
    total = await query.count()
    if page.before_id is not None:
        query = query.filter(id__lt=page.before_id)
    rows = await query.order_by("-id").limit(page.first + 1).prefetch_related("grants", "ip_ranges")
    tree = await catalog.load()
    views = [_view(row, tree, now=now) for row in rows]
    return page_of(views, [v.id for v in views], request=page, total=total)


# --- internals -------------------------------------------------------------------------------


def _check_lifetime(expires_in_days: int) -> None:
    if not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise InvalidInput("expiresInDays", f"must be between 1 and {MAX_LIFETIME_DAYS}")


def _check_grace(seconds: int, *, field: str) -> None:
    if not 0 <= seconds <= MAX_GRACE_SECONDS:
        raise InvalidInput(field, f"must be between 0 and {MAX_GRACE_SECONDS}")


def _name_taken(name: str) -> Conflict:
    return Conflict(f"name {name!r} is already used by a token that is not revoked", field="name")


def _empty(grant: Grant) -> bool:
    return not (grant.read or grant.write or grant.delete)


def _parse_ranges(requests: Sequence[IpRangeRequest]) -> list[IpRange]:
    if len(requests) > MAX_RANGES:
        raise InvalidInput("ipRanges", f"must hold at most {MAX_RANGES} ranges")
    return [
        IpRange.parse(start=r.start, end=r.end, label=r.label, field=f"ipRanges[{index}]")
        for index, r in enumerate(requests)
    ]


def _range_detail(ip_range: IpRange) -> dict[str, Any]:
    return {"label": ip_range.label, "from": str(ip_range.start), "to": str(ip_range.end)}


async def _write_grants(token_id: int, grants: Sequence[Grant]) -> None:
    if not grants:
        return
    ids = await catalog.target_ids()
    await GrantRow.bulk_create(
        [
            GrantRow(
                token_id=token_id,
                area_id=ids[g.area][0],
                folder_id=None if g.folder is None else ids[g.target][1],
                target=g.target,
                allow_read=g.read,
                allow_write=g.write,
                allow_delete=g.delete,
            )
            for g in grants
        ]
    )


async def _write_ranges(token_id: int, ranges: Sequence[IpRange]) -> None:
    if ranges:
        await IpRangeRow.bulk_create(
            [
                IpRangeRow(
                    token_id=token_id,
                    position=position,
                    label=r.label,
                    start=str(r.start),
                    end=str(r.end),
                )
                for position, r in enumerate(ranges)
            ]
        )


async def _token_for_update(token_id: str) -> SharedAccessToken:
    row_id = parse_id(token_id)
    token = (
        None
        if row_id is None
        else await SharedAccessToken.select_for_update().get_or_none(id=row_id)
    )
    if token is None:
        raise NotFound(f"no Shared Access Token with id {token_id!r}")
    return token


async def _live_token_for_update(token_id: str) -> SharedAccessToken:
    token = await _token_for_update(token_id)
    if token.revoked_at is not None:
        raise Conflict(f"Shared Access Token {token_id} is revoked and can no longer change")
    return token


async def view_of(token_id: int, tree: Catalog, *, now: datetime) -> TokenView:
    row = await SharedAccessToken.get(id=token_id).prefetch_related("grants", "ip_ranges")
    return _view(row, tree, now=now)


def _view(row: SharedAccessToken, tree: Catalog, *, now: datetime) -> TokenView:
    grant_views = []
    for grant_row in sorted(row.grants, key=lambda g: g.id):
        entry = Grant.from_target(
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
        IpRange.stored(start=r.start, end=r.end, label=r.label)
        for r in sorted(row.ip_ranges, key=lambda r: r.position)
    )
    return TokenView(
        id=row.id,
        name=row.name,
        status=status_of(revoked_at=row.revoked_at, expires_at=row.expires_at, now=now),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_in_days=row.expires_in_days,
        expires_at=row.expires_at,
        refresh_grace_seconds=row.refresh_grace_seconds,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
        last_used_ip=row.last_used_ip,
        token_hint=row.token_hint,
        grants=tuple(grant_views),
        ip_ranges=ranges,
    )
