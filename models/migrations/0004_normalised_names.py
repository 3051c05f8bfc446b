"""Names are the same after NFKC normalisation and case folding, not case folding alone.

``shared_access_token.live_name`` and ``service_client.live_name`` (unique among live
rows) and ``shared_access_token.search_name`` are rewritten in the new form (see
``tokens.names.name_key``).

Existing near-duplicates (live names equal only once normalised, such as ``ACME`` and
full-width ``ＡＣＭＥ``) are kept, both still usable: a name already in the new form
keeps it, otherwise the oldest row takes the normalised key, and every other keeps
the key it had until an admin renames or revokes it. New names that normalise to any
of them are refused from now on. A name that NFKC expands past 100 characters also
keeps its earlier key. The reverse migration leaves the keys as they are: the earlier
code compares case-folded names, which normalised keys still are.
"""

import unicodedata
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

MAX_NAME_LENGTH = 100


def _key(name: str) -> str:
    # As tokens.names.name_key on the day of this migration; a migration keeps its own copy.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


async def _rewrite_live_names(client: Any, table: str) -> None:
    rows = await client.execute_query_dict(
        f'SELECT "id", "name", "live_name" FROM "{table}" '
        'WHERE "live_name" IS NOT NULL ORDER BY "id"'
    )
    old = {row["live_name"] for row in rows}
    used = {row["live_name"] for row in rows if _key(row["name"]) == row["live_name"]}
    changes: list[tuple[int, str]] = []
    for row in rows:
        key = _key(row["name"])
        if key == row["live_name"]:
            continue
        if len(key) <= MAX_NAME_LENGTH and key not in used and key not in old:
            used.add(key)
            changes.append((row["id"], key))
        else:
            used.add(row["live_name"])
    # Clear first, then set: no moment where two live rows hold one key.
    first, second = _placeholders(client)
    for row_id, _ in changes:
        await client.execute_query(
            f'UPDATE "{table}" SET "live_name" = NULL WHERE "id" = {first}', [row_id]
        )
    for row_id, key in changes:
        await client.execute_query(
            f'UPDATE "{table}" SET "live_name" = {first} WHERE "id" = {second}', [key, row_id]
        )


async def _rewrite_search_names(client: Any) -> None:
    rows = await client.execute_query_dict(
        'SELECT "id", "name", "search_name" FROM "shared_access_token"'
    )
    first, second = _placeholders(client)
    for row in rows:
        key = _key(row["name"])[:MAX_NAME_LENGTH]
        if key != row["search_name"]:
            await client.execute_query(
                f'UPDATE "shared_access_token" SET "search_name" = {first} WHERE "id" = {second}',
                [key, row["id"]],
            )


def _placeholders(client: Any) -> tuple[str, str]:
    return ("$1", "$2") if client.capabilities.dialect == "postgres" else ("?", "?")


async def normalise(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    await _rewrite_live_names(client, "shared_access_token")
    await _rewrite_live_names(client, "service_client")
    await _rewrite_search_names(client)


async def keep_keys(apps: Any, schema_editor: Any) -> None:
    """Normalised keys are case-folded too: the earlier code works with them as they are."""


class Migration(migrations.Migration):
    dependencies = [("models", "0003_token_management")]

    initial = False

    operations = [ops.RunPython(normalise, keep_keys)]
