"""Analytics pages for leaders (index, forecast, report downloads) and the public open data."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from chudong.analytics import labels, opendata, reports
from chudong.analytics.index766 import IndexResult
from chudong.analytics.service import Period, Scope, compute_index, explain, index_by_unit
from chudong.kit import clock
from chudong.portal.pages import page
from chudong.portal.security import WebUser, staff_user
from chudong.replica import ReadSessionDep
from chudong.web.deps import SessionDep
from chudong.web.i18n import current_language, gettext as _

router = APIRouter()
Leader = Annotated[WebUser, Depends(staff_user("leader", "unit_head", "auditor", "operator"))]
MEDIA = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _last_month() -> str:
    return recent_months(clock.today(), 1)[0].strftime("%Y-%m")


def recent_months(today: dt.date, n: int) -> list[dt.date]:
    """Return the first days of the ``n`` whole months before ``today``'s, newest first."""
    months, first = [], today.replace(day=1)
    for _ in range(n):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        months.append(first)
    return months


@router.get("/leader/index", include_in_schema=False)
def index_page(request: Request, session: ReadSessionDep, user: Leader, period: str | None = None,
               unit: str | None = None, service: str | None = None, drill: str | None = None) -> Response:
    """Show the Decision 766 index with its indicators and a drill-down to dossiers."""
    p = Period.parse(period or _last_month())
    unit_choices, service_choices = scope_choices(session)
    unit = resolve_choice(unit, unit_choices)
    service = resolve_choice(service, service_choices)
    unknown = None
    if unit is None or service is None:  # typed by hand and matching no unit or procedure: say so, no score
        unknown = _("No unit or procedure has that name or code: choose one from the list.")
    scope = Scope(unit_code=unit or None, service_id=service or None)
    if unknown:
        result, units = IndexResult([]), []
    elif scope.unit_code:
        result, units = compute_index(session, p, scope), []
    else:  # the province (or a service) and the ranking of its units come from the same single pass
        result, units = index_by_unit(session, p, scope)
    detail = explain(session, drill, p, scope) if drill else None
    from chudong.analytics.kpi import non_take_up_by_service, pilot_kpis

    return page(request, "analytics/index.html", r=result, units=units, period=p, period_text=period or _last_month(),
                unit=unit or "", service=service or "", detail=detail, kpis=pilot_kpis(session, p),
                non_take_up=non_take_up_by_service(session, p.end), unit_choices=unit_choices,
                service_choices=service_choices, unknown=unknown, status_code=404 if unknown else 200,
                **labels.HELPERS)


def scope_choices(session) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return the province's units and the catalogue's procedures as (code, name in the page's language)."""
    from sqlalchemy import select

    from chudong.config import get_settings
    from chudong.dossiers.models import Unit
    from chudong.rules.catalogue import get_catalogue

    units = [(c, n) for c, n in session.execute(select(Unit.code, Unit.name)
                                                .where(Unit.province_code == get_settings().province_code)
                                                .order_by(Unit.name))]
    lang = current_language()
    services = sorted(((sd.id, getattr(sd.names, lang, None) or sd.names.vi)
                       for sd in get_catalogue().services.values()), key=lambda x: x[1])
    return units, services


def resolve_choice(typed: str | None, choices: list[tuple[str, str]]) -> str | None:
    """Return the code a typed unit or procedure stands for (its code or its exact name); "" for none; None: unknown."""
    text = (typed or "").strip()
    if not text:
        return ""
    for code, name in choices:
        if text == code or text.casefold() == name.casefold():
            return code
    return None


@router.get("/leader/forecast", include_in_schema=False)
def forecast_page(request: Request, session: SessionDep, user: Leader, months: int = 6) -> Response:
    """Show the demand forecast the worker computed ahead of time (never computed on a request)."""
    from chudong.analytics.forecast_cache import stored_forecast
    from chudong.portal.dashboard import service_names

    found = stored_forecast(session, today=clock.today(), months=min(max(months, 1), 12))
    if found is None:
        return page(request, "analytics/forecast.html", f=None, computed_at=None, **labels.HELPERS)
    f, computed_at = found
    totals = [(f"{m.month}/{m.year}", [round(sum(s.by_month.get(m, 0) for s in f.services))]) for m in f.months]
    peak = max([v[0] for _, v in totals] + [1])
    names = {s.service_id: service_names(s.service_id).get(current_language()) or s.service_id for s in f.services}
    return page(request, "analytics/forecast.html", f=f, totals=totals, peak=peak, computed_at=computed_at,
                names=names, **labels.HELPERS)


REPORT_FILES = {"pdf": ("pdf", reports.to_pdf), "xlsx": ("xlsx", reports.to_xlsx), "csv": ("csv", reports.to_csv),
                "overdue.csv": ("csv", reports.to_overdue_csv)}


@router.get("/leader/reports/monthly.{fmt}", include_in_schema=False)
def monthly_download(fmt: str, session: ReadSessionDep, user: Leader, period: str | None = None) -> Response:
    """Download the monthly report as PDF, XLSX, CSV (per unit) or overdue.csv (every overdue dossier)."""
    from chudong.kit.errors import NotFound

    if fmt not in REPORT_FILES:
        raise NotFound(f"no {fmt!r} format; use pdf, xlsx, csv or overdue.csv")
    p = Period.parse(period or _last_month())
    media, writer = REPORT_FILES[fmt]
    # print shows each unit's oldest overdue dossiers; the spreadsheets list them all
    rep = reports.monthly_report(session, p, clock.today(),
                                 overdue_per_unit=reports.PDF_OVERDUE_PER_UNIT if fmt == "pdf" else None)
    name = f"bao-cao-{p.start.isoformat()}_{p.end.isoformat()}{'-qua-han' if fmt == 'overdue.csv' else ''}.{media}"
    return Response(writer(rep), media_type=MEDIA[media],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/open-data", include_in_schema=False)
def open_data_page(request: Request, session: SessionDep,
                   period: Annotated[str, Query(max_length=40)] = "") -> Response:
    """Show the open data a visitor can download: the province's index of a month, its files and their schema."""
    p = Period.parse(period or _last_month())
    r = compute_index(session, p, Scope())
    months = [m.strftime("%Y-%m") for m in recent_months(clock.today(), 12)]
    return page(request, "analytics/open_data.html", r=r, period=p, period_text=period or _last_month(),
                months=months, **labels.HELPERS)


@router.get("/open-data/index.json", tags=["open data"])
def open_index_json(session: ReadSessionDep, period: Annotated[str, Query(max_length=40)] = "",
                    unit: Annotated[str | None, Query(max_length=40)] = None,
                    service: Annotated[str | None, Query(max_length=60)] = None) -> JSONResponse:
    """Publish the Decision 766 index for a period as JSON (aggregates only, no personal data)."""
    p = Period.parse(period or _last_month())
    r = compute_index(session, p, Scope(unit_code=unit, service_id=service))
    return JSONResponse(opendata.index_json(r, p, unit, service))


@router.get("/open-data/index.csv", tags=["open data"], response_class=Response)
def open_index_csv(session: ReadSessionDep, period: Annotated[str, Query(max_length=40)] = "",
                   unit: Annotated[str | None, Query(max_length=40)] = None,
                   service: Annotated[str | None, Query(max_length=60)] = None) -> Response:
    """Publish the Decision 766 index indicators for a period as CSV."""
    p = Period.parse(period or _last_month())
    r = compute_index(session, p, Scope(unit_code=unit, service_id=service))
    return Response(opendata.index_csv(r, p, unit, service), media_type="text/csv; charset=utf-8")
