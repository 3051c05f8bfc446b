"""The documents clients send: ``graphql/operations/NAME.graphql`` with the fragments it spreads.

A document that spreads ``...NAME`` names a fragment of ``graphql/fragments/NAME.graphql``;
the complete document is the operation followed by each fragment it needs (a fragment's own
spreads included), each once, in the order first spread. The console fetches the complete
document from ``/console/operations/NAME.graphql``; tests and bench read it from here.
"""

from __future__ import annotations

from pathlib import Path

from graphql import FragmentSpreadNode, Visitor, parse, visit

GRAPHQL_DIR = Path(__file__).resolve().parent.parent / "graphql"
OPERATIONS_DIR = GRAPHQL_DIR / "operations"
FRAGMENTS_DIR = GRAPHQL_DIR / "fragments"


class _Spreads(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
        self.names.append(node.name.value)


def _spreads(text: str) -> list[str]:
    visitor = _Spreads()
    visit(parse(text), visitor)
    return visitor.names


def document(name: str) -> str:
    """The complete document of operation ``name``: raises ``FileNotFoundError`` if none."""
    parts = [(OPERATIONS_DIR / f"{name}.graphql").read_text(encoding="utf-8")]
    included: set[str] = set()
    pending = _spreads(parts[0])
    while pending:
        fragment = pending.pop(0)
        if fragment in included:
            continue
        included.add(fragment)
        text = (FRAGMENTS_DIR / f"{fragment}.graphql").read_text(encoding="utf-8")
        parts.append(text)
        pending.extend(_spreads(text))
    return "\n".join(parts)
