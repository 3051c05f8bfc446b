"""Text in arguments, checked before anything runs: lone surrogates and over-long values.

The domain checks each value it takes (names, labels, usernames, passwords) with its
own rule; this is the floor under all of them, for every string a request carries in
its variables or as a literal: nothing past ``MAX_TEXT_LENGTH`` or with a lone
surrogate (text no database encoding can store) reaches a resolver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ObjectFieldNode,
    StringValueNode,
    VariableNode,
    Visitor,
    visit,
)
from tokens.admins import MAX_PASSWORD_LENGTH

# The longest text any argument takes (a password); search terms have their own bound.
MAX_TEXT_LENGTH = MAX_PASSWORD_LENGTH
LIMITS_BY_NAME = {"search": 100}


def invalid(field: str, message: str) -> GraphQLError:
    return GraphQLError(f"{field} {message}", extensions={"code": "BAD_USER_INPUT", "field": field})


def check_text(value: str, field: str) -> None:
    fault = text_fault(value, field)
    if fault is not None:
        raise invalid(field, fault)


def text_fault(value: str, field: str) -> str | None:
    """What ``check_text`` refuses ``value`` for, as the text of ``field``; None: nothing."""
    if field == "id" or field.endswith("Id"):
        return None  # an id of any form names nothing, as the contract says: no error for it
    limit = LIMITS_BY_NAME.get(field, MAX_TEXT_LENGTH)
    if len(value) > limit:
        return f"must be at most {limit} characters"
    if not value.isascii() and any("\ud800" <= c <= "\udfff" for c in value):
        return "must not contain lone surrogates"
    return None


def check_variables(variables: Mapping[str, Any] | None, arguments: Mapping[str, str]) -> None:
    """Every string in the variables, named by the argument or innermost input field.

    ``arguments`` is what ``check_literals`` returned for the document: only variables
    passed to an argument are checked, the rest are never read.
    """
    if not variables:
        return
    pending: list[tuple[str, Any]] = [
        (arguments[k], v) for k, v in variables.items() if k in arguments
    ]
    while pending:
        field, value = pending.pop()
        if isinstance(value, str):
            check_text(value, field)
        elif isinstance(value, dict):
            pending.extend(value.items())
        elif isinstance(value, list):
            pending.extend((field, item) for item in value)


def check_literals(document: DocumentNode) -> dict[str, str]:
    """Every string literal of the document, named by its argument or input field.

    Returns, for ``check_variables``, the argument or input field each variable is
    passed to: read once, when the document is first validated, and kept with it.
    """
    literals = _Literals()
    visit(document, literals)
    return literals.arguments


class _Literals(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self._names: list[str] = []
        self.arguments: dict[str, str] = {}

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self._names.append(node.name.value)

    def leave_argument(self, *_: Any) -> None:
        self._names.pop()

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        self._names.append(node.name.value)

    def leave_object_field(self, *_: Any) -> None:
        self._names.pop()

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        check_text(node.value, self._names[-1] if self._names else "value")

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        if self._names:
            self.arguments.setdefault(node.name.value, self._names[-1])
