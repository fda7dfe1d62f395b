"""Dossier API (/api/v1/dossiers/...) and the public result verification page (/verify/{token})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from chudong.dossiers import service, views
from chudong.dossiers.models import Dossier
from chudong.dossiers.results import render_result_pdf, result_of, verification_url, verify_token
from chudong.dossiers.schemas import (
    AccessRead, ApproveIn, AttachmentRead, BulkApproveIn, ConfirmIn, CorrectionIn, DeclineIn, DossierRead,
    DossierSummary, EventRead, OpenIn, OpenOut, PostAuditIn, PublicStatus, RatingIn, RejectIn,
    SupplementRequestIn, SupplyIn, Versioned,
)
from chudong.identity.principal import (
    CitizenDep, OfficerDep, Principal, PrincipalDep, has_operator_key, require_officer,
)
from chudong.kit.errors import Forbidden, NotFound, PayloadTooLarge, Unauthorized
from chudong.web.deps import SessionDep
from chudong.web.templating import render

api = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])
public_router = APIRouter(tags=["verification"])
Purpose = Annotated[str, Query(description="Why an officer opens the dossier (recorded).")]


def _load(session, who: Principal, code: str, purpose: str) -> Dossier:
    if who.kind == "citizen":
        return service.for_citizen(session, who, code, for_update=True)
    if who.kind == "officer":
        return service.for_officer(session, who, code, purpose, for_update=True)
    raise Unauthorized("sign in to see this dossier")


def ensure_may_open(session, who: Principal, life_event_ids: list[int]) -> None:
    """Refuse unless the officer's unit is competent for every life event (operators pass before this).

    Dossiers are normally opened by the system (rules streaming, worker). By hand, only an
    officer of a unit of the service's lead agency that handles the service may open one,
    and a commune unit only for subjects living in its commune (province units cover the
    province) — the jurisdiction the dossier would be routed to.
    """
    from chudong.dossiers.flows import RegistryReader, load_life_events
    from chudong.dossiers.models import Unit
    from chudong.dossiers.policy import policy_for

    unit = session.get(Unit, who.unit_code) if who.unit_code else None
    if unit is None:
        raise Forbidden("only officers of a handling unit may open dossiers", field="life_event_ids")
    events = load_life_events(session, life_event_ids)
    reader = None
    for e in events:
        pol = policy_for(e.service_id)
        competent = unit.agency == pol.agency and ("*" in unit.services or e.service_id in unit.services)
        if competent and unit.ward_code is not None and pol.routing == "residence_ward":
            reader = reader or RegistryReader(session, events)
            competent = reader.prefill(e, pol).ward_code == unit.ward_code
        if not competent:
            raise Forbidden(f"life event {e.id} ({e.service_id}) is outside the jurisdiction of unit {unit.code}",
                            field="life_event_ids")


@api.post("/open", response_model=OpenOut,
          responses={401: {"description": "not signed in"}, 403: {"description": "outside the caller's jurisdiction"}})
def open_dossiers(body: OpenIn, request: Request, session: SessionDep, who: PrincipalDep) -> OpenOut:
    """Open pre-filled dossiers for detected life events (operator key, or an officer competent for each)."""
    if not has_operator_key(request):
        ensure_may_open(session, require_officer(who), body.life_event_ids)
    r = service.open_dossiers(session, body.life_event_ids)
    return OpenOut(opened=r.opened, skipped=r.skipped, codes=r.codes)


@api.get("/mine", response_model=list[DossierRead])
def my_dossiers(session: SessionDep, citizen: CitizenDep) -> list[DossierRead]:
    """List the citizen's dossiers, each with its linked sub-dossiers (one tracker)."""
    return [views.full(session, d) for d in service.citizen_dossiers(session, citizen)]


@api.get("/access-log", response_model=list[AccessRead])
def my_access_log(session: SessionDep, citizen: CitizenDep) -> list[AccessRead]:
    """Show which officers read the citizen's data, when and why."""
    return [AccessRead(at=log.at, officer=o.full_name, unit_code=o.unit_code, dossier_code=code, purpose=log.purpose)
            for log, o, code in service.access_log_for_person(session, citizen.id)]  # type: ignore[arg-type]


@api.get("/queue", response_model=list[DossierSummary])
def work_queue(session: SessionDep, officer: OfficerDep, status: Annotated[str | None, Query(max_length=40)] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0) -> list[DossierSummary]:
    """List the officer's unit's open dossiers ordered by deadline and risk."""
    cal = service.calendar(session)
    return [views.summary(d, cal) for d in service.queue(session, officer, status=status, limit=limit, offset=offset)]


@api.get("/post-audits", response_model=list[DossierSummary])
def post_audits(session: SessionDep, officer: OfficerDep) -> list[DossierSummary]:
    """List the unit's automatically approved dossiers awaiting a post-audit."""
    cal = service.calendar(session)
    return [views.summary(d, cal) for _a, d in service.post_audit_queue(session, officer)]


@api.post("/bulk-approve", response_model=list[DossierSummary])
def bulk_approve(body: BulkApproveIn, session: SessionDep, officer: OfficerDep) -> list[DossierSummary]:
    """Approve several verified dossiers of the unit: all, or none when one is not eligible."""
    cal = service.calendar(session)
    return [views.summary(d, cal) for d in service.bulk_approve(session, officer, body.codes)]


@api.get("/track/{code}", response_model=PublicStatus)
def track(code: str, session: SessionDep) -> PublicStatus:
    """Show a dossier's status to anyone holding its code (no personal data)."""
    return views.public(session, service.get_by_code(session, code))


@api.get("/{code}", response_model=DossierRead)
def read_dossier(code: str, session: SessionDep, who: PrincipalDep, purpose: Purpose = "") -> DossierRead:
    """Show a dossier to its citizen, or to an officer of its unit (the read is logged)."""
    return views.full(session, _load(session, who, code, purpose))


@api.get("/{code}/timeline", response_model=list[EventRead])
def read_timeline(code: str, session: SessionDep, who: PrincipalDep, purpose: Purpose = "") -> list[EventRead]:
    """Show every step of a dossier: who, when, what."""
    d = _load(session, who, code, purpose)
    return [EventRead.model_validate(e) for e in service.timeline(session, d)]


@api.post("/{code}/confirm", response_model=DossierRead)
def confirm(code: str, body: ConfirmIn, session: SessionDep, citizen: CitizenDep) -> DossierRead:
    """Confirm a pre-filled dossier, adding what the state cannot know and the linked procedures wanted."""
    d = service.for_citizen(session, citizen, code, for_update=True)
    service.confirm(session, d, citizen, supplied=body.supplied, linked=body.linked, version=body.version)
    return views.full(session, d)


@api.post("/{code}/corrections", response_model=DossierRead)
def correct(code: str, body: CorrectionIn, session: SessionDep, citizen: CitizenDep) -> DossierRead:
    """Report a wrong pre-filled field; it goes to the source agency as a data-quality issue."""
    d = service.for_citizen(session, citizen, code, for_update=True)
    service.correct_field(session, d, citizen, field_name=body.field, value=body.value, note=body.note,
                          version=body.version)
    return views.full(session, d)


@api.post("/{code}/decline", response_model=DossierRead)
def decline(code: str, body: DeclineIn, session: SessionDep, citizen: CitizenDep) -> DossierRead:
    """Decline an offered dossier."""
    d = service.for_citizen(session, citizen, code, for_update=True)
    service.decline(session, d, citizen, reason=body.reason, version=body.version)
    return views.full(session, d)


@api.post("/{code}/act", response_model=DossierRead)
def act_on(code: str, body: Versioned, session: SessionDep, citizen: CitizenDep) -> DossierRead:
    """Mark a notice as acted on."""
    d = service.for_citizen(session, citizen, code, for_update=True)
    service.act_on_notice(session, d, citizen, version=body.version)
    return views.full(session, d)


@api.post("/{code}/supplement", response_model=DossierRead)
def supply(code: str, body: SupplyIn, session: SessionDep, citizen: CitizenDep) -> DossierRead:
    """Answer a supplement request (attach documents first); the clock restarts."""
    d = service.for_citizen(session, citizen, code, for_update=True)
    service.supply(session, d, citizen, values=body.values, note=body.note, version=body.version)
    return views.full(session, d)


@api.post("/{code}/attachments", response_model=AttachmentRead, status_code=201)
async def attach(code: str, session: SessionDep, who: PrincipalDep, kind: Annotated[str, Form()],
                 file: Annotated[UploadFile, File()], purpose: Purpose = "attach a document") -> AttachmentRead:
    """Attach a PDF, JPEG or PNG document (at most 5 MB; content must match its type)."""
    content = await file.read(service.MAX_ATTACHMENT_BYTES + 1)
    if len(content) > service.MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge(f"the file is over the {service.MAX_ATTACHMENT_BYTES}-byte limit", field="file")
    d = _load(session, who, code, purpose)
    att = service.add_attachment(session, d, who, kind=kind, filename=file.filename or "",
                                 media_type=file.content_type or "", content=content)
    return AttachmentRead.model_validate(att)


@api.post("/{code}/rating", status_code=201)
def rate(code: str, body: RatingIn, session: SessionDep, citizen: CitizenDep) -> dict:
    """Rate a settled dossier (1–5), optionally as a complaint."""
    d = service.for_citizen(session, citizen, code, for_update=True)
    r = service.rate(session, d, citizen, score=body.score, comment=body.comment, complaint=body.complaint)
    return {"code": d.code, "score": r.score, "complaint": r.complaint}


@api.post("/{code}/claim", response_model=DossierRead)
def claim(code: str, body: Versioned, session: SessionDep, officer: OfficerDep) -> DossierRead:
    """Take a confirmed dossier into processing."""
    d = service.for_officer(session, officer, code, "processing: claim", for_update=True)
    service.claim(session, d, officer, version=body.version)
    return views.full(session, d)


@api.post("/{code}/approve", response_model=DossierRead)
def approve(code: str, body: ApproveIn, session: SessionDep, officer: OfficerDep) -> DossierRead:
    """Approve a dossier: settle it and issue its result."""
    d = service.for_officer(session, officer, code, "processing: approve", for_update=True)
    service.approve(session, d, officer, version=body.version, note=body.note)
    return views.full(session, d)


@api.post("/{code}/request-supplement", response_model=DossierRead)
def request_supplement(code: str, body: SupplementRequestIn, session: SessionDep, officer: OfficerDep) -> DossierRead:
    """Ask the citizen for more; the clock stops for the legal window."""
    d = service.for_officer(session, officer, code, "processing: supplement request", for_update=True)
    service.request_supplement(session, d, officer, reason=body.reason, documents=body.documents,
                               version=body.version)
    return views.full(session, d)


@api.post("/{code}/reject", response_model=DossierRead)
def reject(code: str, body: RejectIn, session: SessionDep, officer: OfficerDep) -> DossierRead:
    """Reject a dossier with its legal reason."""
    d = service.for_officer(session, officer, code, "processing: reject", for_update=True)
    service.reject(session, d, officer, legal_reason=body.legal_reason, version=body.version)
    return views.full(session, d)


@api.post("/{code}/post-audit", response_model=DossierRead)
def post_audit(code: str, body: PostAuditIn, session: SessionDep, officer: OfficerDep) -> DossierRead:
    """Record the finding of a post-audit (a failed audit revokes the result)."""
    d = service.for_officer(session, officer, code, "post-audit", for_update=True)
    service.record_post_audit(session, d, officer, outcome=body.outcome, finding=body.finding)
    return views.full(session, d)


@api.get("/{code}/result.pdf", response_class=Response)
def result_pdf(code: str, request: Request, session: SessionDep, who: PrincipalDep,
               purpose: Purpose = "issue the result document") -> Response:
    """Download the result document (PDF with a verification QR code)."""
    d = _load(session, who, code, purpose)
    result = result_of(session, d)
    if result is None:
        raise NotFound(f"dossier {d.code} has no result yet")
    settings = request.app.state.settings
    pdf = render_result_pdf(d, result, verification_url(settings.base_url, settings.secret_key, result))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{d.code}.pdf"'})


@public_router.get("/verify/{token}", response_class=HTMLResponse)
def verify(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Say whether a result document is genuine and current (every check is logged)."""
    settings = request.app.state.settings
    v = verify_token(session, [settings.secret_key, *settings.old_secret_keys], token)
    return render(request, "dossiers/verify.html", status_code=200 if v.outcome != "unknown" else 404,
                  outcome=v.outcome, result=v.result)


router = APIRouter()
router.include_router(api)
router.include_router(public_router)
