"""What changed, as one value that every server instance can be told about.

A change is announced to other instances with PostgreSQL's ``pg_notify`` on
``CHANNEL`` (see ``tokens.transactions`` and ``server.listener``); a ``Change``
writes itself as the notice's payload and reads itself back from one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

CHANNEL = "sat_changes"


class ChangeKind(Enum):
    TOKEN = "token"  # noqa: S105  (a kind of change, not a password)
    CLIENT = "client"  # a service client
    CATALOG = "catalog"  # the area/folder tree


@dataclass(frozen=True, slots=True)
class Change:
    kind: ChangeKind
    id: int | None = None  # the token's or client's id; None for the catalog

    @classmethod
    def token(cls, token_id: int) -> Change:
        return cls(ChangeKind.TOKEN, token_id)

    @classmethod
    def client(cls, client_id: int) -> Change:
        return cls(ChangeKind.CLIENT, client_id)

    @classmethod
    def catalog(cls) -> Change:
        return cls(ChangeKind.CATALOG)

    def encode(self) -> str:
        """The notice payload: ``token:12``, ``client:3`` or ``catalog``."""
        return self.kind.value if self.id is None else f"{self.kind.value}:{self.id}"

    @classmethod
    def decode(cls, payload: str) -> Change | None:
        """The change a payload names, or None for one this version does not know."""
        name, colon, key = payload.partition(":")
        try:
            kind = ChangeKind(name)
        except ValueError:
            return None
        if kind is ChangeKind.CATALOG:
            return cls.catalog() if not colon else None
        if not (key.isascii() and key.isdigit()) or len(key) > 18:
            return None
        return cls(kind, int(key))
