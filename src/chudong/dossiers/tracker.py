"""The citizen's data tracker: who accessed my data — one row per access, not per page load.

An officer reloading a dossier page writes a log row each time; the citizen sees one row per
(day, unit, officer, dossier, purpose) with the unit by name and the officer's role, never a raw code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chudong.dossiers.models import DataAccessLog, Dossier, Officer, Unit
from chudong.kit import clock


@dataclass(frozen=True)
class Access:
    """One access to a citizen's data."""

    day: dt.date
    unit_name: str
    role: str  # Officer.role; pages show it in words
    purpose: str  # as logged; pages show it in words
    dossier_code: str
    dossier_title: dict
    reads: int  # page loads folded into this access


def accesses(session: Session, person_id: int, limit: int = 500) -> list[Access]:
    """Return the accesses to ``person_id``'s data, newest first."""
    rows = session.execute(
        select(DataAccessLog.at, Officer.id, Officer.role, Unit.name, DataAccessLog.purpose, Dossier.code,
               Dossier.title)
        .join(Officer, Officer.id == DataAccessLog.officer_id)
        .join(Unit, Unit.code == Officer.unit_code, isouter=True)
        .join(Dossier, Dossier.id == DataAccessLog.dossier_id)
        .where(DataAccessLog.person_id == person_id)
        .order_by(DataAccessLog.at.desc(), DataAccessLog.id.desc()).limit(limit * 20)
    ).all()
    folded: dict[tuple, list] = {}
    for at, officer_id, role, unit_name, purpose, code, title in rows:
        day = at.astimezone(clock.VN_TZ).date() if at.tzinfo else at.date()
        key = (day, officer_id, code, purpose)
        if key in folded:
            folded[key][-1] += 1
        else:
            folded[key] = [day, unit_name or "", role, purpose, code, title or {}, 1]
    return [Access(*v) for v in list(folded.values())[:limit]]


def access_count(session: Session, person_id: int) -> int:
    """Return how many log rows hold this person's data (for tests and the steward)."""
    return session.scalar(select(func.count()).select_from(DataAccessLog)
                          .where(DataAccessLog.person_id == person_id)) or 0
