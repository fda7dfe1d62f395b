"""Injected clock: every rule and deadline asks this, never ``date.today()``.

A command run with ``--as-of 2026-10-01`` sets a fixed clock for its duration, so
detection, deadlines and reports can be simulated for any day.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from contextlib import contextmanager
from typing import Iterator, Protocol
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    """Anything that can tell the current time in Vietnam."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real wall clock, in Vietnam's time zone."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(VN_TZ)


class FixedClock:
    """A clock frozen at one instant (tests, ``--as-of``); ``advance`` moves it."""

    def __init__(self, at: dt.datetime | dt.date) -> None:
        if not isinstance(at, dt.datetime):
            at = dt.datetime.combine(at, dt.time(8, 0), VN_TZ)
        elif at.tzinfo is None:
            at = at.replace(tzinfo=VN_TZ)
        self._at = at

    def now(self) -> dt.datetime:
        return self._at

    def advance(self, delta: dt.timedelta) -> None:
        """Move the frozen instant forward."""
        self._at += delta


_process_clock: Clock = SystemClock()
_current: contextvars.ContextVar[Clock | None] = contextvars.ContextVar("chudong_clock", default=None)


def current_clock() -> Clock:
    """Return the clock in force: the context's, else the process-wide one."""
    return _current.get() or _process_clock


def now() -> dt.datetime:
    """Return the current instant of the injected clock (aware, Vietnam time)."""
    return current_clock().now()


def today() -> dt.date:
    """Return the current date in Vietnam of the injected clock."""
    return current_clock().now().astimezone(VN_TZ).date()


def set_process_clock(clock: Clock) -> None:
    """Install ``clock`` for the whole process (``--as-of`` on a command, the demo server)."""
    global _process_clock
    _process_clock = clock


def set_clock(clock: Clock) -> contextvars.Token[Clock | None]:
    """Install a clock for the current context; return the token to reset it."""
    return _current.set(clock)


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Run a block with the given clock installed."""
    token = _current.set(clock)
    try:
        yield clock
    finally:
        _current.reset(token)


def parse_as_of(value: str) -> dt.date:
    """Parse an ``--as-of`` value (YYYY-MM-DD) or raise ValueError with a clear message."""
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--as-of {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-10-01") from None
