"""Document limits: checked while parsing and before validation; only passing documents kept."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from pathlib import Path
from typing import Any

import pytest

from graphql import GraphQLError, parse
from graphql import validate as graphql_validate
from schema import build_schema, limits
from schema.compiled import CompiledDocuments
from schema.context import Context
from schema.limits import (
    ON_LOOP_CHARACTERS,
    CheckedDocument,
    DocumentCache,
    DocumentLimits,
    check_shape,
    parse_within,
)
from tests.support import operation

OPERATIONS = Path(__file__).resolve().parents[2] / "graphql" / "operations"
LIMITS = DocumentLimits(max_tokens=2_000, max_aliases=30, max_depth=10)
VALIDATE = "{ %s }"
FIELD = 'v%d: validateToken(token: "t", ip: "10.0.0.1", area: "a", access: READ) { valid }'


def aliases(count: int) -> str:
    return VALIDATE % " ".join(FIELD % i for i in range(count))


def nested(depth: int) -> str:
    return "{ " + "a { " * (depth - 1) + "b" + " }" * depth


def refusal_code(query: str, limits: DocumentLimits = LIMITS) -> str:
    with pytest.raises(GraphQLError) as raised:
        parse_within(query, limits)
    return str((raised.value.extensions or {})["code"])


def test_a_document_over_the_token_limit_is_refused_while_parsing() -> None:
    query = "{ " + "me " * 2_100 + "}"

    assert refusal_code(query) == "GRAPHQL_VALIDATION_FAILED"


def test_a_document_at_the_token_limit_parses() -> None:
    query = "{ " + "me " * 1_997 + "}"  # 1,999 tokens

    parse_within(query, LIMITS)


def test_aliases_past_the_limit_are_refused() -> None:
    parse_within(aliases(30), LIMITS)

    assert refusal_code(aliases(31)) == "GRAPHQL_VALIDATION_FAILED"


def test_aliases_in_fragments_count_at_every_spread() -> None:
    query = (
        "{ ...F ...F ...F } fragment F on Query { " + " ".join(FIELD % i for i in range(11)) + " }"
    )

    assert refusal_code(query) == "GRAPHQL_VALIDATION_FAILED"


def test_fragments_that_double_at_every_level_are_refused_without_walking_every_path() -> None:
    """40 levels of two spreads each would be 2^40 walks for a per-spread counter."""
    levels = 40
    fragments = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    query = f"{{ ...F0 }} {fragments} fragment F{levels} on Query {{ x: me {{ username }} }}"

    assert refusal_code(query) == "GRAPHQL_VALIDATION_FAILED"


def test_a_fragment_that_spreads_itself_is_left_to_validation() -> None:
    check_shape(parse("{ ...F } fragment F on Query { ...F }"), LIMITS)


def test_depth_past_the_limit_is_refused_before_validation() -> None:
    parse_within(nested(10), LIMITS)

    assert refusal_code(nested(11)) == "GRAPHQL_VALIDATION_FAILED"


def test_introspection_fields_do_not_count_towards_depth() -> None:
    deep_introspection = (
        "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType"
        " { ofType { ofType { name } } } } } } } } } } } }"
    )

    parse_within(deep_introspection, LIMITS)


def test_a_syntax_error_is_a_parse_failure() -> None:
    assert refusal_code("{ me { ") == "GRAPHQL_PARSE_FAILED"


def test_limits_come_from_the_settings() -> None:
    tight = DocumentLimits(max_tokens=10, max_aliases=1, max_depth=2)

    assert refusal_code("{ a b c d e f g h i j k }", tight) == "GRAPHQL_VALIDATION_FAILED"
    assert refusal_code("{ x: a y: b }", tight) == "GRAPHQL_VALIDATION_FAILED"
    assert refusal_code("{ a { b { c } } }", tight) == "GRAPHQL_VALIDATION_FAILED"


async def run(schema: Any, query: str, operation_name: str | None = None) -> list[dict[str, Any]]:
    context = Context(caller=None, client_ip="198.51.100.7", request_id="test")
    result = await schema.execute(query, operation_name=operation_name, context_value=context)
    return [e.formatted for e in result.errors or []]


def codes(errors: list[dict[str, Any]]) -> list[str]:
    return [e["extensions"]["code"] for e in errors]


@pytest.mark.parametrize(
    ("query", "operation_name"),
    [
        pytest.param("query A { me { username } } query B { me { username } }", None, id="two"),
        pytest.param("query A { me { username } }", "B", id="unknown-name"),
        pytest.param("fragment F on Query { me { username } }", None, id="none"),
    ],
)
async def test_a_document_without_one_clear_operation_is_a_bad_request(
    db: None, query: str, operation_name: str | None
) -> None:
    errors = await run(build_schema(), query, operation_name)

    assert codes(errors) == ["BAD_REQUEST"]


async def test_many_fields_of_one_name_are_refused_before_comparing_every_pair(
    db: None,
) -> None:
    # 1,999 tokens, no alias, depth 2: within every limit, and valid. Comparing each
    # pair of the 399 `me` fields took graphql-core's default budget over a second.
    query = "{ " + "me { username } " * 399 + "}"

    errors = await run(build_schema(), query)

    assert codes(errors) == ["GRAPHQL_VALIDATION_FAILED"]
    assert errors[0]["message"] == "Validation aborted."


async def test_every_operation_of_the_clients_is_within_the_comparison_budget(db: None) -> None:
    schema = build_schema()
    for path in sorted(OPERATIONS.glob("*.graphql")):
        errors = await run(schema, operation(path.stem), path.stem)
        assert "GRAPHQL_VALIDATION_FAILED" not in codes(errors), path.name


async def test_the_named_operation_of_several_runs(db: None) -> None:
    schema = build_schema()
    context = Context(caller=None, client_ip="198.51.100.7", request_id="test")

    result = await schema.execute(
        "query A { me { username } } query B { areas { key } }",
        operation_name="A",
        context_value=context,
    )

    assert result.errors is None
    assert result.data == {"me": None}


async def test_refused_documents_are_not_kept_and_valid_ones_are(db: None) -> None:
    schema = build_schema()
    schema_cache = _cache_of(schema)

    for refused in (aliases(31), nested(11), "{ me { ", "{ noSuchField }"):
        await run(schema, refused)
    assert len(schema_cache) == 0

    await run(schema, "{ me { username } }")
    assert list(schema_cache) == ["{ me { username } }"]


def test_the_document_cache_is_bounded_in_entries_and_in_characters() -> None:
    document = CheckedDocument(parse("{ a }"), {})
    by_entries = DocumentCache(max_entries=3, max_characters=10_000)
    by_size = DocumentCache(max_entries=100, max_characters=1_000)

    for i in range(10):
        by_entries.put(f"{{ a{i} }}", document)
        by_size.put(f"{{ a{i} }}" + " " * 300, document)

    assert list(by_entries) == ["{ a7 }", "{ a8 }", "{ a9 }"]
    assert by_size.characters <= 1_000
    assert len(by_size) == 3


async def test_without_introspection_errors_suggest_no_field_names(db: None) -> None:
    with_suggestions = await run(build_schema(), "{ mee { username } }")
    without = await run(build_schema(introspection=False), "{ mee { username } }")

    assert "Did you mean" in with_suggestions[0]["message"]
    assert "Did you mean" not in without[0]["message"]
    assert codes(without) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_without_introspection_the_schema_cannot_be_read(db: None) -> None:
    errors = await run(build_schema(introspection=False), "{ __schema { types { name } } }")

    assert set(codes(errors)) == {"GRAPHQL_VALIDATION_FAILED"}
    assert await run(build_schema(), "{ __schema { types { name } } }") == []


def test_the_compiled_memo_keeps_no_refused_document_and_stays_bounded() -> None:
    graphql_schema = build_schema()._schema
    compiled = CompiledDocuments(graphql_schema, max_documents=1_000, max_characters=2_000)

    for refused in (aliases(31), "{ validateToken(", "query A { me { username } } query B { me }"):
        assert compiled.get(refused, None) is None
    assert len(compiled) == 0

    assert compiled.get(operation("ValidateToken"), None) is not None
    for i in range(50):
        compiled.get("{ me { username } }" + " " * i * 10, None)
    assert compiled.characters <= 2_000


def _cache_of(schema: Any) -> DocumentCache:
    for extension in schema.extensions:
        cache = getattr(extension, "keywords", {}).get("cache")
        if isinstance(cache, DocumentCache):
            return cache
    raise AssertionError("no document cache")


class HeldValidation:
    """Stands in for graphql-core's ``validate``: notes its thread, and waits to be let go."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.started = threading.Event()
        self.gate = threading.Event()

    def __call__(self, *arguments: Any, **options: Any) -> list[GraphQLError]:
        self.threads.append(threading.current_thread().name)
        self.started.set()
        assert self.gate.wait(timeout=10), "never let go"
        return graphql_validate(*arguments, **options)


async def test_a_long_document_is_validated_beside_the_event_loop_which_goes_on_serving(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = build_schema()
    held = HeldValidation()
    monkeypatch.setattr(limits, "validate", held)
    long = "{ " + "me { username } " * (ON_LOOP_CHARACTERS // 16 + 1) + "}"
    assert len(long) > ON_LOOP_CHARACTERS

    running = asyncio.ensure_future(run(schema, long))
    assert await asyncio.to_thread(held.started.wait, 10)
    held.gate.set()  # short documents pass at once from now on; the long one goes on
    short = await run(schema, "{ me { username } }")
    errors = await running

    assert short == []
    assert held.threads[0].startswith("sat-documents")
    assert held.threads[1] == threading.main_thread().name
    assert errors == []


async def test_a_short_document_is_parsed_and_validated_on_the_event_loop(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldValidation()
    held.gate.set()
    monkeypatch.setattr(limits, "validate", held)

    assert await run(build_schema(), "{ me { username } }") == []
    assert held.threads == [threading.main_thread().name]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ " + "me { username } " * 400 + "}", id="parsed"),
        pytest.param("{ " + "__typename " * 2_100 + "}", id="refused-at-the-token-limit"),
    ],
)
def test_parsing_leaves_no_cycles_for_the_garbage_collector(query: str) -> None:
    """Freed when unused, not by full collections that pause every request."""
    gc.collect()
    gc.disable()
    try:
        with contextlib.suppress(GraphQLError):
            parse_within(query, LIMITS)
        left_for_the_collector = gc.collect()
    finally:
        gc.enable()

    assert left_for_the_collector < 100  # 2,000 tokens linked both ways were 2,000 and more


async def test_a_long_document_leaves_nothing_for_a_later_full_collection(db: None) -> None:
    """Its validation's cycles are freed at once, beside the loop, not by a 100 ms pause."""
    schema = build_schema()
    long = "{ " + "me { username } " * 499 + "}"  # 1,999 tokens: over the comparison budget
    await run(schema, long)
    gc.collect()

    errors = await run(schema, long)
    left_for_the_collector = gc.collect()

    assert codes(errors) == ["GRAPHQL_VALIDATION_FAILED"]
    assert left_for_the_collector < 2_000  # were 15,000 objects and more


@pytest.mark.parametrize(
    "refused",
    [
        pytest.param("{ " + "__typename " * 2_100 + "}", id="over-the-token-limit"),
        pytest.param("{ " + "a { " * 10 + "b " * 1_500 + "}" * 11, id="too-deep"),
    ],
)
async def test_a_long_refused_document_leaves_nothing_for_a_later_collection(
    db: None, refused: str
) -> None:
    schema = build_schema()
    await run(schema, refused)
    gc.collect()

    errors = await run(schema, refused)
    left_for_the_collector = gc.collect()

    assert codes(errors) == ["GRAPHQL_VALIDATION_FAILED"]
    assert left_for_the_collector < 2_000


async def test_a_short_invalid_document_leaves_nothing_for_a_later_collection(db: None) -> None:
    """Validation's visitors form cycles: on the loop too, they are freed at once."""
    schema = build_schema()
    await run(schema, "{ noSuchField }")
    gc.collect()

    errors = await run(schema, "{ noSuchField another }")
    left_for_the_collector = gc.collect()

    assert codes(errors) == ["GRAPHQL_VALIDATION_FAILED", "GRAPHQL_VALIDATION_FAILED"]
    assert left_for_the_collector < 100  # were 500 and more


def test_work_on_the_loop_and_beside_it_share_one_pause_of_the_collector() -> None:
    """The first to finish does not resume the collector under the other's work."""
    seen: list[bool] = []
    thread_started, loop_done = threading.Event(), threading.Event()

    def beside() -> None:
        thread_started.set()
        loop_done.wait(5)
        seen.append(gc.isenabled())  # the loop's work ended while this one ran

    def on_the_loop() -> None:
        thread.start()
        thread_started.wait(5)

    thread = threading.Thread(target=limits._collected_after, args=(beside,))
    limits._collected_after(on_the_loop)
    loop_done.set()
    thread.join(5)

    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused() -> None:
    gc.disable()
    try:
        limits._collected_after(lambda: None)
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_a_cached_document_checks_its_variables_without_reading_the_document_again(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which argument each variable goes to is read once, with the document's validation."""
    from schema import arguments

    reads: list[object] = []
    visit = arguments.visit
    monkeypatch.setattr(arguments, "visit", lambda d, v: reads.append(d) or visit(d, v))
    schema = build_schema()
    login = operation("Login")
    context = Context(caller=None, client_ip="198.51.100.7", request_id="test")

    await schema.execute(
        login, variable_values={"username": "a", "password": "b"}, context_value=context
    )
    refused = await schema.execute(
        login, variable_values={"username": "a\ud800", "password": "b"}, context_value=context
    )

    assert len(reads) == 1
    assert refused.errors is not None
    assert [e.extensions for e in refused.errors] == [
        {"code": "BAD_USER_INPUT", "field": "username"}
    ]
