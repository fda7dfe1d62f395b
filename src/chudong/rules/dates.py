"""Calendar arithmetic for rules: anniversaries, leap-day birthdays, ages by calendar year.

Leap-day choice (documented in docs/rules.md): a period counted in years that starts on
29 February ends on 28 February in a year without 29 February, following Civil Code
2015 art. 148 (a period ending in a month without the corresponding day ends on that
month's last day). So a person born on 29 Feb 2012 reaches 14 on 28 Feb 2026.
"""

from __future__ import annotations

import calendar
import datetime as dt


def add_years(day: dt.date, years: int) -> dt.date:
    """Return the anniversary of ``day`` after ``years`` (29 Feb → 28 Feb in common years)."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return day.replace(year=year)


def dates_reaching(target: dt.date, years: int) -> list[dt.date]:
    """Return every start date whose ``years``-th anniversary falls on ``target`` (0, 1 or 2 dates)."""
    year = target.year - years
    found: list[dt.date] = []
    if not (target.month == 2 and target.day == 29 and not calendar.isleap(year)):
        found.append(target.replace(year=year))
    if target.month == 2 and target.day == 28 and calendar.isleap(year) and not calendar.isleap(target.year):
        found.append(dt.date(year, 2, 29))
    return found


def age_on(birth: dt.date, day: dt.date) -> int:
    """Return the age in completed years on ``day`` (leap-day birthdays per ``add_years``)."""
    age = day.year - birth.year
    if add_years(birth, age) > day:
        age -= 1
    return age


def vi_date(day: dt.date) -> str:
    """Return ``day`` as Vietnamese write it (dd/mm/yyyy)."""
    return day.strftime("%d/%m/%Y")
