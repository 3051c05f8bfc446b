"""Service clients: the services that may ask whether a token may do something."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError

from models import ServiceClient
from tokens import audit, secrets
from tokens.caches import CACHES
from tokens.callers import ServiceCaller
from tokens.changes import Change
from tokens.clock import utcnow
from tokens.errors import Conflict, NotFound
from tokens.names import clean_name, name_key, parse_id
from tokens.secrets import SecretKind
from tokens.transactions import transaction


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
        async with transaction():
            row = await ServiceClient.create(
                name=name,
                live_name=name_key(name),
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
    async with transaction() as announce:
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
            await announce(Change.client(row.id))
    return _view(row)


async def all_clients() -> list[ServiceClientView]:
    return [_view(row) for row in await ServiceClient.all().order_by("-id")]


# Callers by secret digest (None: no live client), asked on every validateToken request.
_callers = CACHES.callers


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
    return await _callers.load(key)  # read as tokens.caches says


def _view(row: ServiceClient) -> ServiceClientView:
    return ServiceClientView(
        id=row.id, name=row.name, created_at=row.created_at, revoked_at=row.revoked_at
    )
