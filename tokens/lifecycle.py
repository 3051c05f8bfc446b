"""What admins do to a Shared Access Token: create, grant, restrict, roll, update, revoke.

Every command checks all of its input before it writes, and writes its change, its
audit event and its change notice in one transaction (``tokens.transactions``). The
read side is ``tokens.views``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from models import Credential, Grant, IpRange, SharedAccessToken
from tokens import audit, catalog, secrets
from tokens.changes import Change
from tokens.clock import utcnow
from tokens.errors import Conflict, NotFound
from tokens.grants import GrantedAccess, GrantRequest, resolve
from tokens.ip_ranges import AddressRange, IpRangeRequest, parse_ranges
from tokens.lifetimes import (
    DEFAULT_GRACE_SECONDS,
    DEFAULT_LIFETIME_DAYS,
    check_grace,
    check_lifetime,
)
from tokens.names import clean_name, name_key, parse_id
from tokens.secrets import SecretKind
from tokens.transactions import Announce, transaction
from tokens.views import TokenView, view_of


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
    expires_in_days: int = DEFAULT_LIFETIME_DAYS,
    grants: Sequence[GrantRequest] = (),
    ip_ranges: Sequence[IpRangeRequest] = (),
    refresh_grace_seconds: int = DEFAULT_GRACE_SECONDS,
    ip: str | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Create a token and its first pair; all checks pass before anything is written."""
    now = now or utcnow()
    name = clean_name(name, field="name")
    check_lifetime(expires_in_days)
    check_grace(refresh_grace_seconds, field="refreshGraceSeconds")
    tree = await catalog.load()
    kept = [g for g in resolve(grants, tree, field="grants") if not _empty(g)]
    ranges = parse_ranges(ip_ranges)
    try:
        async with transaction():
            token = SharedAccessToken(
                name=name,
                live_name=name_key(name),
                search_name=name_key(name),
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
                    "ipRanges": [r.as_detail() for r in ranges],
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
    async with transaction() as announce:
        token = await _live_token_for_update(token_id)
        for entry in resolved:
            if _empty(entry):
                await Grant.filter(token_id=token.id, target=entry.target).delete()
                continue
            updated = await Grant.filter(token_id=token.id, target=entry.target).update(
                allow_read=entry.read, allow_write=entry.write, allow_delete=entry.delete
            )
            if not updated:
                await _write_grants(token.id, [entry])
        detail = {"grants": [g.as_detail() for g in resolved]}
        await _changed(announce, token.id, audit.Action.GRANTS_CHANGED, detail, actor, ip, now)
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
    ranges = parse_ranges(ip_ranges)
    async with transaction() as announce:
        token = await _live_token_for_update(token_id)
        await IpRange.filter(token_id=token.id).delete()
        await _write_ranges(token.id, ranges)
        detail = {"ipRanges": [r.as_detail() for r in ranges]}
        await _changed(announce, token.id, audit.Action.IP_RANGES_CHANGED, detail, actor, ip, now)
    return await view_of(token.id, await catalog.load(), now=now)


async def revoke(
    *, token_id: str, actor: str, ip: str | None = None, now: datetime | None = None
) -> TokenView:
    """Revoke every credential of the token at once; revoking twice changes nothing."""
    now = now or utcnow()
    async with transaction() as announce:
        token = await _token_for_update(token_id)
        if token.revoked_at is None:
            await mark_revoked(token, now=now, announce=announce)
            await audit.record(
                audit.Action.TOKEN_REVOKED, actor=actor, at=now, token_id=token.id, ip=ip
            )
    return await view_of(token.id, await catalog.load(), now=now)


async def roll(
    *,
    token_id: str,
    grace_seconds: int = DEFAULT_GRACE_SECONDS,
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
    check_grace(grace_seconds, field="graceSeconds")
    async with transaction() as announce:
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
        detail = {
            "graceSeconds": grace_seconds,
            "expiresAt": pair.credential.expires_at.isoformat(),
        }
        await _changed(announce, token.id, audit.Action.TOKEN_ROLLED, detail, actor, ip, now)
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
    unique_name = None
    if name is not None:
        name = clean_name(name, field="name")
        unique_name = name_key(name)
    if expires_in_days is not None:
        check_lifetime(expires_in_days)
    if refresh_grace_seconds is not None:
        check_grace(refresh_grace_seconds, field="refreshGraceSeconds")
    try:
        async with transaction() as announce:
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
                if name is not None and unique_name is not None:
                    token.name = name
                    token.live_name = unique_name
                    token.search_name = unique_name
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
                detail = {
                    "old": {key: before[key] for key in changed},
                    "new": changed,
                }
                await _changed(
                    announce, token.id, audit.Action.TOKEN_UPDATED, detail, actor, ip, now
                )
    except IntegrityError:
        raise _name_taken(name or "") from None
    return await view_of(token.id, await catalog.load(), now=now)


async def _changed(
    announce: Announce,
    token_id: int,
    action: audit.Action,
    detail: dict[str, Any],
    actor: str,
    ip: str | None,
    now: datetime,
    /,
) -> None:
    """An admin's change to a live token: audited, and announced to every instance's caches."""
    await audit.record(action, actor=actor, at=now, token_id=token_id, ip=ip, detail=detail)
    await announce(Change.token(token_id))


async def mark_revoked(token: SharedAccessToken, *, now: datetime, announce: Announce) -> None:
    """Revoke inside the caller's transaction; frees the name for a new token."""
    token.revoked_at = now
    token.live_name = None
    await token.save(update_fields=["revoked_at", "live_name"])
    await announce(Change.token(token.id))


# --- internals -------------------------------------------------------------------------------


def _name_taken(name: str) -> Conflict:
    return Conflict(f"name {name!r} is already used by a token that is not revoked", field="name")


def _empty(grant: GrantedAccess) -> bool:
    return not (grant.read or grant.write or grant.delete)


async def _write_grants(token_id: int, grants: Sequence[GrantedAccess]) -> None:
    if not grants:
        return
    ids = await catalog.target_ids()
    await Grant.bulk_create(
        [
            Grant(
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


async def _write_ranges(token_id: int, ranges: Sequence[AddressRange]) -> None:
    if ranges:
        await IpRange.bulk_create(
            [
                IpRange(
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
