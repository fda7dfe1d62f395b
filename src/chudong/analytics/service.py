"""Counts behind the Decision 766 index, from the platform's own data, for any scope and period.

One pass: a single query over ``dossier`` outer-joined to its citizen confirmations (a
partial index of ``dossier_event``), its result (``dossier_id, issued_at`` index) and its
rating, counting every indicator with ``COUNT(*) FILTER (WHERE …)`` — optionally grouped by
handling unit, since the counts are additive. A province-year of a million dossiers is one
scan. Each indicator's population can be listed (``explain``) so a leader can drill down
from a score to the dossiers that made it.

Indicators without data in chudong are *not applicable* (denominator 0), never 100%:
online payment (the catalogue has no fee-bearing procedure yet), e-certified copies (no
certification workflow), procedures "updated on time" (no register of legal changes with
deadlines yet), petitions (no petition workflow: complaints arrive with ratings
and count against dossier satisfaction).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, dataclass

from sqlalchemy import and_, exists, false, func, null, or_, select
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


APPROVED = ("approved", "result_issued", "closed")


@dataclass(frozen=True)
class IndexCounts:
    """The dossier counts behind the index for one scope (additive: units sum to the province)."""

    total: int = 0  # dossiers of the period
    progress_ok: int = 0
    synced: int = 0
    digitised: int = 0
    reused: int = 0
    population: int = 0
    online: int = 0
    eligible_online: int = 0
    settled: int = 0  # settled in the period
    with_result: int = 0
    approved: int = 0
    unsatisfied: int = 0
    structured: int = 0

    def __add__(self, other: IndexCounts) -> IndexCounts:
        return IndexCounts(*(a + b for a, b in zip(astuple(self), astuple(other))))


@dataclass(frozen=True)
class _Conditions:
    """The SQL conditions on ``dossier`` that define the index's populations for a period."""

    of_period: object  # received by the end and not settled before the start
    settled_in: object  # settled within the period
    progress_ok: object  # settled early/on time in it, or in progress within the deadline at its end


def _conditions(period: Period) -> _Conditions:
    start, end = period.start, period.end
    of_period = and_(Dossier.received_on.is_not(None), Dossier.received_on <= end,
                     or_(Dossier.settled_on.is_(None), Dossier.settled_on >= start))
    settled_in = and_(Dossier.settled_on.is_not(None), Dossier.settled_on >= start, Dossier.settled_on <= end)
    # in progress at the end: still open now, or settled only after the end (it was open then)
    open_at_end = or_(and_(Dossier.settled_on.is_(None), Dossier.status.in_(sorted(IN_PROGRESS))),
                      Dossier.settled_on > end)
    in_time = and_(open_at_end, or_(Dossier.due_on.is_(None), Dossier.due_on >= end))
    good = or_(and_(settled_in, Dossier.settlement_class.in_(("early", "on_time"))), in_time)
    return _Conditions(of_period, settled_in, good)


def _unsatisfied():
    """Settled late, rated 2 or less, or complained about (needs ``dossier_rating`` outer-joined)."""
    return or_(Dossier.settlement_class == "late",
               and_(DossierRating.dossier_id.is_not(None), or_(DossierRating.score <= 2, DossierRating.complaint.is_(True))))


def _count_columns(period: Period, *, probe_online: bool) -> tuple[list, list]:
    """Return the FILTER-counted columns of the one-pass query, its condition and the joins it needs.

    ``probe_online`` decides how "confirmed by the citizen" is found: per dossier through the
    partial index (cheap for a unit or a service, a few percent of the dossiers), or by
    reading that index once in dossier order and joining (cheaper for the whole province).
    Both count a dossier once however many such events it has.
    """
    start_ts = dt.datetime.combine(period.start, dt.time(), dt.UTC)
    end_ts = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), dt.UTC)
    c = _conditions(period)
    of_period, settled_in, good = c.of_period, c.settled_in, c.progress_ok
    approved = Dossier.status.in_(APPROVED)
    # online: confirmed by the citizen through the portal (an event by a citizen principal)
    citizen_confirmed = (DossierEvent.kind == "confirmed", DossierEvent.actor.like("citizen:%"))
    joins: list = []
    if probe_online:
        online = exists().where(DossierEvent.dossier_id == Dossier.id, *citizen_confirmed)
    else:
        confirmed = (select(DossierEvent.dossier_id).where(*citizen_confirmed)
                     .group_by(DossierEvent.dossier_id).subquery("online"))
        joins.append((confirmed, confirmed.c.dossier_id == Dossier.id))
        online = confirmed.c.dossier_id.is_not(None)
    # dossier_result and dossier_rating hold at most one row per dossier: these joins add no rows
    joins += [(DossierResult, DossierResult.dossier_id == Dossier.id), (DossierRating, DossierRating.dossier_id == Dossier.id)]
    has_result = DossierResult.dossier_id.is_not(None)

    def n(*conds):
        return func.count().filter(and_(*conds))

    columns = [
        n(of_period), n(of_period, good), n(of_period, Dossier.event_count > 0),
        n(of_period, Dossier.prefill_share >= 1.0), n(of_period, Dossier.prefill_share > 0),
        n(of_period, Dossier.prefill_share > 0, Dossier.person_id.is_not(None)),
        n(of_period, online), n(of_period, Dossier.kind == "dossier", Dossier.parent_id.is_(None)),
        n(settled_in), n(settled_in, approved, has_result), n(settled_in, approved),
        n(settled_in, _unsatisfied()),
        # every result row is stored as structured data (DossierResult.data)
        n(settled_in, has_result, DossierResult.issued_at >= start_ts, DossierResult.issued_at < end_ts),
    ]
    return columns, [or_(of_period, settled_in), *joins]


def _without_jit(session: Session) -> None:
    """Turn PostgreSQL's JIT off for this transaction: compiling the wide aggregate costs more than it saves."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.set_config("jit", "off", True)))


def dossier_counts(session: Session, period: Period, scope: Scope = Scope(), *,
                   by_unit: bool = False) -> dict[str | None, IndexCounts]:
    """Count everything the index needs in one pass over the scope's dossiers (per handling unit if asked).

    Without ``by_unit`` the answer has the single key ``None``.
    """
    narrow = bool(scope.unit_code or scope.service_id) and not by_unit
    columns, (where, *joins) = _count_columns(period, probe_online=narrow)
    query = select(Dossier.handling_unit_code if by_unit else null(), *columns).select_from(Dossier)
    for target, on in joins:
        query = query.outerjoin(target, on)
    query = query.where(where, *scope.filters())
    if by_unit:
        query = query.group_by(Dossier.handling_unit_code)
    _without_jit(session)
    out = {key: IndexCounts(*(_n(v) for v in values)) for key, *values in session.execute(query)}
    if not by_unit:
        out.setdefault(None, IndexCounts())
    return out


def inputs_from_counts(c: IndexCounts, scope: Scope = Scope()) -> IndexInputs:
    """Turn dossier counts into the index inputs (with the scope's catalogue indicators)."""
    published, complete, updated, connected = _catalogue_ratios(scope)
    return IndexInputs(
        procedures_published_on_time=published,
        procedures_updated_on_time=updated,
        procedures_complete_content=complete,
        dossiers_status_synced=Ratio(c.synced, c.total),
        progress_ok=Ratio(c.progress_ok, c.total),
        full_online=Ratio(c.online, c.eligible_online),
        paid_online=Ratio(0, 0),
        petitions_on_time=Ratio(0, 0),
        petitions_satisfied=Ratio(0, 0),
        dossiers_satisfied=Ratio(c.settled - c.unsatisfied, c.settled),
        electronic_results=Ratio(c.with_result, c.approved),
        components_digitised=Ratio(c.digitised, c.total),
        e_certified_copies=Ratio(0, 0),
        data_reused=Ratio(c.reused, c.total),
        digitised_linked_for_reuse=Ratio(c.structured, c.with_result),
        dossiers_using_population_data=Ratio(c.population, c.total),
        procedures_connected_population_data=connected,
    )


def index_inputs(session: Session, period: Period, scope: Scope = Scope()) -> IndexInputs:
    """Count, for the scope and period, everything the index needs (one query)."""
    return inputs_from_counts(dossier_counts(session, period, scope)[None], scope)


@dataclass(frozen=True)
class UnitIndex:
    """One handling unit's index in a ranking."""

    unit_code: str | None
    unit_name: str
    result: IndexResult


def index_by_unit(session: Session, period: Period, scope: Scope = Scope()) -> tuple[IndexResult, list[UnitIndex]]:
    """Compute the scope's index and every handling unit's from the same single pass.

    Counts are additive, so the scope's figure is the sum of its units' (dossiers without a
    handling unit included). Units are ranked best first; units without a score come last.
    """
    from chudong.dossiers.models import Unit

    per_unit = dossier_counts(session, period, scope, by_unit=True)
    total = sum(per_unit.values(), IndexCounts())
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_([k for k in per_unit if k]))).all())
    units = [UnitIndex(code, names.get(code, code) if code else "—", compute(inputs_from_counts(c, scope)))
             for code, c in per_unit.items()]
    units.sort(key=lambda u: (u.result.total is None, -(u.result.total or 0), u.unit_name))
    return compute(inputs_from_counts(total, scope)), units


def compute_index(session: Session, period: Period, scope: Scope = Scope()) -> IndexResult:
    """Compute the Decision 766 index for a scope and period."""
    return compute(index_inputs(session, period, scope))


EXPLAIN = {
    # indicator key → (what the population is, SQL condition on Dossier for "counted as good")
    "progress": "dossiers of the period; good = settled early/on time in the period, or in progress at its end "
                "(still open, or settled only later) within the deadline",
    "dossier_satisfaction": "dossiers settled in the period; bad = late, rated ≤ 2 or complained",
    "components_digitised": "dossiers of the period; good = every field pre-filled from a registry",
}


def explain(session: Session, key: str, period: Period, scope: Scope = Scope(), limit: int = 200) -> dict:
    """List the dossiers behind an indicator: the population and the ones that counted against it.

    The population and "counted as good" are the very conditions the index counts with, so
    population − counted against = the indicator's numerator.
    """
    c = _conditions(period)
    scoped = scope.filters()
    query = select(Dossier.code, Dossier.service_id, Dossier.status, Dossier.due_on, Dossier.settled_on,
                   Dossier.settlement_class).select_from(Dossier)
    count = select(func.count()).select_from(Dossier)
    if key == "progress":
        population, bad = c.of_period, ~func.coalesce(c.progress_ok, false())
    elif key == "dossier_satisfaction":
        population, bad = c.settled_in, _unsatisfied()
        rating = (DossierRating, DossierRating.dossier_id == Dossier.id)  # at most one per dossier: no row doubled
        query, count = query.outerjoin(*rating), count.outerjoin(*rating)
    elif key == "components_digitised":
        population, bad = c.of_period, ~func.coalesce(Dossier.prefill_share >= 1.0, false())
    else:
        raise Unprocessable(f"no drill-down for {key!r}; available: {', '.join(sorted(EXPLAIN))}", field="indicator")
    bad = and_(population, *scoped, bad)
    total = _n(session.scalar(select(func.count()).select_from(Dossier).where(population, *scoped)))
    against = session.execute(query.where(bad).order_by(Dossier.due_on, Dossier.code).limit(limit)).all()
    return {"indicator": key, "population": EXPLAIN[key], "total": total,
            "counted_against": _n(session.scalar(count.where(bad))), "dossiers": [dict(r._mapping) for r in against]}
