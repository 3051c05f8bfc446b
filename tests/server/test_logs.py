"""Log lines: the cheaper formatter writes exactly what logging's own would."""

from __future__ import annotations

import logging
import sys

import pytest

from server.logs import FORMAT, LineFormatter


def _record(created: float) -> logging.LogRecord:
    record = logging.LogRecord("sat.access", logging.INFO, __file__, 1, "%s %d", ("x", 2), None)
    record.created = created
    record.msecs = (created - int(created)) * 1000
    return record


@pytest.mark.parametrize(
    "moments",
    [
        [1_780_000_000.0],
        [1_780_000_000.001, 1_780_000_000.999, 1_780_000_001.0, 1_780_000_061.5],
        [1_780_000_005.25, 1_780_000_004.75],  # records need not arrive in order
    ],
)
def test_line_formatter_matches_the_standard_formatter(moments: list[float]) -> None:
    ours, standard = LineFormatter(), logging.Formatter(FORMAT)
    for created in moments:
        record = _record(created)
        assert ours.format(record) == standard.format(record)


def test_line_formatter_writes_a_traceback_as_the_standard_formatter() -> None:
    ours, standard = LineFormatter(), logging.Formatter(FORMAT)
    try:
        raise ValueError("storage failed")
    except ValueError:
        record = logging.LogRecord(
            "sat.auth", logging.ERROR, __file__, 1, "failed: %s", ("x",), sys.exc_info()
        )
    record.created, record.msecs = 1_780_000_000.5, 500.0

    assert ours.format(record) == standard.format(record)
    assert "ValueError: storage failed" in ours.format(record)


def test_line_formatter_escapes_a_newline_in_the_message() -> None:
    record = _record(1_780_000_000.0)
    record.msg, record.args = "GET /%s", ("a\nINFO forged",)

    assert LineFormatter().format(record).endswith("GET /a\\nINFO forged")
