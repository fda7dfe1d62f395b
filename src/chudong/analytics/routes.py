"""Analytics pages for leaders (index, forecast, report downloads) and the public open data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from chudong.analytics import opendata, reports
from chudong.analytics.service import Period, Scope, compute_index, explain, index_by_unit
from chudong.kit import clock
from chudong.portal.pages import page
from chudong.portal.security import WebUser, staff_user
from chudong.replica import ReadSessionDep
from chudong.web.deps import SessionDep

router = APIRouter()
Leader = Annotated[WebUser, Depends(staff_user("leader", "unit_head", "auditor", "operator"))]
MEDIA = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _last_month() -> str:
    today = clock.today()
    first = today.replace(day=1)
    prev = (first.replace(day=1) - __import__("datetime").timedelta(days=1))
    return prev.strftime("%Y-%m")


@router.get("/leader/index", include_in_schema=False)
def index_page(request: Request, session: ReadSessionDep, user: Leader, period: str | None = None,
               unit: str | None = None, service: str | None = None, drill: str | None = None) -> Response:
    """Show the Decision 766 index with its indicators and a drill-down to dossiers."""
    p = Period.parse(period or _last_month())
    scope = Scope(unit_code=unit or None, service_id=service or None)
    if scope.unit_code:
        result, units = compute_index(session, p, scope), []
    else:  # the province (or a service) and the ranking of its units come from the same single pass
        result, units = index_by_unit(session, p, scope)
    detail = explain(session, drill, p, scope) if drill else None
    from chudong.analytics.kpi import non_take_up_by_service, pilot_kpis

    return page(request, "analytics/index.html", r=result, units=units, period=p, period_text=period or _last_month(),
                unit=unit or "", service=service or "", detail=detail, kpis=pilot_kpis(session, p),
                non_take_up=non_take_up_by_service(session, p.end))


@router.get("/leader/forecast", include_in_schema=False)
def forecast_page(request: Request, session: SessionDep, user: Leader, months: int = 6) -> Response:
    """Show the demand forecast per service and the staffing it implies (today's snapshot for the current data)."""
    from chudong.analytics.forecast_cache import cached_forecast

    f, computed_at = cached_forecast(session, today=clock.today(), months=min(max(months, 1), 12))
    peak = max([max(s.by_month.values(), default=0) for s in f.services] + [1])
    return page(request, "analytics/forecast.html", f=f, peak=peak, computed_at=computed_at)


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
