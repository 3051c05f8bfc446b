"""Lifetimes: how long an access token lives, how long a rotated one lingers, and status."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from tokens.errors import InvalidInput

MAX_LIFETIME_DAYS = 365  # the one-year maximum of the contract
DEFAULT_LIFETIME_DAYS = MAX_LIFETIME_DAYS  # createSharedAccessToken's expiresInDays
MAX_GRACE_SECONDS = 86_400
DEFAULT_GRACE_SECONDS = 0  # refreshGraceSeconds at creation, graceSeconds of a roll


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


def check_lifetime(days: int, *, field: str = "expiresInDays") -> None:
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise InvalidInput(field, f"must be between 1 and {MAX_LIFETIME_DAYS}")


def check_grace(seconds: int, *, field: str) -> None:
    if not 0 <= seconds <= MAX_GRACE_SECONDS:
        raise InvalidInput(field, f"must be between 0 and {MAX_GRACE_SECONDS}")
