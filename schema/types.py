"""The GraphQL types of the contract, built from the domain's values (never from ORM rows)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from tokens import audit, lifecycle, service_clients, validation
from tokens.catalog import AreaEntry, FolderEntry, FolderKind
from tokens.grants import Access
from tokens.ip_ranges import IpRange as DomainIpRange
from tokens.lifecycle import TokenStatus
from tokens.paging import Page
from tokens.validation import DenialReason

strawberry.enum(Access)
strawberry.enum(TokenStatus)
strawberry.enum(FolderKind)
strawberry.enum(DenialReason)


@strawberry.type
class Folder:
    key: str
    name: str
    kind: FolderKind

    @classmethod
    def of(cls, entry: FolderEntry) -> Folder:
        return cls(key=entry.key, name=entry.name, kind=entry.kind)


@strawberry.type
class Area:
    key: str
    name: str
    folders: list[Folder]

    @classmethod
    def of(cls, entry: AreaEntry) -> Area:
        return cls(key=entry.key, name=entry.name, folders=[Folder.of(f) for f in entry.folders])


@strawberry.type
class Grant:
    area: Area
    folder: Folder | None
    read: bool
    write: bool
    delete: bool


@strawberry.type
class IpRange:
    label: str | None
    from_: str = strawberry.field(name="from")
    to: str

    @classmethod
    def of(cls, entry: DomainIpRange) -> IpRange:
        return cls(label=entry.label, from_=str(entry.start), to=str(entry.end))


@strawberry.type
class SharedAccessToken:
    id: strawberry.ID
    name: str
    status: TokenStatus
    created_at: datetime
    created_by: str
    expires_in_days: int
    expires_at: datetime
    refresh_grace_seconds: int
    revoked_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None
    token_hint: str
    grants: list[Grant]
    ip_ranges: list[IpRange]

    @classmethod
    def of(cls, view: lifecycle.TokenView) -> SharedAccessToken:
        return cls(
            id=strawberry.ID(str(view.id)),
            name=view.name,
            status=view.status,
            created_at=view.created_at,
            created_by=view.created_by,
            expires_in_days=view.expires_in_days,
            expires_at=view.expires_at,
            refresh_grace_seconds=view.refresh_grace_seconds,
            revoked_at=view.revoked_at,
            last_used_at=view.last_used_at,
            last_used_ip=view.last_used_ip,
            token_hint=view.token_hint,
            grants=[
                Grant(
                    area=Area.of(g.area),
                    folder=None if g.folder is None else Folder.of(g.folder),
                    read=g.read,
                    write=g.write,
                    delete=g.delete,
                )
                for g in view.grants
            ],
            ip_ranges=[IpRange.of(r) for r in view.ip_ranges],
        )


@strawberry.type(description="Secrets appear here once, never again.")
class IssuedSharedAccessToken:
    shared_access_token: SharedAccessToken
    access_token: str
    refresh_key: str
    expires_at: datetime

    @classmethod
    def of(cls, issued: lifecycle.IssuedToken) -> IssuedSharedAccessToken:
        return cls(
            shared_access_token=SharedAccessToken.of(issued.token),
            access_token=issued.access_token,
            refresh_key=issued.refresh_key,
            expires_at=issued.expires_at,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[object]) -> PageInfo:
        return cls(has_next_page=page.has_next_page, end_cursor=page.end_cursor)


@strawberry.type
class SharedAccessTokenConnection:
    nodes: list[SharedAccessToken]
    total_count: int
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[lifecycle.TokenView]) -> SharedAccessTokenConnection:
        return cls(
            nodes=[SharedAccessToken.of(v) for v in page.nodes],
            total_count=page.total_count,
            page_info=PageInfo.of(page),  # type: ignore[arg-type]
        )


@strawberry.type
class ValidatedToken:
    id: strawberry.ID
    name: str
    expires_at: datetime


@strawberry.type
class TokenValidation:
    valid: bool
    reason: DenialReason | None
    shared_access_token: ValidatedToken | None

    @classmethod
    def of(cls, result: validation.Validation) -> TokenValidation:
        token = result.token
        return cls(
            valid=result.valid,
            reason=result.reason,
            shared_access_token=None
            if token is None
            else ValidatedToken(
                id=strawberry.ID(str(token.id)), name=token.name, expires_at=token.expires_at
            ),
        )


@strawberry.type
class Admin:
    username: str


@strawberry.type
class AdminSession:
    token: str
    expires_at: datetime
    admin: Admin


@strawberry.type
class ServiceClient:
    id: strawberry.ID
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, view: service_clients.ServiceClientView) -> ServiceClient:
        return cls(
            id=strawberry.ID(str(view.id)),
            name=view.name,
            created_at=view.created_at,
            revoked_at=view.revoked_at,
        )


@strawberry.type
class IssuedServiceClient:
    service_client: ServiceClient
    secret: str


@strawberry.type
class AuditEvent:
    id: strawberry.ID
    at: datetime
    actor: str
    action: str
    shared_access_token_id: strawberry.ID | None
    ip: str | None
    detail: str | None

    @classmethod
    def of(cls, entry: audit.AuditEntry) -> AuditEvent:
        return cls(
            id=strawberry.ID(str(entry.id)),
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            shared_access_token_id=None
            if entry.token_id is None
            else strawberry.ID(str(entry.token_id)),
            ip=entry.ip,
            detail=entry.detail,
        )


@strawberry.type
class AuditEventConnection:
    nodes: list[AuditEvent]
    total_count: int
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[audit.AuditEntry]) -> AuditEventConnection:
        return cls(
            nodes=[AuditEvent.of(e) for e in page.nodes],
            total_count=page.total_count,
            page_info=PageInfo.of(page),  # type: ignore[arg-type]
        )


@strawberry.input
class GrantInput:
    area: str
    folder: str | None = strawberry.UNSET
    read: bool
    write: bool
    delete: bool


@strawberry.input
class IpRangeInput:
    label: str | None = strawberry.UNSET
    from_: str = strawberry.field(name="from")
    to: str | None = strawberry.UNSET


@strawberry.input
class CreateSharedAccessTokenInput:
    name: str
    expires_in_days: int | None = 365
    grants: list[GrantInput] | None = strawberry.field(default_factory=list)
    ip_ranges: list[IpRangeInput] | None = strawberry.field(default_factory=list)
    refresh_grace_seconds: int | None = 0


@strawberry.input(
    description="Only the fields given change; omitted or null leaves a field as it is."
)
class UpdateSharedAccessTokenInput:
    name: str | None = strawberry.UNSET
    refresh_grace_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="0..86400; for rotations from now on"
    )
    expires_in_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="1..365; applies from the next refresh or roll"
    )
