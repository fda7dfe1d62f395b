"""Counts behind the Decision 766 index, from the platform's own data, for any scope and period.

One grouped query per table (``dossier``, ``dossier_result``, ``dossier_rating``,
``dossier_event``), filtered by indexed columns, so a province-year of a million dossiers
is a handful of scans. Each indicator's population can be listed (``explain``) so a leader
can drill down from a score to the dossiers that made it.

Indicators without data in chudong are *not applicable* (denominator 0), never 100%:
online payment (the catalogue has no fee-bearing procedure yet), e-certified copies (no
certification workflow), procedures "updated on time" (no register of legal changes with
deadlines yet), petitions (no petition workflow: complaints arrive with ratings
and count against dossier satisfaction).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from chudong.analytics.index766 import IndexInputs, IndexResult, Ratio, compute
from chudong.dossiers.models import Dossier, DossierEvent, DossierRating, DossierResult
from chudong.dossiers.statemachine import IN_PROGRESS
from chudong.kit.errors import Unprocessable


@dataclass(frozen=True)
class Scope:
    """Which dossiers an index is about: the whole province, one unit, or one service."""

    unit_code: str | None = None
    service_id: str | None = None

    def filters(self) -> list:
        """Return the SQL conditions of the scope."""
        conds = []
        if self.unit_code:
            conds.append(Dossier.handling_unit_code == self.unit_code)
        if self.service_id:
            conds.append(Dossier.service_id == self.service_id)
        return conds


@dataclass(frozen=True)
class Period:
    """An inclusive date range (month, quarter, year or rolling)."""

    start: dt.date
    end: dt.date

    @classmethod
    def parse(cls, text: str) -> Period:
        """Parse ``2026-10`` (month), ``2026-Q4`` (quarter), ``2026`` (year) or ``2026-01-01..2026-03-31``."""
        t = text.strip()
        try:
            if ".." in t:
                a, b = t.split("..", 1)
                p = cls(dt.date.fromisoformat(a), dt.date.fromisoformat(b))
            elif "-Q" in t.upper():
                year, q = t.upper().split("-Q")
                qn = int(q)
                if not 1 <= qn <= 4:
                    raise ValueError
                start = dt.date(int(year), 3 * qn - 2, 1)
                p = cls(start, _month_end(dt.date(int(year), 3 * qn, 1)))
            elif len(t) == 4:
                p = cls(dt.date(int(t), 1, 1), dt.date(int(t), 12, 31))
            else:
                year, month = t.split("-")
                start = dt.date(int(year), int(month), 1)
                p = cls(start, _month_end(start))
        except ValueError:
            raise Unprocessable(f"period {text!r} is not YYYY-MM, YYYY-Qn, YYYY or DATE..DATE", field="period") from None
        if p.end < p.start:
            raise Unprocessable(f"period {text!r} ends before it starts", field="period")
        return p

    def label(self) -> str:
        """Return the period as text."""
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def _month_end(day: dt.date) -> dt.date:
    nxt = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _n(value) -> int:
    return int(value or 0)


def _catalogue_ratios(scope: Scope) -> tuple[Ratio, Ratio, Ratio, Ratio]:
    """Transparency and population-data indicators over the published catalogue."""
    from chudong.rules.catalogue import get_catalogue

    services = [s for s in get_catalogue().services.values() if not scope.service_id or s.id == scope.service_id]
    total = len(services)
    with_basis = sum(1 for s in services if s.legal_basis)
    complete = sum(1 for s in services if s.legal_basis and s.names.vi and s.names.en and s.templates
                   and (s.settlement.working_days is not None or s.settlement.calendar_days is not None))
    connected = sum(1 for s in services if any(i.source.startswith("person.") for i in s.data_items))
    return Ratio(with_basis, total), Ratio(complete, total), Ratio(0, 0), Ratio(connected, total)


def index_inputs(session: Session, period: Period, scope: Scope = Scope()) -> IndexInputs:
    """Count, for the scope and period, everything the index needs."""
    start, end = period.start, period.end
    start_ts = dt.datetime.combine(start, dt.time(), dt.UTC)
    end_ts = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.UTC)
    scoped = scope.filters()
    # dossiers of the period: received by its end and not settled before it started
    of_period = and_(Dossier.received_on.is_not(None), Dossier.received_on <= end,
                     or_(Dossier.settled_on.is_(None), Dossier.settled_on >= start), *scoped)
    settled_in = and_(Dossier.settled_on.is_not(None), Dossier.settled_on >= start, Dossier.settled_on <= end)
    unsettled_in_time = and_(or_(Dossier.settled_on.is_(None), Dossier.settled_on > end),
                             Dossier.status.in_(sorted(IN_PROGRESS)), or_(Dossier.due_on.is_(None), Dossier.due_on >= end))
    good = or_(and_(settled_in, Dossier.settlement_class.in_(("early", "on_time"))), unsettled_in_time)
    row = session.execute(
        select(
            func.count(Dossier.id),
            func.sum(case((good, 1), else_=0)),
            func.sum(case((Dossier.event_count > 0, 1), else_=0)),
            func.sum(case((Dossier.prefill_share >= 1.0, 1), else_=0)),
            func.sum(case((Dossier.prefill_share > 0, 1), else_=0)),
            func.sum(case((and_(Dossier.prefill_share > 0, Dossier.person_id.is_not(None)), 1), else_=0)),
            func.sum(case((Dossier.life_event_id.is_not(None), 1), else_=0)),
        ).where(of_period)
    ).one()
    total, progress_ok, synced, digitised, reused, population, proactive = (_n(v) for v in row)

    # online: confirmed by the citizen through the portal (an event by a citizen principal)
    online = _n(session.scalar(
        select(func.count(Dossier.id)).where(of_period, exists().where(
            DossierEvent.dossier_id == Dossier.id, DossierEvent.kind == "confirmed",
            DossierEvent.actor.like("citizen:%")))))
    eligible_online = _n(session.scalar(
        select(func.count(Dossier.id)).where(of_period, Dossier.kind == "dossier", Dossier.parent_id.is_(None))))

    settled_row = session.execute(
        select(
            func.count(Dossier.id),
            func.sum(case((and_(Dossier.status.in_(("approved", "result_issued", "closed")),
                                exists().where(DossierResult.dossier_id == Dossier.id)), 1), else_=0)),
            func.sum(case((Dossier.status.in_(("approved", "result_issued", "closed")), 1), else_=0)),
            func.sum(case((or_(Dossier.settlement_class == "late",
                               exists().where(DossierRating.dossier_id == Dossier.id,
                                              or_(DossierRating.score <= 2, DossierRating.complaint.is_(True)))), 1),
                          else_=0)),
        ).where(settled_in, *scoped)
    ).one()
    settled, with_result, approved, unsatisfied = (_n(v) for v in settled_row)
    structured = _n(session.scalar(
        select(func.count(DossierResult.id)).join(Dossier, Dossier.id == DossierResult.dossier_id)
        .where(settled_in, *scoped, DossierResult.issued_at >= start_ts, DossierResult.issued_at < end_ts)))
    results = structured  # every result row is stored as structured data (DossierResult.data)

    published, complete, updated, connected = _catalogue_ratios(scope)
    return IndexInputs(
        procedures_published_on_time=published,
        procedures_updated_on_time=updated,
        procedures_complete_content=complete,
        dossiers_status_synced=Ratio(synced, total),
        progress_ok=Ratio(progress_ok, total),
        full_online=Ratio(online, eligible_online),
        paid_online=Ratio(0, 0),
        petitions_on_time=Ratio(0, 0),
        petitions_satisfied=Ratio(0, 0),
        dossiers_satisfied=Ratio(settled - unsatisfied, settled),
        electronic_results=Ratio(with_result, approved),
        components_digitised=Ratio(digitised, total),
        e_certified_copies=Ratio(0, 0),
        data_reused=Ratio(reused, total),
        digitised_linked_for_reuse=Ratio(results, with_result),
        dossiers_using_population_data=Ratio(population, total),
        procedures_connected_population_data=connected,
    )


def compute_index(session: Session, period: Period, scope: Scope = Scope()) -> IndexResult:
    """Compute the Decision 766 index for a scope and period."""
    return compute(index_inputs(session, period, scope))


EXPLAIN = {
    # indicator key → (what the population is, SQL condition on Dossier for "counted as good")
    "progress": "dossiers of the period; good = settled early/on time in the period or in progress within deadline",
    "dossier_satisfaction": "dossiers settled in the period; bad = late, rated ≤ 2 or complained",
    "components_digitised": "dossiers of the period; good = every field pre-filled from a registry",
}


def explain(session: Session, key: str, period: Period, scope: Scope = Scope(), limit: int = 200) -> dict:
    """List the dossiers behind an indicator: the population and the ones that counted against it."""
    start, end = period.start, period.end
    scoped = scope.filters()
    of_period = and_(Dossier.received_on.is_not(None), Dossier.received_on <= end,
                     or_(Dossier.settled_on.is_(None), Dossier.settled_on >= start), *scoped)
    settled_in = and_(Dossier.settled_on.is_not(None), Dossier.settled_on >= start, Dossier.settled_on <= end)
    if key == "progress":
        population = of_period
        bad = and_(of_period, or_(and_(settled_in, Dossier.settlement_class == "late"),
                                  and_(Dossier.status.in_(sorted(IN_PROGRESS)), Dossier.due_on < end)))
    elif key == "dossier_satisfaction":
        population = and_(settled_in, *scoped)
        bad = and_(population, or_(Dossier.settlement_class == "late", exists().where(
            DossierRating.dossier_id == Dossier.id, or_(DossierRating.score <= 2, DossierRating.complaint.is_(True)))))
    elif key == "components_digitised":
        population = of_period
        bad = and_(of_period, Dossier.prefill_share < 1.0)
    else:
        raise Unprocessable(f"no drill-down for {key!r}; available: {', '.join(sorted(EXPLAIN))}", field="indicator")
    total = _n(session.scalar(select(func.count(Dossier.id)).where(population)))
    against = session.execute(
        select(Dossier.code, Dossier.service_id, Dossier.status, Dossier.due_on, Dossier.settled_on, Dossier.settlement_class)
        .where(bad).order_by(Dossier.due_on).limit(limit)
    ).all()
    n_bad = _n(session.scalar(select(func.count(Dossier.id)).where(bad)))
    return {"indicator": key, "population": EXPLAIN[key], "total": total, "counted_against": n_bad,
            "dossiers": [dict(r._mapping) for r in against]}
