"""The schema as clients see it: the committed SDL, the public contract, the operation documents."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    ObjectTypeExtensionNode,
    OperationDefinitionNode,
    Undefined,
    build_schema,
    parse,
    print_ast,
    validate,
)
from schema import schema
from tests.operations import FRAGMENTS_DIR
from tests.support import OPERATIONS_DIR, operation

REPO = Path(__file__).resolve().parents[2]
SCHEMA_FILE = REPO / "graphql" / "schema.graphql"
CONTRACT_FILE = Path(__file__).resolve().parents[3] / "shared" / "docs" / "contract.md"
OPERATION_FILES = sorted(OPERATIONS_DIR.glob("*.graphql"))
FRAGMENT_FILES = sorted(FRAGMENTS_DIR.glob("*.graphql"))


@pytest.fixture(scope="module")
def ours() -> GraphQLSchema:
    return build_schema(schema.as_str())


@pytest.fixture(scope="module")
def contract() -> GraphQLSchema:
    """The schema of the contract's ```graphql blocks: the first release, then its extensions.

    A later block may ``extend`` a type with a field the first already has (a new argument
    of ``sharedAccessTokens``, say): the later definition of that field replaces the earlier.
    """
    if not CONTRACT_FILE.exists():
        pytest.skip(f"the public contract is not beside the repository ({CONTRACT_FILE})")
    text = CONTRACT_FILE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```graphql\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    assert blocks, "the contract should hold ```graphql blocks"
    return build_schema(print_ast(_merged([parse(block) for block in blocks])))


def _merged(documents: list[DocumentNode]) -> DocumentNode:
    """One document: extensions folded into their types, later fields replacing earlier ones."""
    definitions: list[Any] = []
    position: dict[str, int] = {}
    for document in documents:
        for definition in document.definitions:
            name = getattr(definition, "name", None)
            if isinstance(definition, ObjectTypeExtensionNode) and name.value in position:
                base = definitions[position[name.value]]
                replaced = {f.name.value for f in definition.fields}
                kept = tuple(f for f in base.fields if f.name.value not in replaced)
                parts = {key: getattr(base, key) for key in base.keys if key != "loc"}
                definitions[position[name.value]] = type(base)(
                    **{**parts, "fields": kept + tuple(definition.fields)}
                )
                continue
            if name is not None:
                position[name.value] = len(definitions)
            definitions.append(definition)
    return DocumentNode(definitions=tuple(definitions))


def _contract_types(contract: GraphQLSchema) -> list[GraphQLNamedType]:
    return [
        t
        for name, t in sorted(contract.type_map.items())
        if not name.startswith("__") and name not in {"String", "Int", "Float", "Boolean", "ID"}
    ]


def _default(item: GraphQLArgument | GraphQLInputField) -> str | None:
    """The default as written in the SDL (graphql-core keeps it unparsed there), or None."""
    if item.ast_node is not None and item.ast_node.default_value is not None:
        return print_ast(item.ast_node.default_value)
    return None if item.default_value is Undefined else repr(item.default_value)


# --- the committed SDL ------------------------------------------------------------------------


def test_committed_sdl_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema.as_str() + "\n", (
        "graphql/schema.graphql is out of date; regenerate it with "
        "`sat export-schema > graphql/schema.graphql`"
    )


# --- the public contract ----------------------------------------------------------------------


def test_contract_is_read_whole(contract: GraphQLSchema) -> None:
    """Guards the checks below against a contract block that parsed to almost nothing."""
    query = contract.query_type
    mutation = contract.mutation_type
    assert query is not None
    assert mutation is not None
    assert "validateToken" in query.fields
    assert "refreshAccessToken" in mutation.fields
    assert "rollSharedAccessToken" in mutation.fields  # from the extension block
    assert "expiresWithinDays" in query.fields["sharedAccessTokens"].args
    assert len(_contract_types(contract)) >= 26


def test_every_contract_type_exists_with_its_kind(
    contract: GraphQLSchema, ours: GraphQLSchema
) -> None:
    missing = [
        f"{t.name} ({type(t).__name__})"
        for t in _contract_types(contract)
        if not isinstance(ours.get_type(t.name), type(t))
    ]

    assert missing == []


def test_every_contract_field_and_argument_has_its_type_and_default(
    contract: GraphQLSchema, ours: GraphQLSchema
) -> None:
    differences = []
    for their_type in _contract_types(contract):
        our_type = ours.get_type(their_type.name)
        if not isinstance(their_type, GraphQLObjectType) or not isinstance(
            our_type, GraphQLObjectType
        ):
            continue
        for field_name, their_field in their_type.fields.items():
            where = f"{their_type.name}.{field_name}"
            our_field = our_type.fields.get(field_name)
            if our_field is None:
                differences.append(f"{where} is missing")
                continue
            if str(our_field.type) != str(their_field.type):
                differences.append(f"{where}: {our_field.type} instead of {their_field.type}")
            for arg_name, their_arg in their_field.args.items():
                our_arg = our_field.args.get(arg_name)
                if our_arg is None:
                    differences.append(f"{where}({arg_name}) is missing")
                    continue
                if str(our_arg.type) != str(their_arg.type):
                    differences.append(
                        f"{where}({arg_name}): {our_arg.type} instead of {their_arg.type}"
                    )
                if _default(our_arg) != _default(their_arg):
                    differences.append(
                        f"{where}({arg_name}): default {_default(our_arg)!r} "
                        f"instead of {_default(their_arg)!r}"
                    )

    assert differences == []


def test_every_contract_input_field_has_its_type_and_default(
    contract: GraphQLSchema, ours: GraphQLSchema
) -> None:
    differences = []
    for their_type in _contract_types(contract):
        our_type = ours.get_type(their_type.name)
        if not isinstance(their_type, GraphQLInputObjectType) or not isinstance(
            our_type, GraphQLInputObjectType
        ):
            continue
        for field_name, their_field in their_type.fields.items():
            where = f"{their_type.name}.{field_name}"
            our_field = our_type.fields.get(field_name)
            if our_field is None:
                differences.append(f"{where} is missing")
                continue
            if str(our_field.type) != str(their_field.type):
                differences.append(f"{where}: {our_field.type} instead of {their_field.type}")
            if _default(our_field) != _default(their_field):
                differences.append(
                    f"{where}: default {_default(our_field)!r} instead of {_default(their_field)!r}"
                )

    assert differences == []


def test_every_contract_enum_value_exists_in_contract_order(
    contract: GraphQLSchema, ours: GraphQLSchema
) -> None:
    """Order matters: validateToken answers the first DenialReason that applies."""
    differences = []
    for their_type in _contract_types(contract):
        our_type = ours.get_type(their_type.name)
        if not isinstance(their_type, GraphQLEnumType) or not isinstance(our_type, GraphQLEnumType):
            continue
        theirs = list(their_type.values)
        kept = [value for value in our_type.values if value in their_type.values]
        if kept != theirs:
            differences.append(f"{their_type.name}: {kept} instead of {theirs}")

    assert differences == []


def test_additions_to_contract_fields_and_inputs_are_optional(
    contract: GraphQLSchema, ours: GraphQLSchema
) -> None:
    """A new required argument or input field would break every client of the contract."""
    required = []
    for their_type in _contract_types(contract):
        our_type = ours.get_type(their_type.name)
        if isinstance(their_type, GraphQLObjectType) and isinstance(our_type, GraphQLObjectType):
            for field_name, their_field in their_type.fields.items():
                our_field = our_type.fields.get(field_name)
                for arg_name, arg in (our_field.args if our_field else {}).items():
                    if (
                        arg_name not in their_field.args
                        and isinstance(arg.type, GraphQLNonNull)
                        and _default(arg) is None
                    ):
                        required.append(f"{their_type.name}.{field_name}({arg_name})")
        if isinstance(their_type, GraphQLInputObjectType) and isinstance(
            our_type, GraphQLInputObjectType
        ):
            for field_name, field in our_type.fields.items():
                if (
                    field_name not in their_type.fields
                    and isinstance(field.type, GraphQLNonNull)
                    and _default(field) is None
                ):
                    required.append(f"{their_type.name}.{field_name}")

    assert required == []


# --- the operation documents ------------------------------------------------------------------


def test_operation_documents_are_present() -> None:
    assert OPERATION_FILES, f"no operation documents in {OPERATIONS_DIR}"


@pytest.mark.parametrize("path", OPERATION_FILES, ids=[p.stem for p in OPERATION_FILES])
def test_operation_document_validates_against_the_schema(path: Path, ours: GraphQLSchema) -> None:
    """The complete document: the operation and the fragments it spreads, each once."""
    document = parse(operation(path.stem))

    assert [error.message for error in validate(ours, document)] == []


@pytest.mark.parametrize("path", OPERATION_FILES, ids=[p.stem for p in OPERATION_FILES])
def test_operation_document_holds_one_operation_named_like_its_file(path: Path) -> None:
    document = parse(path.read_text(encoding="utf-8"))
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]

    assert len(operations) == 1
    assert operations[0].name is not None
    assert operations[0].name.value == path.stem


@pytest.mark.parametrize("path", FRAGMENT_FILES, ids=[p.stem for p in FRAGMENT_FILES])
def test_fragment_file_holds_one_fragment_named_like_its_file_and_is_spread(path: Path) -> None:
    document = parse(path.read_text(encoding="utf-8"))
    spread_by = [p.stem for p in OPERATION_FILES if f"...{path.stem}" in operation(p.stem)]

    assert [type(d) for d in document.definitions] == [FragmentDefinitionNode]
    assert isinstance(document.definitions[0], FragmentDefinitionNode)
    assert document.definitions[0].name.value == path.stem
    assert spread_by, f"no operation spreads {path.stem}"
