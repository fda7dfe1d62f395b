"""Citizen portal: my offers and dossiers, confirm / correct / decline, results, rating, inbox, settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from chudong.dossiers import service as dossiers
from chudong.kit.errors import ChudongError
from chudong.dossiers.models import Unit
from chudong.portal import answers
from chudong.portal.pages import page
from chudong.portal.review import field_label
from chudong.portal.security import CitizenDep, CsrfDep, redirect
from chudong.web.deps import SessionDep
from chudong.web.templating import HumanValues
from chudong.web.i18n import current_language, gettext as _

router = APIRouter(include_in_schema=False)

OFFER_STATUSES = ("offered",)


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


def _dossier_page(request: Request, session, d, error: str | None = None, status_code: int = 200,
                  errors: dict | None = None, typed: dict | None = None, chosen: list | None = None,
                  **extra: object) -> Response:
    from chudong.dossiers.policy import policy_for
    from chudong.dossiers.views import tracking

    pol = policy_for(d.service_id) if d.kind == "dossier" and d.parent_id is None else None
    linked = [{"id": s.service_id, "name": s.names.get(current_language()) or s.names.get("vi")} for s in pol.linked] if pol else []
    seen = tracking(session, d)
    return page(request, "portal/dossier.html", status_code=status_code, d=d, children=seen.children,
                events=seen.events, linked=linked, field_label=field_label, why=_explain(seen.reason),
                result=seen.has_result, rating=seen.rating, error=error, errors=errors or {},
                typed=typed or {}, chosen=chosen, questions=answers.questions(d),
                supplement=supplement_request(session, d), human=HumanValues(session, d.fields), **extra)


def _act(request: Request, session, user, code: str, action) -> Response:
    d = dossiers.for_citizen(session, user.principal, code, for_update=True)
    try:
        with session.begin_nested():
            action(d)
    except ChudongError as exc:
        session.refresh(d)
        return _dossier_page(request, session, d, error=_(exc.message), status_code=exc.status_code)
    return redirect(f"/me/dossiers/{d.code}")


async def _answers(request: Request, session, user, code: str):
    """Read the confirm form: the dossier, its answers checked, the linked procedures chosen, the version."""
    form = await request.form()
    d = dossiers.for_citizen(session, user.principal, code)
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    version = _int(form.get("version"))
    upload_errors = {}
    if any(getattr(form.get(f"f_{q.name}_file"), "filename", "") for q in answers.questions(d)):
        dossiers.check_version(d, version)  # a stale page attaches nothing
        upload_errors = await _attach_answer_files(request, session, user, d, form, fields)
        version = d.version  # the attachment is a step of the dossier: the next form carries the new version
    values, typed, errors = answers.read(d, fields, _attached(session, d))
    errors.update(upload_errors)
    return d, values, typed, errors, [str(v) for v in form.getlist("linked")], version


async def _attach_answer_files(request: Request, session, user, d, form, fields: dict) -> dict[str, str]:
    """Store the files given for file questions; point each answer at its attachment; return upload errors."""
    from chudong.adapters.scan import ScanFailed, scanner_from_address
    from chudong.dossiers import uploads

    settings, errors = request.app.state.settings, {}
    for q in answers.questions(d):
        upload = form.get(f"f_{q.name}_file")
        if q.kind != "file" or not getattr(upload, "filename", ""):
            continue
        try:
            with session.begin_nested():
                att = uploads.add_upload(session, d, user.principal, kind=q.name, filename=upload.filename,
                                         content=await upload.read(uploads.MAX_UPLOAD_BYTES + 1),
                                         directory=uploads.upload_directory(settings.data_dir),
                                         scanner=scanner_from_address(settings.clamd_address))
            fields[f"f_{q.name}"] = f"attachment:{att.id}"
        except uploads.UploadRefused as exc:
            errors[q.name] = _(UPLOAD_REFUSALS[exc.why]) % {"name": exc.message.split(":", 1)[0]}
        except ScanFailed:
            errors[q.name] = _(SCAN_UNAVAILABLE)
    return errors


def _attached(session, d) -> dict[int, str]:
    from sqlalchemy import select

    from chudong.dossiers.models import DossierAttachment

    return dict(session.execute(select(DossierAttachment.id, DossierAttachment.filename)
                                .where(DossierAttachment.dossier_id == d.id)).all())


@router.post("/me/dossiers/{code}/check", dependencies=[CsrfDep])
async def check_answers(code: str, request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Check the answers, then show them all with the linked procedures before the citizen sends them."""
    d, values, typed, errors, linked, version = await _answers(request, session, user, code)
    form = await request.form()
    if errors or form.get("change"):
        return _dossier_page(request, session, d, errors=errors, typed=typed, chosen=linked,
                             status_code=422 if errors and not form.get("change") else 200)
    return page(request, "portal/check_answers.html", d=d, values=values, typed=typed, linked=linked,
                version=version, field_label=field_label, human=HumanValues(session, d.fields),
                linked_names=_linked_names(d))


@router.post("/me/dossiers/{code}/confirm", dependencies=[CsrfDep])
async def confirm(code: str, request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Confirm a pre-filled dossier with what only the citizen knows and the linked procedures chosen."""
    d, values, typed, errors, linked, version = await _answers(request, session, user, code)
    if errors:
        return _dossier_page(request, session, d, errors=errors, typed=typed, chosen=linked, status_code=422)
    response = _act(request, session, user, code,
                    lambda d: dossiers.confirm(session, d, user.principal, supplied=values, linked=linked, version=version))
    if response.status_code == 303:
        return redirect(f"/me/dossiers/{code}/confirmed")
    return response


@router.get("/me/dossiers/{code}/confirmed")
def confirmed(code: str, request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """The confirmation page: the dossier code and what happens next."""
    from chudong.dossiers.views import tracking

    d = dossiers.for_citizen(session, user.principal, code)
    if d.status in OFFER_STATUSES:
        return redirect(f"/me/dossiers/{d.code}")
    unit = session.get(Unit, d.handling_unit_code) if d.handling_unit_code else None
    return page(request, "portal/confirmed.html", d=d, unit=unit, children=tracking(session, d).children)


def _linked_names(d) -> dict[str, str]:
    from chudong.dossiers.policy import policy_for

    pol = policy_for(d.service_id) if d.kind == "dossier" and d.parent_id is None else None
    return {s.service_id: s.names.get(current_language()) or s.names.get("vi") for s in pol.linked} if pol else {}


SCAN_UNAVAILABLE = "The virus scan cannot be done right now, so nothing was saved. Please try again later."
UPLOAD_REFUSALS = {
    "empty": "%(name)s is empty.",
    "too_large": "%(name)s is larger than 5 MB.",
    "type": "%(name)s is not a PDF, JPEG or PNG file (its content was checked, not its name).",
    "infected": "%(name)s was refused: the virus scan found a threat.",
}


@router.post("/me/dossiers/{code}/supplement", dependencies=[CsrfDep])
async def send_supplement(code: str, request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Answer a supplement request with documents (PDF, JPEG, PNG) and/or a reply; the clock restarts."""
    from chudong.adapters.scan import ScanFailed, scanner_from_address
    from chudong.dossiers import uploads

    form = await request.form()
    files = [f for f in form.getlist("files") if hasattr(f, "read") and getattr(f, "filename", "")]
    reply = str(form.get("reply") or "").strip()
    d = dossiers.for_citizen(session, user.principal, code, for_update=True)
    errors: dict[str, str] = {}
    if len(reply) > 500:
        errors["reply"] = _("Enter at most %(max_length)s characters.") % {"max_length": 500}
    if not files and not reply:
        errors["files"] = _("Attach the documents asked for, or write a reply.")
    settings = request.app.state.settings
    if not errors:
        try:
            dossiers.check_version(d, _int(form.get("version")))
            with session.begin_nested():
                for f in files:
                    uploads.add_upload(session, d, user.principal, kind="supplement", filename=f.filename,
                                       content=await f.read(uploads.MAX_UPLOAD_BYTES + 1),
                                       directory=uploads.upload_directory(settings.data_dir),
                                       scanner=scanner_from_address(settings.clamd_address))
                dossiers.supply(session, d, user.principal, values={}, note=reply, version=None)
        except uploads.UploadRefused as exc:
            session.refresh(d)
            name = exc.message.split(":", 1)[0]
            errors["files"] = _(UPLOAD_REFUSALS[exc.why]) % {"name": name}
        except ScanFailed:
            session.refresh(d)
            errors["files"] = _(SCAN_UNAVAILABLE)
        except ChudongError as exc:
            session.refresh(d)
            return _dossier_page(request, session, d, error=_(exc.message), status_code=exc.status_code)
    if errors:
        return _dossier_page(request, session, d, status_code=422, supplement_errors=errors, supplement_reply=reply)
    return redirect(f"/me/dossiers/{d.code}#progress")


def supplement_request(session, d) -> dict | None:
    """Return what the officer asked for (reason, documents, due date) while a supplement is awaited."""
    if d.status != "supplement_requested":
        return None
    from sqlalchemy import select

    from chudong.dossiers.models import DossierEvent

    event = session.scalar(select(DossierEvent).where(DossierEvent.dossier_id == d.id,
                                                      DossierEvent.kind == "supplement_requested")
                           .order_by(DossierEvent.id.desc()).limit(1))
    data = event.data if event is not None else {}
    return {"reason": data.get("reason", ""), "documents": data.get("documents", []), "due_on": d.supplement_due_on}


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
    pdf = render_result_pdf(d, result, verification_url(settings.base_url, settings.secret_key, result), session)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{d.code}.pdf"'})


@router.get("/me/access")
def access_log(request: Request, session: SessionDep, user: CitizenDep) -> Response:
    """Show who accessed my personal data: officer, unit, time and purpose."""
    from chudong.dossiers.tracker import accesses

    return page(request, "portal/access_log.html", rows=accesses(session, user.principal.id),
                role_label=lambda role: _(ACCESS_ROLES.get(role, "Officer")),
                purpose_label=lambda purpose: _(ACCESS_PURPOSES.get(purpose, "Other official purpose")))


# What the citizen reads in the data tracker (message ids; an unknown purpose is not shown raw).
ACCESS_ROLES = {"officer": "Officer handling dossiers", "unit_head": "Head of the unit", "data_steward": "Data steward",
                "auditor": "Inspector", "leader": "Leader", "operator": "System operator"}
ACCESS_PURPOSES = {"processing": "To handle your dossier", "post-audit": "To check an approved dossier afterwards",
                   "issue the result document": "To issue your result document"}


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
