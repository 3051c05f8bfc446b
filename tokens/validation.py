"""May this access token do this? Answered as a value, never by raising for a bad token.

The answer is split in three: ``load_state`` reads what the decision needs,
``decide`` is a pure function of that state, and ``record_use`` writes last-use,
at once on first use and at most once per interval after that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from models import Area, Credential, Folder, SharedAccessToken
from models import Grant as GrantRow
from models import IpRange as IpRangeRow
from tokens import secrets
from tokens.clock import utcnow
from tokens.grants import Access, Grant, permits
from tokens.ip_ranges import IpAddress, IpRange, allows, parse_address
from tokens.secrets import SecretKind


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
    elif state.voided or (not state.current and now >= state.valid_until):
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
    address = parse_address(ip, field="ip")
    if not secrets.is_well_formed(SecretKind.ACCESS_TOKEN, token):
        return Validation(False, DenialReason.MALFORMED, None)
    now = now or utcnow()
    state = await load_state(secrets.digest(token))
    exists = state is not None and await resource_exists(area, folder)
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
        await record_use(state, result, ip=str(address), now=now, interval=last_used_interval)
    return result


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


async def resource_exists(area: str, folder: str | None) -> bool:
    if folder is None:
        return await Area.exists(key=area)
    return await Folder.exists(area__key=area, key=folder)


async def record_use(
    state: TokenState, result: Validation, *, ip: str, now: datetime, interval: timedelta
) -> None:
    """Mark the pair used (ends the retry window) and keep last-use about ``interval`` fresh.

    Presenting the current access token, whatever the answer, proves its holder
    received it; only a successful validation counts as the token's last use.
    """
    if state.current and not state.revoked and not state.used:
        await Credential.filter(id=state.credential_id, used_at__isnull=True).update(used_at=now)
    if not result.valid:
        return
    if state.last_used_at is None or now - state.last_used_at >= interval:
        await SharedAccessToken.filter(id=state.token_id).update(last_used_at=now, last_used_ip=ip)
