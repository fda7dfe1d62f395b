"""Demand forecasting per service and ward, and the officer staffing it implies.

- *Determined by data* (licence expiries, ID-card milestones, school cohorts): the rules
  engine's own evaluators are run for every future day without writing anything, so the
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

from sqlalchemy import func, select
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


def exact_forecast(session: Session, svc, start: dt.date, end: dt.date) -> ServiceForecast:
    """Run the service's detection rule for every day of [start, end] without writing; count new events."""
    from chudong.rules.engine import SCHEDULED, RuleContext
    from chudong.rules.catalogue import get_catalogue
    from chudong.rules.models import LifeEvent

    ctx = RuleContext(session, get_catalogue())
    evaluate = SCHEDULED[svc.trigger["type"]]
    seen: dict[str, tuple[dt.date, str, int]] = {}
    day = start
    while day <= end:
        for cand in evaluate(ctx, svc, day).candidates:
            seen.setdefault(cand.key, (day, cand.subject_kind, cand.subject_id))
        day += dt.timedelta(days=1)
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
    """Return monthly counts of the service's life events before ``until`` and each ward's share."""
    from chudong.rules.models import LifeEvent

    rows = session.execute(
        select(LifeEvent.detected_on, LifeEvent.person_id, LifeEvent.household_id)
        .where(LifeEvent.service_id == service_id, LifeEvent.detected_on < until)
    ).all()
    if not rows:
        return [], [], {}
    counts: dict[dt.date, int] = defaultdict(int)
    persons = {r.person_id for r in rows if r.person_id}
    households = {r.household_id for r in rows if r.household_id and not r.person_id}
    pw = _subject_ward(session, "person", persons)
    hw = _subject_ward(session, "household", households)
    wards: dict[int, int] = defaultdict(int)
    for r in rows:
        counts[month_start(r.detected_on)] += 1
        ward = pw.get(r.person_id) if r.person_id else hw.get(r.household_id)
        if ward is not None:
            wards[ward] += 1
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


def model_forecast(session: Session, service_id: str, start: dt.date, months: list[dt.date]) -> ServiceForecast:
    """Forecast a service whose demand is not determined by data, with a backtest."""
    hist_months, series, shares = monthly_history(session, service_id, start)
    out = ServiceForecast(service_id, "model" if series else "no_history")
    if not series:
        return out
    if len(series) > BACKTEST_MONTHS + 2:
        train, held = series[:-BACKTEST_MONTHS], series[-BACKTEST_MONTHS:]
        out.mape = mape(held, _fit_predict(train, BACKTEST_MONTHS))
    predicted = _fit_predict(series, len(months))
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
            result.append(model_forecast(session, svc.id, start, month_list))
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
