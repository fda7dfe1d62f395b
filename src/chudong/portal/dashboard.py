"""Leader dashboard figures: live counts, trends, overdue list, productivity, processing time.

Every figure is one grouped SQL query over ``dossier`` / ``dossier_event`` (no Python loop
over dossiers), so the page stays fast with a million dossiers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from chudong.analytics.kpi import PROCESSING_TARGET_MIN, TARGETS_PER_YEAR, officer_minutes
from chudong.dossiers.models import Dossier, DossierEvent, Officer, Unit
from chudong.dossiers.statemachine import IN_PROGRESS
from chudong.geo.models import Ward

PROCESSING_BINS = (5, 10, 15, 30, 60, 120)


@dataclass
class Counts:
    """Counts of one row of the live table."""

    received: int = 0
    early: int = 0
    on_time: int = 0
    late: int = 0
    in_progress: int = 0
    overdue: int = 0


@dataclass
class Dashboard:
    """Everything the leader page shows."""

    per_service: list[tuple[str, dict, Counts]] = field(default_factory=list)
    per_unit: list[tuple[str, str, Counts]] = field(default_factory=list)
    weekly: list[tuple[dt.date, int, int]] = field(default_factory=list)
    overdue: list[tuple[str, dict, str, dt.date, int]] = field(default_factory=list)
    productivity: list[dict] = field(default_factory=list)
    processing_bins: list[tuple[str, int]] = field(default_factory=list)
    processing_within_target: float | None = None
    proactive: int = 0
    citizen_started: int = 0
    total: int = 0


def service_names(service_id: str) -> dict:
    """Return a service's names {vi, en} from the catalogue (linked procedures: their id)."""
    from chudong.kit.errors import NotFound
    from chudong.rules.catalogue import get_catalogue

    try:
        return dict(get_catalogue().service(service_id).names)
    except NotFound:
        return {"vi": service_id, "en": service_id}


def _counts_columns(today: dt.date):
    in_prog = Dossier.status.in_(sorted(IN_PROGRESS))
    return (
        func.count(Dossier.id),
        func.sum(case((Dossier.settlement_class == "early", 1), else_=0)),
        func.sum(case((Dossier.settlement_class == "on_time", 1), else_=0)),
        func.sum(case((Dossier.settlement_class == "late", 1), else_=0)),
        func.sum(case((in_prog, 1), else_=0)),
        func.sum(case((and_(in_prog, Dossier.due_on < today), 1), else_=0)),
    )


def _counts(row) -> Counts:
    return Counts(*(int(v or 0) for v in row))


def build(session: Session, *, today: dt.date, since: dt.date) -> Dashboard:
    """Compute the dashboard for dossiers opened since ``since`` (in-progress ones always count)."""
    dash = Dashboard()
    scope = Dossier.received_on.is_not(None)
    window = (Dossier.opened_at >= dt.datetime.combine(since, dt.time(), dt.UTC)) | Dossier.status.in_(sorted(IN_PROGRESS))
    for sid, *c in session.execute(
        select(Dossier.service_id, *_counts_columns(today))
        .where(scope, window).group_by(Dossier.service_id).order_by(Dossier.service_id)
    ):
        dash.per_service.append((sid, service_names(sid), _counts(c)))
    for code, name, *c in session.execute(
        select(Unit.code, Unit.name, *_counts_columns(today)).select_from(Dossier)
        .join(Unit, Unit.code == Dossier.handling_unit_code)
        .where(scope, window).group_by(Unit.code, Unit.name).order_by(func.count(Dossier.id).desc()).limit(50)
    ):
        dash.per_unit.append((code, name, _counts(c)))

    # weekly received / settled over the last 12 weeks
    start = today - dt.timedelta(days=today.weekday() + 7 * 11)
    received = dict(session.execute(
        select(Dossier.received_on, func.count()).where(Dossier.received_on >= start).group_by(Dossier.received_on)
    ).all())
    settled = dict(session.execute(
        select(Dossier.settled_on, func.count()).where(Dossier.settled_on >= start).group_by(Dossier.settled_on)
    ).all())
    for week in range(12):
        monday = start + dt.timedelta(days=7 * week)
        days = [monday + dt.timedelta(days=i) for i in range(7)]
        dash.weekly.append((monday, sum(received.get(d, 0) for d in days), sum(settled.get(d, 0) for d in days)))

    for name, title, code, due in session.execute(
        select(Unit.name, Dossier.title, Dossier.code, Dossier.due_on).select_from(Dossier)
        .join(Unit, Unit.code == Dossier.handling_unit_code)
        .where(Dossier.status.in_(sorted(IN_PROGRESS)), Dossier.due_on < today).order_by(Dossier.due_on).limit(100)
    ):
        dash.overdue.append((name, title or {}, code, due, (today - due).days))

    # productivity: settlements by each officer over the last 365 days, against the unit's target
    year_ago = dt.datetime.combine(today - dt.timedelta(days=365), dt.time(), dt.UTC)
    officer_label = "officer:" + Officer.username  # how dossier_event.actor names an officer
    rows = session.execute(
        select(Officer.full_name, Unit.name, func.coalesce(Ward.area_class, "urban"), func.count(DossierEvent.id))
        .join(Unit, Unit.code == Officer.unit_code).outerjoin(Ward, Ward.code == Unit.ward_code)
        .join(DossierEvent, and_(DossierEvent.actor == officer_label,
                                 DossierEvent.kind.in_(("approved", "rejected")), DossierEvent.at >= year_ago))
        .group_by(Officer.full_name, Unit.name, Ward.area_class).order_by(func.count(DossierEvent.id).desc()).limit(50)
    ).all()
    for full_name, unit_name, area_class, n in rows:
        target = TARGETS_PER_YEAR.get(area_class, TARGETS_PER_YEAR["urban"])
        dash.productivity.append({"officer": full_name, "unit": unit_name, "area_class": area_class,
                                  "settled": int(n), "target": target, "share": round(100 * n / target, 1)})

    # officer processing time: from claim to decision, in minutes
    minutes = officer_minutes(session, year_ago, limit=100_000)
    edges = (0, *PROCESSING_BINS)
    for low, high in zip(edges, edges[1:]):
        dash.processing_bins.append((f"{low}–{high}", sum(1 for m in minutes if low <= m < high)))
    dash.processing_bins.append((f"≥{PROCESSING_BINS[-1]}", sum(1 for m in minutes if m >= PROCESSING_BINS[-1])))
    if minutes:
        dash.processing_within_target = round(100 * sum(1 for m in minutes if m <= PROCESSING_TARGET_MIN) / len(minutes), 1)

    top = Dossier.parent_id.is_(None)
    dash.proactive, dash.citizen_started = (int(v or 0) for v in session.execute(
        select(func.sum(case((Dossier.life_event_id.is_not(None), 1), else_=0)),
               func.sum(case((Dossier.life_event_id.is_(None), 1), else_=0))).where(top)
    ).one())
    dash.total = dash.proactive + dash.citizen_started
    return dash
