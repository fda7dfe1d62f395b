"""Leader dashboard page (live counts, charts, overdue list, productivity, processing time)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from chudong.kit import clock
from chudong.analytics import labels
from chudong.portal import dashboard, review
from chudong.portal.pages import page
from chudong.portal.security import WebUser, staff_user
from chudong.replica import ReadSessionDep

router = APIRouter(include_in_schema=False)
Leader = Annotated[WebUser, Depends(staff_user("leader", "unit_head", "auditor", "operator"))]


@router.get("/leader")
def leader_dashboard(request: Request, session: ReadSessionDep, user: Leader, days: int = 90) -> Response:
    """Show live service figures for the province."""
    today = clock.today()
    days = min(max(days, 7), 366)
    dash = dashboard.build(session, today=today, since=today - dt.timedelta(days=days))
    peak = max([max(r, s) for _, r, s in dash.weekly] + [1])
    bin_peak = max([n for _, n in dash.processing_bins] + [1])
    return page(request, "portal/leader.html", dash=dash, peak=peak, bin_peak=bin_peak, days=days, today=today,
                target_minutes=dashboard.PROCESSING_TARGET_MIN, trend=index_trend(session, today, 6),
                in_words=review.date_in_words, **labels.HELPERS)


def index_trend(session, today: dt.date, months: int) -> list[tuple[str, float | None]]:
    """Return (month as m/yyyy, the province's index total or None) for the last whole months, oldest first."""
    from chudong.analytics.routes import recent_months
    from chudong.analytics.service import Period, Scope, compute_index

    out = []
    for first in reversed(recent_months(today, months)):
        r = compute_index(session, Period.parse(first.strftime("%Y-%m")), Scope())
        out.append((f"{first.month}/{first.year}", r.total))
    return out
