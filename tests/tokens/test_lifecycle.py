"""A Shared Access Token's life at the domain level: create, grant, restrict, revoke, review."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from tortoise.models import Model

from models import AuditEvent, Credential, Grant, IpRange, SharedAccessToken
from tests.strategies import check_digits
from tests.support import NOW, UNKNOWN_IDS, events
from tokens import audit, lifecycle, views
from tokens.errors import Conflict, InvalidInput, NotFound
from tokens.grants import GrantRequest
from tokens.ip_ranges import IpRangeRequest
from tokens.lifecycle import IssuedToken
from tokens.lifetimes import TokenStatus
from tokens.paging import PageRequest, encode_cursor

pytestmark = pytest.mark.usefixtures("db")

ACTOR = "alice"
ADMIN_IP = "198.51.100.7"
COUNTED_MODELS: tuple[type[Model], ...] = (
    SharedAccessToken,
    Credential,
    Grant,
    IpRange,
    AuditEvent,
)


def read(area: str, folder: str | None = None) -> GrantRequest:
    return GrantRequest(area=area, folder=folder, read=True, write=False, delete=False)


def flags(
    area: str, folder: str | None = None, *, r: bool = False, w: bool = False, d: bool = False
) -> GrantRequest:
    return GrantRequest(area=area, folder=folder, read=r, write=w, delete=d)


async def create(name: str = "Acme", **kwargs: Any) -> IssuedToken:
    kwargs.setdefault("now", NOW)
    return await lifecycle.create(actor=ACTOR, name=name, ip=ADMIN_IP, **kwargs)


async def row_counts() -> dict[str, int]:
    return {model.__name__: await model.all().count() for model in COUNTED_MODELS}


async def all_stored_values() -> list[str]:
    values = []
    for model in COUNTED_MODELS:
        for row in await model.all().values():
            values.extend(str(value) for value in row.values())
    return values


def grant_tuples(view: views.TokenView) -> set[tuple[str, str | None, bool, bool, bool]]:
    return {
        (g.area.key, None if g.folder is None else g.folder.key, g.read, g.write, g.delete)
        for g in view.grants
    }


def range_tuples(view: views.TokenView) -> list[tuple[str | None, str, str]]:
    return [(r.label, str(r.start), str(r.end)) for r in view.ip_ranges]


def assert_secret_format(secret: str, prefix: str) -> None:
    """The contract's format, checked independently of tokens.secrets."""
    assert re.fullmatch(re.escape(prefix) + "[0-9A-Za-z]{46}", secret), secret
    assert secret[-6:] == check_digits(secret[:-6])


# --- create: names --------------------------------------------------------------------------------


async def test_create_trims_the_name() -> None:
    issued = await create("  Acme Payroll\t")

    assert issued.token.name == "Acme Payroll"
    assert (await SharedAccessToken.get(id=issued.token.id)).name == "Acme Payroll"


@pytest.mark.parametrize("name", ["A", "x" * 100, "  " + "y" * 100 + "  "])
async def test_create_accepts_names_of_1_to_100_characters_after_trimming(name: str) -> None:
    issued = await create(name)

    assert issued.token.name == name.strip()


async def test_name_is_unique_case_insensitively_among_live_tokens() -> None:
    await create("Acme")
    before = await row_counts()

    with pytest.raises(Conflict) as refused:
        await create(" acme ")

    assert refused.value.code == "CONFLICT"
    assert await row_counts() == before


async def test_a_revoked_tokens_name_can_be_reused() -> None:
    first = await create("Acme")
    await lifecycle.revoke(token_id=str(first.token.id), actor=ACTOR, now=NOW)

    second = await create("ACME", now=NOW + timedelta(minutes=1))

    assert second.token.name == "ACME"
    assert second.token.id != first.token.id
    assert second.token.status is TokenStatus.ACTIVE


async def test_an_expired_but_not_revoked_tokens_name_cannot_be_reused() -> None:
    await create("Acme", expires_in_days=1)
    later = NOW + timedelta(days=2)
    expired = await views.overview(page=PageRequest(first=10, before_id=None), now=later)
    assert [v.status for v in expired.nodes] == [TokenStatus.EXPIRED]

    with pytest.raises(Conflict):
        await create("acme", now=later)


# --- create: lifetime, grace, grants, ranges ------------------------------------------------------


@pytest.mark.parametrize("days", [1, 30, 365])
async def test_access_token_expires_the_given_number_of_days_after_creation(days: int) -> None:
    issued = await create(expires_in_days=days)

    assert issued.expires_at == NOW + timedelta(days=days)
    assert issued.token.expires_at == NOW + timedelta(days=days)
    assert issued.token.expires_in_days == days


async def test_lifetime_defaults_to_one_year() -> None:
    issued = await create()

    assert issued.token.expires_at == NOW + timedelta(days=365)


@pytest.mark.parametrize("seconds", [0, 86_400])
async def test_refresh_grace_of_0_to_86400_seconds_is_accepted(seconds: int) -> None:
    issued = await create(refresh_grace_seconds=seconds)

    assert issued.token.refresh_grace_seconds == seconds


async def test_create_stores_grants_on_areas_and_folders() -> None:
    issued = await create(
        grants=[
            flags("employees", r=True),
            flags("recruitment", "vacancies", r=True, w=True, d=True),
        ]
    )

    assert grant_tuples(issued.token) == {
        ("employees", None, True, False, False),
        ("recruitment", "vacancies", True, True, True),
    }
    assert await Grant.filter(token_id=issued.token.id).count() == 2


async def test_a_grant_with_all_flags_false_is_ignored_on_create() -> None:
    issued = await create(grants=[flags("employees"), flags("payroll", "payslips", w=True)])

    assert grant_tuples(issued.token) == {("payroll", "payslips", False, True, False)}
    assert await Grant.filter(token_id=issued.token.id).count() == 1


@pytest.mark.parametrize(
    ("request_", "stored"),
    [
        (IpRangeRequest("10.0.0.0/8"), ("10.0.0.0", "10.255.255.255")),
        (IpRangeRequest("192.168.1.77/24"), ("192.168.1.0", "192.168.1.255")),
        (IpRangeRequest("2001:db8::/32"), ("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")),
        (IpRangeRequest("203.0.113.5"), ("203.0.113.5", "203.0.113.5")),
        (IpRangeRequest("203.0.113.5", "203.0.113.9"), ("203.0.113.5", "203.0.113.9")),
    ],
)
async def test_ip_ranges_are_stored_as_from_and_to(
    request_: IpRangeRequest, stored: tuple[str, str]
) -> None:
    issued = await create(ip_ranges=[request_])

    assert range_tuples(issued.token) == [(None, *stored)]
    row = await IpRange.get(token_id=issued.token.id)
    assert (row.start, row.end) == stored


async def test_ip_ranges_keep_their_labels_and_order() -> None:
    issued = await create(
        ip_ranges=[
            IpRangeRequest("203.0.113.0/24", label=" office "),
            IpRangeRequest("10.0.0.1", "10.0.0.2", label="vpn"),
        ]
    )

    assert range_tuples(issued.token) == [
        ("office", "203.0.113.0", "203.0.113.255"),
        ("vpn", "10.0.0.1", "10.0.0.2"),
    ]


# --- create: refusals write nothing ---------------------------------------------------------------

VALID_GRANT = read("employees")
VALID_RANGE = IpRangeRequest("10.0.0.0/8")

REFUSED_CREATES = [
    pytest.param({"name": ""}, "name", id="empty-name"),
    pytest.param({"name": "   \t "}, "name", id="blank-name"),
    pytest.param({"name": "x" * 101}, "name", id="name-101"),
    pytest.param({"name": "a\x00b"}, "name", id="name-control-character"),
    pytest.param({"expires_in_days": 0}, "expiresInDays", id="days-0"),
    pytest.param({"expires_in_days": 366}, "expiresInDays", id="days-366"),
    pytest.param({"expires_in_days": -1}, "expiresInDays", id="days-negative"),
    pytest.param({"refresh_grace_seconds": -1}, "refreshGraceSeconds", id="grace-negative"),
    pytest.param({"refresh_grace_seconds": 86_401}, "refreshGraceSeconds", id="grace-too-long"),
    pytest.param({"grants": [read("nope")]}, "grants[0].area", id="unknown-area"),
    pytest.param({"grants": [read("employees", "nope")]}, "grants[0].folder", id="unknown-folder"),
    pytest.param(
        {"grants": [read("employees", "vacancies")]},
        "grants[0].folder",
        id="folder-of-another-area",
    ),
    pytest.param(
        {"grants": [VALID_GRANT, read("recruitment", "vacancies"), read("nope")]},
        "grants[2].area",
        id="unknown-area-after-valid-grants",
    ),
    pytest.param(
        {"grants": [flags("employees"), read("employees", "nope")]},
        "grants[1].folder",
        id="unknown-folder-after-ignored-grant",
    ),
    pytest.param(
        {"grants": [VALID_GRANT, flags("employees", w=True)]}, "grants[1]", id="repeated-target"
    ),
    pytest.param({"ip_ranges": [IpRangeRequest("10.0.0.256")]}, "ipRanges[0].from", id="bad-from"),
    pytest.param({"ip_ranges": [IpRangeRequest("hello")]}, "ipRanges[0].from", id="word-from"),
    pytest.param(
        {"ip_ranges": [IpRangeRequest("10.0.0.1", "10.0.0.x")]}, "ipRanges[0].to", id="bad-to"
    ),
    pytest.param(
        {"ip_ranges": [IpRangeRequest("10.0.0.9", "10.0.0.1")]}, "ipRanges[0].to", id="reversed"
    ),
    pytest.param(
        {"ip_ranges": [IpRangeRequest("10.0.0.1", "2001:db8::1")]},
        "ipRanges[0].to",
        id="mixed-families",
    ),
    pytest.param({"ip_ranges": [IpRangeRequest("10.0.0.0/33")]}, "ipRanges[0].from", id="bad-cidr"),
    pytest.param(
        {"ip_ranges": [IpRangeRequest("10.0.0.0/8", "10.0.0.9")]},
        "ipRanges[0].to",
        id="cidr-with-to",
    ),
    pytest.param(
        {"ip_ranges": [IpRangeRequest("10.0.0.1", label="l" * 101)]},
        "ipRanges[0].label",
        id="label-too-long",
    ),
    pytest.param(
        {"ip_ranges": [VALID_RANGE, IpRangeRequest("::1"), IpRangeRequest("1.2.3.4", "1.2.3.0")]},
        "ipRanges[2].to",
        id="reversed-after-valid-ranges",
    ),
    pytest.param(
        {"ip_ranges": [IpRangeRequest(f"10.0.0.{i}") for i in range(101)]},
        "ipRanges",
        id="too-many-ranges",
    ),
]


@pytest.mark.parametrize(("changes", "field"), REFUSED_CREATES)
async def test_invalid_create_is_refused_naming_the_field_and_writes_nothing(
    changes: dict[str, Any], field: str
) -> None:
    await create("Existing", grants=[VALID_GRANT], ip_ranges=[VALID_RANGE])
    before = await row_counts()
    arguments: dict[str, Any] = {"name": "New", "grants": [VALID_GRANT], "ip_ranges": [VALID_RANGE]}
    arguments.update(changes)

    with pytest.raises(InvalidInput) as refused:
        await create(**arguments)

    assert refused.value.field == field
    assert refused.value.code == "BAD_USER_INPUT"
    assert await row_counts() == before


# --- create: secrets ------------------------------------------------------------------------------


async def test_create_issues_a_well_formed_access_token_and_refresh_key() -> None:
    issued = await create()

    assert_secret_format(issued.access_token, "sat_")
    assert_secret_format(issued.refresh_key, "satr_")
    assert issued.access_token != issued.refresh_key


async def test_token_hint_is_the_last_four_characters_of_the_access_token() -> None:
    issued = await create()

    assert issued.token.token_hint == issued.access_token[-4:]
    assert (
        (await views.get(token_id=str(issued.token.id), now=NOW)).token_hint
        == (  # type: ignore[union-attr]
            issued.access_token[-4:]
        )
    )


async def test_two_tokens_get_different_secrets() -> None:
    first, second = await create("One"), await create("Two")

    assert first.access_token != second.access_token
    assert first.refresh_key != second.refresh_key


async def test_only_sha256_digests_of_the_secrets_are_stored() -> None:
    issued = await create(grants=[VALID_GRANT], ip_ranges=[VALID_RANGE])

    credential = await Credential.get(token_id=issued.token.id)
    assert credential.access_digest == hashlib.sha256(issued.access_token.encode()).hexdigest()
    assert credential.refresh_digest == hashlib.sha256(issued.refresh_key.encode()).hexdigest()
    stored = await all_stored_values()
    for secret in (issued.access_token, issued.refresh_key):
        body = secret.split("_", 1)[1][:40]
        assert not [value for value in stored if secret in value or body in value]


# --- status ---------------------------------------------------------------------------------------


async def test_status_is_active_until_expiry_then_expired() -> None:
    issued = await create(expires_in_days=7)
    token_id = str(issued.token.id)
    expiry = NOW + timedelta(days=7)

    assert issued.token.status is TokenStatus.ACTIVE
    before_expiry = await views.get(token_id=token_id, now=expiry - timedelta(seconds=1))
    at_expiry = await views.get(token_id=token_id, now=expiry)
    assert before_expiry is not None
    assert before_expiry.status is TokenStatus.ACTIVE
    assert at_expiry is not None
    assert at_expiry.status is TokenStatus.EXPIRED


async def test_revoked_status_wins_over_expired() -> None:
    issued = await create(expires_in_days=1)
    await lifecycle.revoke(token_id=str(issued.token.id), actor=ACTOR, now=NOW)

    view = await views.get(token_id=str(issued.token.id), now=NOW + timedelta(days=5))

    assert view is not None
    assert view.status is TokenStatus.REVOKED


# --- grant ----------------------------------------------------------------------------------------


async def test_grant_upserts_per_area_and_folder_and_leaves_other_grants_alone() -> None:
    issued = await create(
        grants=[read("employees"), read("recruitment", "vacancies"), read("payroll")]
    )
    token_id = str(issued.token.id)

    view = await lifecycle.grant(
        token_id=token_id,
        grants=[
            flags("employees", r=True, w=True),
            flags("recruitment", "applications", d=True),
        ],
        actor=ACTOR,
        now=NOW,
    )

    expected = {
        ("employees", None, True, True, False),
        ("recruitment", "vacancies", True, False, False),
        ("recruitment", "applications", False, False, True),
        ("payroll", None, True, False, False),
    }
    assert grant_tuples(view) == expected
    assert await Grant.filter(token_id=issued.token.id).count() == 4
    stored = await views.get(token_id=token_id, now=NOW)
    assert stored is not None
    assert grant_tuples(stored) == expected


async def test_grant_with_all_flags_false_removes_only_that_grant() -> None:
    issued = await create(grants=[read("employees"), read("employees", "contracts")])

    view = await lifecycle.grant(
        token_id=str(issued.token.id), grants=[flags("employees")], actor=ACTOR, now=NOW
    )

    assert grant_tuples(view) == {("employees", "contracts", True, False, False)}
    assert await Grant.filter(token_id=issued.token.id).count() == 1


async def test_removing_a_grant_that_does_not_exist_changes_nothing() -> None:
    issued = await create(grants=[read("employees")])

    view = await lifecycle.grant(
        token_id=str(issued.token.id), grants=[flags("payroll")], actor=ACTOR, now=NOW
    )

    assert grant_tuples(view) == {("employees", None, True, False, False)}


async def test_grant_does_not_touch_other_tokens() -> None:
    mine = await create("Mine", grants=[read("employees")])
    other = await create("Other", grants=[read("employees")])

    await lifecycle.grant(
        token_id=str(mine.token.id),
        grants=[flags("employees"), read("payroll")],
        actor=ACTOR,
        now=NOW,
    )

    untouched = await views.get(token_id=str(other.token.id), now=NOW)
    assert untouched is not None
    assert grant_tuples(untouched) == {("employees", None, True, False, False)}


async def test_grant_writes_a_grants_changed_event() -> None:
    issued = await create()

    await lifecycle.grant(
        token_id=str(issued.token.id),
        grants=[read("employees", "contracts")],
        actor="bob",
        ip="203.0.113.9",
        now=NOW + timedelta(hours=1),
    )

    [event] = await events(audit.Action.GRANTS_CHANGED)
    assert (event.token_id, event.actor, event.ip) == (issued.token.id, "bob", "203.0.113.9")
    assert event.at == NOW + timedelta(hours=1)
    assert json.loads(event.detail or "") == {
        "grants": [
            {
                "area": "employees",
                "folder": "contracts",
                "read": True,
                "write": False,
                "delete": False,
            }
        ]
    }


@pytest.mark.parametrize("token_id", UNKNOWN_IDS)
async def test_grant_to_an_unknown_id_is_not_found(token_id: str) -> None:
    await create()
    before = await row_counts()

    with pytest.raises(NotFound):
        await lifecycle.grant(token_id=token_id, grants=[read("employees")], actor=ACTOR, now=NOW)

    assert await row_counts() == before


async def test_grant_on_a_revoked_token_is_a_conflict_and_writes_nothing() -> None:
    issued = await create(grants=[read("employees")])
    await lifecycle.revoke(token_id=str(issued.token.id), actor=ACTOR, now=NOW)
    before = await row_counts()

    with pytest.raises(Conflict):
        await lifecycle.grant(
            token_id=str(issued.token.id), grants=[read("payroll")], actor=ACTOR, now=NOW
        )

    assert await row_counts() == before


@pytest.mark.parametrize(
    ("grants", "field"),
    [
        ([read("nope")], "grants[0].area"),
        ([read("payroll"), flags("employees"), read("employees", "nope")], "grants[2].folder"),
        ([read("payroll"), flags("payroll", w=True)], "grants[1]"),
    ],
)
async def test_invalid_grant_is_refused_and_writes_nothing(
    grants: list[GrantRequest], field: str
) -> None:
    issued = await create(grants=[read("employees")])
    before = await row_counts()

    with pytest.raises(InvalidInput) as refused:
        await lifecycle.grant(token_id=str(issued.token.id), grants=grants, actor=ACTOR, now=NOW)

    assert refused.value.field == field
    assert await row_counts() == before
    view = await views.get(token_id=str(issued.token.id), now=NOW)
    assert view is not None
    assert grant_tuples(view) == {("employees", None, True, False, False)}


# --- restrict -------------------------------------------------------------------------------------


async def test_restrict_replaces_the_ranges() -> None:
    issued = await create(ip_ranges=[IpRangeRequest("10.0.0.0/8"), IpRangeRequest("::1")])

    view = await lifecycle.restrict(
        token_id=str(issued.token.id),
        ip_ranges=[IpRangeRequest("192.168.0.0/16", label="lan")],
        actor=ACTOR,
        now=NOW,
    )

    assert range_tuples(view) == [("lan", "192.168.0.0", "192.168.255.255")]
    assert await IpRange.filter(token_id=issued.token.id).count() == 1


async def test_restrict_with_an_empty_list_lifts_the_restriction() -> None:
    issued = await create(ip_ranges=[IpRangeRequest("10.0.0.0/8")])

    view = await lifecycle.restrict(
        token_id=str(issued.token.id), ip_ranges=[], actor=ACTOR, now=NOW
    )

    assert view.ip_ranges == ()
    assert await IpRange.filter(token_id=issued.token.id).count() == 0


async def test_restrict_does_not_touch_other_tokens() -> None:
    mine = await create("Mine", ip_ranges=[IpRangeRequest("10.0.0.1")])
    other = await create("Other", ip_ranges=[IpRangeRequest("10.0.0.2")])

    await lifecycle.restrict(token_id=str(mine.token.id), ip_ranges=[], actor=ACTOR, now=NOW)

    untouched = await views.get(token_id=str(other.token.id), now=NOW)
    assert untouched is not None
    assert range_tuples(untouched) == [(None, "10.0.0.2", "10.0.0.2")]


async def test_restrict_writes_an_ip_ranges_changed_event() -> None:
    issued = await create()

    await lifecycle.restrict(
        token_id=str(issued.token.id),
        ip_ranges=[IpRangeRequest("10.0.0.0/30", label="vpn")],
        actor="bob",
        ip="203.0.113.9",
        now=NOW,
    )

    [event] = await events(audit.Action.IP_RANGES_CHANGED)
    assert (event.token_id, event.actor, event.ip) == (issued.token.id, "bob", "203.0.113.9")
    assert json.loads(event.detail or "") == {
        "ipRanges": [{"label": "vpn", "from": "10.0.0.0", "to": "10.0.0.3"}]
    }


async def test_restrict_on_a_revoked_token_is_a_conflict_and_writes_nothing() -> None:
    issued = await create(ip_ranges=[VALID_RANGE])
    await lifecycle.revoke(token_id=str(issued.token.id), actor=ACTOR, now=NOW)
    before = await row_counts()

    with pytest.raises(Conflict):
        await lifecycle.restrict(token_id=str(issued.token.id), ip_ranges=[], actor=ACTOR, now=NOW)

    assert await row_counts() == before


@pytest.mark.parametrize("token_id", UNKNOWN_IDS)
async def test_restrict_of_an_unknown_id_is_not_found(token_id: str) -> None:
    await create()
    before = await row_counts()

    with pytest.raises(NotFound):
        await lifecycle.restrict(token_id=token_id, ip_ranges=[], actor=ACTOR, now=NOW)

    assert await row_counts() == before


@pytest.mark.parametrize(
    ("ranges", "field"),
    [
        ([IpRangeRequest("10.0.0.1"), IpRangeRequest("nope")], "ipRanges[1].from"),
        ([IpRangeRequest("10.0.0.1"), IpRangeRequest("10.0.0.9", "10.0.0.1")], "ipRanges[1].to"),
        ([IpRangeRequest("10.0.0.1", "::2")], "ipRanges[0].to"),
    ],
)
async def test_invalid_restrict_is_refused_and_keeps_the_old_ranges(
    ranges: list[IpRangeRequest], field: str
) -> None:
    issued = await create(ip_ranges=[VALID_RANGE])
    before = await row_counts()

    with pytest.raises(InvalidInput) as refused:
        await lifecycle.restrict(
            token_id=str(issued.token.id), ip_ranges=ranges, actor=ACTOR, now=NOW
        )

    assert refused.value.field == field
    assert await row_counts() == before
    view = await views.get(token_id=str(issued.token.id), now=NOW)
    assert view is not None
    assert range_tuples(view) == [(None, "10.0.0.0", "10.255.255.255")]


# --- revoke ---------------------------------------------------------------------------------------


async def test_revoke_sets_revoked_at_and_status() -> None:
    issued = await create()
    at = NOW + timedelta(hours=3)

    view = await lifecycle.revoke(token_id=str(issued.token.id), actor="bob", ip=ADMIN_IP, now=at)

    assert view.revoked_at == at
    assert view.status is TokenStatus.REVOKED
    [event] = await events(audit.Action.TOKEN_REVOKED)
    assert (event.token_id, event.actor, event.ip, event.at) == (
        issued.token.id,
        "bob",
        ADMIN_IP,
        at,
    )


async def test_revoking_twice_is_not_an_error_and_audits_once() -> None:
    issued = await create()
    token_id = str(issued.token.id)
    await lifecycle.revoke(token_id=token_id, actor=ACTOR, now=NOW)

    again = await lifecycle.revoke(token_id=token_id, actor=ACTOR, now=NOW + timedelta(days=1))

    assert again.status is TokenStatus.REVOKED
    assert again.revoked_at == NOW
    assert len(await events(audit.Action.TOKEN_REVOKED)) == 1


@pytest.mark.parametrize("token_id", UNKNOWN_IDS)
async def test_revoking_an_unknown_id_is_not_found(token_id: str) -> None:
    await create()
    before = await row_counts()

    with pytest.raises(NotFound):
        await lifecycle.revoke(token_id=token_id, actor=ACTOR, now=NOW)

    assert await row_counts() == before


# --- get and overview -----------------------------------------------------------------------------


@pytest.mark.parametrize("token_id", UNKNOWN_IDS)
async def test_get_of_an_unknown_or_garbage_id_is_none(token_id: str) -> None:
    await create()

    assert await views.get(token_id=token_id, now=NOW) is None


async def test_get_returns_the_token() -> None:
    issued = await create("Acme", grants=[VALID_GRANT])

    view = await views.get(token_id=str(issued.token.id), now=NOW)

    assert view == issued.token


def first_page(first: int = 50) -> PageRequest:
    return PageRequest.parse(first=first, after=None)


async def test_overview_lists_newest_first() -> None:
    for index, name in enumerate(["Oldest", "Middle", "Newest"]):
        await create(name, now=NOW + timedelta(minutes=index))

    page = await views.overview(page=first_page(), now=NOW)

    assert [v.name for v in page.nodes] == ["Newest", "Middle", "Oldest"]


async def test_overview_filters_by_status() -> None:
    await create("Short", expires_in_days=1)
    await create("Long", expires_in_days=30)
    gone = await create("Gone", expires_in_days=30)
    await lifecycle.revoke(token_id=str(gone.token.id), actor=ACTOR, now=NOW)
    later = NOW + timedelta(days=2)

    async def names(status: TokenStatus | None) -> set[str]:
        page = await views.overview(page=first_page(), status=status, now=later)
        assert page.total_count == len(page.nodes)
        return {v.name for v in page.nodes}

    assert await names(TokenStatus.ACTIVE) == {"Long"}
    assert await names(TokenStatus.EXPIRED) == {"Short"}
    assert await names(TokenStatus.REVOKED) == {"Gone"}
    assert await names(None) == {"Short", "Long", "Gone"}


async def test_overview_status_follows_the_clock() -> None:
    await create("Short", expires_in_days=1)

    today = await views.overview(page=first_page(), status=TokenStatus.ACTIVE, now=NOW)
    tomorrow = await views.overview(
        page=first_page(), status=TokenStatus.ACTIVE, now=NOW + timedelta(days=1)
    )

    assert [v.name for v in today.nodes] == ["Short"]
    assert tomorrow.nodes == ()


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("acme", {"100% Acme", "Acme_Beta", "AcmeXBeta", "ACME corp"}),
        ("ACME", {"100% Acme", "Acme_Beta", "AcmeXBeta", "ACME corp"}),
        ("e_b", {"Acme_Beta"}),
        ("_", {"Acme_Beta"}),
        ("%", {"100% Acme"}),
        ("0% a", {"100% Acme"}),
        ("me%", set()),
        ("corp", {"ACME corp"}),
        ("zzz", set()),
    ],
)
async def test_search_is_a_case_insensitive_literal_substring(
    search: str, expected: set[str]
) -> None:
    for name in ["100% Acme", "Acme_Beta", "AcmeXBeta", "ACME corp", "Other"]:
        await create(name)

    page = await views.overview(page=first_page(), search=search, now=NOW)

    assert {v.name for v in page.nodes} == expected
    assert page.total_count == len(expected)


@pytest.mark.parametrize("search", ["ärzte", "ÄRZTE", "übung", "ZTE ÜB"])
async def test_search_ignores_the_case_of_non_ascii_letters(search: str) -> None:
    """Names are any printable text, and the contract's case-insensitivity is not ASCII-only."""
    await create("Ärzte Übung")
    await create("Other")

    page = await views.overview(page=first_page(), search=search, now=NOW)

    assert [v.name for v in page.nodes] == ["Ärzte Übung"]


async def test_search_longer_than_100_characters_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        await views.overview(page=first_page(), search="x" * 101, now=NOW)

    assert refused.value.field == "search"


@pytest.mark.parametrize(("count", "size"), [(7, 3), (6, 2), (9, 2)])
async def test_paging_walks_every_token_once_newest_first(count: int, size: int) -> None:
    names = [f"page-{index}" for index in range(count)]
    for name in names:
        await create(name)
    await create("not in the search")

    seen: list[str] = []
    flags_seen: list[bool] = []
    after: str | None = None
    while True:
        page = await views.overview(
            page=PageRequest.parse(first=size, after=after), search="page", now=NOW
        )
        assert page.total_count == count
        assert len(page.nodes) <= size
        seen.extend(v.name for v in page.nodes)
        flags_seen.append(page.has_next_page)
        if not page.has_next_page:
            break
        after = page.end_cursor

    pages = -(-count // size)
    assert len(flags_seen) == pages >= 3
    assert flags_seen == [True] * (pages - 1) + [False]
    assert seen == list(reversed(names))


async def test_a_page_past_the_end_is_empty() -> None:
    issued = await create()

    page = await views.overview(
        page=PageRequest.parse(first=5, after=encode_cursor(issued.token.id)), now=NOW
    )

    assert page.nodes == ()
    assert page.has_next_page is False
    assert page.end_cursor is None
    assert page.total_count == 1


@pytest.mark.parametrize("first", [1, 100])
async def test_page_size_of_1_to_100_is_accepted(first: int) -> None:
    for name in ["One", "Two"]:
        await create(name)

    page = await views.overview(page=PageRequest.parse(first=first, after=None), now=NOW)

    assert len(page.nodes) == min(first, 2)
    assert page.has_next_page is (first == 1)


@pytest.mark.parametrize("first", [0, 101, -1])
def test_page_size_outside_1_to_100_is_refused(first: int) -> None:
    with pytest.raises(InvalidInput) as refused:
        PageRequest.parse(first=first, after=None)

    assert refused.value.field == "first"


@pytest.mark.parametrize(
    "after", ["garbage", "!!!", "aWQ6YWJj", "eDo1", "aWQ6", "aWQ6LTE", "%%%", "\u00e9"]
)
def test_a_cursor_this_list_did_not_return_is_refused(after: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        PageRequest.parse(first=10, after=after)

    assert refused.value.field == "after"


# --- audit ----------------------------------------------------------------------------------------


async def test_create_writes_a_token_created_event_without_secrets() -> None:
    issued = await create(
        "Acme", grants=[VALID_GRANT], ip_ranges=[VALID_RANGE], refresh_grace_seconds=60
    )

    [event] = await events(audit.Action.TOKEN_CREATED)
    assert (event.token_id, event.actor, event.ip, event.at) == (
        issued.token.id,
        ACTOR,
        ADMIN_IP,
        NOW,
    )
    detail = json.loads(event.detail or "")
    assert detail["name"] == "Acme"
    assert detail["expiresInDays"] == 365
    assert detail["refreshGraceSeconds"] == 60
    assert detail["ipRanges"] == [{"label": None, "from": "10.0.0.0", "to": "10.255.255.255"}]
    assert issued.access_token not in (event.detail or "")
    assert issued.refresh_key not in (event.detail or "")


async def test_no_audit_event_holds_a_secret() -> None:
    issued = await create(grants=[VALID_GRANT])
    token_id = str(issued.token.id)
    await lifecycle.grant(token_id=token_id, grants=[read("payroll")], actor=ACTOR, now=NOW)
    await lifecycle.restrict(token_id=token_id, ip_ranges=[VALID_RANGE], actor=ACTOR, now=NOW)
    await lifecycle.revoke(token_id=token_id, actor=ACTOR, now=NOW)

    rows = await AuditEvent.filter(token_id=issued.token.id).values()
    assert [r["action"] for r in rows] == [
        "TOKEN_CREATED",
        "GRANTS_CHANGED",
        "IP_RANGES_CHANGED",
        "TOKEN_REVOKED",
    ]
    text = json.dumps(rows, default=str)
    assert issued.access_token not in text
    assert issued.refresh_key not in text


CHANGES = [
    pytest.param(lambda token_id: create("Second"), id="create"),
    pytest.param(
        lambda token_id: lifecycle.grant(
            token_id=token_id, grants=[read("payroll")], actor=ACTOR, now=NOW
        ),
        id="grant",
    ),
    pytest.param(
        lambda token_id: lifecycle.restrict(token_id=token_id, ip_ranges=[], actor=ACTOR, now=NOW),
        id="restrict",
    ),
    pytest.param(
        lambda token_id: lifecycle.revoke(token_id=token_id, actor=ACTOR, now=NOW), id="revoke"
    ),
]


@pytest.mark.parametrize("change", CHANGES)
async def test_a_change_whose_audit_event_fails_is_rolled_back(
    change: Callable[[str], Awaitable[object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event is written in the change's transaction: no event, no change."""
    issued = await create("First", grants=[VALID_GRANT], ip_ranges=[VALID_RANGE])
    token_id = str(issued.token.id)
    before_rows = await all_stored_values()

    async def failing_record(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("audit storage is down")

    monkeypatch.setattr(audit, "record", failing_record)
    with pytest.raises(RuntimeError, match="audit storage is down"):
        await change(token_id)

    assert sorted(await all_stored_values()) == sorted(before_rows)
    view = await views.get(token_id=token_id, now=NOW)
    assert view == issued.token
