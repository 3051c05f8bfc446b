"""The GraphQL types of the contract, built from the domain's values (never from ORM rows)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Generic, Self, TypeVar

import strawberry

from tokens import audit, lifecycle, service_clients, validation, views
from tokens.catalog import AreaEntry, FolderEntry, FolderKind
from tokens.grants import Access
from tokens.ip_ranges import AddressRange
from tokens.lifetimes import DEFAULT_GRACE_SECONDS, DEFAULT_LIFETIME_DAYS, TokenStatus
from tokens.paging import Page
from tokens.validation import DenialReason

strawberry.enum(Access)
strawberry.enum(TokenStatus)
strawberry.enum(FolderKind)
strawberry.enum(DenialReason)

T = TypeVar("T")
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _copied(cls: type[T], source: object, **given: object) -> T:
    """A ``cls`` with the fields ``given``, and ``source``'s attributes for the others.

    The GraphQL types show the domain's values under the same names: what differs (an
    id as ``ID``, a nested value as its GraphQL type) is given, the rest is copied.
    """
    names = _FIELD_NAMES.get(cls)
    if names is None:  # once per type: dataclasses.fields() costs more than the copy
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        names = _FIELD_NAMES[cls] = tuple(f.name for f in fields)
    values = {name: getattr(source, name) for name in names if name not in given}
    return cls(**values, **given)


@strawberry.type(name="Folder")
class FolderType:
    key: str
    name: str
    kind: FolderKind

    @classmethod
    def of(cls, entry: FolderEntry) -> FolderType:
        return cls(key=entry.key, name=entry.name, kind=entry.kind)


@strawberry.type(name="Area")
class AreaType:
    key: str
    name: str
    folders: list[FolderType]

    @classmethod
    def of(cls, entry: AreaEntry) -> AreaType:
        return cls(
            key=entry.key, name=entry.name, folders=[FolderType.of(f) for f in entry.folders]
        )


@strawberry.type(name="Grant")
class GrantType:
    area: AreaType
    folder: FolderType | None
    read: bool
    write: bool
    delete: bool

    @classmethod
    def of(cls, view: views.GrantView) -> GrantType:
        folder = None if view.folder is None else FolderType.of(view.folder)
        return _copied(cls, view, area=AreaType.of(view.area), folder=folder)


@strawberry.type(name="IpRange")
class IpRangeType:
    label: str | None
    from_: str = strawberry.field(name="from")
    to: str

    @classmethod
    def of(cls, entry: AddressRange) -> IpRangeType:
        return cls(label=entry.label, from_=str(entry.start), to=str(entry.end))


@strawberry.type(name="SharedAccessToken")
class SharedAccessTokenType:
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
    grants: list[GrantType]
    ip_ranges: list[IpRangeType]

    @classmethod
    def of(cls, view: views.TokenView) -> SharedAccessTokenType:
        return _copied(
            cls,
            view,
            id=strawberry.ID(str(view.id)),
            grants=[GrantType.of(g) for g in view.grants],
            ip_ranges=[IpRangeType.of(r) for r in view.ip_ranges],
        )


@strawberry.type(
    name="IssuedSharedAccessToken", description="Secrets appear here once, never again."
)
class IssuedSharedAccessTokenType:
    shared_access_token: SharedAccessTokenType
    access_token: str
    refresh_key: str
    expires_at: datetime

    @classmethod
    def of(cls, issued: lifecycle.IssuedToken) -> IssuedSharedAccessTokenType:
        return _copied(cls, issued, shared_access_token=SharedAccessTokenType.of(issued.token))


@strawberry.type(name="PageInfo")
class PageInfoType:
    has_next_page: bool
    end_cursor: str | None

    @classmethod
    def of(cls, page: Page[object]) -> PageInfoType:
        return cls(has_next_page=page.has_next_page, end_cursor=page.end_cursor)


N = TypeVar("N")
V = TypeVar("V")


@strawberry.type
class Connection(Generic[N]):
    """A page of nodes as the contract shows one: the nodes, how many in all, where next."""

    nodes: list[N]
    total_count: int
    page_info: PageInfoType

    @classmethod
    def of(cls, page: Page[V], node: Callable[[V], N]) -> Self:
        return cls(
            nodes=[node(v) for v in page.nodes],
            total_count=page.total_count,
            page_info=PageInfoType.of(page),  # type: ignore[arg-type]
        )


@strawberry.type(name="SharedAccessTokenConnection")
class SharedAccessTokenConnectionType(Connection[SharedAccessTokenType]):
    pass


@strawberry.type(name="ValidatedToken")
class ValidatedTokenType:
    id: strawberry.ID
    name: str
    expires_at: datetime


@strawberry.type(name="TokenValidation")
class TokenValidationType:
    valid: bool
    reason: DenialReason | None
    shared_access_token: ValidatedTokenType | None

    @classmethod
    def of(cls, result: validation.Validation) -> TokenValidationType:
        token = result.token
        return cls(
            valid=result.valid,
            reason=result.reason,
            shared_access_token=None
            if token is None
            else ValidatedTokenType(
                id=strawberry.ID(str(token.id)), name=token.name, expires_at=token.expires_at
            ),
        )


@strawberry.type(name="Admin")
class AdminType:
    username: str


@strawberry.type(name="AdminSession")
class AdminSessionType:
    token: str
    expires_at: datetime
    admin: AdminType


@strawberry.type(name="ServiceClient")
class ServiceClientType:
    id: strawberry.ID
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, view: service_clients.ServiceClientView) -> ServiceClientType:
        return _copied(cls, view, id=strawberry.ID(str(view.id)))


@strawberry.type(name="IssuedServiceClient")
class IssuedServiceClientType:
    service_client: ServiceClientType
    secret: str


@strawberry.type(name="AuditEvent")
class AuditEventType:
    id: strawberry.ID
    at: datetime
    actor: str
    action: str
    shared_access_token_id: strawberry.ID | None
    ip: str | None
    detail: str | None

    @classmethod
    def of(cls, entry: audit.AuditEntry) -> AuditEventType:
        token_id = None if entry.token_id is None else strawberry.ID(str(entry.token_id))
        return _copied(cls, entry, id=strawberry.ID(str(entry.id)), shared_access_token_id=token_id)


@strawberry.type(name="AuditEventConnection")
class AuditEventConnectionType(Connection[AuditEventType]):
    pass


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
    expires_in_days: int | None = DEFAULT_LIFETIME_DAYS
    grants: list[GrantInput] | None = strawberry.field(default_factory=list)
    ip_ranges: list[IpRangeInput] | None = strawberry.field(default_factory=list)
    refresh_grace_seconds: int | None = DEFAULT_GRACE_SECONDS


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
