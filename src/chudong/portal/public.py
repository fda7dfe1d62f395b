"""Public pages (no sign-in): dossier status by code + second factor, the overdue list per unit."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from chudong.auth import ratelimit
from chudong.dossiers.models import Dossier, Unit
from chudong.kit import clock
from chudong.kit.errors import NotFound
from chudong.portal.pages import page
from chudong.portal.security import CsrfDep
from chudong.registry.models import Person
from chudong.replica import ReadSessionDep
from chudong.web.deps import SessionDep
from chudong.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)
LOOKUP_LIMIT = (20, 900)  # lookups per client address per 15 minutes


@router.get("/track")
def track_form(request: Request) -> Response:
    """Show the public dossier lookup form."""
    return page(request, "portal/track.html")


@router.post("/track", dependencies=[CsrfDep])
def track(request: Request, session: SessionDep, code: Annotated[str, Form(max_length=60)] = "",
          phone_last4: Annotated[str, Form(max_length=8)] = "") -> Response:
    """Show a dossier's progress to whoever knows its code and the last 4 digits of the phone on file."""
    from chudong.dossiers import service as dossiers

    client = request.client.host if request.client else "unknown"
    try:
        ratelimit.hit(request.app.state.engine, f"track-ip:{client}", limit=LOOKUP_LIMIT[0], window_seconds=LOOKUP_LIMIT[1])
    except ratelimit.RateLimited as exc:
        return page(request, "portal/track.html", status_code=429, code=code, error=_("Too many attempts. %(detail)s") % {"detail": exc.message})
    not_found = page(request, "portal/track.html", status_code=404, code=code,
                     error=_("No dossier matches this code and these digits."))
    try:
        d = dossiers.get_by_code(session, code)
    except NotFound:
        return not_found
    person = session.get(Person, d.person_id) if d.person_id else None
    digits = "".join(ch for ch in phone_last4 if ch.isdigit())
    if person is None or not person.phone or len(digits) != 4 or not person.phone.endswith(digits):
        return not_found
    children = dossiers.children_of(session, d)
    return page(request, "portal/track.html", code=d.code, found=d, children=children)


@router.get("/overdue")
def overdue(request: Request, session: ReadSessionDep) -> Response:
    """List overdue dossiers per unit, anonymised (the sources require publishing them)."""
    from chudong.dossiers.statemachine import IN_PROGRESS

    today = clock.today()
    rows = session.execute(
        select(Unit.name, Dossier.service_id, Dossier.title, Dossier.code, Dossier.due_on).select_from(Dossier)
        .join(Unit, Unit.code == Dossier.handling_unit_code)
        .where(Dossier.status.in_(sorted(IN_PROGRESS)), Dossier.due_on < today)
        .order_by(Unit.name, Dossier.due_on).limit(1000)
    ).all()
    per_unit = session.execute(
        select(Unit.name, func.count()).select_from(Dossier).join(Unit, Unit.code == Dossier.handling_unit_code)
        .where(Dossier.status.in_(sorted(IN_PROGRESS)), Dossier.due_on < today)
        .group_by(Unit.name).order_by(func.count().desc())
    ).all()
    # the code is shown masked: enough for its holder to recognise, useless to others
    masked = [(r.name, r.title, r.code[:-6] + "••••" + r.code[-2:], r.due_on, (today - r.due_on).days) for r in rows]
    return page(request, "portal/overdue.html", rows=masked, per_unit=per_unit, today=today)
