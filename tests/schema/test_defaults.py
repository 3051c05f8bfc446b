"""Each default has one home in tokens/: the SDL, settings and the CLI all show that value."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from graphql import (
    GraphQLArgument,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLObjectType,
    build_schema,
    value_from_ast,
)
from schema import schema
from schema.context import Context
from server.cli import main
from server.settings import Settings
from tests.support import execute, operation
from tokens.admins import DEFAULT_SESSION_LIFETIME
from tokens.caches import CACHES, DEFAULT_CACHE_ENTRIES, DEFAULT_CACHE_SECONDS
from tokens.callers import AdminCaller
from tokens.lifetimes import DEFAULT_GRACE_SECONDS, DEFAULT_LIFETIME_DAYS
from tokens.paging import DEFAULT_PAGE_SIZE
from tokens.validation import DEFAULT_LAST_USED_INTERVAL


def _default(item: GraphQLArgument | GraphQLInputField) -> object:
    """The default as the SDL writes it (build_schema keeps it unparsed in the AST)."""
    assert item.ast_node is not None
    assert item.ast_node.default_value is not None
    return value_from_ast(item.ast_node.default_value, item.type)


def _sdl_defaults(sdl: str) -> dict[str, object]:
    built = build_schema(sdl)
    query, mutation = built.query_type, built.mutation_type
    create = built.get_type("CreateSharedAccessTokenInput")
    assert isinstance(query, GraphQLObjectType)
    assert isinstance(mutation, GraphQLObjectType)
    assert isinstance(create, GraphQLInputObjectType)
    return {
        "sharedAccessTokens.first": _default(query.fields["sharedAccessTokens"].args["first"]),
        "auditEvents.first": _default(query.fields["auditEvents"].args["first"]),
        "expiresInDays": _default(create.fields["expiresInDays"]),
        "refreshGraceSeconds": _default(create.fields["refreshGraceSeconds"]),
        "graceSeconds": _default(mutation.fields["rollSharedAccessToken"].args["graceSeconds"]),
    }


EXPECTED = {
    "sharedAccessTokens.first": DEFAULT_PAGE_SIZE,
    "auditEvents.first": DEFAULT_PAGE_SIZE,
    "expiresInDays": DEFAULT_LIFETIME_DAYS,
    "refreshGraceSeconds": DEFAULT_GRACE_SECONDS,
    "graceSeconds": DEFAULT_GRACE_SECONDS,
}


def test_the_schemas_defaults_are_the_domains() -> None:
    assert _sdl_defaults(schema.as_str()) == EXPECTED


def test_the_exported_sdl_shows_the_domains_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export-schema"]) == 0
    assert _sdl_defaults(capsys.readouterr().out) == EXPECTED


def test_settings_default_to_the_domains_values() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (
        settings.session_lifetime,
        settings.last_used_interval,
        settings.cache_entries,
        settings.cache_seconds,
    ) == (
        DEFAULT_SESSION_LIFETIME,
        DEFAULT_LAST_USED_INTERVAL,
        DEFAULT_CACHE_ENTRIES,
        DEFAULT_CACHE_SECONDS,
    )
    # The documented values (README, docs): a change here is a change of the product.
    assert timedelta(hours=8) == DEFAULT_SESSION_LIFETIME
    assert timedelta(seconds=60) == DEFAULT_LAST_USED_INTERVAL


def test_a_resolver_context_defaults_to_the_settings_defaults() -> None:
    context = Context(caller=None, client_ip=None, request_id="-")
    settings = Settings()
    assert (context.session_lifetime, context.last_used_interval) == (
        settings.session_lifetime,
        settings.last_used_interval,
    )


def test_the_caches_start_at_the_settings_defaults() -> None:
    settings = Settings()
    CACHES.configure(max_entries=settings.cache_entries, max_age_seconds=settings.cache_seconds)
    assert (CACHES.states.max_entries, CACHES.targets.max_age, CACHES.callers.max_age) == (
        DEFAULT_CACHE_ENTRIES,
        DEFAULT_CACHE_SECONDS,
        DEFAULT_CACHE_SECONDS,
    )


@pytest.mark.usefixtures("db")
async def test_a_token_created_without_a_lifetime_lives_the_default_lifetime(
    admin: AdminCaller,
) -> None:
    result = await execute(
        operation("CreateSharedAccessToken"), {"input": {"name": "Acme"}}, caller=admin
    )

    assert result.errors == []
    assert result.data is not None
    token = result.data["createSharedAccessToken"]["sharedAccessToken"]
    lifetime = datetime.fromisoformat(token["expiresAt"]) - datetime.fromisoformat(
        token["createdAt"]
    )
    assert lifetime == timedelta(days=DEFAULT_LIFETIME_DAYS)
    assert token["refreshGraceSeconds"] == DEFAULT_GRACE_SECONDS
