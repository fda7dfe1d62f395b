"""Public, anonymised indicators as JSON and CSV (schema in docs/analytics.md)."""

from __future__ import annotations

import csv
import io

from chudong.analytics.forecast import Forecast
from chudong.analytics.index766 import IndexResult
from chudong.analytics.service import Period

SCHEMA_VERSION = "1"
CSV_COLUMNS = ("period_start", "period_end", "scope_unit", "scope_service", "indicator", "group", "weight",
               "numerator", "denominator", "points", "applicable")


def index_json(r: IndexResult, period: Period, unit: str | None = None, service: str | None = None) -> dict:
    """Return the index as the documented JSON document (counts only, no personal data)."""
    return {
        "schema": f"chudong.index766/{SCHEMA_VERSION}",
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "scope": {"unit": unit, "service": service},
        "total": r.total, "band": r.band, "applicable_max": r.applicable_max,
        "not_applicable": r.not_applicable,
        "groups": r.groups,
        "indicators": [
            {"key": i.key, "group": i.group, "weight": i.weight, "numerator": i.ratio.numerator,
             "denominator": i.ratio.denominator, "points": i.points, "applicable": i.applicable, "note": i.note}
            for i in r.indicators
        ],
    }


def index_csv(r: IndexResult, period: Period, unit: str | None = None, service: str | None = None) -> bytes:
    """Return the index indicators as CSV rows (one per indicator)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for i in r.indicators:
        w.writerow([period.start.isoformat(), period.end.isoformat(), unit or "", service or "", i.key, i.group,
                    i.weight, i.ratio.numerator, i.ratio.denominator, "" if i.points is None else i.points,
                    int(i.applicable)])
    return buf.getvalue().encode("utf-8")


def forecast_json(f: Forecast) -> dict:
    """Return the forecast as JSON (per service and month; staffing per ward)."""
    return {
        "schema": f"chudong.forecast/{SCHEMA_VERSION}",
        "months": [m.isoformat() for m in f.months],
        "services": [
            {"service": s.service_id, "method": s.method, "mape_percent": s.mape,
             "by_month": {m.isoformat(): round(s.by_month.get(m, 0), 1) for m in f.months}}
            for s in f.services
        ],
        "staffing": [
            {"ward_code": r.ward_code, "ward": r.ward_name, "area_class": r.area_class,
             "monthly_dossiers": r.monthly_dossiers, "officers_needed": r.officers_needed}
            for r in f.staffing
        ],
    }
