"""The ``sat`` command, in-process on a fresh database, and once as the installed script."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from tortoise import Tortoise

from server import cli
from server.database import tortoise_config
from tokens import admins, catalog, catalog_file
from tokens.errors import Unauthenticated

T = TypeVar("T")

PASSWORD = "a long enough admin password"
REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "graphql" / "schema.graphql"

Sat = Callable[..., int]


@pytest.fixture
def sat(monkeypatch: pytest.MonkeyPatch, sync_database_url: str) -> Sat:
    """Run ``sat ARGS...`` in-process on the test database; ``stdin`` is what is typed."""
    monkeypatch.setenv("SAT_DATABASE_URL", sync_database_url)

    def run(*argv: str, stdin: str = "") -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return cli.main(list(argv))

    return run


def on_database(database_url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Look at the database the CLI wrote, through the domain."""

    async def run() -> T:
        await Tortoise.init(config=tortoise_config(database_url))
        try:
            return await work()
        finally:
            await Tortoise.close_connections()

    return asyncio.run(run())


def stored_catalog(database_url: str) -> catalog.Catalog:
    return on_database(database_url, catalog.load)


def can_log_in(database_url: str, username: str, password: str) -> bool:
    async def attempt() -> bool:
        try:
            await admins.login(
                username=username, password=password, ip=None, lifetime=timedelta(hours=1)
            )
        except Unauthenticated:
            return False
        return True

    return on_database(database_url, attempt)


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# --- admin create -----------------------------------------------------------------------------


@pytest.mark.parametrize("ending", ["\n", "\r\n", ""], ids=["lf", "crlf", "no-newline"])
def test_admin_create_reads_the_password_from_stdin(
    sat: Sat, sync_database_url: str, capsys: pytest.CaptureFixture[str], ending: str
) -> None:
    assert sat("admin", "create", "alice", "--password-stdin", stdin=PASSWORD + ending) == 0

    assert "alice" in capsys.readouterr().err
    assert can_log_in(sync_database_url, "alice", PASSWORD)
    assert not can_log_in(sync_database_url, "alice", PASSWORD + "!")


def test_admin_create_keeps_spaces_that_belong_to_the_password(
    sat: Sat, sync_database_url: str
) -> None:
    spaced = "  spaces at both ends  "

    assert sat("admin", "create", "alice", "--password-stdin", stdin=spaced + "\n") == 0

    assert can_log_in(sync_database_url, "alice", spaced)
    assert not can_log_in(sync_database_url, "alice", spaced.strip())


def test_admin_create_prompts_twice_without_password_stdin(
    sat: Sat, sync_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return PASSWORD

    monkeypatch.setattr(cli.getpass, "getpass", getpass)

    assert sat("admin", "create", "alice") == 0

    assert len(prompts) == 2
    assert can_log_in(sync_database_url, "alice", PASSWORD)


def test_admin_create_refuses_prompted_passwords_that_differ(
    sat: Sat, sync_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(typed))
    assert sat("migrate") == 0

    assert sat("admin", "create", "alice") == 1

    assert not on_database(sync_database_url, admins.has_admins)


def test_admin_create_refuses_a_short_password_naming_it(
    sat: Sat, sync_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sat("admin", "create", "alice", "--password-stdin", stdin="short\n") == 1

    assert "password" in capsys.readouterr().err
    assert not on_database(sync_database_url, admins.has_admins)


def test_admin_create_refuses_a_taken_username(
    sat: Sat, sync_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sat("admin", "create", "alice", "--password-stdin", stdin=PASSWORD) == 0
    capsys.readouterr()

    assert sat("admin", "create", "alice", "--password-stdin", stdin="another long password") == 1

    assert "alice" in capsys.readouterr().err
    assert can_log_in(sync_database_url, "alice", PASSWORD)
    assert not can_log_in(sync_database_url, "alice", "another long password")


# --- catalog import ---------------------------------------------------------------------------

GOOD_CATALOG = """
    [[area]]
    key = "employees"
    name = "Staff"

      [[area.folder]]
      key = "contracts"
      name = "Employment contracts"
      kind = "FORM"

      [[area.folder]]
      key = "badges"
      name = "Badges"

    [[area]]
    key = "benefits"
    name = "Benefits"

      [[area.folder]]
      key = "pensions"
      name = "Pensions"
      kind = "FOLDER"

      [[area.folder]]
      key = "tax-form"
      name = "Tax form"
      kind = "FORM"
"""


def test_catalog_import_adds_and_renames_but_never_deletes(
    sat: Sat, sync_database_url: str, tmp_path: Path
) -> None:
    bundled = catalog_file.default_catalog()

    assert sat("catalog", "import", str(write(tmp_path / "catalog.toml", GOOD_CATALOG))) == 0

    stored = stored_catalog(sync_database_url)
    assert [a.key for a in stored.areas] == [*(a.key for a in bundled.areas), "benefits"]
    employees = stored.area("employees")
    assert employees is not None
    assert employees.name == "Staff"
    bundled_employees = bundled.area("employees")
    assert bundled_employees is not None
    assert [f.key for f in employees.folders] == [
        *(f.key for f in bundled_employees.folders),
        "badges",
    ]
    assert employees.folder("contracts") == catalog.FolderEntry(
        key="contracts", name="Employment contracts", kind=catalog.FolderKind.FORM
    )
    assert employees.folder("badges") == catalog.FolderEntry(
        key="badges", name="Badges", kind=catalog.FolderKind.FOLDER
    )
    assert stored.area("benefits") == catalog.AreaEntry(
        key="benefits",
        name="Benefits",
        folders=(
            catalog.FolderEntry(key="pensions", name="Pensions", kind=catalog.FolderKind.FOLDER),
            catalog.FolderEntry(key="tax-form", name="Tax form", kind=catalog.FolderKind.FORM),
        ),
    )


def test_catalog_import_of_the_same_file_twice_changes_nothing_more(
    sat: Sat, sync_database_url: str, tmp_path: Path
) -> None:
    path = write(tmp_path / "catalog.toml", GOOD_CATALOG)
    assert sat("catalog", "import", str(path)) == 0
    first = stored_catalog(sync_database_url)

    assert sat("catalog", "import", str(path)) == 0

    assert stored_catalog(sync_database_url) == first


# Each file renames an existing area and adds a new one before its fault: a partial
# import would show.
VALID_START = """
    [[area]]
    key = "employees"
    name = "Staff"

    [[area]]
    key = "benefits"
    name = "Benefits"
"""


@pytest.mark.parametrize(
    ("fault", "line"),
    [
        pytest.param(
            """
              [[area.folder]]
              key = "pensions"
              name = "Pensions
            """,
            11,
            id="unterminated-string",
        ),
        pytest.param(
            """
              [[area.folder]]
              key = pensions
            """,
            10,
            id="bare-value",
        ),
        pytest.param(
            """
              [[area.folder]]
              key = "Pension Plans"
              name = "Pensions"
            """,
            10,
            id="bad-folder-key",
        ),
        pytest.param(
            """
              [[area.folder]]
              key = "pensions"
              name = "Pensions"
              kind = "DRAWER"
            """,
            12,
            id="bad-kind",
        ),
        pytest.param(
            """
            [[area]]
            key = "employees"
            name = "Employees again"
            """,
            10,
            id="duplicate-area",
        ),
        pytest.param(
            """
            [[area]]
            key = "wellbeing"
            name = "Wellbeing"
            colour = "blue"
            """,
            12,
            id="unknown-field",
        ),
        pytest.param(
            """
            [[area]]
            key = "wellbeing"
            name = "   "
            """,
            11,
            id="blank-name",
        ),
    ],
)
def test_catalog_import_refuses_a_malformed_file_whole_naming_the_line(
    sat: Sat,
    sync_database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    line: int,
) -> None:
    assert sat("migrate") == 0
    assert sat("admin", "create", "alice", "--password-stdin", stdin=PASSWORD) == 0  # the catalog
    before = stored_catalog(sync_database_url)
    path = tmp_path / "catalog.toml"
    path.write_text(
        textwrap.dedent(VALID_START).lstrip("\n") + "\n" + textwrap.dedent(fault).lstrip("\n"),
        encoding="utf-8",
    )
    capsys.readouterr()

    assert sat("catalog", "import", str(path)) == 1

    err = capsys.readouterr().err
    assert f"line {line}" in err
    assert str(path) in err
    assert "Traceback" not in err
    assert stored_catalog(sync_database_url) == before


def test_catalog_import_of_a_missing_file_fails_naming_it(
    sat: Sat, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-catalog.toml"

    assert sat("catalog", "import", str(missing)) == 1

    assert str(missing) in capsys.readouterr().err


# --- migrations and order ---------------------------------------------------------------------


def test_migrate_prepares_a_fresh_database_and_can_run_again(
    sat: Sat, sync_database_url: str
) -> None:
    assert sat("migrate") == 0
    assert not on_database(sync_database_url, admins.has_admins)  # the tables exist
    assert sat("admin", "create", "alice", "--password-stdin", stdin=PASSWORD) == 0

    assert sat("migrate") == 0

    assert can_log_in(sync_database_url, "alice", PASSWORD)


def test_migrate_loads_the_bundled_catalog_as_every_command_does(
    sat: Sat, sync_database_url: str
) -> None:
    assert sat("migrate") == 0

    assert stored_catalog(sync_database_url) == catalog_file.default_catalog()


@pytest.mark.parametrize("first", ["catalog", "admin"])
def test_commands_work_in_any_order_on_a_fresh_database(
    sat: Sat, sync_database_url: str, tmp_path: Path, first: str
) -> None:
    path = write(tmp_path / "catalog.toml", GOOD_CATALOG)
    commands = {
        "catalog": lambda: sat("catalog", "import", str(path)),
        "admin": lambda: sat("admin", "create", "alice", "--password-stdin", stdin=PASSWORD),
    }
    order = [first, *(name for name in commands if name != first)]

    assert [commands[name]() for name in order] == [0, 0]

    stored = stored_catalog(sync_database_url)
    assert {a.key for a in catalog_file.default_catalog().areas} < {a.key for a in stored.areas}
    assert stored.area("benefits") is not None
    assert can_log_in(sync_database_url, "alice", PASSWORD)


# --- export-schema and settings ---------------------------------------------------------------


def test_export_schema_prints_the_committed_sdl(
    sat: Sat, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sat("export-schema") == 0

    assert capsys.readouterr().out == SCHEMA_FILE.read_text(encoding="utf-8")


def test_installed_sat_script_exports_the_schema(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "sat"
    assert script.exists(), "the `sat` console script is not installed in this environment"

    result = subprocess.run(  # noqa: S603  (our own console script, fixed arguments)
        [str(script), "export-schema"],
        cwd=tmp_path,
        env={"PATH": str(script.parent), "SAT_DATABASE_URL": f"sqlite://{tmp_path / 'x.db'}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == SCHEMA_FILE.read_text(encoding="utf-8")
    assert list(tmp_path.iterdir()) == []  # exporting touches no database


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SAT_SESSION_HOURS", "abc"),
        ("SAT_GRAPHIQL", "maybe"),
        ("SAT_TRUSTED_PROXIES", "proxy.internal"),
        ("SAT_LAST_USED_INTERVAL_SECONDS", "-1"),
        ("SAT_LOG_LEVEL", "verbose"),
    ],
)
def test_a_bad_setting_exits_2_naming_the_variable(
    sat: Sat,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
) -> None:
    monkeypatch.setenv(variable, value)

    assert sat("migrate") == 2

    assert variable in capsys.readouterr().err
