"""The catalog file format: TOML areas and folders, checked whole, faults named by line."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from tokens.catalog import AreaEntry, Catalog, FolderEntry, FolderKind

KEY_PATTERN = re.compile(r"[a-z0-9-]+")
MAX_KEY_LENGTH = 64
MAX_NAME_LENGTH = 200


class CatalogError(ValueError):
    """A catalog file that cannot be imported; ``line`` is where the fault is (1-based)."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}, line {line}: {message}")
        self.line = line
        self.message = message


def parse(text: str, *, source: str = "catalog") -> Catalog:
    """Parse and check a whole catalog file; refuse it whole on the first fault."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # Python 3.11's TOMLDecodeError carries its position only in the message.
        detail = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        line = _line_from_message(str(error), last=text.count("\n") + 1)
        raise CatalogError(source, line, f"not valid TOML: {detail}") from None
    locator = _Locator(text)
    unexpected = sorted(set(document) - {"area"})
    if unexpected:
        raise CatalogError(source, locator.top_key(unexpected[0]), f"unknown key {unexpected[0]!r}")
    raw_areas = document.get("area", [])
    if not isinstance(raw_areas, list):
        raise CatalogError(source, locator.top_key("area"), "'area' must be an array of tables")
    areas: list[AreaEntry] = []
    seen_areas: set[str] = set()
    for index, raw in enumerate(raw_areas):
        where = locator.area(index)
        fields = _table(raw, where, source, "area")
        key = _key(fields, where, source, "area")
        if key in seen_areas:
            raise CatalogError(source, where.line_of("key"), f"duplicate area key {key!r}")
        seen_areas.add(key)
        name = _name(fields, where, source, "area")
        raw_folders = fields.pop("folder", [])
        _no_extra(fields, where, source, "area")
        if not isinstance(raw_folders, list):
            raise CatalogError(
                source, where.line_of("folder"), "'folder' must be an array of tables"
            )
        folders: list[FolderEntry] = []
        seen_folders: set[str] = set()
        for folder_index, raw_folder in enumerate(raw_folders):
            folder_where = locator.folder(index, folder_index)
            folder_fields = _table(raw_folder, folder_where, source, "folder")
            folder_key = _key(folder_fields, folder_where, source, "folder")
            if folder_key in seen_folders:
                raise CatalogError(
                    source,
                    folder_where.line_of("key"),
                    f"duplicate folder key {folder_key!r} in area {key!r}",
                )
            seen_folders.add(folder_key)
            folder_name = _name(folder_fields, folder_where, source, "folder")
            raw_kind = folder_fields.pop("kind", "FOLDER")
            if raw_kind not in {"FOLDER", "FORM"}:
                raise CatalogError(
                    source, folder_where.line_of("kind"), 'folder kind must be "FOLDER" or "FORM"'
                )
            _no_extra(folder_fields, folder_where, source, "folder")
            folders.append(FolderEntry(key=folder_key, name=folder_name, kind=FolderKind(raw_kind)))
        areas.append(AreaEntry(key=key, name=name, folders=tuple(folders)))
    return Catalog(areas=tuple(areas))


def parse_file(path: Path) -> Catalog:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CatalogError(str(path), 1, f"not UTF-8 text: {error.reason}") from None
    return parse(text, source=str(path))


def default_catalog() -> Catalog:
    """The catalog bundled with SAT, applied at every start."""
    text = resources.files("tokens").joinpath("default_catalog.toml").read_text(encoding="utf-8")
    return parse(text, source="default catalog")


@dataclass(frozen=True, slots=True)
class _Where:
    lines: tuple[str, ...]
    start: int  # 0-based index of the table header line
    stop: int  # exclusive

    @property
    def line(self) -> int:
        return self.start + 1

    def line_of(self, key: str) -> int:
        """The line of ``key = ...`` or of a ``[...key]`` table header in this span."""
        name = re.escape(key)
        pattern = re.compile(rf"^\s*(?:{name}\s*=|\[\s*(?:[\w-]+\s*\.\s*)*{name}\s*\])")
        for index in range(self.start, self.stop):
            if pattern.match(self.lines[index]):
                return index + 1
        return self.line


class _Locator:
    """Finds the line of the n-th ``[[area]]`` and ``[[area.folder]]`` tables of a file.

    tomllib gives values without positions, so faults in values are traced back
    to the header of the table that holds them, then to the ``key =`` line in it.
    """

    _HEADER = re.compile(r"^\s*\[\[\s*(area(?:\s*\.\s*folder)?)\s*\]\]")

    def __init__(self, text: str) -> None:
        self.lines = tuple(text.splitlines())
        # Only array-of-tables headers bound a span: a stray ``[area.folder]`` belongs
        # to the area above it, so that the fault is found in that area's span.
        self.headers: list[tuple[str, int]] = []
        for index, line in enumerate(self.lines):
            match = self._HEADER.match(line)
            if match:
                self.headers.append(("area" if "folder" not in match[1] else "folder", index))

    def _span(self, position: int) -> _Where:
        start = self.headers[position][1]
        stop = (
            self.headers[position + 1][1] if position + 1 < len(self.headers) else len(self.lines)
        )
        return _Where(self.lines, start, stop)

    def area(self, index: int) -> _Where:
        areas = [i for i, (kind, _) in enumerate(self.headers) if kind == "area"]
        if index < len(areas):
            return self._span(areas[index])
        return _Where(self.lines, 0, len(self.lines))

    def folder(self, area_index: int, folder_index: int) -> _Where:
        areas = [i for i, (kind, _) in enumerate(self.headers) if kind == "area"]
        if area_index < len(areas):
            after = areas[area_index]
            until = areas[area_index + 1] if area_index + 1 < len(areas) else len(self.headers)
            folders = [i for i in range(after, until) if self.headers[i][0] == "folder"]
            if folder_index < len(folders):
                return self._span(folders[folder_index])
            return self._span(after)
        return _Where(self.lines, 0, len(self.lines))

    def top_key(self, key: str) -> int:
        """The line where top-level ``key`` is set: ``key = ...`` or a ``[key]`` table."""
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}\s*=|\[{{1,2}}\s*{re.escape(key)}\s*[\].])")
        for index, line in enumerate(self.lines):
            if pattern.match(line):
                return index + 1
        return 1


def _line_from_message(message: str, *, last: int) -> int:
    match = re.search(r"line (\d+)", message)
    if match:
        return int(match[1])
    return last if "end of document" in message else 1


def _table(raw: object, where: _Where, source: str, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise CatalogError(source, where.line, f"each {what} must be a table")
    return dict(raw)


def _key(fields: dict[str, Any], where: _Where, source: str, what: str) -> str:
    key = fields.pop("key", None)
    if not isinstance(key, str):
        raise CatalogError(source, where.line_of("key"), f"{what} needs a string 'key'")
    if len(key) > MAX_KEY_LENGTH or not KEY_PATTERN.fullmatch(key):
        raise CatalogError(
            source,
            where.line_of("key"),
            f"{what} key {key!r} must match [a-z0-9-]+ (at most {MAX_KEY_LENGTH} characters)",
        )
    return key


def _name(fields: dict[str, Any], where: _Where, source: str, what: str) -> str:
    name = fields.pop("name", None)
    if not isinstance(name, str) or not name.strip():
        raise CatalogError(source, where.line_of("name"), f"{what} needs a non-empty string 'name'")
    if len(name.strip()) > MAX_NAME_LENGTH:
        raise CatalogError(
            source,
            where.line_of("name"),
            f"{what} name must be at most {MAX_NAME_LENGTH} characters",
        )
    return name.strip()


def _no_extra(fields: dict[str, Any], where: _Where, source: str, what: str) -> None:
    if fields:
        extra = sorted(fields)[0]
        raise CatalogError(source, where.line_of(extra), f"unknown {what} key {extra!r}")
