"""Read side of dossiers: API schemas (deadline status as of today) and the portal pages' queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Row, bindparam, exists, null, or_, select
from sqlalchemy.orm import Session

from chudong.dossiers import service
from chudong.dossiers.models import Dossier, DossierEvent, DossierRating, DossierResult
from chudong.dossiers.results import result_of
from chudong.dossiers.schemas import DossierRead, DossierSummary, FieldRead, PublicStatus
from chudong.dossiers.statemachine import IN_PROGRESS, allowed_events
from chudong.identity.principal import Principal
from chudong.kit import clock
from chudong.kit.errors import Unprocessable
from chudong.kit.workdays import WorkingCalendar
from chudong.rules.models import LifeEvent


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


# ---------------------------------------------------------------- portal pages: only what they show, in few queries

QUEUE_DEADLINES = ("on_time", "due_soon", "overdue", "paused")
# the in-progress statuses written out, so PostgreSQL can prove the partial queue index applies
_OPEN = bindparam("open_statuses", sorted(IN_PROGRESS), expanding=True, literal_execute=True)


@dataclass(frozen=True)
class DeadlineBands:
    """``service.deadline_status`` as date bands for one day: one comparison per dossier, and SQL filters."""

    today: dt.date
    soon_until: dt.date  # the first due date no longer "due soon" (due_soon_days + 1 working days ahead)

    @classmethod
    def on(cls, cal: WorkingCalendar, today: dt.date,
           due_soon_days: int = service.DUE_SOON_WORKING_DAYS) -> DeadlineBands:
        """Return the bands as of ``today``."""
        # count_working_days(today, due) grows with due, so "≤ due_soon_days" is a prefix of the days
        return cls(today, cal.add_working_days(today, due_soon_days + 1))

    def status(self, status: str, due_on: dt.date | None) -> str | None:
        """Return on_time / due_soon / overdue / paused, as ``service.deadline_status`` does."""
        if status not in IN_PROGRESS or due_on is None:
            return None
        if status == "supplement_requested":
            return "paused"
        if due_on < self.today:
            return "overdue"
        return "due_soon" if due_on < self.soon_until else "on_time"

    def where(self, deadline: str) -> list[ColumnElement[bool]]:
        """Return the SQL conditions selecting open dossiers in one band."""
        due, running = Dossier.due_on, Dossier.status != "supplement_requested"
        return {
            "paused": [Dossier.status == "supplement_requested", due.is_not(None)],
            "overdue": [running, due < self.today],
            "due_soon": [running, due >= self.today, due < self.soon_until],
            "on_time": [running, due >= self.soon_until],
        }[deadline]


@dataclass(frozen=True)
class QueueRow:
    """One line of the officer's queue."""

    code: str
    title: dict
    service_id: str
    status: str
    due_on: dt.date | None
    deadline: str | None
    verified: bool


def queue_page(session: Session, officer: Principal, *, status: str | None = None, service_id: str | None = None,
               deadline: str | None = None, page_no: int = 1, per_page: int = 50) -> tuple[list[QueueRow], bool]:
    """Return one page of the unit's open dossiers, most urgent first, filtered in SQL; and whether more follow."""
    if status and status not in IN_PROGRESS:
        raise Unprocessable(f"the queue holds {', '.join(sorted(IN_PROGRESS))}", field="status")
    if deadline and deadline not in QUEUE_DEADLINES:
        return [], False  # no dossier is in an unknown band
    bands = DeadlineBands.on(service.calendar(session), clock.today())
    q = (select(Dossier.code, Dossier.title, Dossier.service_id, Dossier.status, Dossier.due_on, Dossier.fields)
         .where(Dossier.handling_unit_code == officer.unit_code, Dossier.status.in_(_OPEN)))
    if status:
        q = q.where(Dossier.status == status)
    if service_id:
        q = q.where(Dossier.service_id == service_id)
    if deadline:
        q = q.where(*bands.where(deadline))
    q = (q.order_by(Dossier.due_on.asc().nulls_last(), Dossier.risk.desc(), Dossier.id)
         .limit(per_page + 1).offset((max(page_no, 1) - 1) * per_page))
    rows = session.execute(q).all()
    return [QueueRow(r.code, r.title, r.service_id, r.status, r.due_on, bands.status(r.status, r.due_on),
                     service.is_verified(r)) for r in rows[:per_page]], len(rows) > per_page


@dataclass(frozen=True)
class Tracking:
    """What the citizen's tracking page shows besides the dossier itself."""

    children: list[Row]  # linked sub-dossiers: code, title, service_id, status, due_on
    events: list[Row]  # the dossier's and its sub-dossiers' timeline, in time order: kind, at
    has_result: bool
    rating: int | None
    reason: dict | None  # the life event's "why you received this"


def tracking(session: Session, d: Dossier) -> Tracking:
    """Return the sub-dossiers, one merged timeline, the result, the rating and the reason in two queries."""
    family = session.execute(
        select(Dossier.id, Dossier.code, Dossier.title, Dossier.service_id, Dossier.status, Dossier.due_on,
               DossierEvent.kind, DossierEvent.at)
        .outerjoin(DossierEvent, DossierEvent.dossier_id == Dossier.id)
        .where(or_(Dossier.id == d.id, Dossier.parent_id == d.id))
        .order_by(DossierEvent.at, Dossier.id, DossierEvent.seq)
    ).all()
    children = {r.id: r for r in family if r.id != d.id}
    reason = select(LifeEvent.reason).where(LifeEvent.id == d.life_event_id).scalar_subquery() \
        if d.life_event_id is not None else null()
    extra = session.execute(select(
        exists().where(DossierResult.dossier_id == d.id),
        select(DossierRating.score).where(DossierRating.dossier_id == d.id).scalar_subquery(),
        reason,
    )).one()
    return Tracking(children=sorted(children.values(), key=lambda r: r.id),
                    events=[r for r in family if r.kind is not None],
                    has_result=bool(extra[0]), rating=extra[1], reason=extra[2])
