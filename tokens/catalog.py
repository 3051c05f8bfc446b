"""The area/folder tree: product data, never edited by admins.

Its values (``Catalog``, ``AreaEntry``, ``FolderEntry``), the tree as stored, and the
set of grant targets validation asks about on every request (cached in
``tokens.caches``). The file format it is imported from is ``tokens.catalog_file``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from models import Area, Folder
from tokens import audit
from tokens.caches import CACHES
from tokens.changes import Change
from tokens.clock import utcnow
from tokens.transactions import transaction


class FolderKind(Enum):
    FOLDER = "FOLDER"
    FORM = "FORM"


@dataclass(frozen=True, slots=True)
class FolderEntry:
    key: str
    name: str
    kind: FolderKind


@dataclass(frozen=True, slots=True)
class AreaEntry:
    key: str
    name: str
    folders: tuple[FolderEntry, ...]

    def folder(self, key: str) -> FolderEntry | None:
        return next((f for f in self.folders if f.key == key), None)


@dataclass(frozen=True, slots=True)
class Catalog:
    """The whole tree in catalog order."""

    areas: tuple[AreaEntry, ...]

    def area(self, key: str) -> AreaEntry | None:
        return next((a for a in self.areas if a.key == key), None)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    areas_added: int = 0
    areas_renamed: int = 0
    folders_added: int = 0
    folders_changed: int = 0

    @property
    def changed(self) -> bool:
        return any((self.areas_added, self.areas_renamed, self.folders_added, self.folders_changed))


async def apply(
    catalog: Catalog, *, actor: str = "system", source: str = "default catalog"
) -> ImportSummary:
    """Add new areas and folders and rename existing ones by key, in one transaction; never delete.

    Areas and folders new to the database are placed after the existing ones, in
    the order the catalog gives them.
    """
    areas_added = areas_renamed = folders_added = folders_changed = 0
    async with transaction() as announce:
        existing = {area.key: area for area in await Area.all()}
        next_area_position = max((a.position for a in existing.values()), default=-1) + 1
        for entry in catalog.areas:
            area = existing.get(entry.key)
            if area is None:
                area = await Area.create(
                    key=entry.key, name=entry.name, position=next_area_position
                )
                next_area_position += 1
                areas_added += 1
            elif area.name != entry.name:
                area.name = entry.name
                await area.save(update_fields=["name"])
                areas_renamed += 1
            folders = {f.key: f for f in await Folder.filter(area_id=area.id)}
            next_position = max((f.position for f in folders.values()), default=-1) + 1
            for folder_entry in entry.folders:
                folder = folders.get(folder_entry.key)
                if folder is None:
                    await Folder.create(
                        area_id=area.id,
                        key=folder_entry.key,
                        name=folder_entry.name,
                        kind=folder_entry.kind.value,
                        position=next_position,
                    )
                    next_position += 1
                    folders_added += 1
                elif (folder.name, folder.kind) != (folder_entry.name, folder_entry.kind.value):
                    folder.name = folder_entry.name
                    folder.kind = folder_entry.kind.value
                    await folder.save(update_fields=["name", "kind"])
                    folders_changed += 1
        summary = ImportSummary(areas_added, areas_renamed, folders_added, folders_changed)
        if summary.changed:
            await audit.record(
                audit.Action.CATALOG_IMPORTED,
                actor=actor,
                at=utcnow(),
                detail={"source": source, **dataclasses.asdict(summary)},
            )
            await announce(Change.catalog())
    return summary


async def load() -> Catalog:
    """The stored tree, in catalog order (two queries)."""
    folders_by_area: dict[int, list[FolderEntry]] = {}
    for folder in await Folder.all().order_by("area_id", "position"):
        folders_by_area.setdefault(folder.area_id, []).append(  # type: ignore[attr-defined]
            FolderEntry(key=folder.key, name=folder.name, kind=FolderKind(folder.kind))
        )
    return Catalog(
        areas=tuple(
            AreaEntry(key=area.key, name=area.name, folders=tuple(folders_by_area.get(area.id, [])))
            for area in await Area.all().order_by("position")
        )
    )


# Grant targets that exist ("area", "area/folder"), for validation; evicted by ``apply``.
_targets = CACHES.targets


async def has_target(area: str, folder: str | None) -> bool:
    """True when the area exists and, if given, the folder exists in it."""
    known = cached_has_target(area, folder)
    if known is not None:
        return known
    targets = await _targets.load(_ALL)  # frozenset(target_ids()), see tokens.caches
    return _target(area, folder) in targets


def cached_has_target(area: str, folder: str | None) -> bool | None:
    """``has_target`` answered from the cache alone; None when the catalog must be read.

    The hot path asks this first: a validation whose answer is at hand awaits nothing.
    """
    hit, targets = _targets.get(_ALL)
    if not hit or targets is None:
        return None
    return _target(area, folder) in targets


def _target(area: str, folder: str | None) -> str:
    return area if folder is None else f"{area}/{folder}"


_ALL = "all"  # the one entry of the targets cache


async def target_ids() -> dict[str, tuple[int, int | None]]:
    """Row ids by grant target (``area`` or ``area/folder``), for writing grants."""
    ids: dict[str, tuple[int, int | None]] = {}
    area_keys = {}
    for area in await Area.all():
        ids[area.key] = (area.id, None)
        area_keys[area.id] = area.key
    for folder in await Folder.all():
        area_id: int = folder.area_id  # type: ignore[attr-defined]
        ids[f"{area_keys[area_id]}/{folder.key}"] = (area_id, folder.id)
    return ids
