"""What a citizen typed, checked with messages in the page's language (never a library's English).

Each check returns the message to show next to the field (and in the error summary), or ``None``
when the value is good (FastAPI form errors are mapped by ``chudong.web.i18n.validation_messages``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from chudong.kit.pid import InvalidPid, province_codes, validate_pid
from chudong.web.i18n import gettext as _


def pid_message(pid: str, birth_date: dt.date | None = None, sex: str | None = None) -> str | None:
    """Return why ``pid`` is not a valid personal ID number (for this birth date and sex), or None."""
    try:
        validate_pid(pid, birth_date, sex)
    except InvalidPid:
        pass
    else:
        return None
    digits = str(pid).strip().replace(" ", "").replace(".", "")
    if len(digits) != 12 or not digits.isascii() or not digits.isdigit():
        return _("A personal ID number has exactly 12 digits.")
    if int(digits[:3]) not in province_codes():
        return _("The first 3 digits of a personal ID number are a province code; %(code)s is not one.") % {
            "code": digits[:3]}
    return _("The 4th digit of a personal ID number gives the century of birth and the sex; it does not match.")


def phone_message(phone: str) -> str | None:
    """Return why ``phone`` is not a Vietnamese mobile number, or None."""
    from chudong.kit.phones import is_mobile, normalise_phone

    try:
        ok = is_mobile(normalise_phone(phone))
    except ValueError:
        ok = False
    return None if ok else _("Enter a Vietnamese mobile number, for example 0912 345 678.")


_DATE = re.compile(r"\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})\s*")


def parse_date(text: str) -> tuple[dt.date | None, str | None]:
    """Read a date typed as day/month/year (or ISO year-month-day); return (date, None) or (None, message)."""
    text = (text or "").strip()
    m = _DATE.fullmatch(text)
    try:
        if m:
            return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1))), None
        return dt.date.fromisoformat(text), None
    except ValueError:
        return None, _("Enter a real date as day/month/year, for example 03/12/2026.")


def too_many_message(exc: Any) -> str:
    """Return the rate-limit message in the page's language, the wait in whole minutes."""
    m = re.search(r"(\d+) seconds", getattr(exc, "message", "") or "")
    minutes = max(1, -(-int(m.group(1)) // 60)) if m else 15
    return _("Too many attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes}
