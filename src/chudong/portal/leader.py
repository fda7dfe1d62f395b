"""Leader dashboard page (live counts, charts, overdue list, productivity, processing time)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from chudong.kit import clock
from chudong.portal import dashboard
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
                target_minutes=dashboard.PROCESSING_TARGET_MIN)
