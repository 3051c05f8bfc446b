"""The documents clients send (``graphql/operations/*.graphql``), for tests and bench alike.

Complete documents, with the fragments they spread, as ``server.operations`` composes
them for the console; that module imports no schema, so ``tests.launcher`` and bench/
read the documents without building it.
"""

from __future__ import annotations

import functools

from server.operations import FRAGMENTS_DIR, OPERATIONS_DIR, document

__all__ = ["FRAGMENTS_DIR", "OPERATIONS_DIR", "operation"]


@functools.cache
def operation(name: str) -> str:
    """The complete document of ``graphql/operations/NAME.graphql``: what clients send."""
    return document(name)
