"""Grants: which access a token has to which area or folder, and how they add up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from tokens.errors import InvalidInput

if TYPE_CHECKING:
    from tokens.catalog import Catalog

MAX_GRANTS_PER_CALL = 1000


class Access(Enum):
    READ = "READ"  # HTTP GET, HEAD
    WRITE = "WRITE"  # HTTP PUT, POST, PATCH
    DELETE = "DELETE"  # HTTP DELETE


@dataclass(frozen=True, slots=True)
class GrantRequest:
    """One grant as an admin asks for it: keys, not ids."""

    area: str
    folder: str | None
    read: bool
    write: bool
    delete: bool


@dataclass(frozen=True, slots=True)
class GrantedAccess:
    """A grant that names an existing area (and folder of it)."""

    area: str
    folder: str | None
    read: bool
    write: bool
    delete: bool

    @property
    def target(self) -> str:
        return self.area if self.folder is None else f"{self.area}/{self.folder}"

    @classmethod
    def from_target(cls, target: str, *, read: bool, write: bool, delete: bool) -> GrantedAccess:
        area, _, folder = target.partition("/")
        return cls(area=area, folder=folder or None, read=read, write=write, delete=delete)

    def allows(self, access: Access) -> bool:
        if access is Access.READ:
            return self.read
        if access is Access.WRITE:
            return self.write
        return self.delete

    def as_detail(self) -> dict[str, object]:
        return {
            "area": self.area,
            "folder": self.folder,
            "read": self.read,
            "write": self.write,
            "delete": self.delete,
        }


def resolve(
    requests: Sequence[GrantRequest], catalog: Catalog, *, field: str
) -> list[GrantedAccess]:
    """Check every request against the catalog; refuse the whole list on the first fault."""
    if len(requests) > MAX_GRANTS_PER_CALL:
        raise InvalidInput(field, f"must hold at most {MAX_GRANTS_PER_CALL} entries")
    grants: list[GrantedAccess] = []
    seen: dict[str, int] = {}
    for index, request in enumerate(requests):
        where = f"{field}[{index}]"
        area = catalog.area(request.area)
        if area is None:
            raise InvalidInput(f"{where}.area", f"names no area: {request.area!r}")
        # One meaning everywhere: None is the whole area, any string a folder key. No
        # folder's key is empty, so "" is refused here as validation answers it with
        # UNKNOWN_RESOURCE, never quietly widened to the whole area.
        folder = request.folder
        if folder == "":
            raise InvalidInput(
                f"{where}.folder", "must not be empty: omit it, or send null, for the whole area"
            )
        if folder is not None and area.folder(folder) is None:
            raise InvalidInput(
                f"{where}.folder", f"names no folder of area {area.key!r}: {folder!r}"
            )
        grant = GrantedAccess(area.key, folder, request.read, request.write, request.delete)
        if grant.target in seen:
            raise InvalidInput(
                where, f"repeats the area and folder of {field}[{seen[grant.target]}]"
            )
        seen[grant.target] = index
        grants.append(grant)
    return grants


def permits(
    grants: Iterable[GrantedAccess], *, area: str, folder: str | None, access: Access
) -> bool:
    """True when some grant gives ``access``: an area grant covers all its folders."""
    # A loop, not any() over a generator: this runs for every validation.
    for grant in grants:
        if (
            grant.area == area
            and (grant.folder is None or grant.folder == folder)
            and grant.allows(access)
        ):
            return True
    return False
