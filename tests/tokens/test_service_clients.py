"""Service clients: their secrets, authentication, revocation, names and audit trail."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from models import AuditEvent, ServiceClient
from tests.support import NOW, events
from tokens import audit, secrets, service_clients
from tokens.errors import Conflict, InvalidInput, NotFound
from tokens.secrets import SecretKind

pytestmark = pytest.mark.usefixtures("db")

ADMIN_IP = "198.51.100.7"


async def create(name: str = "Gateway") -> service_clients.IssuedServiceClient:
    return await service_clients.create(name=name, actor="alice", ip=ADMIN_IP, now=NOW)


async def test_create_issues_a_well_formed_client_secret() -> None:
    issued = await create(" Gateway ")

    assert issued.secret.startswith("satc_")
    assert secrets.is_well_formed(SecretKind.SERVICE_CLIENT, issued.secret)
    assert issued.client.name == "Gateway"
    assert issued.client.created_at == NOW
    assert issued.client.revoked_at is None


async def test_only_a_sha256_digest_of_the_secret_is_stored() -> None:
    issued = await create()

    row = await ServiceClient.get(id=issued.client.id)
    assert row.secret_digest == hashlib.sha256(issued.secret.encode()).hexdigest()
    body = issued.secret[len("satc_") : -6]
    stored = [str(v) for r in await ServiceClient.all().values() for v in r.values()]
    stored += [str(v) for r in await AuditEvent.all().values() for v in r.values()]
    assert not [value for value in stored if body in value]


async def test_the_secret_authenticates_its_client() -> None:
    issued = await create()
    await create("Other")

    caller = await service_clients.authenticate(issued.secret)

    assert caller is not None
    assert (caller.client_id, caller.name) == (issued.client.id, "Gateway")


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "satc_",
        "garbage",
        secrets.generate(SecretKind.SERVICE_CLIENT),
        secrets.generate(SecretKind.ADMIN_SESSION),
        secrets.generate(SecretKind.ACCESS_TOKEN),
    ],
)
async def test_an_unknown_or_malformed_secret_authenticates_nobody(secret: str) -> None:
    await create()

    assert await service_clients.authenticate(secret) is None


async def test_a_secret_with_a_wrong_check_authenticates_nobody() -> None:
    issued = await create()
    tampered = issued.secret[:-1] + ("0" if issued.secret[-1] != "0" else "1")

    assert await service_clients.authenticate(tampered) is None


async def test_revoke_stops_authentication_at_once() -> None:
    issued = await create()
    other = await create("Other")
    assert await service_clients.authenticate(issued.secret) is not None

    view = await service_clients.revoke(
        client_id=str(issued.client.id), actor="alice", now=NOW + timedelta(hours=1)
    )

    assert view.revoked_at == NOW + timedelta(hours=1)
    assert await service_clients.authenticate(issued.secret) is None
    assert await service_clients.authenticate(other.secret) is not None


async def test_revoking_twice_is_fine_and_audited_once() -> None:
    issued = await create()
    client_id = str(issued.client.id)
    await service_clients.revoke(client_id=client_id, actor="alice", now=NOW)

    again = await service_clients.revoke(
        client_id=client_id, actor="alice", now=NOW + timedelta(days=1)
    )

    assert again.revoked_at == NOW
    assert len(await events(audit.Action.SERVICE_CLIENT_REVOKED)) == 1


@pytest.mark.parametrize("client_id", ["999", "abc", "", "-1", "1.5", "99999999999999999999"])
async def test_revoking_an_unknown_id_is_not_found(client_id: str) -> None:
    await create()
    before = await AuditEvent.all().count()

    with pytest.raises(NotFound):
        await service_clients.revoke(client_id=client_id, actor="alice", now=NOW)

    assert await AuditEvent.all().count() == before


async def test_names_are_unique_case_insensitively_among_live_clients() -> None:
    await create("Gateway")
    before = await ServiceClient.all().count(), await AuditEvent.all().count()

    with pytest.raises(Conflict):
        await create(" GATEWAY ")

    assert (await ServiceClient.all().count(), await AuditEvent.all().count()) == before


async def test_a_revoked_clients_name_can_be_reused() -> None:
    first = await create("Gateway")
    await service_clients.revoke(client_id=str(first.client.id), actor="alice", now=NOW)

    second = await create("gateway")

    assert second.client.id != first.client.id
    assert await service_clients.authenticate(second.secret) is not None


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\x07name"])
async def test_an_invalid_name_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await create(name)

    assert refused.value.field == "name"
    assert await ServiceClient.all().count() == 0


async def test_create_and_revoke_are_audited_without_the_secret() -> None:
    issued = await create()
    await service_clients.revoke(
        client_id=str(issued.client.id), actor="bob", ip="203.0.113.1", now=NOW
    )

    [created] = await events(audit.Action.SERVICE_CLIENT_CREATED)
    [revoked] = await events(audit.Action.SERVICE_CLIENT_REVOKED)
    assert (created.actor, created.ip) == ("alice", ADMIN_IP)
    assert (revoked.actor, revoked.ip) == ("bob", "203.0.113.1")
    for event in (created, revoked):
        assert json.loads(event.detail or "") == {
            "serviceClientId": issued.client.id,
            "name": "Gateway",
        }
        assert issued.secret not in (event.detail or "")


async def test_all_clients_lists_newest_first_including_revoked() -> None:
    first = await create("First")
    await create("Second")
    await service_clients.revoke(client_id=str(first.client.id), actor="alice", now=NOW)

    clients = await service_clients.all_clients()

    assert [(c.name, c.revoked_at) for c in clients] == [("Second", None), ("First", NOW)]
