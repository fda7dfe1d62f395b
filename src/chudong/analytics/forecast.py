"""Demand forecasting per service and ward, and the officer staffing it implies.

- *Determined by data* (licence expiries, ID-card milestones, school cohorts): the rules
  engine's own evaluators are run over the future days without writing anything — a month
  at a time with widened leads where that is provably the same as day by day — so the
  forecast is exactly the life events detection will create (people and licences as the
  registries hold them today).
- *Not determined* (births, deaths, household reviews, building plans): a Holt
  exponential-smoothing model (statsmodels) on the monthly history of life events, spread
  over wards by their historical share, with a backtest MAPE on held-out months.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, extract, func, select
from sqlalchemy.orm import Session

from chudong.analytics.kpi import TARGETS_PER_YEAR
from chudong.registry.models import Household, Person

EXACT_TRIGGERS = ("licence_expiry", "age_milestone", "school_cohort")
BACKTEST_MONTHS = 3


def month_start(day: dt.date) -> dt.date:
    """Return the first day of ``day``'s month."""
    return day.replace(day=1)


def add_months(day: dt.date, n: int) -> dt.date:
    """Return the first day of the month ``n`` months after ``day``'s month."""
    m = day.month - 1 + n
    return dt.date(day.year + m // 12, m % 12 + 1, 1)


@dataclass
class ServiceForecast:
    """Expected dossiers of one service per month (province) and per ward and month."""

    service_id: str
    method: str  # exact / model / no_history
    by_month: dict[dt.date, float] = field(default_factory=dict)
    by_ward_month: dict[tuple[int, dt.date], float] = field(default_factory=dict)
    mape: float | None = None  # backtest error (model only), percent


@dataclass
class StaffingRow:
    """Officers a ward's unit needs for the forecast demand."""

    ward_code: int
    ward_name: str
    area_class: str
    monthly_dossiers: float
    officers_needed: float


@dataclass
class Forecast:
    """The whole forecast."""

    start: dt.date
    months: list[dt.date]
    services: list[ServiceForecast]
    staffing: list[StaffingRow]


def _subject_ward(session: Session, kind: str, ids: set[int]) -> dict[int, int | None]:
    """Return the residence ward of each subject (person or household)."""
    model = Person if kind == "person" else Household
    found: dict[int, int | None] = {}
    id_list = sorted(ids)
    for i in range(0, len(id_list), 900):
        rows = session.execute(select(model.id, model.ward_code).where(model.id.in_(id_list[i:i + 900]))).all()
        found.update({r[0]: r[1] for r in rows})
    return found


# the date each exact trigger's notice leads count back from, as its candidates record it
LEAD_TARGET_FACT = {"licence_expiry": "expires_on", "age_milestone": "milestone_date", "school_cohort": "window_opens"}


def _month_segments(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Split [start, end] into calendar-month pieces."""
    out, s = [], start
    while s <= end:
        e = min(end, add_months(s, 1) - dt.timedelta(days=1))
        out.append((s, e))
        s = e + dt.timedelta(days=1)
    return out


def _one_pass_is_exact(ctx, svc, s: dt.date, e: dt.date, future_deaths: bool) -> bool:
    """Return True when evaluating [s, e] as one day with widened leads finds what every day would.

    The evaluators depend on the day only through the lead targets (day + lead), except the
    expiry rule, which also skips holders dead by the day and reads the "classes without
    expiry" parameter in force on the day: one pass is exact when nobody's recorded death
    falls after the window start and that parameter does not change inside the piece.
    """
    if svc.trigger["type"] != "licence_expiry":
        return True
    if future_deaths:
        return False
    from chudong.rules.catalogue import ParameterMissing, parse_trigger

    name = parse_trigger(svc.trigger).classes_without_expiry
    if not name:
        return True
    try:
        return ctx.param(name, s) is ctx.param(name, e)
    except ParameterMissing:
        return False  # the day-by-day evaluation reports it where it applies


def _first_days(ctx, svc, start: dt.date, end: dt.date, *, future_deaths: bool):
    """Yield (first day detection would find it, candidate) for the service's rule over [start, end].

    Each calendar month is evaluated in one call with the leads widened to cover its days
    (targets = every day + every lead), and a candidate's first day is recovered from its
    lead target; where that is not provably the same (``_one_pass_is_exact``) the month is
    evaluated day by day, as detection does.
    """
    from chudong.rules.engine import SCHEDULED
    from chudong.rules.service import horizon

    evaluate = SCHEDULED[svc.trigger["type"]]
    svc = horizon(svc)  # detection is state-based: a subject is found on the first day of its horizon
    leads = sorted(set(svc.notice_lead_days))
    for s, e in _month_segments(start, end):
        if not leads or not _one_pass_is_exact(ctx, svc, s, e, future_deaths):
            day = s
            while day <= e:
                for cand in evaluate(ctx, svc, day).candidates:
                    yield day, cand
                day += dt.timedelta(days=1)
            continue
        span = (e - s).days
        wide = svc.model_copy(update={"notice_lead_days": sorted({lead + k for lead in leads for k in range(span + 1)})})
        for cand in evaluate(ctx, wide, s).candidates:
            target = dt.date.fromisoformat(str(cand.facts[LEAD_TARGET_FACT[svc.trigger["type"]]]))
            days = [target - dt.timedelta(days=lead) for lead in leads]
            yield min(d for d in days if s <= d <= e), cand


def exact_forecast(session: Session, svc, start: dt.date, end: dt.date) -> ServiceForecast:
    """Count the life events the service's detection rule will create on the days of [start, end], without writing."""
    from chudong.rules.catalogue import get_catalogue
    from chudong.rules.engine import RuleContext
    from chudong.rules.models import LifeEvent

    ctx = RuleContext(session, get_catalogue())
    future_deaths = session.scalar(select(func.count()).select_from(Person).where(Person.death_date > start)) > 0
    seen: dict[str, tuple[dt.date, str, int]] = {}
    for day, cand in _first_days(ctx, svc, start, end, future_deaths=future_deaths):
        if cand.key not in seen or day < seen[cand.key][0]:
            seen[cand.key] = (day, cand.subject_kind, cand.subject_id)
    keys = list(seen)
    existing: set[str] = set()
    for i in range(0, len(keys), 900):
        existing.update(session.scalars(select(LifeEvent.key).where(LifeEvent.key.in_(keys[i:i + 900]))))
    out = ServiceForecast(svc.id, "exact")
    subjects: dict[str, set[int]] = defaultdict(set)
    for key, (_, kind, sid) in seen.items():
        if key not in existing:
            subjects[kind].add(sid)
    wards = {kind: _subject_ward(session, kind, ids) for kind, ids in subjects.items()}
    for key, (day, kind, sid) in seen.items():
        if key in existing:
            continue
        month = month_start(day)
        out.by_month[month] = out.by_month.get(month, 0) + 1
        ward = wards.get(kind, {}).get(sid)
        if ward is not None:
            out.by_ward_month[(ward, month)] = out.by_ward_month.get((ward, month), 0) + 1
    return out


def monthly_history(session: Session, service_id: str, until: dt.date) -> tuple[list[dt.date], list[float], dict[int, float]]:
    """Return monthly counts of the service's life events before ``until`` and each ward's share (one grouped query).

    A subject's ward is the person's residence, or the household's for household events.
    """
    from chudong.rules.models import LifeEvent

    year, month = extract("year", LifeEvent.detected_on), extract("month", LifeEvent.detected_on)
    ward = func.coalesce(Person.ward_code, Household.ward_code)
    rows = session.execute(
        select(year, month, ward, func.count())
        .select_from(LifeEvent).outerjoin(Person, Person.id == LifeEvent.person_id)
        .outerjoin(Household, and_(LifeEvent.person_id.is_(None), Household.id == LifeEvent.household_id))
        .where(LifeEvent.service_id == service_id, LifeEvent.detected_on < until)
        .group_by(year, month, ward)
    ).all()
    if not rows:
        return [], [], {}
    counts: dict[dt.date, int] = defaultdict(int)
    wards: dict[int, int] = defaultdict(int)
    for y, m, w, n in rows:
        counts[dt.date(int(y), int(m), 1)] += n
        if w is not None:
            wards[w] += n
    first, last = min(counts), add_months(month_start(until), -1)
    months = []
    m = first
    while m <= last:
        months.append(m)
        m = add_months(m, 1)
    total = sum(wards.values()) or 1
    return months, [float(counts.get(m, 0)) for m in months], {w: n / total for w, n in wards.items()}


def _fit_predict(series: list[float], horizon: int) -> list[float]:
    """Fit Holt's linear trend (damped) when there is enough history, else the recent mean."""
    if len(series) >= 6:
        import warnings

        from statsmodels.tsa.holtwinters import ExponentialSmoothing

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on short series; the backtest reports quality
            fit = ExponentialSmoothing(series, trend="add", damped_trend=True, initialization_method="estimated").fit()
            return [max(0.0, float(v)) for v in fit.forecast(horizon)]
    recent = series[-3:] if series else [0.0]
    return [sum(recent) / len(recent)] * horizon


def mape(actual: list[float], predicted: list[float]) -> float | None:
    """Return the mean absolute percentage error over months with actual demand (None if none)."""
    pairs = [(a, p) for a, p in zip(actual, predicted) if a > 0]
    if not pairs:
        return None
    return round(100 * sum(abs(a - p) / a for a, p in pairs) / len(pairs), 1)


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def model_forecast(session: Session, service_id: str, months: list[dt.date], *, history_until: dt.date) -> ServiceForecast:
    """Forecast a service whose demand is not determined by data, with a backtest.

    The model learns from the complete months before ``history_until`` (the first day of the
    current month: its partial count would read as a collapse) and forecasts through the
    months in between to ``months``.
    """
    hist_months, series, shares = monthly_history(session, service_id, history_until)
    out = ServiceForecast(service_id, "model" if series else "no_history")
    if not series:
        return out
    if len(series) > BACKTEST_MONTHS + 2:
        train, held = series[:-BACKTEST_MONTHS], series[-BACKTEST_MONTHS:]
        out.mape = mape(held, _fit_predict(train, BACKTEST_MONTHS))
    skip = _months_between(month_start(history_until), months[0]) if months else 0
    predicted = _fit_predict(series, skip + len(months))[skip:]
    for month, value in zip(months, predicted):
        out.by_month[month] = round(value, 1)
        for ward, share in shares.items():
            out.by_ward_month[(ward, month)] = value * share
    return out


def forecast(session: Session, *, today: dt.date, months: int = 6) -> Forecast:
    """Forecast every service for the next ``months`` months (1–12) and the staffing it implies."""
    from chudong.kit.errors import Unprocessable
    from chudong.rules.catalogue import get_catalogue

    if not 1 <= months <= 12:
        raise Unprocessable("months must be between 1 and 12", field="months")
    start = add_months(today, 1)
    month_list = [add_months(start, i) for i in range(months)]
    end = add_months(start, months) - dt.timedelta(days=1)
    result = []
    for svc in sorted(get_catalogue().services.values(), key=lambda s: s.id):
        if svc.trigger["type"] in EXACT_TRIGGERS:
            result.append(exact_forecast(session, svc, start, end))
        else:
            result.append(model_forecast(session, svc.id, month_list, history_until=month_start(today)))
    return Forecast(start, month_list, result, staffing(session, result, len(month_list)))


def staffing(session: Session, services: list[ServiceForecast], n_months: int) -> list[StaffingRow]:
    """Translate demand per ward into officers, by the pilot's productivity targets."""
    from chudong.geo.models import Ward

    per_ward: dict[int, float] = defaultdict(float)
    for s in services:
        for (ward, _month), value in s.by_ward_month.items():
            per_ward[ward] += value
    if not per_ward:
        return []
    wards = {w.code: w for w in session.scalars(select(Ward).where(Ward.code.in_(list(per_ward))))}
    rows = []
    for code, total in sorted(per_ward.items(), key=lambda kv: -kv[1]):
        w = wards.get(code)
        area = w.area_class if w else "urban"
        monthly = total / n_months
        rows.append(StaffingRow(code, w.name if w else str(code), area, round(monthly, 1),
                                round(monthly * 12 / TARGETS_PER_YEAR[area], 2)))
    return rows


def ceil_officers(value: float) -> int:
    """Return whole officers to staff (at least one where there is any demand)."""
    return max(1, math.ceil(value)) if value > 0 else 0
