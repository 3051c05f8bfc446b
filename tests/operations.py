"""The documents clients send (``graphql/operations/*.graphql``), for tests and bench alike.

A module of its own, with no import of the schema, so that ``tests.launcher``
and bench/ read the documents without building it.
"""

from __future__ import annotations

import functools
from pathlib import Path

OPERATIONS_DIR = Path(__file__).resolve().parent.parent / "graphql" / "operations"


@functools.cache
def operation(name: str) -> str:
    """A document from ``graphql/operations/NAME.graphql``: the ones clients copy."""
    return (OPERATIONS_DIR / f"{name}.graphql").read_text(encoding="utf-8")
