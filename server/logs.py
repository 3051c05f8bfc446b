"""Logging for ``sat``: one line per record, cheap enough for an access line per request."""

from __future__ import annotations

import logging
import time
from typing import Any, cast

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
        return self.stamp(record.created, int(record.msecs))

    def stamp(self, created: float, msecs: int) -> str:
        """``asctime`` of a record made at ``created`` (``time.time()``), ``msecs`` into it."""
        second = int(created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = second
        return f"{self._stamp},{msecs:03d}"

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


class DirectLog:
    """One logger's lines at one level, written straight to the handler ``configure`` installs.

    Building a ``LogRecord`` is most of what an access line costs (one per request). When
    that handler alone would receive the record (no filter, no other handler on the way,
    the logger enabled and not disabled), the line is formatted here, as ``LineFormatter``
    formats the record, and written as ``StreamHandler`` writes it: the same bytes, under
    the handler's lock. Whenever anything else would see the record (pytest's ``caplog``,
    an operator's handler or filter), it goes through ``logging`` as before.
    """

    def __init__(self, logger: logging.Logger, level: int = logging.INFO) -> None:
        self.logger = logger
        self.level = level
        self._middle = f" {logging.getLevelName(level)} {logger.name}: "

    def handler(self) -> logging.StreamHandler[Any] | None:
        """The one handler a record would reach, when writing to it directly is exact."""
        found: logging.Handler | None = None
        logger: logging.Logger | None = self.logger
        if self.logger.disabled:
            return None
        while logger is not None:
            if logger.filters:
                return None
            for handler in logger.handlers:
                if found is not None:
                    return None
                found = handler
            if not logger.propagate:
                break
            logger = logger.parent
        if (
            type(found) is not logging.StreamHandler
            or found.filters
            or self.level < found.level
            or type(found.formatter) is not LineFormatter
        ):
            return None
        return found

    def enabled(self) -> bool:
        """Whether a line would be written at all: then, and only then, make its fields."""
        return self.logger.isEnabledFor(self.level)

    def log(self, msg: str, *args: object) -> None:
        """``logger.log(level, msg, *args)``, without a record when that writes the same."""
        logger = self.logger
        if not logger.isEnabledFor(self.level):
            return
        handler = self.handler()
        if handler is None:
            logger.log(self.level, msg, *args)
            return
        created = time.time()
        formatter = cast(LineFormatter, handler.formatter)
        handler.acquire()
        try:
            stamp = formatter.stamp(created, int((created - int(created)) * 1000))
            stream = handler.stream
            stream.write(stamp + self._middle + escape(msg % args) + handler.terminator)
            if stream and hasattr(stream, "flush"):  # StreamHandler.flush, its lock held already
                stream.flush()
        except RecursionError:  # as StreamHandler.emit
            raise
        except Exception:
            record = logger.makeRecord(
                logger.name, self.level, "(unknown file)", 0, msg, args, None
            )
            handler.handleError(record)
        finally:
            handler.release()


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
