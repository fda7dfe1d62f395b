"""Officer workbench, post-audit queue and the data steward's quality queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from chudong.dossiers import service as dossiers, views
from chudong.kit import clock
from chudong.kit.errors import ChudongError, Unprocessable
from chudong.portal import review
from chudong.portal.pages import page
from chudong.portal.security import CsrfDep, WebUser, redirect, staff_user
from chudong.web.deps import SessionDep
from chudong.web.i18n import current_language, gettext as _

router = APIRouter(include_in_schema=False)
QUEUE_PAGE = 50  # the most urgent first; an officer works down the list
Officer = Annotated[WebUser, Depends(staff_user("officer", "unit_head"))]
Steward = Annotated[WebUser, Depends(staff_user("data_steward", "unit_head", "operator"))]


@router.get("/officer/queue")
def officer_queue(request: Request, session: SessionDep, user: Officer, status: str | None = None,
                  service: str | None = None, deadline: str | None = None, page_no: int = 1) -> Response:
    """Show the unit's queue ordered by deadline, with on-time / due-soon / overdue badges (50 a page)."""
    page_no = max(1, min(page_no, 1000))
    filters = {"status": status or "", "service": service or "", "deadline": deadline or ""}
    try:
        rows, has_more = views.queue_page(session, user.principal, status=status or None, service_id=service or None,
                                          deadline=deadline or None, page_no=page_no, per_page=QUEUE_PAGE)
    except ChudongError as exc:
        return _queue_error(request, user, exc, **filters)
    return page(request, "portal/queue.html", rows=rows, services=_services(user), page_no=page_no,
                has_more=has_more, in_words=review.date_in_words, **filters)


def _services(user: WebUser) -> list[tuple[str, str]]:
    """Return (id, name) of the procedures the officer's agency handles, for the filter."""
    from chudong.rules.catalogue import get_catalogue

    lang, agency, found = current_language(), user.principal.agency, {}
    for sd in get_catalogue().services.values():
        if sd.lead_agency == agency:
            found[sd.id] = getattr(sd.names, lang, None) or sd.names.vi
        for lp in sd.linked:
            if lp.agency == agency:
                found.setdefault(lp.service_id, getattr(lp.names, lang, None) or lp.names.vi)
    return sorted(found.items(), key=lambda item: item[1])


def _queue_error(request: Request, user: WebUser, exc: ChudongError, **filters: str) -> Response:
    return page(request, "portal/queue.html", status_code=exc.status_code, rows=[], services=_services(user),
                page_no=1, has_more=False, error=_(exc.message), in_words=review.date_in_words, **{"status": "", "service": "", "deadline": "",
                                                                   **filters})


@router.get("/officer/dossiers/{code}")
def officer_dossier(code: str, request: Request, session: SessionDep, user: Officer,
                    purpose: str = "processing") -> Response:
    """Show a dossier to its handling officer: fields with provenance and conflicts; the read is logged."""
    d = dossiers.for_officer(session, user.principal, code, purpose)
    return _officer_page(request, session, d)


def _officer_page(request: Request, session, d, error: str | None = None, status_code: int = 200,
                  template: str = "portal/officer_dossier.html", **extra) -> Response:
    from chudong.dossiers.results import result_of
    from chudong.registry.models import QualityIssue

    conflicts = []
    if d.person_id:
        conflicts = list(session.scalars(select(QualityIssue).where(
            QualityIssue.person_id == d.person_id, QualityIssue.status == "open")))
    cal = dossiers.calendar(session)
    return page(request, template, status_code=status_code, d=d,
                state=dossiers.deadline_status(d, cal, clock.today()), conflicts=conflicts,
                events=dossiers.timeline(session, d), children=dossiers.children_of(session, d),
                field_label=review.field_label, verified=dossiers.is_verified(d), error=error,
                concerns=review.concerns(d), names=review.Names(session, d.fields), in_words=review.date_in_words,
                has_result=result_of(session, d) is not None, attachments=_attachments(session, d), **extra)


def _attachments(session, d) -> list:
    """Return the files the citizen uploaded to a dossier (without their bytes), oldest first."""
    from chudong.dossiers.models import DossierAttachment

    cols = (DossierAttachment.id, DossierAttachment.filename, DossierAttachment.media_type, DossierAttachment.size,
            DossierAttachment.uploaded_at)
    return session.execute(select(*cols).where(DossierAttachment.dossier_id == d.id)
                           .order_by(DossierAttachment.id)).all()


@router.get("/officer/dossiers/{code}/attachments/{attachment_id}")
def officer_attachment(code: str, attachment_id: int, request: Request, session: SessionDep, user: Officer) -> Response:
    """Download a file the citizen uploaded to a dossier of the officer's unit (checksum verified; the read logged)."""
    from chudong.dossiers.models import DossierAttachment
    from chudong.dossiers.uploads import read_upload, upload_directory
    from chudong.kit.errors import NotFound

    d = dossiers.for_officer(session, user.principal, code, "processing")
    att = session.get(DossierAttachment, attachment_id)
    if att is None or att.dossier_id != d.id:
        raise NotFound(f"dossier {d.code} has no attachment {attachment_id}")
    content = read_upload(att, upload_directory(request.app.state.settings.data_dir))
    return Response(content, media_type=att.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{d.code}-{att.id}"'})


def _act(request: Request, session, user: WebUser, code: str, action) -> Response:
    d = dossiers.for_officer(session, user.principal, code, "processing", for_update=True)
    try:
        with session.begin_nested():
            action(d)
    except ChudongError as exc:
        session.refresh(d)
        return _officer_page(request, session, d, error=_(exc.message), status_code=exc.status_code)
    return redirect(f"/officer/dossiers/{d.code}")


@router.get("/officer/dossiers/{code}/approve")
def approve_check(code: str, request: Request, session: SessionDep, user: Officer) -> Response:
    """Before approving a dossier with disputed, missing or invalid fields: say which, and what may be done."""
    d = dossiers.for_officer(session, user.principal, code, "processing")
    return _officer_page(request, session, d, template="portal/officer_approve.html", note="")


@router.get("/officer/dossiers/{code}/result.pdf")
def officer_result_pdf(code: str, request: Request, session: SessionDep, user: Officer) -> Response:
    """Open the result document the officer's unit issued (the read is logged)."""
    from chudong.dossiers.results import render_result_pdf, result_of, verification_url
    from chudong.kit.errors import NotFound

    d = dossiers.for_officer(session, user.principal, code, "issue the result document")
    result = result_of(session, d)
    if result is None:
        raise NotFound(f"dossier {d.code} has no result yet")
    settings = request.app.state.settings
    pdf = render_result_pdf(d, result, verification_url(settings.base_url, settings.secret_key, result))
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{d.code}.pdf"'})


@router.get("/officer/overdue")
def officer_overdue(request: Request, session: SessionDep, user: Officer, page_no: int = 1) -> Response:
    """Show the unit's overdue dossiers, the most late first, with how many days late each is."""
    page_no = max(1, min(page_no, 1000))
    rows, has_more = views.queue_page(session, user.principal, deadline="overdue", page_no=page_no,
                                      per_page=QUEUE_PAGE)
    today = clock.today()
    late = [(r, (today - r.due_on).days if r.due_on else 0) for r in rows]
    return page(request, "portal/officer_overdue.html", rows=late, page_no=page_no, has_more=has_more,
                in_words=review.date_in_words)


@router.post("/officer/dossiers/{code}/claim", dependencies=[CsrfDep])
def claim(code: str, request: Request, session: SessionDep, user: Officer,
          version: Annotated[int | None, Form()] = None) -> Response:
    """Take a confirmed dossier into processing."""
    return _act(request, session, user, code, lambda d: dossiers.claim(session, d, user.principal, version=version))


@router.post("/officer/dossiers/{code}/approve", dependencies=[CsrfDep])
def approve(code: str, request: Request, session: SessionDep, user: Officer,
            version: Annotated[int | None, Form()] = None, checked: Annotated[str, Form(max_length=3)] = "",
            note: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Approve a dossier and issue its result; disputed or missing fields need a note, invalid ones block it."""
    d = dossiers.for_officer(session, user.principal, code, "processing", for_update=True)
    found = review.concerns(d)
    error = None
    if any(c.kind == "invalid" for c in found):
        error = _("This dossier cannot be approved while a field is invalid: ask the citizen for a supplement "
                  "or reject it.")
    elif found and (checked != "yes" or len(note.strip()) < 5):
        error = _("Say that you checked the fields listed below against the documents, and write what you "
                  "checked (at least 5 characters).")
    if error:
        return _officer_page(request, session, d, error=error, status_code=422,
                             template="portal/officer_approve.html", note=note)
    text = note.strip()
    return _act(request, session, user, code,
                lambda d: dossiers.approve(session, d, user.principal, version=version, note=text))


@router.post("/officer/dossiers/{code}/supplement", dependencies=[CsrfDep])
def supplement(code: str, request: Request, session: SessionDep, user: Officer,
               reason: Annotated[str, Form(min_length=3, max_length=500)],
               documents: Annotated[str, Form(max_length=1000)] = "",
               version: Annotated[int | None, Form()] = None) -> Response:
    """Ask the citizen for a supplement (the legal window applies; the clock stops)."""
    return _act(request, session, user, code,
                lambda d: dossiers.request_supplement(session, d, user.principal, reason=reason,
                                                      documents=[x.strip() for x in documents.split(";") if x.strip()],
                                                      version=version))


@router.post("/officer/dossiers/{code}/reject", dependencies=[CsrfDep])
def reject(code: str, request: Request, session: SessionDep, user: Officer,
           legal_reason: Annotated[str, Form(min_length=3, max_length=500)],
           version: Annotated[int | None, Form()] = None) -> Response:
    """Reject a dossier with its legal reason."""
    return _act(request, session, user, code,
                lambda d: dossiers.reject(session, d, user.principal, legal_reason=legal_reason, version=version))


@router.post("/officer/bulk-approve", dependencies=[CsrfDep])
async def bulk_approve(request: Request, session: SessionDep, user: Officer) -> Response:
    """Approve every selected dossier whose fields are all verified."""
    form = await request.form()
    codes = [str(c) for c in form.getlist("codes")]
    try:
        with session.begin_nested():
            # bulk_approve names every dossier of another unit or in the wrong state; one click then
            # approves only dossiers with nothing to look at
            done = dossiers.bulk_approve(session, user.principal, codes)
            if any(review.concerns(d) for d in done):
                raise Unprocessable("a selected dossier has fields to check: open it and approve it on its own page",
                                    field="codes")
    except ChudongError as exc:
        return _queue_error(request, user, exc)
    return redirect(f"/officer/queue?approved={len(done)}")


@router.get("/officer/post-audit")
def post_audit(request: Request, session: SessionDep, user: Officer) -> Response:
    """Show automatically approved dossiers drawn for post-check."""
    return page(request, "portal/post_audit.html", rows=dossiers.post_audit_queue(session, user.principal))


@router.post("/officer/post-audit/{code}", dependencies=[CsrfDep])
def record_post_audit(code: str, request: Request, session: SessionDep, user: Officer,
                      outcome: Annotated[str, Form(pattern="^(passed|failed)$")],
                      finding: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Record the finding of a post-check."""
    d = dossiers.for_officer(session, user.principal, code, "post-audit")
    dossiers.record_post_audit(session, d, user.principal, outcome=outcome, finding=finding)
    return redirect("/officer/post-audit")


@router.get("/steward/quality")
def quality_queue(request: Request, session: SessionDep, user: Steward) -> Response:
    """Show open data-quality issues for the steward's agency (all agencies for operators)."""
    from chudong.registry.models import QualityIssue

    q = select(QualityIssue).where(QualityIssue.status == "open").order_by(QualityIssue.id.desc()).limit(300)
    if user.role == "data_steward" and user.principal.agency:
        q = q.where(QualityIssue.agency_code == user.principal.agency)
    return page(request, "portal/quality.html", issues=list(session.scalars(q)), issue_kinds=review.ISSUE_KINDS,
                field_label=review.field_label, names=review.Names(session), in_words=review.date_in_words)
