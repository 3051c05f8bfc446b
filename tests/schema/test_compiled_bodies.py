"""The compiled validateToken path keeps response bodies: each is what its answer renders to."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import orjson

from schema import build_schema
from schema.compiled import MAX_RENDERED_BODIES, CompiledDocuments
from tests.support import operation
from tokens.validation import DenialReason, ValidatedToken, Validation

NOON = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def _answers() -> list[Validation]:
    """Answers that differ in one thing each: validity, reason, and every fact shown."""
    token = ValidatedToken(id=7, name="payroll-sync", expires_at=NOON, issued_at=NOON, grants=())
    others = [
        token,
        ValidatedToken(id=8, name="payroll-sync", expires_at=NOON, issued_at=NOON, grants=()),
        ValidatedToken(id=7, name="payroll sync", expires_at=NOON, issued_at=NOON, grants=()),
        ValidatedToken(
            id=7,
            name="payroll-sync",
            expires_at=NOON + timedelta(hours=1),
            issued_at=NOON,
            grants=(),
        ),
    ]
    answers = [Validation(True, None, facts) for facts in others]
    answers += [Validation(False, reason, token) for reason in DenialReason]
    answers += [Validation(False, DenialReason.MALFORMED, None)]
    return answers


def test_every_body_is_the_rendering_of_its_own_answer() -> None:
    compiled = CompiledDocuments(build_schema()._schema)
    aliased = '{ v: validateToken(token: "t", ip: "10.0.0.1", area: "a", access: READ) { reason } }'
    plans = [compiled.get(operation("ValidateToken"), None), compiled.get(aliased, None)]
    assert all(plan is not None for plan in plans)

    # Twice round, in an order that asks each kept body again after the others.
    for plan, answer in itertools.chain.from_iterable(
        itertools.repeat(list(itertools.product(plans, _answers())), 2)
    ):
        assert plan is not None
        assert compiled.body(plan, answer) == orjson.dumps({"data": plan.render(answer)})


def test_kept_bodies_stay_bounded() -> None:
    compiled = CompiledDocuments(build_schema()._schema)
    plan = compiled.get(operation("ValidateToken"), None)
    assert plan is not None

    for number in range(MAX_RENDERED_BODIES + 10):
        facts = ValidatedToken(
            id=number, name=f"t{number}", expires_at=NOON, issued_at=NOON, grants=()
        )
        compiled.body(plan, Validation(True, None, facts))

    assert len(compiled._bodies) <= MAX_RENDERED_BODIES
