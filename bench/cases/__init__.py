"""The cases, one module each, by the names that ``--only`` takes, in the order they run.

A case is ``run(directory, *, quick)``: it measures in a fresh temporary
``directory`` and reports its figures with ``bench.harness.report``.
"""

from __future__ import annotations

import functools
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, Protocol

from bench.cases import (
    console,
    fairness,
    hostile,
    inprocess,
    integrations,
    memory,
    over_http,
    overview,
    propagation,
    scale,
    sustained,
)


class Case(Protocol):
    def __call__(self, directory: Path, *, quick: bool) -> Coroutine[Any, Any, None]: ...


CASES: dict[str, Case] = {
    "inprocess": inprocess.run,
    "http": over_http.run,
    "scale-sqlite": functools.partial(scale.run, kind="sqlite"),
    "scale-postgres": functools.partial(scale.run, kind="postgres"),
    "overview": overview.run,
    "memory": memory.run,
    "sustained": sustained.run,
    "propagation": propagation.run,
    "console": console.run,
    "integrations": integrations.run,
    "login-storm": hostile.login_storm,
    "largest-documents": hostile.largest_documents,
    "fairness": fairness.run,
}
