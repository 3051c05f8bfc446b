"""Log lines: the cheaper formatter writes exactly what logging's own would."""

from __future__ import annotations

import io
import logging
import sys
import time
from typing import Any

import pytest

from server.logs import FORMAT, DirectLog, LineFormatter


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


@pytest.fixture
def direct_logger(monkeypatch: pytest.MonkeyPatch) -> tuple[logging.Logger, io.StringIO]:
    """A logger of its own with the handler ``configure`` installs, writing to a string.

    Outside the logging tree, so that pytest's capture attaches nothing to it.
    """
    logger = logging.Logger("sat.test-direct", logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LineFormatter())
    logger.addHandler(handler)
    # One clock for the record path and the direct one: both read time.time().
    monkeypatch.setattr(time, "time", lambda: 1_780_000_000.25)
    return logger, stream


def _records_made(monkeypatch: pytest.MonkeyPatch) -> list[logging.LogRecord]:
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        made.append(record)
        return record

    monkeypatch.setattr(logging, "_logRecordFactory", counting)
    return made


def test_direct_log_writes_the_line_a_record_would_without_making_one(
    direct_logger: tuple[logging.Logger, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, stream = direct_logger
    made = _records_made(monkeypatch)
    direct = DirectLog(logger)

    direct.log('%s "%s %s" %d %.1fms id=%s', "10.0.0.1", "GET", "/a\nINFO forged", 200, 1.25, "ab")
    written = stream.getvalue()
    assert made == []
    # A filter on the way: the record path, through logging, with the same line.
    logger.addFilter(lambda record: True)
    direct.log('%s "%s %s" %d %.1fms id=%s', "10.0.0.1", "GET", "/a\nINFO forged", 200, 1.25, "ab")

    assert len(made) == 1
    assert stream.getvalue() == written * 2
    assert written == (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1_780_000_000))
        + ',250 INFO sat.test-direct: 10.0.0.1 "GET /a\\nINFO forged" 200 1.2ms id=ab\n'
    )


def test_direct_log_leaves_every_other_listener_to_logging(
    direct_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = direct_logger
    direct = DirectLog(logger)
    seen = io.StringIO()
    logger.addHandler(logging.StreamHandler(seen))  # a second handler: each gets the record

    direct.log("GET %s", "/b")

    assert seen.getvalue() == "GET /b\n"
    assert stream.getvalue().endswith("INFO sat.test-direct: GET /b\n")


def test_direct_log_writes_nothing_below_the_loggers_level(
    direct_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = direct_logger
    logger.setLevel(logging.WARNING)
    DirectLog(logger).log("GET %s", "/c")
    logger.setLevel(logging.INFO)
    logger.disabled = True
    DirectLog(logger).log("GET %s", "/d")

    assert stream.getvalue() == ""
