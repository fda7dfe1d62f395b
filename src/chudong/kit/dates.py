"""Birth dates as agencies send them, and how far two of them agree as identity evidence.

Vietnamese systems write ``dd/mm/yyyy`` (also with ``-`` or ``.``, without leading zeros),
web systems ISO ``yyyy-mm-dd``, some exports ``yyyymmdd``. ``parse_date`` reads them all,
day first — never the American month-first reading. Two dates are compared by
``date_agreement``: the same day; day and month swapped (only possible when both are ≤ 12,
a typist's slip, a partial match); a ``01/01/yyyy`` placeholder, which older records carry
when only the year was known (weak evidence: only the year is compared, and only for
people born before ``PLACEHOLDER_BEFORE``); the same year; or different.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

import pandas as pd

PLACEHOLDER_BEFORE = 1960
"""Birth years before which a 01/01 date is read as "year only" (records kept before civil
registration recorded full dates)."""

Agreement = Literal["exact", "swapped", "placeholder", "same_year", "different", "unknown"]

_DAY_FIRST = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


class InvalidDate(ValueError):
    """The text is not a date in a form agencies use; the message says why."""


def parse_date(value: object) -> dt.date | None:
    """Return the date ``value`` stands for, None for an empty value, or raise InvalidDate.

    Accepts ``date``/``datetime`` objects, ``dd/mm/yyyy`` (``-`` or ``.`` too, leading zeros
    optional), ISO ``yyyy-mm-dd`` (a time part is ignored) and ``yyyymmdd``.
    """
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if not text:
        return None
    for pattern, order in ((_DAY_FIRST, (2, 1, 0)), (_ISO, (0, 1, 2)), (_COMPACT, (0, 1, 2))):
        found = pattern.fullmatch(text)
        if found:
            parts = [int(g) for g in found.groups()]
            year, month, day = (parts[i] for i in order)
            try:
                return dt.date(year, month, day)
            except ValueError as exc:
                raise InvalidDate(f"date {text!r} does not exist: {exc}") from None
    raise InvalidDate(f"date {text!r} is not dd/mm/yyyy, yyyy-mm-dd or yyyymmdd")


def parse_dates(values: pd.Series) -> pd.Series:
    """Return ``values`` as datetime64, day first; what is not a date becomes NaT.

    Vectorised for the common forms (ISO, ``dd/mm/yyyy``); the rest goes through ``parse_date``.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    out = pd.to_datetime(values, errors="coerce", format="ISO8601")
    text = values.astype("string").str.strip()
    rest = out.isna() & text.notna() & (text != "")
    if rest.any():
        out[rest] = pd.to_datetime(text[rest], errors="coerce", format="%d/%m/%Y")
        rest &= out.isna()
    if rest.any():
        out[rest] = pd.to_datetime(text[rest].map(_lenient), errors="coerce")
    return out


def _lenient(value: object) -> dt.date | None:
    try:
        return parse_date(value)
    except InvalidDate:
        return None


def swapped(value: dt.date) -> dt.date | None:
    """Return the date with day and month exchanged, when that is another real date."""
    if value.day > 12 or value.day == value.month:
        return None
    return dt.date(value.year, value.day, value.month)


def is_placeholder(value: dt.date) -> bool:
    """Return True for a 01/01 date of someone born before ``PLACEHOLDER_BEFORE`` (year only)."""
    return value.month == 1 and value.day == 1 and value.year < PLACEHOLDER_BEFORE


def date_agreement(a: dt.date | None, b: dt.date | None) -> Agreement:
    """Return how far two birth dates agree, from ``exact`` down to ``different``."""
    if a is None or b is None:
        return "unknown"
    if a == b:
        return "exact"
    if swapped(a) == b:
        return "swapped"
    if a.year == b.year:
        return "placeholder" if is_placeholder(a) or is_placeholder(b) else "same_year"
    return "different"
