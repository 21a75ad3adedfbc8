"""Log lines nobody can forge: one record starts one line, and only a record starts a line.

User text reaches the log in messages, their arguments and exception messages (a comment in a
ValueError). `SafeFormatter` escapes newlines and other control characters in the message
(after its arguments are put in), and indents every line of a traceback, so a text holding
`\\n2026-12-04 13:00:00,000 ERROR …` stays inside its own record, visibly escaped.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators; tab is kept.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r"}
INDENT = "    "


def escape_controls(text: str) -> str:
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(), f"\\x{ord(m.group()):02x}"), text)


class SafeFormatter(logging.Formatter):
    """logging.Formatter whose message has no line breaks and whose tracebacks are indented."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        saved = record.message
        record.message = escape_controls(saved)
        try:
            return super().formatMessage(record)
        finally:
            record.message = saved

    def formatException(self, ei: logging._SysExcInfoType) -> str:
        return self._indent(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return self._indent(super().formatStack(stack_info))

    @staticmethod
    def _indent(text: str) -> str:
        lines = text.replace("\r\n", "\n").split("\n")
        return "\n".join(INDENT + escape_controls(line) for line in lines)


def install(level: str = "INFO") -> None:
    """Root logging to stderr through SafeFormatter (what every process configures)."""
    logging.basicConfig(level=level, format=FORMAT)
    safe_handlers(logging.getLogger())


def safe_handlers(logger: logging.Logger) -> None:
    """Give each of `logger`'s handlers a SafeFormatter with its format (gunicorn's too)."""
    for handler in logger.handlers:
        current = handler.formatter
        if isinstance(current, SafeFormatter):
            continue
        fmt = current._fmt if current is not None else FORMAT
        datefmt = current.datefmt if current is not None else None
        handler.setFormatter(SafeFormatter(fmt, datefmt))
