"""Service clients: the services that may ask whether a token may do something."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import ServiceClient
from tokens import audit, changes, secrets
from tokens.cache import Cache
from tokens.callers import ServiceCaller
from tokens.clock import utcnow
from tokens.errors import Conflict, NotFound
from tokens.names import clean_name, parse_id
from tokens.secrets import SecretKind


@dataclass(frozen=True, slots=True)
class ServiceClientView:
    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedServiceClient:
    client: ServiceClientView
    secret: str


async def create(
    *, name: str, actor: str, ip: str | None = None, now: datetime | None = None
) -> IssuedServiceClient:
    """Create a client and its secret (``satc_...``), shown this once only."""
    now = now or utcnow()
    name = clean_name(name, field="name")
    secret = secrets.generate(SecretKind.SERVICE_CLIENT)
    try:
        async with in_transaction():
            row = await ServiceClient.create(
                name=name,
                live_name=name.casefold(),
                secret_digest=secrets.digest(secret),
                created_at=now,
                created_by=actor,
            )
            await audit.record(
                audit.Action.SERVICE_CLIENT_CREATED,
                actor=actor,
                at=now,
                ip=ip,
                detail={"serviceClientId": row.id, "name": name},
            )
    except IntegrityError:
        raise Conflict(f"name {name!r} is already used by a service client", field="name") from None
    return IssuedServiceClient(client=_view(row), secret=secret)


async def revoke(
    *, client_id: str, actor: str, ip: str | None = None, now: datetime | None = None
) -> ServiceClientView:
    """Revoke a client's secret at once; revoking twice is not an error."""
    now = now or utcnow()
    row_id = parse_id(client_id)
    async with in_transaction():
        row = None if row_id is None else await ServiceClient.get_or_none(id=row_id)
        if row is None:
            raise NotFound(f"no service client with id {client_id!r}")
        if row.revoked_at is None:
            row.revoked_at = now
            row.live_name = None
            await row.save(update_fields=["revoked_at", "live_name"])
            await audit.record(
                audit.Action.SERVICE_CLIENT_REVOKED,
                actor=actor,
                at=now,
                ip=ip,
                detail={"serviceClientId": row.id, "name": row.name},
            )
            await changes.announce(changes.client(row.id))
    _callers.forget(row.id)
    return _view(row)


async def all_clients() -> list[ServiceClientView]:
    return [_view(row) for row in await ServiceClient.all().order_by("-id")]


# Callers by secret digest (None: no live client), asked on every validateToken request.
_callers: Cache[str, ServiceCaller | None] = Cache(max_entries=10_000, max_age=5.0)


def configure_cache(*, max_age_seconds: float) -> None:
    _callers.max_age = max_age_seconds
    _callers.clear()


def forget_all() -> None:
    _callers.clear()


def forget_client(client_id: int) -> None:
    _callers.forget(client_id)


def enable_cache(enabled: bool) -> None:
    _callers.enabled = enabled


_SECRET_LENGTH = secrets.LENGTHS[SecretKind.SERVICE_CLIENT]


async def authenticate(secret: str) -> ServiceCaller | None:
    """The live service client holding ``secret``, or None."""
    if len(secret) != _SECRET_LENGTH:
        return None
    key = secrets.digest(secret)
    hit, caller = _callers.get(key)
    if hit:  # only well-formed secrets are ever looked up, so only they are cached
        return caller
    if not secrets.is_well_formed(SecretKind.SERVICE_CLIENT, secret):
        return None
    epoch = _callers.epoch
    row = await ServiceClient.get_or_none(secret_digest=key, revoked_at__isnull=True)
    caller = None if row is None else ServiceCaller(client_id=row.id, name=row.name)
    _callers.put(key, caller, epoch=epoch, group=None if caller is None else caller.client_id)
    return caller


def _view(row: ServiceClient) -> ServiceClientView:
    return ServiceClientView(
        id=row.id, name=row.name, created_at=row.created_at, revoked_at=row.revoked_at
    )
