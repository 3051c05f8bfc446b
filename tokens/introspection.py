"""What an RFC 7662 introspection adds to a validation: when the token was issued, its scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import Credential
from models import Grant as GrantRow
from tokens import secrets
from tokens.grants import Access, Grant


@dataclass(frozen=True, slots=True)
class TokenDetails:
    issued_at: datetime  # of the presented access token, not of the Shared Access Token
    grants: tuple[Grant, ...]

    @property
    def scope(self) -> str:
        """Grants as ``AREA:ACCESS`` / ``AREA/FOLDER:ACCESS`` items, space-separated."""
        return " ".join(
            f"{grant.target}:{access.value.lower()}"
            for grant in self.grants
            for access in Access
            if grant.allows(access)
        )


# One round trip, written once like ``tokens.state_store``'s statements: through the ORM,
# building the two queries this answer needs cost more than running them.
# Table names come from the models; every value is a bound parameter.
_DETAILS = (
    "SELECT c.issued_at, g.target, g.allow_read, g.allow_write, g.allow_delete "  # noqa: S608
    f'FROM "{Credential._meta.db_table}" c '
    f'LEFT JOIN "{GrantRow._meta.db_table}" g ON g.token_id = c.token_id '
    "WHERE c.access_digest = {p1} AND c.token_id = {p2} ORDER BY g.target"
)
_STATEMENTS = {
    "sqlite": _DETAILS.format(p1="?", p2="?"),
    "postgres": _DETAILS.format(p1="$1", p2="$2"),
}
_to_datetime = Credential._meta.fields_map["issued_at"].to_python_value


async def details(*, token: str, token_id: int) -> TokenDetails | None:
    """Issue time and grants of an access token that has just validated; None if it is gone."""
    connection = Credential._meta.db
    sql = _STATEMENTS[connection.capabilities.dialect]
    _, rows = await connection.execute_query(sql, [secrets.digest(token), token_id])
    table = [tuple(row) for row in rows]
    if not table:
        return None
    return TokenDetails(
        issued_at=_to_datetime(table[0][0]),
        grants=tuple(
            Grant.from_target(target, read=bool(read), write=bool(write), delete=bool(delete))
            for _, target, read, write, delete in table
            if target is not None  # the LEFT JOIN's row for a token without grants
        ),
    )
