"""An execution is freed by reference counting when its request ends, refused or not.

Left in reference cycles, every request's objects waited for the cyclic garbage
collector, and a storm of failed logins made it pause the event loop several times a
second, for up to 2 ms each time, with validations waiting (bench case 10).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator

import pytest

from schema import SatExecutionContext
from schema.context import Context
from tests.support import assert_no_errors, execute, operation
from tokens.callers import ServiceCaller

pytestmark = pytest.mark.usefixtures("db")

GATEWAY = ServiceCaller(client_id=1, name="gateway")


def _ours(thing: object) -> bool:
    """An object a GraphQL request makes: its execution, context or errors."""
    module = type(thing).__module__
    return isinstance(thing, BaseException | SatExecutionContext | Context) or module.startswith(
        ("graphql.", "strawberry.")
    )


@pytest.fixture
def garbage() -> Iterator[Callable[[], list[str]]]:
    """Collects, then names what the cyclic collector alone could free of what GraphQL
    requests made since the last call (or the fixture's start)."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)

    def collected() -> list[str]:
        gc.collect()
        names = [type(thing).__name__ for thing in gc.garbage if _ours(thing)]
        gc.garbage.clear()
        gc.set_debug(0)
        gc.collect()  # what was saved is still in its cycles: free it for good
        gc.set_debug(gc.DEBUG_SAVEALL)
        return names

    try:
        yield collected
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def test_a_failed_login_leaves_no_cycles(garbage: Callable[[], list[str]]) -> None:
    await execute(operation("Login"), {"username": "nobody", "password": "wrong"})
    garbage()  # parsing and validating a new document leaves cycles: it happens once
    for attempt in range(3):
        result = await execute(
            operation("Login"), {"username": f"nobody-{attempt}", "password": "wrong"}
        )
        assert result.codes == ["UNAUTHENTICATED"]
    del result

    assert garbage() == []


async def test_an_answered_query_leaves_no_cycles(garbage: Callable[[], list[str]]) -> None:
    await execute("{ areas { key folders { key } } }", caller=GATEWAY)
    garbage()  # parsing and validating a new document leaves cycles: it happens once
    for _ in range(3):
        result = await execute("{ areas { key folders { key } } }", caller=GATEWAY)
        assert_no_errors(result)
    del result

    assert garbage() == []
