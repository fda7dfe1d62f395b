"""The Quảng Nam pilot's own targets, measured on the platform's data for a period.

Each KPI carries its value, its target and the counts behind it; a KPI without data
says so (``value is None``) instead of showing a fake 100%.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from chudong.analytics.service import Period
from chudong.dossiers.models import Dossier, DossierEvent, DossierRating

# the pilot's productivity targets: dossiers per officer a year by the unit's area class
TARGETS_PER_YEAR = {"urban": 1600, "rural": 1200, "disadvantaged": 800}
PROCESSING_TARGET_MIN = 30


def officer_minutes(session: Session, since: dt.datetime, until: dt.datetime | None = None,
                    limit: int | None = None) -> list[float]:
    """Return the officer time of each dossier taken into processing in [since, until): claim → decision, in minutes."""
    claimed, decided = aliased(DossierEvent), aliased(DossierEvent)
    query = (
        select(claimed.at, func.min(decided.at))
        .join(decided, and_(decided.dossier_id == claimed.dossier_id, decided.at >= claimed.at,
                            decided.kind.in_(("approved", "rejected", "supplement_requested"))))
        .where(claimed.kind == "claimed", claimed.at >= since)
        .group_by(claimed.id, claimed.at)
    )
    if until is not None:
        query = query.where(claimed.at < until)
    if limit is not None:
        query = query.limit(limit)
    return [(d - c).total_seconds() / 60 for c, d in session.execute(query) if d is not None]


@dataclass(frozen=True)
class Kpi:
    """One pilot indicator with its target."""

    key: str
    label: str
    value: float | None
    target: str
    unit: str
    numerator: float | None = None
    denominator: float | None = None
    note: str = ""

    @property
    def met(self) -> bool | None:
        """Return whether the target is met (None without data or without a numeric target)."""
        if self.value is None:
            return None
        op, _, number = self.target.partition(" ")
        try:
            goal = float(number)
        except ValueError:
            return None
        return self.value >= goal if op == "≥" else self.value <= goal


def _pct(num: int, den: int) -> float | None:
    return round(100 * num / den, 2) if den else None


def pilot_kpis(session: Session, period: Period) -> list[Kpi]:
    """Compute the pilot's KPIs for the period (dossiers received in it, or settled in it)."""
    start, end = period.start, period.end
    start_ts = dt.datetime.combine(start, dt.time(), dt.UTC)
    end_ts = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    received = and_(Dossier.received_on >= start, Dossier.received_on <= end)
    top = Dossier.parent_id.is_(None)
    kpis: list[Kpi] = []

    # 100% digitised before processing: no field of a received dossier is missing
    total = session.scalar(select(func.count(Dossier.id)).where(received)) or 0
    # the fields are sealed at rest: read in Python, not matched in SQL
    digitised = sum(1 for fields in session.scalars(select(Dossier.fields).where(received))
                    if not any(isinstance(f, dict) and f.get("source") == "missing" for f in (fields or {}).values()))
    kpis.append(Kpi("digitised_before_processing", "Dossiers digitised before processing", _pct(digitised, total),
                    "≥ 100", "%", digitised, total))

    # officer time per dossier: from claim to decision
    minutes = officer_minutes(session, start_ts, end_ts)
    kpis.append(Kpi("processing_minutes_median", "Officer time per dossier (median)",
                    round(statistics.median(minutes), 1) if minutes else None, f"≤ {PROCESSING_TARGET_MIN}", "min",
                    None, len(minutes)))
    within = sum(1 for m in minutes if m <= PROCESSING_TARGET_MIN)
    kpis.append(Kpi("processing_within_30_min", "Dossiers processed within 30 minutes of officer time",
                    _pct(within, len(minutes)), "≥ 100", "%", within, len(minutes)))
    kpis.append(Kpi("waiting_minutes", "Waiting time at the one-stop desk", None, "≤ 15", "min",
                    note="not measured: proactive dossiers are confirmed online; desk queue tickets are not connected"))

    # productivity: decisions per officer, annualised over the period
    days = (end - start).days + 1
    per_officer = session.execute(
        select(DossierEvent.actor, func.count()).where(
            DossierEvent.kind.in_(("approved", "rejected")), DossierEvent.actor.like("officer:%"),
            DossierEvent.at >= start_ts, DossierEvent.at < end_ts).group_by(DossierEvent.actor)
    ).all()
    if per_officer:
        yearly = statistics.mean(n for _, n in per_officer) * 365 / days
        kpis.append(Kpi("dossiers_per_officer_year", "Dossiers per officer a year (annualised, active officers)",
                        round(yearly), "≥ 1600", "dossiers", sum(n for _, n in per_officer), len(per_officer),
                        "targets 1,600 urban / 1,200 rural / 800 disadvantaged; per unit on the leader dashboard"))
    else:
        kpis.append(Kpi("dossiers_per_officer_year", "Dossiers per officer a year", None, "≥ 1600", "dossiers"))

    # satisfaction: ratings of dossiers settled in the period, 4–5 without complaint
    settled = and_(Dossier.settled_on >= start, Dossier.settled_on <= end)
    rated, satisfied = session.execute(
        select(func.count(DossierRating.dossier_id),
               func.sum(case((and_(DossierRating.score >= 4, DossierRating.complaint.is_(False)), 1), else_=0)))
        .join(Dossier, Dossier.id == DossierRating.dossier_id).where(settled)
    ).one()
    kpis.append(Kpi("satisfaction", "Satisfaction (ratings 4–5 without complaint)", _pct(int(satisfied or 0), rated),
                    "≥ 99", "%", int(satisfied or 0), rated))

    proactive = session.scalar(select(func.count(Dossier.id)).where(received, top, Dossier.life_event_id.is_not(None))) or 0
    all_top = session.scalar(select(func.count(Dossier.id)).where(received, top)) or 0
    kpis.append(Kpi("proactive_share", "Dossiers started by the state", _pct(proactive, all_top), "≥ 0", "%",
                    proactive, all_top))
    pre, tot = session.execute(select(func.sum(Dossier.fields_prefilled), func.sum(Dossier.fields_total))
                               .where(received)).one()
    kpis.append(Kpi("once_only_share", "Fields pre-filled from the registries (once-only)",
                    _pct(int(pre or 0), int(tot or 0)), "≥ 100", "%", int(pre or 0), int(tot or 0)))

    from chudong.notifications.models import DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE, Notification

    finished = session.execute(
        select(Notification.status, func.count()).where(
            Notification.created_at >= start_ts, Notification.created_at < end_ts,
            or_(Notification.status == DELIVERED, Notification.status.in_((PERMANENT_FAILURE, TECHNICAL_FAILURE))))
        .group_by(Notification.status)).all()
    counts = dict(finished)
    done = sum(counts.values())
    kpis.append(Kpi("notification_delivery_rate", "Notices delivered", _pct(counts.get(DELIVERED, 0), done), "≥ 99",
                    "%", counts.get(DELIVERED, 0), done))
    return kpis


def non_take_up_by_service(session: Session, as_of: dt.date) -> dict[str, int]:
    """Return, per service, how many eligible subjects have no dossier (from the rules feature)."""
    from chudong.rules.service import non_take_up

    totals: dict[str, int] = {}
    for row in non_take_up(session, as_of=as_of):
        totals[row.service_id] = totals.get(row.service_id, 0) + row.count
    return dict(sorted(totals.items()))
