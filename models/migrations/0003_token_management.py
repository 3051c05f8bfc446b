"""Per-pair grace and admin rolls (``rollSharedAccessToken``).

``credential.grace_seconds``: how long a rotated access token stays valid after its
``rotated_at``. Until now that was read from the token's ``refresh_grace_seconds`` at
validation time; it is now fixed when the pair is rotated, so that a roll can choose its
own grace and changing a token's grace later does not reach back. Pairs rotated before
this migration get the grace their token has now, which is what they were checked with.

``credential.rolled_at``: set on every pair a roll replaced; their refresh keys are
refused without being taken as reuse.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def carry_grace(apps: Any, schema_editor: Any) -> None:
    await schema_editor.client.execute_script(
        'UPDATE "credential" SET "grace_seconds" = ('
        'SELECT t."refresh_grace_seconds" FROM "shared_access_token" t '
        'WHERE t."id" = "credential"."token_id") WHERE "rotated_at" IS NOT NULL'
    )


async def nothing_to_undo(apps: Any, schema_editor: Any) -> None:
    """The column goes away with the reverse of AddField."""


class Migration(migrations.Migration):
    dependencies = [("models", "0002_room_for_in_place_updates")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Credential",
            name="grace_seconds",
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name="Credential",
            name="rolled_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(carry_grace, nothing_to_undo),
    ]
