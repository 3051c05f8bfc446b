"""Names are unique after NFKC and case folding; migration 0004 keeps old data valid."""

from __future__ import annotations

import importlib
import unicodedata

import pytest
from tortoise import connections

from models import ServiceClient, SharedAccessToken
from tests.support import NOW
from tokens import lifecycle, service_clients, views
from tokens.errors import Conflict, InvalidInput
from tokens.names import name_key
from tokens.paging import PageRequest

pytestmark = pytest.mark.usefixtures("db")

ACTOR = "alice"
migration = importlib.import_module("models.migrations.0004_normalised_names")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("ACME", "ＡＣＭＥ", id="full-width"),
        pytest.param(
            unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "café"), id="nfc-nfd"
        ),
        pytest.param("office", "oﬃce", id="ligature"),
        pytest.param("Straße", "STRASSE", id="sharp-s"),
    ],
)
async def test_look_alike_token_names_conflict(first: str, second: str) -> None:
    await lifecycle.create(actor=ACTOR, name=first, ip=None, now=NOW)

    with pytest.raises(Conflict):
        await lifecycle.create(actor=ACTOR, name=second, ip=None, now=NOW)


async def test_look_alike_service_client_names_conflict() -> None:
    await service_clients.create(name="Gateway", actor=ACTOR, now=NOW)

    with pytest.raises(Conflict):
        await service_clients.create(name="ＧＡＴＥＷＡＹ", actor=ACTOR, now=NOW)


async def test_search_finds_a_name_in_any_of_its_forms() -> None:
    await lifecycle.create(actor=ACTOR, name="Ｐａｙｒｏｌｌ sync", ip=None, now=NOW)

    page = await views.overview(
        page=PageRequest.parse(first=50, after=None), search="PAYROLL", now=NOW
    )

    assert [t.name for t in page.nodes] == ["Ｐａｙｒｏｌｌ sync"]


def test_a_name_that_normalisation_expands_past_100_characters_is_refused() -> None:
    with pytest.raises(InvalidInput):
        name_key("\ufdfa" * 10)  # each expands to 18 characters


async def test_the_migration_normalises_keys_and_keeps_near_duplicates_usable() -> None:
    """Rows written with case folding alone: two of them become equal once normalised."""
    rows = [
        ("ＡＣＭＥ", "ａｃｍｅ"),  # the oldest: takes the normalised key
        ("Acme ", "acme "),  # distinct before and after (a trailing space kept by the old code)
        ("ACME", "acme"),  # already normalised: keeps "acme", so the oldest keeps its own
        ("Ｐａｙｒｏｌｌ", "ｐａｙｒｏｌｌ"),  # no clash: normalised
    ]
    for i, (name, live) in enumerate(rows):
        issued = await lifecycle.create(actor=ACTOR, name=f"t{i}", ip=None, now=NOW)
        await SharedAccessToken.filter(id=issued.token.id).update(
            name=name, live_name=live, search_name=live
        )

    await migration.normalise(None, _Editor())

    stored = {t.name: (t.live_name, t.search_name) for t in await SharedAccessToken.all()}
    assert stored == {
        "ＡＣＭＥ": ("ａｃｍｅ", "acme"),
        "Acme ": ("acme ", "acme "),
        "ACME": ("acme", "acme"),
        "Ｐａｙｒｏｌｌ": ("payroll", "payroll"),
    }
    with pytest.raises(Conflict):
        await lifecycle.create(actor=ACTOR, name="ａｃｍｅ", ip=None, now=NOW)
    with pytest.raises(Conflict):
        await lifecycle.create(actor=ACTOR, name="PAYROLL", ip=None, now=NOW)


async def test_the_migration_normalises_service_client_names() -> None:
    await ServiceClient.create(
        name="ＧＡＴＥＷＡＹ",
        live_name="ｇａｔｅｗａｙ",
        secret_digest="0" * 64,
        created_at=NOW,
        created_by=ACTOR,
    )

    await migration.normalise(None, _Editor())

    assert [c.live_name for c in await ServiceClient.all()] == ["gateway"]


class _Editor:
    """What the migration reads of Tortoise's schema editor: its database client."""

    @property
    def client(self) -> object:
        return connections.get("default")
