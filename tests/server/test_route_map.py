"""``SAT_ROUTES_FILE``: which area and folder a proxied path names, and faults by line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from server.route_map import RouteMap, RouteMapError, Target, segments
from server.settings import Settings, SettingsError
from tests.launcher import SAT, free_port

# The contract's example, and the docs' (docs/integrations.md holds the same file).
EXAMPLE = """\
[[route]]
path = "/api/v2/{area}/{folder}/**"   # {area}, {folder}: one path segment, a key
[[route]]
path = "/api/v2/{area}/**"            # ** : any rest of the path, also none
[[route]]
path = "/legacy/payslips/**"          # fixed area and folder
area = "payroll"
folder = "payslips"
[[route]]
path = "/reports/*/{area}"            # * : any one segment
"""


@pytest.fixture
def routes() -> RouteMap:
    return RouteMap.parse(EXAMPLE)


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/api/v2/payroll/payslips/2026/06", Target("payroll", "payslips")),
        ("/api/v2/payroll/payslips", Target("payroll", "payslips")),
        ("/api/v2/payroll", Target("payroll", None)),
        ("/api/v2/payroll/", Target("payroll", None)),
        ("/legacy/payslips", Target("payroll", "payslips")),
        ("/legacy/payslips/2026/march.pdf", Target("payroll", "payslips")),
        ("/reports/2026/absence", Target("absence", None)),
        ("/api/v2/payroll/payslips?token=x&folder=other", Target("payroll", "payslips")),
        ("/api//v2/payroll", Target("payroll", None)),
        ("/api/v2/%70ayroll/payslips", Target("payroll", "payslips")),
    ],
)
def test_first_matching_route_names_the_target(routes: RouteMap, path: str, target: Target) -> None:
    assert routes.target(path) == target


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/payroll",
        "/api/v2",
        "/legacy",
        "/reports/absence",  # * needs a segment
        "/reports/2026/absence/extra",  # no ** at its end
        "/",
        "",
        "api/v2/payroll",
        "/legacy/payslips/../../../etc/passwd",
        "/api/v2/payroll\\..\\employees",  # a backslash means a separator to some servers
        "/api/v2/%5Cpayroll",
        "/api/v2/pay%00roll",
        "/api/v2/%ff%fe",  # not UTF-8
    ],
)
def test_path_no_route_matches_has_no_target(routes: RouteMap, path: str) -> None:
    assert routes.target(path) is None


def test_dot_segments_are_resolved_as_the_upstream_will(routes: RouteMap) -> None:
    """``/legacy/payslips/../..`` is not payslips: the upstream serves what it resolves to."""
    assert routes.target("/legacy/payslips/../../api/v2/employees/contracts") == Target(
        "employees", "contracts"
    )
    assert routes.target("/legacy/payslips/%2e%2e/%2E%2E/api/v2/employees") == Target(
        "employees", None
    )


def test_empty_map_matches_nothing() -> None:
    assert RouteMap.empty().target("/api/v2/payroll") is None


def rule_of_the_contract(routes: RouteMap, path: str) -> Target | None:
    """The first route whose segments fit the path's, segment by segment (the oracle)."""
    parts = segments(path)
    if parts is None:
        return None
    for route in routes.routes:
        if len(parts) < len(route.segments) or (
            not route.rest and len(parts) > len(route.segments)
        ):
            continue
        area, folder = route.area, route.folder
        for pattern, part in zip(route.segments, parts, strict=False):
            if pattern == "{area}":
                area = part
            elif pattern == "{folder}":
                folder = part
            elif pattern not in ("*", part):
                break
        else:
            assert area is not None
            return Target(area, folder)
    return None


_PATTERN_SEGMENTS = st.sampled_from(["api", "v2", "a.b", "x+y", "*", "{area}", "{folder}"])
_PATH_SEGMENTS = st.sampled_from(
    ["api", "v2", "a.b", "x+y", "payroll", "", ".", "..", "%2e%2E", "%70ayroll", "%2F", "a%20b"]
)


@st.composite
def route_files(draw: st.DrawFn) -> str:
    tables = []
    for _ in range(draw(st.integers(1, 4))):
        pattern = draw(st.lists(_PATTERN_SEGMENTS, max_size=4))
        rest = ["**"] if draw(st.booleans()) else []
        table = f'[[route]]\npath = "/{"/".join(pattern + rest)}"\n'
        if "{area}" not in pattern:
            table += 'area = "payroll"\n'
        if "{folder}" not in pattern and draw(st.booleans()):
            table += 'folder = "payslips"\n'
        tables.append(table)
    return "".join(tables)


@given(
    text=route_files(),
    parts=st.lists(_PATH_SEGMENTS, max_size=6),
    tail=st.sampled_from(["", "/", "?folder=x", "#top"]),
)
def test_compiled_routes_match_as_the_contract_says(text: str, parts: list[str], tail: str) -> None:
    """One regular expression for the whole map gives the target of the first route that fits."""
    try:
        routes = RouteMap.parse(text)
    except RouteMapError:
        assume(False)
        raise
    path = "/" + "/".join(parts) + tail

    assert routes.target(path) == rule_of_the_contract(routes, path)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[[route]]\npath = "/a/{area}"\n[[route]]\npath = "/b/{area}"\nmethod = "GET"\n', 5,
         "unknown key 'method'"),
        ('[[route]]\npath = "/a/{area}"\n\n[[route]]\narea = "payroll"\n', 4, "needs a path"),
        ('[[route]]\npath = "/a/**/{area}"\n', 2, "** may only end"),
        ('[[route]]\npath = "/a/{areas}"\n', 2, "{area} or {folder}"),
        ('[[route]]\npath = "/a/{folder}"\n', 2, "names no area"),
        ('[[route]]\npath = "/a/{area}/{area}"\n', 2, "twice"),
        ('[[route]]\npath = "/a/{area}"\n\narea = "payroll"\n', 4, "both captured"),
        ('[[route]]\npath = "/a"\narea = "Payroll!"\n', 3, "area must be a key"),
        ('[[route]]\npath = "a/{area}"\n', 2, "must start with /"),
        ('[[route]]\npath = "/a/{folder}/{area}"\n', 2, "must come after"),
        ('[[route]]\npath = "/a/x*/{area}"\n', 2, "not a usable segment"),
        ('[[route]]\npath = "/a/{area}"\n[[route]]\npath = "/b/{area}\n', 4, ""),
        ('routes = 1\n[[route]]\npath = "/a/{area}"\n', 1, "unknown key 'routes'"),
        ('[[route]]\npath = 7\n', 2, "needs a path"),
    ],
)  # fmt: skip
def test_malformed_file_is_refused_naming_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(RouteMapError) as caught:
        RouteMap.parse(text, source="routes.toml")

    assert caught.value.line == line
    assert f"routes.toml, line {line}: " in str(caught.value)
    assert words in str(caught.value)


def test_settings_refuse_a_malformed_routes_file_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text('[[route]]\npath = "/api/{area}"\n[[route]]\npath = "/x/**/y"\n')

    with pytest.raises(SettingsError, match=r"SAT_ROUTES_FILE: .*routes.toml, line 4: "):
        Settings.from_env({"SAT_ROUTES_FILE": str(path)})


def test_settings_read_the_routes_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(EXAMPLE)

    settings = Settings.from_env({"SAT_ROUTES_FILE": str(path)})

    assert settings.routes.target("/legacy/payslips/1") == Target("payroll", "payslips")


def test_missing_routes_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot be read"):
        Settings.from_env({"SAT_ROUTES_FILE": str(tmp_path / "nowhere.toml")})


def test_sat_serve_does_not_start_with_a_malformed_routes_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text('[[route]]\npath = "/api/{area}"\n\n[[route]]\npath = "/x/{nope}"\n')

    finished = subprocess.run(  # noqa: S603  (our own console script, fixed arguments)
        [SAT, "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env={**os.environ, "SAT_ROUTES_FILE": str(path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode != 0
    assert "line 5" in finished.stderr
    assert "{nope}" in finished.stderr
