"""What SAT stores: Tortoise models, nothing else.

Secrets are never stored: only SHA-256 digests (hex) of them, and an argon2 hash
for admin passwords. Uniqueness that must hold only among live rows (token and
service client names) uses a nullable ``live_name`` column that is cleared on
revocation: NULLs never collide in a unique index on SQLite or PostgreSQL.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = [
    "Admin",
    "AdminSession",
    "Area",
    "AuditEvent",
    "Credential",
    "Folder",
    "Grant",
    "IpRange",
    "ServiceClient",
    "SharedAccessToken",
]


class Admin(Model):
    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=100, unique=True)
    password_hash = fields.CharField(max_length=255)
    created_at = fields.DatetimeField()

    class Meta:
        table = "admin"


class AdminSession(Model):
    id = fields.IntField(primary_key=True)
    admin: fields.ForeignKeyRelation[Admin] = fields.ForeignKeyField(
        "models.Admin", related_name="sessions", on_delete=fields.CASCADE
    )
    token_digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()

    class Meta:
        table = "admin_session"


class ServiceClient(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    live_name = fields.CharField(max_length=100, null=True, unique=True)
    secret_digest = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    created_by = fields.CharField(max_length=100)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "service_client"


class Area(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    position = fields.IntField()

    folders: fields.ReverseRelation[Folder]

    class Meta:
        table = "area"


class Folder(Model):
    id = fields.IntField(primary_key=True)
    area: fields.ForeignKeyRelation[Area] = fields.ForeignKeyField(
        "models.Area", related_name="folders", on_delete=fields.RESTRICT
    )
    key = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)
    position = fields.IntField()

    class Meta:
        table = "folder"
        unique_together = (("area", "key"),)


class SharedAccessToken(Model):
    """One third party's grant. ``expires_at`` and ``token_hint`` mirror its current credential."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    live_name = fields.CharField(max_length=100, null=True, unique=True)
    # casefold(name): SQLite's LIKE folds ASCII only, so search matches this instead.
    search_name = fields.CharField(max_length=100)
    created_at = fields.DatetimeField()
    created_by = fields.CharField(max_length=100)
    expires_in_days = fields.IntField()
    refresh_grace_seconds = fields.IntField()
    expires_at = fields.DatetimeField(db_index=True)
    token_hint = fields.CharField(max_length=4)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)
    last_used_ip = fields.CharField(max_length=45, null=True)

    grants: fields.ReverseRelation[Grant]
    ip_ranges: fields.ReverseRelation[IpRange]
    credentials: fields.ReverseRelation[Credential]

    class Meta:
        table = "shared_access_token"


class Credential(Model):
    """One issued pair: an access token and its refresh key, as digests.

    ``current_of`` holds the token's id while this pair is the current one and is
    NULL otherwise; its unique index makes two current pairs for one token
    impossible, whatever interleaving of requests happens.
    """

    id = fields.IntField(primary_key=True)
    token: fields.ForeignKeyRelation[SharedAccessToken] = fields.ForeignKeyField(
        "models.SharedAccessToken", related_name="credentials", on_delete=fields.CASCADE
    )
    current_of = fields.IntField(null=True, unique=True)
    access_digest = fields.CharField(max_length=64, unique=True)
    refresh_digest = fields.CharField(max_length=64, unique=True)
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    # The pair this one was refreshed from: presenting that pair's refresh key again
    # is a retry while this pair is unused.
    refreshed_from_id = fields.IntField(null=True)
    used_at = fields.DatetimeField(null=True)
    rotated_at = fields.DatetimeField(null=True)
    # Set with rotated_at: how long this access token stays valid after it (the token's
    # refresh grace at a refresh, the admin's choice at a roll).
    grace_seconds = fields.IntField(null=True)
    voided_at = fields.DatetimeField(null=True)
    # Set on every pair an admin's roll replaced: their refresh keys are refused from then
    # on, without being taken as reuse.
    rolled_at = fields.DatetimeField(null=True)

    class Meta:
        table = "credential"


class Grant(Model):
    id = fields.IntField(primary_key=True)
    token: fields.ForeignKeyRelation[SharedAccessToken] = fields.ForeignKeyField(
        "models.SharedAccessToken", related_name="grants", on_delete=fields.CASCADE
    )
    area: fields.ForeignKeyRelation[Area] = fields.ForeignKeyField(
        "models.Area", related_name="grants", on_delete=fields.RESTRICT
    )
    folder: fields.ForeignKeyNullableRelation[Folder] = fields.ForeignKeyField(
        "models.Folder", related_name="grants", null=True, on_delete=fields.RESTRICT
    )
    # "area" or "area/folder": one grant row per target, even where folder is NULL.
    target = fields.CharField(max_length=130)
    # ``delete`` would shadow Model.delete(): the flags carry an ``allow_`` prefix.
    allow_read = fields.BooleanField()
    allow_write = fields.BooleanField()
    allow_delete = fields.BooleanField()

    class Meta:
        table = "grant"
        unique_together = (("token", "target"),)


class IpRange(Model):
    id = fields.IntField(primary_key=True)
    # Indexed: validation reads a token's ranges by token_id (neither database
    # indexes foreign keys by itself).
    token: fields.ForeignKeyRelation[SharedAccessToken] = fields.ForeignKeyField(
        "models.SharedAccessToken",
        related_name="ip_ranges",
        on_delete=fields.CASCADE,
        db_index=True,
    )
    position = fields.IntField()
    label = fields.CharField(max_length=100, null=True)
    start = fields.CharField(max_length=45)
    end = fields.CharField(max_length=45)

    class Meta:
        table = "ip_range"


class AuditEvent(Model):
    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField()
    actor = fields.CharField(max_length=100)
    action = fields.CharField(max_length=40)
    # No foreign key: the trail outlives anything it mentions.
    token_id = fields.IntField(null=True, db_index=True)
    ip = fields.CharField(max_length=45, null=True)
    detail = fields.TextField(null=True)

    class Meta:
        table = "audit_event"
        # The failed-login limit counts recent events of one action and actor.
        indexes = (("action", "actor", "at"),)
