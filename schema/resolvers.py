"""Query and Mutation: each resolver translates arguments, calls the domain, translates back."""

from __future__ import annotations

from typing import Annotated, TypeVar

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.permissions import ADMIN, SERVICE_OR_ADMIN
from schema.types import (
    AdminSessionType,
    AdminType,
    AreaType,
    AuditEventConnectionType,
    AuditEventType,
    CreateSharedAccessTokenInput,
    GrantInput,
    IpRangeInput,
    IssuedServiceClientType,
    IssuedSharedAccessTokenType,
    ServiceClientType,
    SharedAccessTokenConnectionType,
    SharedAccessTokenType,
    TokenValidationType,
    UpdateSharedAccessTokenInput,
)
from tokens import admins, audit, catalog, lifecycle, refresh, service_clients, views
from tokens.callers import AdminCaller, ServiceCaller
from tokens.grants import Access, GrantRequest
from tokens.ip_ranges import IpRangeRequest
from tokens.lifetimes import DEFAULT_GRACE_SECONDS, DEFAULT_LIFETIME_DAYS, TokenStatus
from tokens.paging import DEFAULT_PAGE_SIZE, PageRequest

Ctx = Info[Context, None]
T = TypeVar("T")


def _grants(entries: list[GrantInput] | None) -> list[GrantRequest]:
    return [
        GrantRequest(
            area=g.area, folder=_given(g.folder), read=g.read, write=g.write, delete=g.delete
        )
        for g in entries or []
    ]


def _ranges(entries: list[IpRangeInput] | None) -> list[IpRangeRequest]:
    # Omitted optional fields arrive as UNSET: the domain sees None.
    return [
        IpRangeRequest(start=r.from_, end=r.to or None, label=r.label or None)
        for r in entries or []
    ]


@strawberry.type
class Query:
    @strawberry.field(description="The logged-in admin; null when not logged in.")
    def me(self, info: Ctx) -> AdminType | None:
        caller = info.context.caller
        return AdminType(username=caller.username) if isinstance(caller, AdminCaller) else None

    @strawberry.field(
        permission_classes=SERVICE_OR_ADMIN, description="The area/folder tree, in catalog order."
    )
    async def areas(self) -> list[AreaType]:
        return [AreaType.of(entry) for entry in (await catalog.load()).areas]

    @strawberry.field(permission_classes=ADMIN)
    async def shared_access_tokens(
        self,
        info: Ctx,
        status: TokenStatus | None = strawberry.UNSET,
        search: str | None = strawberry.UNSET,
        expires_within_days: Annotated[
            int | None,
            strawberry.argument(
                description="Only ACTIVE tokens whose access token expires within N days (1..365)."
            ),
        ] = strawberry.UNSET,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = strawberry.UNSET,
    ) -> SharedAccessTokenConnectionType:
        page = PageRequest.parse(first=_or(first, DEFAULT_PAGE_SIZE), after=after or None)
        return SharedAccessTokenConnectionType.of(
            await views.overview(
                page=page,
                status=status or None,
                search=search or None,
                expires_within_days=_given(expires_within_days),
                now=info.context.now(),
            ),
            SharedAccessTokenType.of,
        )

    @strawberry.field(permission_classes=ADMIN)
    async def shared_access_token(
        self, info: Ctx, id: strawberry.ID
    ) -> SharedAccessTokenType | None:
        view = await views.get(token_id=id, now=info.context.now())
        return None if view is None else SharedAccessTokenType.of(view)

    @strawberry.field(permission_classes=SERVICE_OR_ADMIN)
    async def validate_token(
        self,
        info: Ctx,
        *,
        token: str,
        ip: str,
        area: str,
        folder: str | None = strawberry.UNSET,
        access: Access,
    ) -> TokenValidationType:
        result = await info.context.validate(
            token=token,
            ip=ip,
            area=area,
            # Omitted means no folder; "" is a folder name (that no area has).
            folder=None if folder is strawberry.UNSET else folder,
            access=access,
            last_used_interval=info.context.last_used_interval,
        )
        return TokenValidationType.of(result)

    @strawberry.field(permission_classes=ADMIN)
    async def audit_events(
        self,
        shared_access_token_id: strawberry.ID | None = strawberry.UNSET,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = strawberry.UNSET,
    ) -> AuditEventConnectionType:
        page = PageRequest.parse(first=_or(first, DEFAULT_PAGE_SIZE), after=after or None)
        return AuditEventConnectionType.of(
            await audit.events(token_id=_given(shared_access_token_id), page=page),
            AuditEventType.of,
        )

    @strawberry.field(permission_classes=ADMIN)
    async def service_clients(self) -> list[ServiceClientType]:
        return [ServiceClientType.of(v) for v in await service_clients.all_clients()]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Exchange a username and password for a session token.")
    async def login(self, info: Ctx, username: str, password: str) -> AdminSessionType:
        session = await admins.login(
            username=username,
            password=password,
            ip=info.context.client_ip,
            lifetime=info.context.session_lifetime,
            rate_limited=not isinstance(info.context.caller, ServiceCaller),
            now=info.context.now(),
        )
        if info.context.session_cookie is not None:
            info.context.session_cookie.start(session.token, info.context.session_lifetime)
        return AdminSessionType(
            token=session.token,
            expires_at=session.expires_at,
            admin=AdminType(username=session.username),
        )

    @strawberry.mutation(permission_classes=ADMIN, description="End this admin session.")
    async def logout(self, info: Ctx) -> bool:
        await admins.logout(
            caller=info.context.admin, ip=info.context.client_ip, now=info.context.now()
        )
        if info.context.session_cookie is not None:
            info.context.session_cookie.end()
        return True

    @strawberry.mutation(permission_classes=ADMIN)
    async def create_shared_access_token(
        self, info: Ctx, input: CreateSharedAccessTokenInput
    ) -> IssuedSharedAccessTokenType:
        issued = await lifecycle.create(
            name=input.name,
            expires_in_days=_or(input.expires_in_days, DEFAULT_LIFETIME_DAYS),
            grants=_grants(input.grants),
            ip_ranges=_ranges(input.ip_ranges),
            refresh_grace_seconds=_or(input.refresh_grace_seconds, DEFAULT_GRACE_SECONDS),
            **info.context.admin_act(),
        )
        return IssuedSharedAccessTokenType.of(issued)

    @strawberry.mutation(permission_classes=ADMIN)
    async def grant(
        self, info: Ctx, shared_access_token_id: strawberry.ID, grants: list[GrantInput]
    ) -> SharedAccessTokenType:
        view = await lifecycle.grant(
            token_id=shared_access_token_id,
            grants=_grants(grants),
            **info.context.admin_act(),
        )
        return SharedAccessTokenType.of(view)

    @strawberry.mutation(permission_classes=ADMIN)
    async def restrict(
        self, info: Ctx, shared_access_token_id: strawberry.ID, ip_ranges: list[IpRangeInput]
    ) -> SharedAccessTokenType:
        view = await lifecycle.restrict(
            token_id=shared_access_token_id,
            ip_ranges=_ranges(ip_ranges),
            **info.context.admin_act(),
        )
        return SharedAccessTokenType.of(view)

    @strawberry.mutation(description="Trade a refresh key for a new access token and refresh key.")
    async def refresh_access_token(
        self, info: Ctx, refresh_key: str
    ) -> IssuedSharedAccessTokenType:
        issued = await refresh.refresh(
            refresh_key=refresh_key,
            ip=info.context.client_ip,
            rate_limited=not isinstance(info.context.caller, ServiceCaller),
            now=info.context.now(),
        )
        return IssuedSharedAccessTokenType.of(issued)

    @strawberry.mutation(permission_classes=ADMIN)
    async def revoke_shared_access_token(
        self, info: Ctx, id: strawberry.ID
    ) -> SharedAccessTokenType:
        view = await lifecycle.revoke(token_id=id, **info.context.admin_act())
        return SharedAccessTokenType.of(view)

    @strawberry.mutation(
        permission_classes=ADMIN,
        description="Change a token's name, refresh grace or lifetime; only the fields given.",
    )
    async def update_shared_access_token(
        self, info: Ctx, id: strawberry.ID, input: UpdateSharedAccessTokenInput
    ) -> SharedAccessTokenType:
        view = await lifecycle.update(
            token_id=id,
            name=_given(input.name),
            refresh_grace_seconds=_given(input.refresh_grace_seconds),
            expires_in_days=_given(input.expires_in_days),
            **info.context.admin_act(),
        )
        return SharedAccessTokenType.of(view)

    @strawberry.mutation(
        permission_classes=ADMIN,
        description=(
            "An admin's rotation: a new access token and refresh key, shown once. The previous "
            "access token stays valid for graceSeconds; earlier refresh keys stop working."
        ),
    )
    async def roll_shared_access_token(
        self, info: Ctx, id: strawberry.ID, grace_seconds: int | None = DEFAULT_GRACE_SECONDS
    ) -> IssuedSharedAccessTokenType:
        issued = await lifecycle.roll(
            token_id=id,
            grace_seconds=_or(grace_seconds, DEFAULT_GRACE_SECONDS),
            **info.context.admin_act(),
        )
        return IssuedSharedAccessTokenType.of(issued)

    @strawberry.mutation(permission_classes=ADMIN)
    async def create_service_client(self, info: Ctx, name: str) -> IssuedServiceClientType:
        issued = await service_clients.create(
            name=name,
            **info.context.admin_act(),
        )
        return IssuedServiceClientType(
            service_client=ServiceClientType.of(issued.client), secret=issued.secret
        )

    @strawberry.mutation(permission_classes=ADMIN)
    async def revoke_service_client(self, info: Ctx, id: strawberry.ID) -> ServiceClientType:
        view = await service_clients.revoke(
            client_id=id,
            **info.context.admin_act(),
        )
        return ServiceClientType.of(view)


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _given(value: T | None) -> T | None:
    """An optional argument as the domain takes it: omitted (UNSET) and null are None."""
    return None if value is strawberry.UNSET else value
