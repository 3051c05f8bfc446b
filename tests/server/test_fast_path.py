"""The compiled validateToken path answers what Strawberry answers, byte for byte, and does answer.

Hypothesis writes documents of every shape the fast path is meant to take (aliases,
``__typename``, variables or literals, any order and subset of fields, a folder given,
null or omitted) and asks them about tokens in every state. Each is sent twice to the
same running app: once with Strawberry's executor patched to fail, so that only the fast
path can answer, and once with the fast path declining everything, so that only
Strawberry does. The two responses must be the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from schema import schema
from schema.compiled import CompiledDocuments
from tests.server.test_http import create_token, login, post, running
from tests.support import operation
from tokens import secrets
from tokens.secrets import SecretKind

INSIDE = "198.51.100.9"
OUTSIDE = "192.0.2.66"


@dataclass(frozen=True)
class World:
    client: TestClient
    service_secret: str
    tokens: dict[str, str]  # state -> access token


@pytest.fixture
def world(sync_database_url: str) -> Iterator[World]:
    with running(sync_database_url) as client:
        session = login(client)
        service = post(
            client, operation("CreateServiceClient"), {"name": "gateway"}, bearer=session
        )
        grants = [
            {"area": "employees", "read": True, "write": True, "delete": False},
            {
                "area": "payroll",
                "folder": "payslips",
                "read": True,
                "write": False,
                "delete": False,
            },
        ]
        valid = create_token(client, session, name="Lønbureau ✓ <b>", grants=grants)
        restricted = create_token(
            client, session, name="restricted", grants=grants, ipRanges=[{"from": INSIDE}]
        )
        revoked = create_token(client, session, name="revoked", grants=grants)
        post(
            client,
            operation("RevokeSharedAccessToken"),
            {"id": revoked["sharedAccessToken"]["id"]},
            bearer=session,
        )
        rotated = create_token(client, session, name="rotated", grants=grants)
        refreshed = post(
            client, operation("RefreshAccessToken"), {"refreshKey": rotated["refreshKey"]}
        )
        assert "errors" not in refreshed, refreshed
        yield World(
            client=client,
            service_secret=service["data"]["createServiceClient"]["secret"],
            tokens={
                "valid": valid["accessToken"],
                "restricted": restricted["accessToken"],
                "revoked": revoked["accessToken"],
                "rotated": rotated["accessToken"],
                "refreshed": refreshed["data"]["refreshAccessToken"]["accessToken"],
                "unknown": secrets.generate(SecretKind.ACCESS_TOKEN),
                "malformed": "sat_" + "x" * 46,
                "refresh key": rotated["refreshKey"],
            },
        )


# --- documents -------------------------------------------------------------------------------

NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True).filter(
    lambda n: not n.startswith("__")
)
TOKEN_FIELDS = ["id", "name", "expiresAt", "__typename"]
ANSWER_FIELDS = ["valid", "reason", "sharedAccessToken", "__typename"]


@st.composite
def selections(draw: st.DrawFn, fields: list[str]) -> list[tuple[str | None, str]]:
    """A non-empty, shuffled subset of ``fields``, each maybe under an alias; keys unique."""
    chosen = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=len(fields), unique=True))
    out: list[tuple[str | None, str]] = []
    keys: set[str] = set()
    for field in chosen:
        alias = draw(st.none() | NAMES)
        key = alias or field
        if key in keys or (alias is not None and alias in fields):
            alias, key = None, field
        if key in keys:
            continue
        keys.add(key)
        out.append((alias, field))
    return out


def _keyed(alias: str | None, field: str) -> str:
    return field if alias is None else f"{alias}: {field}"


@dataclass(frozen=True)
class Ask:
    document: str
    variables: dict[str, Any]


@st.composite
def asks(draw: st.DrawFn, tokens: dict[str, str]) -> Ask:
    facts: dict[str, Any] = {
        "token": tokens[draw(st.sampled_from(sorted(tokens)))],
        "ip": draw(st.sampled_from([INSIDE, OUTSIDE, "::ffff:" + INSIDE])),
        "area": draw(st.sampled_from(["employees", "payroll", "no-such-area"])),
        "access": draw(st.sampled_from(["READ", "WRITE", "DELETE"])),
    }
    folder = draw(st.sampled_from(["omitted", "null", "payslips", "contracts", "no-such", ""]))
    if folder != "omitted":
        facts["folder"] = None if folder == "null" else folder
    variables: dict[str, Any] = {}
    definitions: list[str] = []
    arguments: list[str] = []
    types = {
        "token": "String!",
        "ip": "String!",
        "area": "String!",
        "folder": "String",
        "access": "Access!",
    }
    for name in draw(st.permutations(sorted(facts))):
        value = facts[name]
        if draw(st.booleans()):
            variable = draw(NAMES.filter(lambda n, taken=variables: n not in taken))
            definitions.append(f"${variable}: {types[name]}")
            variables[variable] = value
            arguments.append(f"{name}: ${variable}")
        elif value is None:
            arguments.append(f"{name}: null")
        elif name == "access":
            arguments.append(f"{name}: {value}")
        else:
            arguments.append(f"{name}: {json.dumps(value)}")
    parts = []
    for alias, field in draw(selections(ANSWER_FIELDS)):
        if field == "sharedAccessToken":
            inner = " ".join(_keyed(a, f) for a, f in draw(selections(TOKEN_FIELDS)))
            parts.append(f"{_keyed(alias, field)} {{ {inner} }}")
        else:
            parts.append(_keyed(alias, field))
    root = _keyed(draw(st.none() | NAMES), "validateToken")
    body = f"{{ {root}({', '.join(arguments)}) {{ {' '.join(parts)} }} }}"
    if definitions or draw(st.booleans()):
        name = draw(st.none() | NAMES)
        header = "query" + (f" {name}" if name else "")
        if definitions:
            header += f"({', '.join(definitions)})"
        body = f"{header} {body}"
    return Ask(document=body, variables=variables)


# --- the two paths ---------------------------------------------------------------------------


def _send(world: World, ask: Ask) -> Any:
    return world.client.post(
        "/graphql",
        json={"query": ask.document, "variables": ask.variables},
        headers={"authorization": f"Bearer {world.service_secret}"},
    )


def _no_executor(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the general path was asked for a document the fast path takes")


def _decline(self: CompiledDocuments, query: str, operation_name: str | None) -> None:
    return None


def test_the_fast_path_answers_every_accepted_shape_as_strawberry_does(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    @given(ask=asks(world.tokens))
    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def same_answer(ask: Ask) -> None:
        with monkeypatch.context() as patch:
            patch.setattr(schema, "execute", _no_executor)
            fast = _send(world, ask)
        with monkeypatch.context() as patch:
            patch.setattr(CompiledDocuments, "get", _decline)
            general = _send(world, ask)

        assert fast.status_code == 200, (ask, fast.text)
        assert "errors" not in fast.json(), (ask, fast.text)
        assert (fast.content, fast.headers["content-type"]) == (
            general.content,
            general.headers["content-type"],
        ), ask

    same_answer()


def test_the_readme_and_operation_documents_take_the_fast_path(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents clients copy are answered without Strawberry's executor."""
    monkeypatch.setattr(schema, "execute", _no_executor)
    variables = {
        "token": world.tokens["valid"],
        "ip": INSIDE,
        "area": "employees",
        "folder": None,
        "access": "READ",
    }

    response = _send(world, Ask(operation("ValidateToken"), variables))

    assert response.status_code == 200
    assert response.json()["data"]["validateToken"]["valid"] is True
    assert response.json()["data"]["validateToken"]["sharedAccessToken"]["name"] == (
        "Lønbureau ✓ <b>"
    )
