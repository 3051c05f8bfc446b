"""What an RFC 7662 introspection says of a token's grants: its ``scope``."""

from __future__ import annotations

from collections.abc import Iterable

from tokens.grants import Access, GrantedAccess


def scope(grants: Iterable[GrantedAccess]) -> str:
    """Grants as ``AREA:ACCESS`` / ``AREA/FOLDER:ACCESS`` items, space-separated, by target."""
    return " ".join(
        f"{grant.target}:{access.value.lower()}"
        for grant in sorted(grants, key=lambda grant: grant.target)
        for access in Access
        if grant.allows(access)
    )
