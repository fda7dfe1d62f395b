"""Public pages (no sign-in): dossier status by code + second factor, the overdue list per unit."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from chudong.auth import ratelimit
from chudong.dossiers.codes import normalise_code
from chudong.dossiers.models import Dossier, Unit
from chudong.kit import clock
from chudong.kit.errors import NotFound
from chudong.portal.pages import page
from chudong.portal.security import CsrfDep, OptionalUserDep, redirect
from chudong.portal.signin import safe_next
from chudong.portal.validation import parse_date, too_many_message
from chudong.registry.models import Person
from chudong.replica import ReadSessionDep
from chudong.web.deps import SessionDep
from chudong.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)
LOOKUP_LIMIT = (20, 900)  # lookups per client address per 15 minutes


@router.get("/d/{code}")
def dossier_link(code: str, user: OptionalUserDep) -> Response:
    """A notice's short link: the dossier itself for its signed-in citizen, else sign-in landing on it.

    Nothing is looked up here, so the link says nothing about whether the code exists; the dossier
    page after sign-in shows it only to its own citizen.
    """
    target = f"/me/dossiers/{normalise_code(code)}"
    if user is not None and user.role == "citizen":
        return redirect(safe_next(target))
    return redirect("/signin?" + urlencode({"next": safe_next(target)}))


@router.get("/track")
def track_form(request: Request) -> Response:
    """Show the public dossier lookup form."""
    return page(request, "portal/track.html")


@router.post("/track", dependencies=[CsrfDep])
def track(request: Request, session: SessionDep, code: Annotated[str, Form(max_length=60)] = "",
          phone_last4: Annotated[str, Form(max_length=8)] = "",
          birth_date: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Show a dossier's progress to whoever knows its code and either the last 4 digits of the phone on
    file or the date of birth of the person it is for (people without a phone can track too)."""
    from chudong.dossiers import service as dossiers

    client = request.client.host if request.client else "unknown"
    form = {"code": code, "phone_last4": phone_last4, "birth_date": birth_date}
    errors = _track_errors(code, phone_last4, birth_date)
    if errors:
        return page(request, "portal/track.html", status_code=422, errors=errors, **form)
    try:
        ratelimit.hit(request.app.state.engine, f"track-ip:{client}", limit=LOOKUP_LIMIT[0], window_seconds=LOOKUP_LIMIT[1])
    except ratelimit.RateLimited as exc:
        return page(request, "portal/track.html", status_code=429, errors={"code": too_many_message(exc)}, **form)
    not_found = page(request, "portal/track.html", status_code=404, errors={
        "code": _("No dossier matches this code and this second answer.")}, **form)
    try:
        d = dossiers.get_by_code(session, code)
    except NotFound:
        return not_found
    person = session.get(Person, d.person_id) if d.person_id else None
    if person is None or not _second_factor_matches(person, phone_last4, birth_date):
        return not_found
    children = dossiers.children_of(session, d)
    return page(request, "portal/track.html", code=d.code, found=d, children=children)


def _track_errors(code: str, phone_last4: str, birth_date: str) -> dict[str, str]:
    """Return {field: message} for a tracking form that cannot be looked up as typed."""
    errors: dict[str, str] = {}
    if not code.strip():
        errors["code"] = _("Enter the dossier code, as it appears in the message you received.")
    digits = "".join(ch for ch in phone_last4 if ch.isdigit())
    if phone_last4.strip() and len(digits) != 4:
        errors["phone_last4"] = _("Enter exactly the last 4 digits of the phone number.")
    if birth_date.strip():
        _day, why = parse_date(birth_date)
        if why:
            errors["birth_date"] = why
    if not phone_last4.strip() and not birth_date.strip():
        errors["phone_last4"] = _("Enter the last 4 digits of the registered phone, or the date of birth.")
    return errors


def _second_factor_matches(person: Person, phone_last4: str, birth_date: str) -> bool:
    """Return whether the phone digits or the date of birth given match the dossier's person."""
    digits = "".join(ch for ch in phone_last4 if ch.isdigit())
    if len(digits) == 4 and person.phone and person.phone.endswith(digits):
        return True
    day, _why = parse_date(birth_date) if birth_date.strip() else (None, None)
    return day is not None and person.birth_date == day


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
