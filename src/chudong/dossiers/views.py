"""Turn dossiers into API schemas (with deadline status computed as of today)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.dossiers import service
from chudong.dossiers.models import Dossier
from chudong.dossiers.results import result_of
from chudong.dossiers.schemas import DossierRead, DossierSummary, FieldRead, PublicStatus
from chudong.dossiers.statemachine import allowed_events
from chudong.kit.workdays import WorkingCalendar


def summary(d: Dossier, cal: WorkingCalendar) -> DossierSummary:
    """Return a dossier's summary."""
    return DossierSummary(
        code=d.code, service_id=d.service_id, title=d.title, kind=d.kind, status=d.status, version=d.version,
        agency=d.agency, handling_unit_code=d.handling_unit_code, due_on=d.due_on,
        deadline_status=service.deadline_status(d, cal), settlement_class=d.settlement_class, risk=d.risk,
        prefill_share=d.prefill_share,
    )


def full(session: Session, d: Dossier) -> DossierRead:
    """Return a dossier with fields, sub-dossiers and next steps."""
    cal = service.calendar(session)
    parent_code = session.scalar(select(Dossier.code).where(Dossier.id == d.parent_id)) if d.parent_id else None
    result = result_of(session, d)
    fields = [FieldRead(name=k, **{key: v.get(key) for key in (
        "value", "source", "path", "agency", "record_id", "received_at", "verified", "correction")})
        for k, v in (d.fields or {}).items()]
    return DossierRead(
        **summary(d, cal).model_dump(), subject_kind=d.subject_kind, received_on=d.received_on,
        offer_expires_on=d.offer_expires_on, supplement_due_on=d.supplement_due_on,
        paused_working_days=d.paused_working_days, fields=fields, fields_total=d.fields_total,
        fields_prefilled=d.fields_prefilled, auto_approved=d.auto_approved, parent_code=parent_code,
        children=[summary(c, cal) for c in service.children_of(session, d)],
        allowed=allowed_events(d.kind, d.status), result_number=result.number if result else None,
    )


def public(session: Session, d: Dossier) -> PublicStatus:
    """Return what the public may see of a dossier."""
    cal = service.calendar(session)
    return PublicStatus(
        code=d.code, title=d.title, status=d.status, due_on=d.due_on,
        deadline_status=service.deadline_status(d, cal), settlement_class=d.settlement_class,
        children=[{"code": c.code, "title": c.title, "status": c.status, "due_on": c.due_on}
                  for c in service.children_of(session, d)],
    )
