"""Logging set-up of every chudong process, with personal identifiers redacted from every line.

The code does not log personal ID numbers, phone numbers or e-mail addresses (a test scans
a whole demo run for them). ``RedactingFilter`` is the second line of defence: it hides any
that a library or a future log statement lets through — SQLAlchemy's DEBUG echo of result
rows, a query string in uvicorn's access log, an exception message quoting bad input.
Deployments that configure logging themselves (``logging.config.dictConfig``, gunicorn)
should put ``chudong.kit.logs.RedactingFilter`` on their handlers too.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from typing import Any

from chudong.kit.redact import redact

# loggers with handlers of their own that do not propagate to the root logger
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _Redacted:
    """An object logged as an argument, shown through ``redact`` whether formatted by %s or %r."""

    __slots__ = ("_value",)

    def __init__(self, value: object) -> None:
        self._value = value

    def __str__(self) -> str:
        return redact(str(self._value))

    def __repr__(self) -> str:
        return redact(repr(self._value))


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return redact(value)
    return _Redacted(value)


class RedactingFilter(logging.Filter):
    """Hide personal ID numbers, phones and e-mails in a record's message, arguments and traceback.

    The record is copied, never changed in place (Python 3.12 filters may return a new
    record), so a handler without the filter still sees the original. The arguments keep
    their shape — uvicorn's access formatter unpacks them.
    """

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> logging.LogRecord:  # type: ignore[override]
        """Return a copy of ``record`` with personal identifiers replaced."""
        out = copy.copy(record)
        out.msg = redact(record.msg) if isinstance(record.msg, str) else _Redacted(record.msg)
        if isinstance(record.args, Mapping):
            out.args = {k: _clean(v) for k, v in record.args.items()}
        elif record.args:
            out.args = tuple(_clean(a) for a in record.args)
        if record.exc_info and record.exc_info[0] is not None:
            out.exc_text = redact(record.exc_text or self._formatter.formatException(record.exc_info))
            out.exc_info = None  # formatters print exc_text; a handler must not re-format the raw traceback
        elif record.exc_text:
            out.exc_text = redact(record.exc_text)
        if record.stack_info:
            out.stack_info = redact(record.stack_info)
        return out


def _has_redaction(filterer: logging.Filterer) -> bool:
    return any(isinstance(f, RedactingFilter) for f in filterer.filters)


def protect_uvicorn() -> None:
    """Redact uvicorn's own loggers (access log, errors), which do not pass through the root handlers."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not _has_redaction(logger):  # logger-level: kept when uvicorn re-configures its handlers
            logger.addFilter(RedactingFilter())


def configure_logging(level: int = logging.WARNING) -> None:
    """Log at ``level`` to stderr through the redacting filter (idempotent; the CLI calls it first).

    SQLAlchemy stays at WARNING whatever ``level`` is: its INFO echo prints every statement and
    its DEBUG echo every result row. Engines hide bound parameters (``chudong.db.make_engine``).
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if _has_redaction(h)]
    if not ours:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RedactingFilter())
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    protect_uvicorn()
