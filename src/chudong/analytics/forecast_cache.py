"""Demand forecasts kept per day and data version, so the leader page does not recompute them.

A forecast depends on the day it is made (the injected clock), on the registries and life
events, and on the catalogue. A snapshot is stored with its day and a *data version*: the
highest id of every table it reads (any ingest run, detection or new registry row moves it),
a digest of the catalogue's services and parameters, and ``FORECAST_VERSION`` (bumped when
the method changes). A snapshot is served only for the same day and version, so the page
always shows what ``forecast`` would compute now — except after an in-place registry edit
that bypasses ingest (no id moves): such a change shows from the next day.

The periodic job ``analytics.forecast`` computes the 12-month forecast ahead of the leaders;
a shorter horizon is a prefix of it (exact counts are by first day; the model's fit does not
depend on the horizon), with the staffing recomputed for the months shown.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from functools import lru_cache

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from chudong.analytics.forecast import Forecast, ServiceForecast, forecast, staffing
from chudong.analytics.models import ForecastSnapshot
from chudong.kit import clock

FORECAST_VERSION = "2"  # bump when the forecast method changes: older snapshots are no longer served
MAX_MONTHS = 12
KEEP_DAYS = 7


@lru_cache(maxsize=1)
def _catalogue_digest() -> str:
    from chudong.rules.catalogue import get_catalogue

    cat = get_catalogue()
    text = repr(sorted((s.id, s.trigger, sorted(s.notice_lead_days)) for s in cat.services.values()))
    text += repr(sorted((name, [(p.value, p.valid_from, p.valid_to) for p in periods])
                        for name, periods in cat.parameters.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def data_version(session: Session) -> str:
    """Return the version of everything a forecast reads (highest ids, catalogue digest, method version)."""
    from chudong.registry.models import BuildingPlan, Household, IngestRun, Licence, Person, School, VitalEvent
    from chudong.rules.models import LifeEvent

    tables = (IngestRun, LifeEvent, Person, Household, Licence, School, VitalEvent, BuildingPlan)
    row = session.execute(select(*(select(func.max(t.id)).scalar_subquery() for t in tables))).one()
    ids = ",".join(f"{t.__tablename__}:{v or 0}" for t, v in zip(tables, row))
    return f"v{FORECAST_VERSION};{ids};catalogue:{_catalogue_digest()}"


def _payload(f: Forecast) -> dict:
    return {
        "start": f.start.isoformat(),
        "months": [m.isoformat() for m in f.months],
        "services": [
            {"service_id": s.service_id, "method": s.method, "mape": s.mape,
             "by_month": {m.isoformat(): v for m, v in s.by_month.items()},
             "by_ward_month": [[ward, m.isoformat(), v] for (ward, m), v in s.by_ward_month.items()]}
            for s in f.services
        ],
    }


def _forecast_from(session: Session, payload: dict, months: int) -> Forecast:
    """Rebuild the forecast for the first ``months`` months of a stored one."""
    kept = [dt.date.fromisoformat(m) for m in payload["months"][:months]]
    keep = set(kept)
    services = []
    for s in payload["services"]:
        by_month = {d: v for d, v in ((dt.date.fromisoformat(m), v) for m, v in s["by_month"].items()) if d in keep}
        by_ward = {(ward, d): v for ward, d, v in ((w, dt.date.fromisoformat(m), v) for w, m, v in s["by_ward_month"])
                   if d in keep}
        services.append(ServiceForecast(s["service_id"], s["method"], by_month, by_ward, s["mape"]))
    return Forecast(dt.date.fromisoformat(payload["start"]), kept, services, staffing(session, services, len(kept)))


def _snapshot(session: Session, today: dt.date, version: str, months: int) -> ForecastSnapshot | None:
    return session.scalars(
        select(ForecastSnapshot).where(ForecastSnapshot.as_of == today, ForecastSnapshot.data_version == version,
                                       ForecastSnapshot.months >= months)
        .order_by(ForecastSnapshot.computed_at.desc()).limit(1)
    ).first()


def _compute(session: Session, today: dt.date, version: str, months: int) -> tuple[Forecast, dt.datetime]:
    """Compute the forecast, store it as today's snapshot and drop today's snapshots of older data."""
    f = forecast(session, today=today, months=months)  # validates the horizon
    computed_at = clock.now()
    session.execute(delete(ForecastSnapshot).where(ForecastSnapshot.as_of == today,
                                                   ForecastSnapshot.data_version != version))
    session.add(ForecastSnapshot(as_of=today, data_version=version, months=months, computed_at=computed_at,
                                 payload=_payload(f)))
    session.flush()
    return f, computed_at


def cached_forecast(session: Session, *, today: dt.date, months: int = 6) -> tuple[Forecast, dt.datetime]:
    """Return the forecast as of ``today`` for ``months`` months and when it was computed.

    Served from a snapshot of the same day and data version covering the horizon; otherwise
    computed now and stored (the caller's transaction commits it).
    """
    version = data_version(session)
    snap = _snapshot(session, today, version, months)
    if snap is not None:
        return _forecast_from(session, snap.payload, months), snap.computed_at
    return _compute(session, today, version, months)


def stored_forecast(session: Session, *, today: dt.date, months: int = 6) -> tuple[Forecast, dt.datetime] | None:
    """Return the newest stored forecast made on or before ``today`` (never computed here), or None.

    The worker's job ``analytics.forecast`` keeps it current; a page reads it and says when it was computed.
    """
    snap = session.scalars(select(ForecastSnapshot).where(ForecastSnapshot.as_of <= today,
                                                          ForecastSnapshot.months >= months)
                           .order_by(ForecastSnapshot.as_of.desc(), ForecastSnapshot.computed_at.desc()).limit(1)).first()
    if snap is None:
        return None
    return _forecast_from(session, snap.payload, months), snap.computed_at


def refresh(session: Session, *, today: dt.date) -> int:
    """Compute today's 12-month snapshot unless the current data already has one; drop old days. Return 1 if computed."""
    session.execute(delete(ForecastSnapshot).where(ForecastSnapshot.as_of < today - dt.timedelta(days=KEEP_DAYS)))
    version = data_version(session)
    if _snapshot(session, today, version, MAX_MONTHS) is not None:
        return 0
    _compute(session, today, version, MAX_MONTHS)
    return 1
