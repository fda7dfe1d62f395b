"""Vietnam's working-day calendar and legal period arithmetic.

Built on the ``holidays`` package (Tết by the lunar calendar, substituted days off
and the Saturdays worked in exchange), plus an override table for ad-hoc government
decisions. Period rules follow Civil Code 2015 arts. 147–148: the first day of a
period is not counted, and a period ending on a day off ends on the next working day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Literal

import holidays

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class CalendarOverride:
    """A day declared off or working by a decision not known to ``holidays``."""

    day: dt.date
    kind: Literal["off", "working"]
    reason: str = ""


class WorkingCalendar:
    """Answer "is this a working day?" and do deadline arithmetic in working days."""

    def __init__(self, overrides: Iterable[CalendarOverride] = ()) -> None:
        self._off = {o.day for o in overrides if o.kind == "off"}
        self._working = {o.day for o in overrides if o.kind == "working"}
        self._vn = holidays.country_holidays("VN", language="vi")

    def holiday_name(self, day: dt.date) -> str | None:
        """Return the public holiday's Vietnamese name on that day, if any."""
        return self._vn.get(day)

    def is_working_day(self, day: dt.date) -> bool:
        """Return True when public offices work on ``day``."""
        if day in self._off:
            return False
        if day in self._working:
            return True
        return bool(self._vn.is_working_day(day))

    def next_working_day(self, day: dt.date) -> dt.date:
        """Return ``day`` itself if it is a working day, else the first working day after."""
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """Return the day on which a period of ``n`` working days starting on ``start`` ends.

        The start day is not counted (art. 147), so 3 working days from a Monday
        end on Thursday. ``n == 0`` means "the same day, or the next working day".
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            return self.next_working_day(start)
        day, left = start, n
        while left:
            day += ONE_DAY
            if self.is_working_day(day):
                left -= 1
        return day

    def add_calendar_days(self, start: dt.date, n: int) -> dt.date:
        """Return the end of a period of ``n`` calendar days, moved past days off (art. 148)."""
        return self.next_working_day(start + dt.timedelta(days=n))

    def count_working_days(self, start: dt.date, end: dt.date) -> int:
        """Count working days in (start, end]: the start day is not counted; negative if end < start."""
        if end < start:
            return -self.count_working_days(end, start)
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            if self.is_working_day(day):
                count += 1
        return count


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """Return a calendar without overrides (use ``calendar.service.load_calendar`` in the app)."""
    return WorkingCalendar()
