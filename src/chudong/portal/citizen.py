"""Citizen portal: my offers and dossiers, confirm / correct / decline, results, rating, inbox, settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from chudong.dossiers import service as dossiers
from chudong.dossiers.labels import LABELS_VI
from chudong.kit.errors import ChudongError
from chudong.portal.pages import page
from chudong.portal.security import CitizenDep, CsrfDep, redirect
from chudong.web.deps import SessionDep
from chudong.web.i18n import current_language, gettext as _

router = APIRouter(include_in_schema=False)

OFFER_STATUSES = ("offered",)


def field_label(name: str) -> str:
    """Return a field's label in the user's language."""
    if current_language() == "vi" and name in LABELS_VI:
        return LABELS_VI[name]
    return name.replace("_", " ").capitalize()


def _why(session, d) -> dict | None:
    """Return the life event's explanation ("why you received this"), if any."""
    if d.life_event_id is None:
        return None
    from chudong.rules.models import LifeEvent

    event = session.get(LifeEvent, d.life_event_id)
    return _explain(event.reason if event is not None else None)


def _explain(reason: dict | None) -> dict | None:
    """Return a life event's reason in the user's language, or None when there is none."""
    if reason is None:
        return None
    text = reason.get("text_vi") if current_language() == "vi" else reason.get("text_en")
    return {"text": text or reason.get("text_vi") or "", "parameters": reason.get("parameters", []),
            "rule": reason.get("rule", "")}


@router.get("/me")
def my_home(request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Show the citizen's offers, dossiers and latest messages."""
    from chudong.notifications.service import inbox_for

    mine = dossiers.citizen_dossiers(session, user.principal)
    offers = [d for d in mine if d.status in OFFER_STATUSES]
    others = [d for d in mine if d.status not in OFFER_STATUSES]
    inbox = inbox_for(session, user.principal.id)[:5]
    return page(request, "portal/me.html", offers=offers, dossiers=others, inbox=inbox,
                why={d.id: _why(session, d) for d in offers})


@router.get("/me/dossiers/{code}")
def my_dossier(code: str, request: Request, session: SessionDep, user: CitizenDep,
               error: str | None = None) -> Response:
    """Show one dossier: pre-filled fields with sources, the tracker, and the actions allowed now."""
    d = dossiers.for_citizen(session, user.principal, code)
    return _dossier_page(request, session, d, error=error)


def _dossier_page(request: Request, session, d, error: str | None = None, status_code: int = 200) -> Response:
    from chudong.dossiers.policy import policy_for
    from chudong.dossiers.views import tracking

    pol = policy_for(d.service_id) if d.kind == "dossier" and d.parent_id is None else None
    linked = [{"id": s.service_id, "name": s.names.get(current_language()) or s.names.get("vi")} for s in pol.linked] if pol else []
    seen = tracking(session, d)
    return page(request, "portal/dossier.html", status_code=status_code, d=d, children=seen.children,
                events=seen.events, linked=linked, field_label=field_label, why=_explain(seen.reason),
                result=seen.has_result, rating=seen.rating, error=error)


def _act(request: Request, session, user, code: str, action) -> Response:
    d = dossiers.for_citizen(session, user.principal, code, for_update=True)
    try:
        with session.begin_nested():
            action(d)
    except ChudongError as exc:
        session.refresh(d)
        return _dossier_page(request, session, d, error=_(exc.message), status_code=exc.status_code)
    return redirect(f"/me/dossiers/{d.code}")


@router.post("/me/dossiers/{code}/confirm", dependencies=[CsrfDep])
async def confirm(code: str, request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Confirm a pre-filled dossier with what only the citizen knows and the linked procedures chosen."""
    form = await request.form()
    supplied = {k[2:]: str(v) for k, v in form.multi_items() if k.startswith("f_")}
    linked = [str(v) for v in form.getlist("linked")]
    version = _int(form.get("version"))
    return _act(request, session, user, code,
                lambda d: dossiers.confirm(session, d, user.principal, supplied=supplied, linked=linked, version=version))


@router.post("/me/dossiers/{code}/correct", dependencies=[CsrfDep])
def correct(code: str, request: Request, session: SessionDep, user: CitizenDep,
            field_name: Annotated[str, Form(max_length=60)], value: Annotated[str, Form(max_length=200)],
            note: Annotated[str, Form(max_length=500)] = "", version: Annotated[int | None, Form()] = None) -> Response:
    """Report that a pre-filled field is wrong (sent to the source agency, not overwritten)."""
    return _act(request, session, user, code,
                lambda d: dossiers.correct_field(session, d, user.principal, field_name=field_name, value=value,
                                                 note=note, version=version))


@router.post("/me/dossiers/{code}/decline", dependencies=[CsrfDep])
def decline(code: str, request: Request, session: SessionDep, user: CitizenDep,
            reason: Annotated[str, Form(max_length=500)] = "", version: Annotated[int | None, Form()] = None) -> Response:
    """Decline an offered dossier."""
    return _act(request, session, user, code,
                lambda d: dossiers.decline(session, d, user.principal, reason=reason, version=version))


@router.post("/me/dossiers/{code}/rate", dependencies=[CsrfDep])
def rate(code: str, request: Request, session: SessionDep, user: CitizenDep,
         score: Annotated[int, Form(ge=1, le=5)], comment: Annotated[str, Form(max_length=2000)] = "",
         complaint: Annotated[bool, Form()] = False) -> Response:
    """Rate a settled dossier (and complain if something went wrong)."""
    return _act(request, session, user, code,
                lambda d: dossiers.rate(session, d, user.principal, score=score, comment=comment, complaint=complaint))


@router.get("/me/dossiers/{code}/result.pdf")
def result_pdf(code: str, request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Download the result document of one of my dossiers."""
    from chudong.dossiers.results import render_result_pdf, result_of, verification_url
    from chudong.kit.errors import NotFound

    d = dossiers.for_citizen(session, user.principal, code)
    result = result_of(session, d)
    if result is None:
        raise NotFound(f"dossier {d.code} has no result yet")
    settings = request.app.state.settings
    pdf = render_result_pdf(d, result, verification_url(settings.base_url, settings.secret_key, result))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{d.code}.pdf"'})


@router.get("/me/access")
def access_log(request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Show who accessed my personal data: officer, unit, time and purpose."""
    rows = dossiers.access_log_for_person(session, user.principal.id)
    return page(request, "portal/access_log.html", rows=rows)


@router.get("/me/inbox")
def inbox(request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Show every message the state sent me."""
    from chudong.notifications.service import inbox_for

    return page(request, "portal/inbox.html", messages=inbox_for(session, user.principal.id))


@router.get("/me/settings")
def settings_form(request: Request, session: SessionDep, user: CitizenDep, saved: bool = False) -> Response:
    """Show my channel and language preferences."""
    from chudong.notifications.models import ContactPreference

    pref = session.get(ContactPreference, user.principal.id)
    return page(request, "portal/settings.html", pref=pref, saved=saved)


@router.post("/me/settings", dependencies=[CsrfDep])
async def save_settings(request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Save my preferred channels (in order), language and quiet hours."""
    from chudong.notifications.service import set_preferences

    form = await request.form()
    channels = [c for c in (form.get("first"), form.get("second"), form.get("third")) if c]
    try:
        with session.begin_nested():
            set_preferences(session, user.principal.id, channels=list(dict.fromkeys(channels)),
                            language=str(form.get("language") or "vi"),
                            quiet_start=str(form.get("quiet_start") or "") or None,
                            quiet_end=str(form.get("quiet_end") or "") or None,
                            opt_out_optional=form.get("opt_out_optional") == "on",
                            sms_unaccented=form.get("sms_unaccented") == "on")
    except ChudongError as exc:
        from chudong.notifications.models import ContactPreference

        return page(request, "portal/settings.html", status_code=exc.status_code,
                    pref=session.get(ContactPreference, user.principal.id), error=_(exc.message))
    response = redirect("/me/settings?saved=1")
    response.set_cookie("lang", str(form.get("language") or "vi"), max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
