"""Compiled ``validateToken`` documents: the hot path without graphql-core's executor.

A document is compiled once per distinct text. It qualifies when, after full
parsing and validation against the real schema, it is one query operation whose
only root field is ``validateToken`` over plain fields (aliases and
``__typename`` allowed; no fragments or directives). Running a compiled
document needs only the variables; anything outside the ordinary case
(a missing or mistyped variable, a domain refusal) is declined, and the caller
then takes the general Strawberry path. So a compiled document answers exactly
what Strawberry would, for any client that sends the same text.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

import orjson

from graphql import (
    DocumentNode,
    EnumValueNode,
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    ValueNode,
    VariableNode,
    validate,
)
from schema import schema
from schema.limits import ON_LOOP_CHARACTERS, DocumentLimits, choose_operation, parse_within
from schema.types import TokenValidationType, ValidatedTokenType
from tokens.grants import Access
from tokens.validation import Validation

MAX_COMPILED_DOCUMENTS = 256
# Response bodies kept by plan and what the answer says: the tokens in steady use. A
# bound of 4,096 kept 10 MB more under bench case 5 (100,000 distinct tokens).
MAX_RENDERED_BODIES = 256
# Compiled on the event loop: no longer than what the general path keeps on it too.
MAX_DOCUMENT_LENGTH = ON_LOOP_CHARACTERS
# The memo's keys are request text: bounded in characters as well as in entries.
MAX_COMPILED_CHARACTERS = 256 * 1024

_ARGUMENTS = ("token", "ip", "area", "folder", "access")
_REQUIRED = frozenset({"token", "ip", "area", "access"})
_VALIDATION_FIELDS = frozenset({"valid", "reason", "sharedAccessToken", "__typename"})
_TOKEN_FIELDS = frozenset({"id", "name", "expiresAt", "__typename"})
_ACCESS = {a.value: a for a in Access}


class _Variable:
    __slots__ = ("default", "name")

    def __init__(self, name: str, default: Any) -> None:
        self.name = name
        self.default = default


_NO_DEFAULT = object()
_UNSUPPORTED = object()  # a literal the compiled path does not take

# One output field: (response key, field name, sub-selection or None).
Selection = tuple[tuple[str, str, "Selection | None"], ...]


@dataclass(slots=True)  # not frozen: one is made per request, and frozen ones cost 5x
class ValidateArguments:
    token: str
    ip: str
    area: str
    folder: str | None
    access: Access


@dataclass(frozen=True, slots=True)
class CompiledValidate:
    response_key: str
    arguments: Mapping[str, Any]  # a literal value, or a _Variable
    selection: Selection

    def bind(self, variables: Mapping[str, Any] | None) -> ValidateArguments | None:
        """The arguments for these variables, or None where the general path must answer."""
        values: dict[str, Any] = {}
        for name in _ARGUMENTS:
            source = self.arguments.get(name)
            if isinstance(source, _Variable):
                if variables is not None and source.name in variables:
                    value = variables[source.name]
                elif source.default is not _NO_DEFAULT:
                    value = source.default
                else:
                    value = None
            else:
                value = source
            values[name] = value
        for name in _REQUIRED:
            if not isinstance(values[name], str):
                return None
        folder = values["folder"]
        if folder is not None and not isinstance(folder, str):
            return None
        access = _ACCESS.get(values["access"])
        if access is None:
            return None
        return ValidateArguments(
            token=values["token"],
            ip=values["ip"],
            area=values["area"],
            folder=folder,
            access=access,
        )

    def render(self, result: Validation) -> dict[str, Any]:
        """The ``data`` of the response, keyed and ordered as the document asks.

        The values are those of ``TokenValidationType.of``, the general path's own mapping,
        written out as Strawberry serializes them (enums by value, DateTime in ISO 8601).
        """
        answer = TokenValidationType.of(result)
        return {self.response_key: _render(answer, self.selection)}


def _python_names(*types: type) -> dict[tuple[str, str], str]:
    """(GraphQL type, GraphQL field) -> Python attribute, from Strawberry's own definitions."""
    names = {}
    for strawberry_type in types:
        definition = strawberry_type.__strawberry_definition__  # type: ignore[attr-defined]
        for field in definition.fields:
            graphql_name = schema.config.name_converter.get_graphql_name(field)
            names[(definition.name, graphql_name)] = field.python_name
    return names


_ATTRIBUTES = _python_names(TokenValidationType, ValidatedTokenType)


def _render(value: Any, selection: Selection) -> dict[str, Any]:
    typename = value.__strawberry_definition__.name
    out: dict[str, Any] = {}
    for key, field, sub in selection:
        if field == "__typename":
            out[key] = typename
            continue
        item = getattr(value, _ATTRIBUTES[(typename, field)])
        if item is None:
            out[key] = None
        elif sub is not None:
            out[key] = _render(item, sub)
        elif isinstance(item, Enum):
            out[key] = item.value
        elif isinstance(item, datetime):
            out[key] = item.isoformat()
        else:
            out[key] = item
    return out


class CompiledDocuments:
    """A bounded memo of document text -> compiled plan (or None: use the general path).

    Only documents within the limits that parse and validate are kept, as a plan or as
    None; a refused document is answered by the general path and leaves nothing here.
    """

    def __init__(
        self,
        graphql_schema: Any,
        *,
        limits: DocumentLimits | None = None,
        max_documents: int = MAX_COMPILED_DOCUMENTS,
        max_characters: int = MAX_COMPILED_CHARACTERS,
    ) -> None:
        self._schema = graphql_schema
        self._limits = limits or DocumentLimits()
        self._max = max_documents
        self._max_characters = max_characters
        self._characters = 0
        self._plans: OrderedDict[tuple[str, str | None], CompiledValidate | None] = OrderedDict()
        self._bodies: dict[tuple[Any, ...], tuple[CompiledValidate, bytes]] = {}

    def get(self, query: str, operation_name: str | None) -> CompiledValidate | None:
        key = (query, operation_name)
        try:
            return self._plans[key]
        except KeyError:
            pass
        if len(query) > MAX_DOCUMENT_LENGTH or len(operation_name or "") > MAX_DOCUMENT_LENGTH:
            return None
        try:
            plan = compile_validate(self._schema, query, operation_name, limits=self._limits)
        except GraphQLError:
            return None  # refused: the general path says why
        self._plans[key] = plan
        self._characters += _size(key)
        while len(self._plans) > self._max or self._characters > self._max_characters:
            dropped, _ = self._plans.popitem(last=False)
            self._characters -= _size(dropped)
        return plan

    def body(self, plan: CompiledValidate, result: Validation) -> bytes:
        """The response body (``{"data": ...}`` as JSON) for ``result`` under ``plan``.

        Kept by the plan and by what the answer says (the reason and the token's id,
        name and expiry, all that ``render`` shows), so a token in steady use is rendered
        once, not at every request, however often its cached state is read again. The plan
        is held with its body, so that its id is not reused while the body is kept.
        Emptied when full. Keyed by the answer object instead, the memo kept the stale
        answers alive with their grants: 35 MB more under bench case 6.
        """
        token = result.token
        key = (
            id(plan),
            result.reason,
            *((None, None, None) if token is None else (token.id, token.name, token.expires_at)),
        )
        known = self._bodies.get(key)
        if known is not None and known[0] is plan:
            return known[1]
        body = orjson.dumps({"data": plan.render(result)})
        if len(self._bodies) >= MAX_RENDERED_BODIES:
            self._bodies.clear()
        self._bodies[key] = (plan, body)
        return body

    def __len__(self) -> int:
        return len(self._plans)

    @property
    def characters(self) -> int:
        return self._characters


def _size(key: tuple[str, str | None]) -> int:
    return len(key[0]) + len(key[1] or "")


def compile_validate(
    graphql_schema: Any,
    query: str,
    operation_name: str | None,
    *,
    limits: DocumentLimits | None = None,
) -> CompiledValidate | None:
    """Compile ``query`` if it is a plain ``validateToken`` query; else None.

    Raises ``GraphQLError`` for a document that the general path refuses: past a limit,
    unparsable, invalid, or without one clear operation.
    """
    document = parse_within(query, limits or DocumentLimits())
    choose_operation(document, operation_name)
    errors = validate(graphql_schema, document)
    if errors:
        raise errors[0]
    operation = _only_operation(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY or operation.directives:
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    root = selections[0]
    if root.name.value != "validateToken" or root.directives or root.selection_set is None:
        return None
    defaults: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        if definition.directives:
            return None
        default = _literal(definition.default_value) if definition.default_value else _NO_DEFAULT
        if default is _UNSUPPORTED:
            return None
        defaults[definition.variable.name.value] = default
    arguments: dict[str, Any] = {}
    for argument in root.arguments or ():
        if isinstance(argument.value, VariableNode):
            name = argument.value.name.value
            arguments[argument.name.value] = _Variable(name, defaults.get(name, _NO_DEFAULT))
        else:
            value = _literal(argument.value)
            if value is _UNSUPPORTED:
                return None
            arguments[argument.name.value] = value
    selection = _selection(root, _VALIDATION_FIELDS, nested="sharedAccessToken")
    if selection is None:
        return None
    response_key = root.alias.value if root.alias else root.name.value
    return CompiledValidate(response_key=response_key, arguments=arguments, selection=selection)


def _only_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    operations = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            return None  # fragments: leave them to the general path
        operations.append(definition)
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    named = [o for o in operations if o.name is not None and o.name.value == operation_name]
    return named[0] if len(named) == 1 else None


def _selection(node: FieldNode, allowed: frozenset[str], *, nested: str | None) -> Selection | None:
    assert node.selection_set is not None
    out: list[tuple[str, str, Selection | None]] = []
    for child in node.selection_set.selections:
        if not isinstance(child, FieldNode) or child.directives or child.arguments:
            return None
        name = child.name.value
        if name not in allowed:
            return None
        sub: Selection | None = None
        if name == nested:
            if child.selection_set is None:
                return None
            sub = _selection(child, _TOKEN_FIELDS, nested=None)
            if sub is None:
                return None
        key = child.alias.value if child.alias else name
        if any(existing == key for existing, _, _ in out):
            return None  # merged duplicate keys: leave them to the general path
        out.append((key, name, sub))
    return tuple(out)


def _literal(node: ValueNode | None) -> Any:
    if isinstance(node, StringValueNode):
        return node.value
    if isinstance(node, EnumValueNode):
        return node.value
    if isinstance(node, NullValueNode):
        return None
    return _UNSUPPORTED
