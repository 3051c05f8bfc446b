"""The area/folder catalog: parsing TOML with faults traced to their line, and applying it."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from models import Area, AuditEvent, Folder
from tokens import catalog, catalog_file
from tokens.catalog import AreaEntry, Catalog, FolderEntry, FolderKind, ImportSummary
from tokens.catalog_file import CatalogError

FAULT = "# <- fault"

VALID = """\
# A small catalog.
[[area]]
key = "recruitment"
name = "Recruitment"

  [[area.folder]]
  key = "vacancies"
  name = "Vacancies"
  kind = "FOLDER"

  [[area.folder]]
  key = "application-form"
  name = " Application form "
  kind = "FORM"

[[area]]
key = "absence"
name = "Absence"

  [[area.folder]]
  key = "holidays"
  name = "Holidays"
"""


def fault_line(text: str) -> int:
    """The 1-based line that carries the ``# <- fault`` marker."""
    (line,) = [n for n, content in enumerate(text.splitlines(), start=1) if FAULT in content]
    return line


def refusal(text: str) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        catalog_file.parse(text, source="extra.toml")
    return caught.value


def area(key: str, name: str, *folders: tuple[str, str, FolderKind]) -> AreaEntry:
    return AreaEntry(key, name, tuple(FolderEntry(k, n, kind) for k, n, kind in folders))


FOLDER, FORM = FolderKind.FOLDER, FolderKind.FORM


# --- parse: what a good file gives --------------------------------------------------------------


def test_valid_catalog_parses_in_file_order_with_names_trimmed() -> None:
    assert catalog_file.parse(VALID) == Catalog(
        areas=(
            area(
                "recruitment",
                "Recruitment",
                ("vacancies", "Vacancies", FOLDER),
                ("application-form", "Application form", FORM),
            ),
            area("absence", "Absence", ("holidays", "Holidays", FOLDER)),  # kind defaults
        )
    )


def test_empty_catalog_has_no_areas() -> None:
    assert catalog_file.parse("# nothing yet\n") == Catalog(areas=())


def test_area_without_folders_parses() -> None:
    parsed = catalog_file.parse('[[area]]\nkey = "x"\nname = "X"\n')
    assert parsed == Catalog(areas=(area("x", "X"),))


def test_same_folder_key_in_two_areas_is_fine() -> None:
    text = VALID.replace('key = "holidays"', 'key = "vacancies"')
    parsed = catalog_file.parse(text)
    assert [a.folders[0].key for a in parsed.areas] == ["vacancies", "vacancies"]


def test_bundled_default_catalog_is_a_full_tree() -> None:
    bundled = catalog_file.default_catalog()
    text = resources.files("tokens").joinpath("default_catalog.toml").read_text(encoding="utf-8")
    assert catalog_file.parse(text) == bundled
    assert len(bundled.areas) >= 6
    assert all(a.folders for a in bundled.areas)
    assert any(f.kind is FolderKind.FORM for a in bundled.areas for f in a.folders)
    assert len({a.key for a in bundled.areas}) == len(bundled.areas)


def test_catalog_lookups_find_areas_and_folders_by_key() -> None:
    parsed = catalog_file.parse(VALID)
    recruitment = parsed.area("recruitment")
    assert recruitment is not None
    assert recruitment.folder("application-form") == FolderEntry(
        "application-form", "Application form", FORM
    )
    assert recruitment.folder("holidays") is None
    assert parsed.area("payroll") is None


# --- parse: faults and their lines --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[[area]]\nkey = "a"\nname = "A\n', 3),  # unterminated string
        ('[[area]]\nkey = "a"\n\nname "A"\n', 4),  # no '='
        ('[[area]]\nkey = "a"\nkey = "b"\nname = "A"\n', 3),  # a key twice in one table
        ('# ok\n[[area]\nkey = "a"\n', 2),  # header not closed
        ('[[area]]\nkey = "a"\nname = ', 3),  # value missing at end of file
    ],
)
def test_malformed_toml_reports_its_line(text: str, line: int) -> None:
    error = refusal(text)
    assert error.line == line
    assert "not valid TOML" in error.message
    assert str(error).startswith(f"extra.toml, line {line}: ")


KEY_FAULTS = {
    "area key in capitals": VALID.replace('key = "absence"', f'key = "Absence"  {FAULT}'),
    "area key with a space": VALID.replace('key = "absence"', f'key = "sick leave"  {FAULT}'),
    "area key with underscore": VALID.replace('key = "absence"', f'key = "sick_leave"  {FAULT}'),
    "empty area key": VALID.replace('key = "absence"', f'key = ""  {FAULT}'),
    "area key too long": VALID.replace('key = "absence"', f'key = "{"a" * 65}"  {FAULT}'),
    "area key not a string": VALID.replace('key = "absence"', f"key = 7  {FAULT}"),
    "folder key with a dot": VALID.replace('key = "vacancies"', f'key = "open.jobs"  {FAULT}'),
    "folder key with a slash": VALID.replace('key = "holidays"', f'key = "a/b"  {FAULT}'),
}

DUPLICATE_FAULTS = {
    "duplicate area key": VALID.replace('key = "absence"', f'key = "recruitment"  {FAULT}'),
    "duplicate folder key in an area": VALID.replace(
        'key = "application-form"', f'key = "vacancies"  {FAULT}'
    ),
}

OTHER_FAULTS = {
    "unknown kind": VALID.replace('kind = "FORM"', f'kind = "SURVEY"  {FAULT}'),
    "kind in lower case": VALID.replace('kind = "FORM"', f'kind = "form"  {FAULT}'),
    "area without name": VALID.replace(
        '[[area]]\nkey = "absence"\nname = "Absence"', f'[[area]]  {FAULT}\nkey = "absence"'
    ),
    "folder without name": VALID.replace(
        '[[area.folder]]\n  key = "holidays"\n  name = "Holidays"',
        f'[[area.folder]]  {FAULT}\n  key = "holidays"',
    ),
    "blank folder name": VALID.replace('name = "Holidays"', f'name = "   "  {FAULT}'),
    "name not a string": VALID.replace('name = "Absence"', f"name = 1  {FAULT}"),
    "name too long": VALID.replace('name = "Absence"', f'name = "{"A" * 201}"  {FAULT}'),
    "unknown top-level key": f"version = 2  {FAULT}\n{VALID}",
    "unknown top-level table": f"{VALID}\n[meta]  {FAULT}\nversion = 2\n",
    "unknown area key": VALID.replace('name = "Absence"', f'name = "Absence"\ncolour = 1  {FAULT}'),
    "unknown folder key": VALID.replace('kind = "FORM"', f'kind = "FORM"\n  icon = "x"  {FAULT}'),
    "area is a string": f'# header\narea = "employees"  {FAULT}\n',
    "area is a single table": f'# header\n\n[area]  {FAULT}\nkey = "x"\nname = "X"\n',
    "folder is a string": f'{VALID}\n[[area]]\nkey = "x"\nname = "X"\nfolder = "f"  {FAULT}\n',
    "folder is a single table": VALID.replace(
        '[[area.folder]]\n  key = "holidays"', f'[area.folder]  {FAULT}\n  key = "holidays"'
    ),
}


@pytest.mark.parametrize("text", KEY_FAULTS.values(), ids=KEY_FAULTS.keys())
def test_bad_key_is_refused_at_its_line(text: str) -> None:
    error = refusal(text)
    assert error.line == fault_line(text)
    assert "key" in error.message


@pytest.mark.parametrize("text", DUPLICATE_FAULTS.values(), ids=DUPLICATE_FAULTS.keys())
def test_duplicate_key_is_refused_at_the_second_occurrence(text: str) -> None:
    error = refusal(text)
    assert error.line == fault_line(text)
    assert "duplicate" in error.message


@pytest.mark.parametrize("text", OTHER_FAULTS.values(), ids=OTHER_FAULTS.keys())
def test_semantic_fault_is_refused_at_its_line(text: str) -> None:
    assert refusal(text).line == fault_line(text)


def test_fault_is_reported_with_source_and_line() -> None:
    text = KEY_FAULTS["area key in capitals"]
    assert str(refusal(text)).startswith(f"extra.toml, line {fault_line(text)}: ")


# --- apply and load -----------------------------------------------------------------------------

EXTRA = """\
[[area]]
key = "zeta"
name = "Zeta"

  [[area.folder]]
  key = "z1"
  name = "Z one"

[[area]]
key = "employees"
name = "Employees"

  [[area.folder]]
  key = "zz-new"
  name = "New last"

  [[area.folder]]
  key = "aa-new"
  name = "New first"
  kind = "FORM"

[[area]]
key = "alpha"
name = "Alpha"
"""


async def catalog_events() -> list[AuditEvent]:
    return await AuditEvent.filter(action="CATALOG_IMPORTED").order_by("id")


async def test_load_gives_the_bundled_catalog_in_catalog_order(db: None) -> None:
    assert await catalog.load() == catalog_file.default_catalog()


async def test_apply_adds_new_areas_and_folders_after_existing_ones_in_catalog_order(
    db: None,
) -> None:
    default = catalog_file.default_catalog()
    summary = await catalog.apply(catalog_file.parse(EXTRA))
    assert summary == ImportSummary(areas_added=2, folders_added=3)

    loaded = await catalog.load()
    assert [a.key for a in loaded.areas] == [*(a.key for a in default.areas), "zeta", "alpha"]
    assert loaded.area("zeta") == area("zeta", "Zeta", ("z1", "Z one", FOLDER))
    assert loaded.area("alpha") == area("alpha", "Alpha")
    employees = loaded.area("employees")
    default_employees = default.area("employees")
    assert employees is not None
    assert default_employees is not None
    assert employees.folders == (
        *default_employees.folders,
        FolderEntry("zz-new", "New last", FOLDER),
        FolderEntry("aa-new", "New first", FORM),
    )


async def test_added_areas_and_folders_keep_their_order_through_later_renames(db: None) -> None:
    """The order is stored, not left to the database (PostgreSQL moves updated rows)."""
    await catalog.apply(catalog_file.parse(EXTRA))
    before = await catalog.load()
    renamed = EXTRA.replace('"Zeta"', '"Zeta 2"').replace('"New last"', '"New last 2"')
    await catalog.apply(catalog_file.parse(renamed))
    after = await catalog.load()
    assert [a.key for a in after.areas] == [a.key for a in before.areas]
    assert [f.key for a in after.areas for f in a.folders] == [
        f.key for a in before.areas for f in a.folders
    ]
    positions = [a.position for a in await Area.all()]
    assert len(set(positions)) == len(positions)
    for area_row in await Area.all():
        folder_positions = [f.position for f in await Folder.filter(area_id=area_row.id)]
        assert len(set(folder_positions)) == len(folder_positions), area_row.key


async def test_apply_renames_areas_and_folders_by_key_in_place(db: None) -> None:
    before = await catalog.load()
    text = """\
[[area]]
key = "absence"
name = "Leave"

  [[area.folder]]
  key = "holidays"
  name = "Vacation"
  kind = "FORM"
"""
    summary = await catalog.apply(catalog_file.parse(text))
    assert summary == ImportSummary(areas_renamed=1, folders_changed=1)

    after = await catalog.load()
    assert [a.key for a in after.areas] == [a.key for a in before.areas]
    absence = after.area("absence")
    old_absence = before.area("absence")
    assert absence is not None
    assert old_absence is not None
    assert absence.name == "Leave"
    assert [f.key for f in absence.folders] == [f.key for f in old_absence.folders]
    assert absence.folder("holidays") == FolderEntry("holidays", "Vacation", FORM)


async def test_apply_changes_the_kind_of_a_folder_by_key(db: None) -> None:
    text = '[[area]]\nkey = "employees"\nname = "Employees"\n\n'
    text += '[[area.folder]]\nkey = "contracts"\nname = "Contracts"\nkind = "FORM"\n'
    summary = await catalog.apply(catalog_file.parse(text))
    assert summary == ImportSummary(folders_changed=1)
    employees = (await catalog.load()).area("employees")
    assert employees is not None
    assert employees.folder("contracts") == FolderEntry("contracts", "Contracts", FORM)


async def test_apply_never_deletes_what_an_import_omits(db: None) -> None:
    before = await catalog.load()
    summary = await catalog.apply(
        catalog_file.parse(VALID.replace('key = "vacancies"', 'key = "x"'))
    )
    after = await catalog.load()
    assert summary.folders_added == 1
    for old in before.areas:
        new = after.area(old.key)
        assert new is not None, old.key
        assert {f.key for f in old.folders} <= {f.key for f in new.folders}
    assert len(after.areas) == len(before.areas)


async def test_second_apply_of_the_same_catalog_changes_nothing_and_audits_nothing(
    db: None,
) -> None:
    parsed = catalog_file.parse(EXTRA)
    assert (await catalog.apply(parsed)).changed
    events = await catalog_events()
    loaded = await catalog.load()

    summary = await catalog.apply(parsed)

    assert summary == ImportSummary()
    assert not summary.changed
    assert await catalog.load() == loaded
    assert [e.id for e in await catalog_events()] == [e.id for e in events]


async def test_reapplying_the_bundled_catalog_changes_nothing(db: None) -> None:
    events = await catalog_events()
    assert not (await catalog.apply(catalog_file.default_catalog())).changed
    assert len(await catalog_events()) == len(events)


async def test_a_change_writes_one_catalog_imported_event(db: None) -> None:
    before = {e.id for e in await catalog_events()}
    await catalog.apply(catalog_file.parse(EXTRA), actor="cli", source="extra.toml")
    new = [e for e in await catalog_events() if e.id not in before]
    assert len(new) == 1
    (event,) = new
    assert event.actor == "cli"
    assert event.token_id is None
    assert event.detail is not None
    assert json.loads(event.detail) == {
        "source": "extra.toml",
        "areas_added": 2,
        "areas_renamed": 0,
        "folders_added": 3,
        "folders_changed": 0,
    }


@pytest.mark.parametrize(
    ("summary", "changed"),
    [
        (ImportSummary(), False),
        (ImportSummary(areas_added=1), True),
        (ImportSummary(areas_renamed=1), True),
        (ImportSummary(folders_added=1), True),
        (ImportSummary(folders_changed=1), True),
    ],
)
def test_summary_is_changed_when_anything_was_added_or_renamed(
    summary: ImportSummary, changed: bool
) -> None:
    assert summary.changed is changed
