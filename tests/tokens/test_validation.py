"""validate(): every denial reason and their order, grants, IP ranges, clocks, grace, last use."""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

import tokens.ip_ranges
from models import SharedAccessToken
from tests.strategies import with_check
from tests.support import NOW, ip_ranges, issue_token
from tokens import catalog, catalog_file, lifecycle, refresh, secrets, state_store, validation
from tokens.caches import CachedState
from tokens.catalog import AreaEntry, Catalog, FolderEntry, FolderKind
from tokens.errors import InvalidInput
from tokens.grants import Access, GrantedAccess, GrantRequest
from tokens.lifecycle import IssuedToken
from tokens.secrets import SecretKind
from tokens.state_store import TokenState
from tokens.validation import DenialReason, Validation, validate

INSIDE = "192.0.2.5"  # in TEST-NET-1, the range most tokens here are restricted to
OUTSIDE = "198.51.100.1"
SOON = NOW + timedelta(hours=1)
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)

BODY = "Q7fK2mZx9LpA4tRb8WcE1nHy6JdS3vGu0aXeMqTz"  # 40 base62 characters


def grant(target: str, *accesses: Access) -> GrantRequest:
    """A grant on ``area`` or ``area/folder`` with exactly the given accesses."""
    area, _, folder = target.partition("/")
    return GrantRequest(
        area=area,
        folder=folder or None,
        read=Access.READ in accesses,
        write=Access.WRITE in accesses,
        delete=Access.DELETE in accesses,
    )


# This file's tokens are the factory's: read payroll, no ranges, 365 days, created at NOW.
issue = issue_token


async def check(
    token: str,
    *,
    ip: str = INSIDE,
    area: str = "payroll",
    folder: str | None = "payslips",
    access: Access = Access.READ,
    at: datetime = SOON,
) -> Validation:
    return await validate(token=token, ip=ip, area=area, folder=folder, access=access, now=at)


async def row_of(issued: IssuedToken) -> SharedAccessToken:
    return await SharedAccessToken.get(id=issued.token.id)


# --- the order of denial reasons -------------------------------------------------------------

FAULTS = ("revoked", "rotated", "expired", "wrong_ip", "unknown_resource", "not_permitted")
REASON_OF_FAULT = {
    "revoked": DenialReason.REVOKED,
    "rotated": DenialReason.ROTATED,
    "expired": DenialReason.EXPIRED,
    "wrong_ip": DenialReason.IP_NOT_ALLOWED,
    "unknown_resource": DenialReason.UNKNOWN_RESOURCE,
    "not_permitted": DenialReason.NOT_PERMITTED,
}
# Each fault alone, every pair (the pairs pin down a total order), a few larger sets, all at once.
FAULT_SETS = [
    *itertools.combinations(FAULTS, 1),
    *itertools.combinations(FAULTS, 2),
    ("revoked", "expired", "wrong_ip"),
    ("rotated", "expired", "wrong_ip", "unknown_resource"),
    FAULTS,
]


def test_faults_are_listed_in_the_order_of_the_denial_reasons() -> None:
    """The table below relies on FAULTS following the DenialReason enum."""
    reasons = [REASON_OF_FAULT[f] for f in FAULTS]
    assert reasons == list(DenialReason)[2:]


@pytest.mark.parametrize("faults", FAULT_SETS, ids="+".join)
async def test_the_first_applicable_reason_in_enum_order_wins(
    db: None, faults: tuple[str, ...]
) -> None:
    """Every combination of faults answers with the earliest of them in DenialReason order."""
    issued = await issue(grants=[grant("payroll", Access.READ)], ranges=["192.0.2.0/24"], days=30)
    presented = issued.access_token
    if "rotated" in faults:
        await refresh.refresh(
            refresh_key=issued.refresh_key, ip=INSIDE, now=NOW + timedelta(hours=1)
        )
    if "revoked" in faults:
        await lifecycle.revoke(
            token_id=str(issued.token.id), actor="alice", now=NOW + timedelta(hours=2)
        )

    result = await check(
        presented,
        ip=OUTSIDE if "wrong_ip" in faults else INSIDE,
        folder="no-such-folder" if "unknown_resource" in faults else "payslips",
        access=Access.WRITE if "not_permitted" in faults else Access.READ,
        at=NOW + (31 * DAY if "expired" in faults else timedelta(hours=3)),
    )

    assert (result.valid, result.reason) == (False, REASON_OF_FAULT[faults[0]])
    assert result.token is not None
    assert (result.token.id, result.token.name) == (issued.token.id, "partner")


async def test_a_token_without_faults_is_valid_and_names_its_token(db: None) -> None:
    issued = await issue(ranges=["192.0.2.0/24"], days=30)

    result = await check(issued.access_token)

    assert (result.valid, result.reason) == (True, None)
    assert result.token == validation.ValidatedToken(
        issued.token.id,
        "partner",
        NOW + timedelta(days=30),
        NOW,
        (GrantedAccess("payroll", None, read=True, write=False, delete=False),),
    )


@pytest.mark.parametrize(
    ("area", "folder"),
    [
        ("no-such-area", None),
        ("no-such-area", "payslips"),
        ("payroll", "no-such-folder"),
        ("payroll", "contracts"),  # a folder of another area
        ("Payroll", None),  # keys are exact
    ],
)
async def test_a_resource_missing_from_the_catalog_is_unknown_resource(
    db: None, area: str, folder: str | None
) -> None:
    issued = await issue(grants=[grant("payroll", *Access), grant("employees", *Access)])

    result = await check(issued.access_token, area=area, folder=folder)

    assert (result.valid, result.reason) == (False, DenialReason.UNKNOWN_RESOURCE)


# --- malformed and unknown tokens ------------------------------------------------------------

GOOD_ACCESS_TOKEN = with_check("sat_", BODY)
MALFORMED_TOKENS = {
    "empty": "",
    "refresh key prefix": with_check("satr_", BODY),
    "service client secret": with_check("satc_", BODY),
    "admin session token": with_check("sata_", BODY),
    "other prefix, right length": with_check("sax_", BODY),
    "upper-case prefix": with_check("SAT_", BODY),
    "no prefix": with_check("", BODY + "abcd"),
    "body one short": with_check("sat_", BODY[:-1]),
    "body one long": with_check("sat_", BODY + "x"),
    "dash in body": with_check("sat_", BODY[:-1] + "-"),
    "underscore in body": with_check("sat_", "_" + BODY[1:]),
    "space in body": with_check("sat_", BODY[:20] + " " + BODY[21:]),
    "non-ASCII body": "sat_" + "é" * 40 + GOOD_ACCESS_TOKEN[-6:],
    "check digit changed": GOOD_ACCESS_TOKEN[:-1] + ("0" if GOOD_ACCESS_TOKEN[-1] != "0" else "1"),
    "check of another prefix": "sat_" + BODY + with_check("satr_", BODY)[-6:],
    "body changed, check kept": "sat_" + BODY[::-1] + GOOD_ACCESS_TOKEN[-6:],
    "leading space": " " + GOOD_ACCESS_TOKEN,
    "trailing newline": GOOD_ACCESS_TOKEN + "\n",
}


async def _database_touched(*args: object, **kwargs: object) -> None:
    pytest.fail("validation read token state from the database")


@pytest.mark.parametrize("token", MALFORMED_TOKENS.values(), ids=MALFORMED_TOKENS.keys())
async def test_malformed_token_is_refused_without_touching_the_database(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    # No `db` fixture either: with no database set up, any ORM query would raise.
    monkeypatch.setattr(state_store, "read_state", _database_touched)

    result = await validate(
        token=token, ip=INSIDE, area="payroll", folder="payslips", access=Access.READ, now=SOON
    )

    assert result == Validation(False, DenialReason.MALFORMED, None)


async def test_a_cached_token_does_not_vouch_for_strings_like_it(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache hit skips the format check; anything not byte-equal to a cached token misses."""
    issued = await issue(grants=[grant("payroll", *Access)])
    assert (await check(issued.access_token)).valid  # now cached
    token = issued.access_token
    variants = [
        token[:-1] + ("0" if token[-1] != "0" else "1"),  # check digit changed
        token.upper(),
        token[:-1],
        token + "x",
        " " + token[1:],
    ]

    monkeypatch.setattr(state_store, "read_state", _database_touched)
    for variant in variants:
        assert await check(variant) == Validation(False, DenialReason.MALFORMED, None), variant
    assert (await check(token)).valid


@pytest.mark.parametrize("secret", ["refresh_key", "service_secret"])
async def test_issued_secrets_of_other_kinds_are_malformed_as_access_tokens(
    db: None, monkeypatch: pytest.MonkeyPatch, secret: str
) -> None:
    issued = await issue(grants=[grant("payroll", *Access)])
    candidate = (
        issued.refresh_key
        if secret == "refresh_key"
        else secrets.generate(SecretKind.SERVICE_CLIENT)
    )

    monkeypatch.setattr(state_store, "read_state", _database_touched)
    result = await check(candidate)

    assert result == Validation(False, DenialReason.MALFORMED, None)


@pytest.mark.parametrize(
    "token", [GOOD_ACCESS_TOKEN, "generated"], ids=["forged from the contract", "generated"]
)
async def test_well_formed_token_that_was_never_issued_is_unknown(db: None, token: str) -> None:
    await issue(grants=[grant("payroll", *Access)])
    candidate = secrets.generate(SecretKind.ACCESS_TOKEN) if token == "generated" else token

    result = await check(candidate, ip=OUTSIDE, area="no-such-area", folder=None)

    assert result == Validation(False, DenialReason.UNKNOWN, None)


@pytest.mark.parametrize(
    "ip", ["", "not-an-ip", "10.0.0.256", "1.2.3", "10.0.0.0/8", "2001:db8::g"]
)
async def test_unparsable_ip_is_invalid_input_naming_ip(db: None, ip: str) -> None:
    issued = await issue()

    with pytest.raises(InvalidInput) as raised:
        await check(issued.access_token, ip=ip)

    assert raised.value.field == "ip"


async def test_client_addresses_are_remembered_only_as_canonical_dotted_quads(db: None) -> None:
    """The parse memo holds no request text but an address as ``ipaddress`` writes it."""
    issued = await issue()
    tokens.ip_ranges._DOTTED_QUADS.clear()
    spellings = [INSIDE, f" {INSIDE} ", f"::ffff:{INSIDE}", "2001:db8::1", "::ffff:c000:205"]
    answers = [(await check(issued.access_token, ip=ip)).reason for ip in spellings]
    answers += [(await check(issued.access_token, ip=ip)).reason for ip in spellings]  # again

    assert list(tokens.ip_ranges._DOTTED_QUADS) == [INSIDE]
    assert tokens.ip_ranges._DOTTED_QUADS[INSIDE] == ipaddress.IPv4Address(INSIDE)
    assert answers == [None] * 10


# --- grants ----------------------------------------------------------------------------------


def _folders_of(area: str) -> list[str]:
    entry = catalog_file.default_catalog().area(area)
    return [] if entry is None else [f.key for f in entry.folders]


PAYROLL_TARGETS = [None, *_folders_of("payroll")]


def test_payroll_has_folders_to_cover() -> None:
    assert len(PAYROLL_TARGETS) > 2
    assert "payslips" in PAYROLL_TARGETS


@pytest.mark.parametrize("folder", PAYROLL_TARGETS, ids=lambda f: f or "(area)")
async def test_area_grant_covers_the_area_and_every_folder_in_it(
    db: None, folder: str | None
) -> None:
    issued = await issue(grants=[grant("payroll", Access.READ)])

    assert (await check(issued.access_token, folder=folder)).valid
    other = await check(issued.access_token, area="employees", folder=None)
    assert other.reason is DenialReason.NOT_PERMITTED


@pytest.mark.parametrize(
    ("area", "folder", "valid"),
    [
        ("payroll", "payslips", True),
        ("payroll", None, False),
        ("payroll", "salaries", False),
        ("employees", "contracts", False),
    ],
)
async def test_folder_grant_covers_that_folder_only(
    db: None, area: str, folder: str | None, valid: bool
) -> None:
    issued = await issue(grants=[grant("payroll/payslips", Access.READ)])

    result = await check(issued.access_token, area=area, folder=folder)

    assert (result.valid, result.reason) == (
        (True, None) if valid else (False, DenialReason.NOT_PERMITTED)
    )


@pytest.mark.parametrize(
    ("area", "folder", "access", "valid"),
    [
        ("payroll", "payslips", Access.READ, True),  # from the area grant
        ("payroll", "payslips", Access.WRITE, True),  # from the folder grant
        ("payroll", "payslips", Access.DELETE, False),
        ("payroll", "salaries", Access.READ, True),
        ("payroll", "salaries", Access.WRITE, False),
        ("payroll", None, Access.WRITE, False),
        ("employees", "contracts", Access.DELETE, True),
        ("employees", "contracts", Access.READ, False),
        ("employees", "documents", Access.DELETE, False),
    ],
)
async def test_grants_add_up(
    db: None, area: str, folder: str | None, access: Access, valid: bool
) -> None:
    issued = await issue(
        grants=[
            grant("payroll", Access.READ),
            grant("payroll/payslips", Access.WRITE),
            grant("employees/contracts", Access.DELETE),
        ]
    )

    result = await check(issued.access_token, area=area, folder=folder, access=access)

    assert result.valid is valid
    assert result.reason is (None if valid else DenialReason.NOT_PERMITTED)


@pytest.mark.parametrize("granted", list(Access), ids=lambda a: a.value)
@pytest.mark.parametrize("target", ["payroll", "payroll/payslips"])
async def test_read_write_and_delete_are_granted_independently(
    db: None, granted: Access, target: str
) -> None:
    issued = await issue(grants=[grant(target, granted)])

    answers = {a: (await check(issued.access_token, access=a)).reason for a in Access}

    assert answers == {a: None if a is granted else DenialReason.NOT_PERMITTED for a in Access}


async def test_area_grant_covers_a_folder_added_to_the_catalog_later(db: None) -> None:
    area_wide = await issue(name="area-wide", grants=[grant("payroll", Access.READ)])
    one_folder = await issue(name="one-folder", grants=[grant("payroll/payslips", Access.READ)])
    before = await check(area_wide.access_token, folder="bonuses")
    assert before.reason is DenialReason.UNKNOWN_RESOURCE

    await catalog.apply(
        Catalog(
            areas=(
                AreaEntry(
                    key="payroll",
                    name="Payroll",
                    folders=(FolderEntry(key="bonuses", name="Bonuses", kind=FolderKind.FOLDER),),
                ),
            )
        )
    )

    assert (await check(area_wide.access_token, folder="bonuses")).valid
    assert (
        await check(one_folder.access_token, folder="bonuses")
    ).reason is DenialReason.NOT_PERMITTED


# --- IP ranges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ranges", "ip", "allowed"),
    [
        # IPv4 range, inclusive at both ends
        (["192.0.2.10..192.0.2.20"], "192.0.2.10", True),
        (["192.0.2.10..192.0.2.20"], "192.0.2.15", True),
        (["192.0.2.10..192.0.2.20"], "192.0.2.20", True),
        (["192.0.2.10..192.0.2.20"], "192.0.2.9", False),
        (["192.0.2.10..192.0.2.20"], "192.0.2.21", False),
        # IPv6 range, inclusive at both ends
        (["2001:db8::10..2001:db8::20"], "2001:db8::10", True),
        (["2001:db8::10..2001:db8::20"], "2001:db8::20", True),
        (["2001:db8::10..2001:db8::20"], "2001:db8::f", False),
        (["2001:db8::10..2001:db8::20"], "2001:db8::21", False),
        # CIDR edges
        (["10.0.0.0/8"], "10.0.0.0", True),
        (["10.0.0.0/8"], "10.255.255.255", True),
        (["10.0.0.0/8"], "9.255.255.255", False),
        (["10.0.0.0/8"], "11.0.0.0", False),
        (["2001:db8::/32"], "2001:db8::", True),
        (["2001:db8::/32"], "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", True),
        (["2001:db8::/32"], "2001:db9::", False),
        # IPv4-mapped IPv6 addresses are their IPv4 address
        (["10.0.0.0/8"], "::ffff:10.1.2.3", True),
        (["10.0.0.0/8"], "::ffff:11.1.2.3", False),
        (["::ffff:10.0.0.1..::ffff:10.0.0.5"], "10.0.0.3", True),
        # a single address, and families do not mix
        (["192.0.2.7"], "192.0.2.7", True),
        (["192.0.2.7"], "192.0.2.8", False),
        (["10.0.0.0/8"], "2001:db8::1", False),
        # several ranges: any one of them will do
        (["192.0.2.0/24", "2001:db8::/32"], "2001:db8::1", True),
        (["192.0.2.0/24", "2001:db8::/32"], "192.0.2.1", True),
        (["192.0.2.0/24", "2001:db8::/32"], "203.0.113.1", False),
        # no ranges: any address
        ([], "203.0.113.77", True),
        ([], "2001:db8::1", True),
        ([], "::1", True),
        ([], "255.255.255.255", True),
    ],
)
async def test_ip_ranges_decide_which_client_addresses_may_use_the_token(
    db: None, ranges: list[str], ip: str, allowed: bool
) -> None:
    issued = await issue(ranges=ranges)

    result = await check(issued.access_token, ip=ip)

    assert (result.valid, result.reason) == (
        (True, None) if allowed else (False, DenialReason.IP_NOT_ALLOWED)
    )


# --- time: expiry and grace ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-timedelta(microseconds=1), None),
        (-SECOND, None),
        (timedelta(0), DenialReason.EXPIRED),
        (SECOND, DenialReason.EXPIRED),
        (400 * DAY, DenialReason.EXPIRED),
    ],
    ids=["1us-before", "1s-before", "at", "1s-after", "long-after"],
)
async def test_token_expires_at_its_expiry_time(
    db: None, offset: timedelta, reason: DenialReason | None
) -> None:
    issued = await issue(days=7)
    expires_at = NOW + 7 * DAY
    assert issued.expires_at == expires_at

    result = await check(issued.access_token, at=expires_at + offset)

    assert (result.valid, result.reason) == (reason is None, reason)


@pytest.mark.parametrize(
    ("at", "reason"),
    [
        (NOW + 8 * DAY, None),  # past the first token's expiry
        (NOW + 12 * DAY - SECOND, None),
        (NOW + 12 * DAY, DenialReason.EXPIRED),
    ],
)
async def test_refreshed_token_expiry_counts_from_the_refresh(
    db: None, at: datetime, reason: DenialReason | None
) -> None:
    issued = await issue(days=7)
    refreshed = await refresh.refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=NOW + 5 * DAY)

    result = await check(refreshed.access_token, at=at)

    assert (result.valid, result.reason) == (reason is None, reason)
    assert result.token is not None
    assert result.token.expires_at == NOW + 12 * DAY


REFRESHED_AT = NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("grace", "after_refresh", "reason"),
    [
        (300, timedelta(0), None),
        (300, timedelta(seconds=299), None),
        (300, timedelta(seconds=300), DenialReason.ROTATED),
        (300, timedelta(seconds=301), DenialReason.ROTATED),
        (0, timedelta(0), DenialReason.ROTATED),
        (86_400, DAY - SECOND, None),
        (86_400, DAY, DenialReason.ROTATED),
    ],
)
async def test_previous_access_token_stays_valid_for_the_grace_period(
    db: None, grace: int, after_refresh: timedelta, reason: DenialReason | None
) -> None:
    issued = await issue(grace=grace)
    refreshed = await refresh.refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=REFRESHED_AT)

    previous = await check(issued.access_token, at=REFRESHED_AT + after_refresh)
    current = await check(refreshed.access_token, at=REFRESHED_AT + after_refresh)

    assert (previous.valid, previous.reason) == (reason is None, reason)
    assert current.valid


async def test_rotated_token_in_grace_reports_rotation_time_plus_grace_as_expiry(db: None) -> None:
    issued = await issue(grace=600)
    await refresh.refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=REFRESHED_AT)

    result = await check(issued.access_token, at=REFRESHED_AT + timedelta(seconds=10))

    assert result.valid
    assert result.token is not None
    assert result.token.expires_at == REFRESHED_AT + timedelta(seconds=600)


async def test_rotated_token_past_its_own_expiry_but_within_grace_is_expired(db: None) -> None:
    """ROTATED means past the grace period; before it ends, a lapsed token is merely EXPIRED."""
    issued = await issue(days=1, grace=86_400)
    await refresh.refresh(refresh_key=issued.refresh_key, ip=INSIDE, now=NOW + timedelta(hours=23))

    result = await check(issued.access_token, at=NOW + DAY + SECOND)  # grace ends at NOW+47h

    assert (result.valid, result.reason) == (False, DenialReason.EXPIRED)


# --- admin changes take effect at once -------------------------------------------------------


async def _revoke(token_id: str) -> None:
    await lifecycle.revoke(token_id=token_id, actor="alice", now=SOON)


async def _grant_employees(token_id: str) -> None:
    await lifecycle.grant(
        token_id=token_id, grants=[grant("employees", Access.READ)], actor="alice", now=SOON
    )


async def _remove_payroll_grant(token_id: str) -> None:
    await lifecycle.grant(token_id=token_id, grants=[grant("payroll")], actor="alice", now=SOON)


async def _restrict(token_id: str) -> None:
    await lifecycle.restrict(
        token_id=token_id, ip_ranges=ip_ranges("192.0.2.0/24"), actor="alice", now=SOON
    )


async def _lift_restriction(token_id: str) -> None:
    await lifecycle.restrict(token_id=token_id, ip_ranges=[], actor="alice", now=SOON)


CHANGES: dict[str, tuple[Callable[[str], Awaitable[None]], list[str], str, DenialReason]] = {
    # change, initial ranges, area asked for (from OUTSIDE), the reason it adds or lifts
    "revoke": (_revoke, [], "payroll", DenialReason.REVOKED),
    "grant": (_grant_employees, [], "employees", DenialReason.NOT_PERMITTED),
    "remove grant": (_remove_payroll_grant, [], "payroll", DenialReason.NOT_PERMITTED),
    "restrict": (_restrict, [], "payroll", DenialReason.IP_NOT_ALLOWED),
    "lift restriction": (
        _lift_restriction,
        ["192.0.2.0/24"],
        "payroll",
        DenialReason.IP_NOT_ALLOWED,
    ),
}
LIFTING_CHANGES = {"grant", "lift restriction"}  # these turn a denial into a pass


@pytest.mark.parametrize("change", CHANGES.keys())
async def test_admin_changes_take_effect_on_the_next_validation(db: None, change: str) -> None:
    apply, ranges, area, reason = CHANGES[change]
    issued = await issue(grants=[grant("payroll", Access.READ)], ranges=ranges)

    async def answer() -> DenialReason | None:
        result = await check(issued.access_token, ip=OUTSIDE, area=area, folder=None, at=SOON)
        return result.reason

    before = await answer()
    await apply(str(issued.token.id))
    after = await answer()

    assert (before, after) == ((reason, None) if change in LIFTING_CHANGES else (None, reason))


# --- last use --------------------------------------------------------------------------------


async def test_first_successful_validation_records_last_use_at_once(db: None) -> None:
    issued = await issue()
    assert (await row_of(issued)).last_used_at is None

    assert (await check(issued.access_token, ip=INSIDE, at=SOON)).valid

    row = await row_of(issued)
    assert (row.last_used_at, row.last_used_ip) == (SOON, INSIDE)


@pytest.mark.parametrize(
    ("later", "recorded"),
    [
        (SECOND, False),
        (timedelta(seconds=59), False),
        (timedelta(seconds=61), True),
        (DAY, True),
    ],
)
async def test_later_validations_record_last_use_at_most_once_per_interval(
    db: None, later: timedelta, recorded: bool
) -> None:
    issued = await issue()
    await check(issued.access_token, ip=INSIDE, at=SOON)

    assert (await check(issued.access_token, ip="203.0.113.9", at=SOON + later)).valid

    row = await row_of(issued)
    expected = (SOON + later, "203.0.113.9") if recorded else (SOON, INSIDE)
    assert (row.last_used_at, row.last_used_ip) == expected


DENIALS: dict[str, dict[str, Any]] = {
    "not permitted": {"access": Access.DELETE},
    "unknown resource": {"folder": "no-such-folder"},
    "ip not allowed": {"ip": OUTSIDE},
    "expired": {"at": NOW + 400 * DAY},
}


@pytest.mark.parametrize("denial", DENIALS.values(), ids=DENIALS.keys())
async def test_denied_validation_does_not_record_last_use(db: None, denial: dict[str, Any]) -> None:
    issued = await issue(ranges=["192.0.2.0/24"])
    await check(issued.access_token, at=SOON)

    # a day later, well past the interval: a counted use would be written
    result = await check(issued.access_token, **{"at": SOON + DAY, **denial})

    assert not result.valid
    row = await row_of(issued)
    assert (row.last_used_at, row.last_used_ip) == (SOON, INSIDE)


# --- answers kept with a cached state ----------------------------------------------------------


def _cached(**changes: object) -> CachedState:
    state = TokenState(
        token_id=7,
        name="payroll-sync",
        revoked=False,
        credential_id=70,
        current=True,
        voided=False,
        rotated_at=None,
        grace=timedelta(0),
        expires_at=NOW + timedelta(days=30),
        issued_at=NOW,
        used=True,
        last_used_at=NOW,
        ip_ranges=(),
        grants=(),
    )
    return CachedState(state=dataclasses.replace(state, **changes), used=True, last_used_at=NOW)


def test_a_state_asked_again_keeps_its_answer_from_the_second_question_on() -> None:
    entry = _cached()

    first = validation.answer(entry, None)
    assert entry.answer is None  # one question: nothing kept
    second = validation.answer(entry, None)
    third = validation.answer(entry, None)

    assert first == second == Validation(True, None, first.token)
    assert third is second
    assert first.token == validation.ValidatedToken(
        7, "payroll-sync", NOW + timedelta(days=30), NOW, ()
    )


def test_a_kept_answer_is_for_its_reason_only() -> None:
    entry = _cached(grace=timedelta(hours=1), rotated_at=NOW)
    validation.answer(entry, None)
    valid = validation.answer(entry, None)

    denied = validation.answer(entry, DenialReason.NOT_PERMITTED)

    assert denied == Validation(False, DenialReason.NOT_PERMITTED, valid.token)
    assert validation.answer(entry, DenialReason.NOT_PERMITTED) is denied
    assert denied.token is not None
    assert denied.token.expires_at == NOW + timedelta(hours=1)  # the end of the grace
