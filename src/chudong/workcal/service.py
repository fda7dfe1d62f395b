"""Build the working calendar with the database's overrides; add and list overrides."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.kit.workdays import CalendarOverride, WorkingCalendar
from chudong.workcal.models import CalendarOverrideRow


def load_calendar(session: Session) -> WorkingCalendar:
    """Return a WorkingCalendar that includes every stored override."""
    rows = session.scalars(select(CalendarOverrideRow)).all()
    return WorkingCalendar(CalendarOverride(r.day, r.kind, r.reason) for r in rows)  # type: ignore[arg-type]


def set_override(session: Session, day: dt.date, kind: str, reason: str, legal_reference: str = "") -> None:
    """Declare ``day`` a day off or a working day (replacing any earlier override)."""
    if kind not in ("off", "working"):
        raise ValueError(f"kind must be 'off' or 'working', not {kind!r}")
    row = session.get(CalendarOverrideRow, day)
    if row is None:
        session.add(CalendarOverrideRow(day=day, kind=kind, reason=reason, legal_reference=legal_reference))
    else:
        row.kind, row.reason, row.legal_reference = kind, reason, legal_reference
    session.flush()
