"""Who is calling: resolved once per request from ``Authorization: Bearer <secret>``."""

from __future__ import annotations

from tokens import admins, service_clients
from tokens.callers import Caller
from tokens.secrets import SecretKind


async def resolve(authorization: str | None) -> Caller | None:
    """The admin or service client behind the bearer secret; None for anything else."""
    if not authorization:
        return None
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    secret = secret.strip()
    if secret.startswith(SecretKind.ADMIN_SESSION.prefix):
        return await admins.authenticate(secret)
    if secret.startswith(SecretKind.SERVICE_CLIENT.prefix):
        return await service_clients.authenticate(secret)
    return None
