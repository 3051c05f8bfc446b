"""What an RFC 7662 introspection adds to a validation: when the token was issued, its scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import Credential, Grant
from tokens import secrets
from tokens.grants import Access, GrantedAccess


@dataclass(frozen=True, slots=True)
class TokenDetails:
    issued_at: datetime  # of the presented access token, not of the Shared Access Token
    grants: tuple[GrantedAccess, ...]

    @property
    def scope(self) -> str:
        """Grants as ``AREA:ACCESS`` / ``AREA/FOLDER:ACCESS`` items, space-separated."""
        return " ".join(
            f"{grant.target}:{access.value.lower()}"
            for grant in self.grants
            for access in Access
            if grant.allows(access)
        )


async def details(*, token: str, token_id: int) -> TokenDetails | None:
    """Issue time and grants of an access token that has just validated; None if it is gone."""
    issued = await Credential.filter(access_digest=secrets.digest(token), token_id=token_id).first()
    if issued is None:
        return None
    rows = await Grant.filter(token_id=token_id).order_by("target")
    return TokenDetails(
        issued_at=issued.issued_at,
        grants=tuple(
            GrantedAccess.from_target(
                row.target, read=row.allow_read, write=row.allow_write, delete=row.allow_delete
            )
            for row in rows
        ),
    )
