"""Logging for ``sat``: one line per record, cheap enough for an access line per request."""

from __future__ import annotations

import logging
import time

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def escape(value: str) -> str:
    """``value`` with every character that is not printable written as an escape.

    Request data (a path, a header) reaches log lines: a newline would start a forged
    line, an ESC would reach the terminal of whoever reads the log, a bidirectional
    override would reorder what they see. Escaping twice changes nothing, so the
    access log can escape its fields and the formatter every message.
    """
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in value)


class LineFormatter(logging.Formatter):
    """``asctime`` as ``logging.Formatter`` writes it, the date part made once per second."""

    def __init__(self) -> None:
        super().__init__(FORMAT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802  (logging's name)
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._stamp},{int(record.msecs):03d}"

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        """One line whatever the message holds; a traceback still follows on its own lines."""
        record.message = escape(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        """What ``logging.Formatter.format`` writes for ``FORMAT``, in fewer steps when there is
        no traceback: the access log formats a record per request."""
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        record.message = escape(record.getMessage())
        record.asctime = self.formatTime(record)
        return FORMAT % record.__dict__


def configure(level: str) -> None:
    """Log to stderr at ``level``, without what the logging HOWTO says costs and few use."""
    # "Optimization" in the logging HOWTO: no caller lookup, thread or process names.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    handler.setFormatter(LineFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    # Tortoise announces every connect and close at INFO: noise in a CLI.
    logging.getLogger("tortoise").setLevel(max(logging.WARNING, logging.root.level))
