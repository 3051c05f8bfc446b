"""What the introspection, /auth and metrics tests share: tokens and clients made in the domain."""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.testclient import TestClient

from models import SharedAccessToken
from tokens import lifecycle, secrets, service_clients
from tokens.clock import utcnow
from tokens.grants import GrantRequest
from tokens.ip_ranges import IpRangeRequest
from tokens.secrets import SecretKind

# A well-formed access token that no Shared Access Token ever had.
UNKNOWN_TOKEN = secrets.generate(SecretKind.ACCESS_TOKEN)
MALFORMED_TOKEN = "sat_not-a-token"


@dataclass(frozen=True)
class Issued:
    id: int
    name: str
    access_token: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Client:
    id: int
    secret: str

    @property
    def basic(self) -> str:
        pair = f"{self.id}:{self.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    @property
    def bearer(self) -> str:
        return f"Bearer {self.secret}"


def grant(area: str, folder: str | None = None, *, access: str = "r") -> GrantRequest:
    """A grant request: ``access`` holds the letters r, w and d."""
    return GrantRequest(
        area=area, folder=folder, read="r" in access, write="w" in access, delete="d" in access
    )


def make_token(
    client: TestClient,
    *,
    name: str = "payroll export",
    grants: Sequence[GrantRequest] = (),
    ranges: Sequence[str] = (),
    expires_in_days: int = 30,
    now: datetime | None = None,
) -> Issued:
    issued = client.portal.call(
        functools.partial(
            lifecycle.create,
            actor="alice",
            name=name,
            grants=grants,
            ip_ranges=[IpRangeRequest(start=r) for r in ranges],
            expires_in_days=expires_in_days,
            now=now,
        )
    )
    return Issued(
        id=issued.token.id,
        name=issued.token.name,
        access_token=issued.access_token,
        issued_at=now or issued.token.created_at,
        expires_at=issued.expires_at,
    )


def expired_token(client: TestClient) -> Issued:
    return make_token(client, name="long gone", expires_in_days=1, now=utcnow() - timedelta(days=2))


def revoke(client: TestClient, token: Issued) -> None:
    client.portal.call(functools.partial(lifecycle.revoke, token_id=str(token.id), actor="alice"))


def roll(client: TestClient, token: Issued) -> str:
    """Roll with no grace: ``token``'s access token is ROTATED from now on; the new one."""
    issued = client.portal.call(
        functools.partial(lifecycle.roll, token_id=str(token.id), grace_seconds=0, actor="alice")
    )
    return issued.access_token


def make_client(client: TestClient, name: str = "gateway") -> Client:
    issued = client.portal.call(functools.partial(service_clients.create, name=name, actor="alice"))
    return Client(id=issued.client.id, secret=issued.secret)


def revoke_client(client: TestClient, service: Client) -> None:
    client.portal.call(
        functools.partial(service_clients.revoke, client_id=str(service.id), actor="alice")
    )


def last_use(client: TestClient, token: Issued) -> tuple[datetime | None, str | None]:
    async def read() -> tuple[datetime | None, str | None]:
        row = await SharedAccessToken.get(id=token.id)
        return row.last_used_at, row.last_used_ip

    return client.portal.call(read)
