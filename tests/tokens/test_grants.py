"""Grants: checking them against the catalog, and what access a set of grants gives."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import grant_lists, grant_requests, grants, targets
from tokens.catalog_file import default_catalog
from tokens.errors import InvalidInput
from tokens.grants import MAX_GRANTS_PER_CALL, Access, GrantedAccess, GrantRequest, permits, resolve

CATALOG = default_catalog()
FLAGS = list(itertools.product([False, True], repeat=3))  # (read, write, delete)


def request(
    area: str,
    folder: str | None = None,
    *,
    read: bool = True,
    write: bool = False,
    delete: bool = False,
) -> GrantRequest:
    return GrantRequest(area=area, folder=folder, read=read, write=write, delete=delete)


def refusal(*requests: GrantRequest) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        resolve(list(requests), CATALOG, field="grants")
    return caught.value


def folders_of(area: str) -> list[str]:
    entry = CATALOG.area(area)
    assert entry is not None
    return [f.key for f in entry.folders]


# --- resolve ------------------------------------------------------------------------------------


def test_resolve_keeps_targets_and_flags_in_order() -> None:
    resolved = resolve(
        [
            request("employees", read=True, write=True),
            request("recruitment", "vacancies", delete=True, read=False),
        ],
        CATALOG,
        field="grants",
    )
    assert resolved == [
        GrantedAccess("employees", None, read=True, write=True, delete=False),
        GrantedAccess("recruitment", "vacancies", read=False, write=False, delete=True),
    ]


def test_an_empty_folder_is_refused_not_taken_for_the_area() -> None:
    """None is the whole area; "" names no folder (validation answers it UNKNOWN_RESOURCE)."""
    error = refusal(request("payroll"), request("employees", ""))
    assert error.field == "grants[1].folder"
    assert "must not be empty" in error.message


@given(st.lists(grant_requests(CATALOG), max_size=10, unique_by=lambda r: (r.area, r.folder)))
@settings(max_examples=200)
def test_any_requests_for_catalog_targets_resolve_unchanged(requests: list[GrantRequest]) -> None:
    resolved = resolve(requests, CATALOG, field="grants")
    assert [(g.area, g.folder, g.read, g.write, g.delete) for g in resolved] == [
        (r.area, r.folder, r.read, r.write, r.delete) for r in requests
    ]


@pytest.mark.parametrize("index", [0, 2])
@pytest.mark.parametrize("area", ["nowhere", "Employees", "", "employees/personal-data"])
def test_unknown_area_is_refused_naming_its_entry(index: int, area: str) -> None:
    requests = [request("employees"), request("absence", "holidays")]
    requests.insert(index, request(area))
    error = refusal(*requests)
    assert error.field == f"grants[{index}].area"
    assert error.message.startswith(f"grants[{index}].area ")


@pytest.mark.parametrize(
    ("area", "folder"),
    [
        ("employees", "nowhere"),
        ("employees", "vacancies"),  # a folder of recruitment, not of employees
        ("absence", "personal-data"),
        ("employees", "Contracts"),
    ],
)
def test_unknown_folder_or_folder_of_another_area_is_refused(area: str, folder: str) -> None:
    error = refusal(request("payroll"), request(area, folder))
    assert error.field == "grants[1].folder"


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (request("employees"), request("employees", write=True)),
        (request("absence", "holidays"), request("absence", "holidays", read=False)),
    ],
)
def test_the_same_target_twice_is_refused(first: GrantRequest, second: GrantRequest) -> None:
    error = refusal(first, request("payroll"), second)
    assert error.field == "grants[2]"
    assert "grants[0]" in error.message


def test_an_area_and_a_folder_of_it_are_different_targets() -> None:
    resolved = resolve(
        [request("absence"), request("absence", "holidays")], CATALOG, field="grants"
    )
    assert [g.target for g in resolved] == ["absence", "absence/holidays"]


def test_field_path_of_the_caller_is_kept() -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve([request("nowhere")], CATALOG, field="input.grants")
    assert caught.value.field == "input.grants[0].area"


def test_too_many_grants_in_one_call_are_refused() -> None:
    allowed = [request("employees")] * MAX_GRANTS_PER_CALL
    with pytest.raises(InvalidInput) as caught:
        resolve([*allowed, request("payroll")], CATALOG, field="grants")
    assert caught.value.field == "grants"
    # At the limit the list is checked entry by entry (and here refused for repeats).
    assert refusal(*allowed).field == "grants[1]"


# --- permits ------------------------------------------------------------------------------------


def read_grant(area: str, folder: str | None = None) -> GrantedAccess:
    return GrantedAccess(area, folder, read=True, write=False, delete=False)


def test_no_grants_permit_nothing() -> None:
    assert not permits([], area="employees", folder=None, access=Access.READ)


@pytest.mark.parametrize("folder", [None, *folders_of("employees"), "added-later"])
def test_area_grant_covers_the_area_and_every_folder_in_it(folder: str | None) -> None:
    assert permits([read_grant("employees")], area="employees", folder=folder, access=Access.READ)


@pytest.mark.parametrize("folder", [None, *folders_of("recruitment")])
def test_area_grant_does_not_cover_another_area(folder: str | None) -> None:
    assert not permits(
        [read_grant("employees")], area="recruitment", folder=folder, access=Access.READ
    )


def test_folder_grant_covers_only_that_folder() -> None:
    grant = read_grant("employees", "contracts")
    assert permits([grant], area="employees", folder="contracts", access=Access.READ)
    assert not permits([grant], area="employees", folder=None, access=Access.READ)
    for sibling in set(folders_of("employees")) - {"contracts"}:
        assert not permits([grant], area="employees", folder=sibling, access=Access.READ)


def test_folder_grant_does_not_cover_a_folder_of_the_same_key_in_another_area() -> None:
    assert not permits([read_grant("a", "shared")], area="b", folder="shared", access=Access.READ)


def test_grants_add_up() -> None:
    given_grants = [
        GrantedAccess("employees", None, read=True, write=False, delete=False),
        GrantedAccess("employees", "contracts", read=False, write=True, delete=False),
    ]

    def allowed(folder: str | None) -> set[Access]:
        return {
            a for a in Access if permits(given_grants, area="employees", folder=folder, access=a)
        }

    assert allowed("contracts") == {Access.READ, Access.WRITE}
    assert allowed("documents") == {Access.READ}
    assert allowed(None) == {Access.READ}


@pytest.mark.parametrize(("read", "write", "delete"), FLAGS)
@pytest.mark.parametrize("access", list(Access))
@pytest.mark.parametrize("folder", [None, "contracts"], ids=["area-grant", "folder-grant"])
def test_each_access_needs_its_own_flag(
    read: bool, write: bool, delete: bool, access: Access, folder: str | None
) -> None:
    grant = GrantedAccess("employees", folder, read=read, write=write, delete=delete)
    expected = {Access.READ: read, Access.WRITE: write, Access.DELETE: delete}[access]
    assert permits([grant], area="employees", folder="contracts", access=access) is expected


@given(grant=grants(CATALOG), target=targets(CATALOG), access=st.sampled_from(Access))
@settings(max_examples=300)
def test_one_grant_permits_exactly_its_target_and_flags(
    grant: GrantedAccess, target: tuple[str, str | None], access: Access
) -> None:
    area, folder = target
    covers = grant.area == area and grant.folder in (None, folder)
    flag = {Access.READ: grant.read, Access.WRITE: grant.write, Access.DELETE: grant.delete}
    assert permits([grant], area=area, folder=folder, access=access) is (covers and flag[access])


@given(
    first=grant_lists(CATALOG),
    second=grant_lists(CATALOG),
    target=targets(CATALOG),
    access=st.sampled_from(Access),
)
@settings(max_examples=200)
def test_grants_only_add_access_never_take_it_away(
    first: list[GrantedAccess],
    second: list[GrantedAccess],
    target: tuple[str, str | None],
    access: Access,
) -> None:
    area, folder = target

    def allowed(given_grants: list[GrantedAccess]) -> bool:
        return permits(given_grants, area=area, folder=folder, access=access)

    assert allowed(first + second) is (allowed(first) or allowed(second))
