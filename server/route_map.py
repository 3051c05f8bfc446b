"""``SAT_ROUTES_FILE``: which area and folder a proxied request's path names.

A TOML file of ``[[route]]`` tables, tried in order; the first whose ``path``
matches wins. A path pattern is ``/``-separated segments: literal text, ``*``
(any one segment), ``{area}`` and ``{folder}`` (one segment, captured as a key)
and, last only, ``**`` (any rest of the path, also none). ``area`` and
``folder`` keys fix what the pattern does not capture. Matching is on the
path's shape alone; whether a key names an area is the validation's business
(``UNKNOWN_RESOURCE``).

The routes are compiled into one regular expression over the path as the upstream
sees it (decoded, dot segments resolved, ``normalized``), its alternatives in file
order: the first route that matches wins in the regular expression engine, in one
call, and every proxied request is matched so.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

from tokens.catalog_file import KEY_PATTERN, MAX_KEY_LENGTH

_CAPTURES = ("{area}", "{folder}")
_KEYS = {"path", "area", "folder"}
_ROUTE_HEADER = re.compile(r"^\s*\[\[\s*route\s*\]\]")
# Control characters and backslashes: no upstream agrees with another on what they mean.
_UNUSABLE = re.compile(r"[\x00-\x1f\x7f\\]")


class RouteMapError(ValueError):
    """A routes file that cannot be used, with the line at fault."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}, line {line}: {message}")
        self.source = source
        self.line = line


class Target(NamedTuple):
    """What a path names: an area and maybe a folder, as keys (not yet checked to exist)."""

    area: str
    folder: str | None


@dataclass(frozen=True, slots=True)
class Route:
    segments: tuple[str, ...]  # the pattern, without a trailing "**"
    rest: bool  # True when the pattern ends in "**"
    area: str | None
    folder: str | None

    def expression(self, number: int) -> str:
        """This route as an alternative of ``RouteMap``'s expression: the area and folder it
        captures in groups ``a<number>`` and ``f<number>``, and ``r<number>`` matched last."""
        parts = []
        for segment in self.segments:
            if segment == "{area}":
                parts.append(f"/(?P<a{number}>[^/]+)")
            elif segment == "{folder}":
                parts.append(f"/(?P<f{number}>[^/]+)")
            elif segment == "*":
                parts.append("/[^/]+")
            else:
                parts.append("/" + re.escape(segment))
        if self.rest:
            parts.append("(?:/.*)?" if self.segments else "/.*")
        elif not self.segments:
            parts.append("/")
        return "".join(parts) + f"(?P<r{number}>)"


@dataclass(frozen=True, slots=True)
class RouteMap:
    routes: tuple[Route, ...]
    _expression: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    # By the name of an alternative's last group: its route and its capturing groups.
    _ends: dict[str, tuple[Route, str | None, str | None]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        alternatives = "|".join(route.expression(n) for n, route in enumerate(self.routes))
        expression = re.compile(alternatives, re.DOTALL) if self.routes else None
        groups = expression.groupindex if expression is not None else {}
        ends = {
            f"r{n}": (
                route,
                f"a{n}" if f"a{n}" in groups else None,
                f"f{n}" if f"f{n}" in groups else None,
            )
            for n, route in enumerate(self.routes)
        }
        object.__setattr__(self, "_expression", expression)
        object.__setattr__(self, "_ends", ends)

    @classmethod
    def empty(cls) -> RouteMap:
        return cls(routes=())

    @classmethod
    def parse(cls, text: str, *, source: str = "routes file") -> RouteMap:
        """Read a routes file; refuse it whole, naming the line, on the first fault."""
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise RouteMapError(
                source, _line_in(str(error)), str(error).split(" (at ")[0]
            ) from None
        lines = text.splitlines()
        headers = [index for index, line in enumerate(lines) if _ROUTE_HEADER.match(line)]
        for key in document:
            if key != "route":
                raise RouteMapError(source, _top_line(lines, key), f"unknown key {key!r}")
        raw_routes = document.get("route", [])
        if not isinstance(raw_routes, list):
            raise RouteMapError(source, _top_line(lines, "route"), "route must be [[route]] tables")
        routes = []
        for index, raw in enumerate(raw_routes):
            span = _Span(lines, headers, index)
            if not isinstance(raw, dict):
                raise RouteMapError(source, span.line, "route must be [[route]] tables")
            routes.append(_route(raw, span, source))
        return cls(routes=tuple(routes))

    @classmethod
    def from_file(cls, path: Path) -> RouteMap:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise RouteMapError(str(path), 1, f"cannot be read: {error}") from None
        return cls.parse(text, source=str(path))

    def target(self, path: str) -> Target | None:
        """The target of the first route that matches ``path`` (query string ignored)."""
        if self._expression is None:
            return None
        seen = normalized(path)
        if seen is None:
            return None
        match = self._expression.fullmatch(seen)
        if match is None or match.lastgroup is None:
            return None
        route, area_group, folder_group = self._ends[match.lastgroup]
        area = match[area_group] if area_group is not None else route.area
        folder = match[folder_group] if folder_group is not None else route.folder
        assert area is not None  # parse() refuses a route that names no area
        return Target(area, folder)


def normalized(path: str) -> str | None:
    """The path as the upstream will see it, ``/`` and its segments joined (``segments``)."""
    path = path.partition("?")[0].partition("#")[0]
    # Most paths need no decoding and hold no dot, empty or unusable segment.
    if (
        path.startswith("/")
        and "%" not in path
        and "/." not in path
        and "//" not in path
        and not _UNUSABLE.search(path)
    ):
        return path[:-1] if len(path) > 1 and path.endswith("/") else path
    parts = segments(path)
    return None if parts is None else "/" + "/".join(parts)


def segments(path: str) -> list[str] | None:
    """The path's segments as the upstream will see them; None for a path that is not one.

    Proxies pass the original URI undecoded (nginx's ``$request_uri``), and the
    upstream decodes it and resolves dot segments: so does this, or a request for
    ``/public/../admin`` would be matched as one thing and served as another.
    """
    path = path.partition("?")[0].partition("#")[0]
    if not path.startswith("/"):
        return None
    try:
        decoded = unquote(path, errors="strict") if "%" in path else path
    except UnicodeDecodeError:
        return None
    if _UNUSABLE.search(decoded):
        return None
    parts: list[str] = []
    for part in decoded.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return parts


class _Span:
    """The lines of the n-th ``[[route]]`` table: tomllib keeps no positions, so we look."""

    def __init__(self, lines: list[str], headers: list[int], index: int) -> None:
        self.lines = lines
        self.start = headers[index] if index < len(headers) else 0
        self.stop = headers[index + 1] if index + 1 < len(headers) else len(lines)

    @property
    def line(self) -> int:
        return self.start + 1

    def line_of(self, key: str) -> int:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for index in range(self.start, self.stop):
            if pattern.match(self.lines[index]):
                return index + 1
        return self.line


def _route(raw: dict[str, object], span: _Span, source: str) -> Route:
    for key in raw:
        if key not in _KEYS:
            raise RouteMapError(source, span.line_of(key), f"unknown key {key!r} in a route")
    path = raw.get("path")
    if not isinstance(path, str):
        raise RouteMapError(source, span.line_of("path"), "a route needs a path (a string)")

    def fault(message: str) -> RouteMapError:
        return RouteMapError(source, span.line_of("path"), message)

    if not path.startswith("/"):
        raise fault(f"path {path!r} must start with /")
    pattern = [part for part in path.split("/")[1:] if part != ""]
    rest = bool(pattern) and pattern[-1] == "**"
    if rest:
        pattern.pop()
    for part in pattern:
        if part == "**":
            raise fault(f"path {path!r}: ** may only end a path")
        if ("{" in part or "}" in part) and part not in _CAPTURES:
            raise fault(f"path {path!r}: a segment may be {{area}} or {{folder}}, not {part!r}")
        if part in (".", "..") or ("*" in part and part != "*"):
            raise fault(f"path {path!r}: {part!r} is not a usable segment")
    fixed: dict[str, str | None] = {}
    for key in ("area", "folder"):
        value = raw.get(key)
        if value is not None and (
            not isinstance(value, str)
            or len(value) > MAX_KEY_LENGTH
            or not KEY_PATTERN.fullmatch(value)
        ):
            raise RouteMapError(
                source, span.line_of(key), f"{key} must be a key matching [a-z0-9-]+"
            )
        captures = pattern.count(f"{{{key}}}")
        if captures > 1:
            raise fault(f"path {path!r} captures {{{key}}} twice")
        if captures and value is not None:
            raise RouteMapError(
                source, span.line_of(key), f"{key} is both captured by the path and fixed"
            )
        fixed[key] = value if isinstance(value, str) else None
    has_area = fixed["area"] is not None or "{area}" in pattern
    if not has_area:
        raise fault(f"path {path!r} names no area: capture {{area}} or set area")
    if (
        "{folder}" in pattern
        and "{area}" in pattern
        and (pattern.index("{folder}") < pattern.index("{area}"))
    ):
        raise fault(f"path {path!r}: {{folder}} must come after {{area}}")
    return Route(segments=tuple(pattern), rest=rest, area=fixed["area"], folder=fixed["folder"])


def _line_in(message: str) -> int:
    match = re.search(r"at line (\d+)", message)
    return int(match[1]) if match else 1


def _top_line(lines: list[str], key: str) -> int:
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}\s*=|\[{{1,2}}\s*{re.escape(key)}\s*[\].])")
    for index, line in enumerate(lines):
        if pattern.match(line):
            return index + 1
    return 1
