"""The dossier engine: open, confirm, correct, process, settle, close — against legal deadlines.

Every change goes through ``_transition`` (the state machine) and writes one
``dossier_event``; every refusal raises before anything is changed, so a refused
request applies nothing. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import random
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session, contains_eager, object_session

from chudong.dossiers import flows
from chudong.dossiers.codes import new_code, normalise_code
from chudong.dossiers.models import (
    DataAccessLog, Dossier, DossierAttachment, DossierEvent, DossierRating, DossierResult, Officer,
    PostAudit, Unit,
)
from chudong.dossiers.policy import Policy, policy_for, policy_of_dossier
from chudong.dossiers.results import new_result
from chudong.dossiers.statemachine import IN_PROGRESS, TERMINAL, next_status
from chudong.dossiers.units import Router
from chudong.identity.principal import Principal
from chudong.kit import clock
from chudong.kit.bulk import copy_rows, is_postgres, one_of
from chudong.kit.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from chudong.kit.workdays import CalendarOverride, WorkingCalendar
from chudong.workcal.models import CalendarOverrideRow

DUE_SOON_WORKING_DAYS = 1
# A citizen always gets at least this long to answer an offer, even when the legal deadline
# the offer is about (e.g. 60 days to register a birth) has already passed: a late
# registration is still a registration.
MIN_OFFER_DAYS = 30
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
MAX_VALUE_LENGTH = 200
# the automatic refusal when a supplement is not sent in time (the citizen reads it: Vietnamese)
LAPSED_SUPPLEMENT_REASON = ("không bổ sung hồ sơ trong thời hạn {days} ngày làm việc theo yêu cầu "
                            "(Nghị định 63/2024/NĐ-CP); Ông/Bà có thể nộp lại hồ sơ mới")
# what a citizen may answer for a fact that does not exist or is not known yet (e.g. the father's ID)
NOT_ON_RECORD = ("Không có", "Chưa có")
# what an attachment must start with to be what it claims (magic numbers)
ATTACHMENT_TYPES = {
    "application/pdf": ((b"%PDF-",), (".pdf",)),
    "image/jpeg": ((b"\xff\xd8\xff",), (".jpg", ".jpeg")),
    "image/png": ((b"\x89PNG\r\n\x1a\n",), (".png",)),
}
_audit_random = random.SystemRandom()


# ---------------------------------------------------------------- calendar and deadlines

_calendars: dict[frozenset, WorkingCalendar] = {}


def offer_deadline(due: dt.date | None, today: dt.date, kind: str) -> dt.date | None:
    """Return until when an offer stays open: a notice until its due date (e.g. the expiry it
    announces); a dossier until its due date but never less than MIN_OFFER_DAYS."""
    if kind == "notice":
        return due
    floor = today + dt.timedelta(days=MIN_OFFER_DAYS)
    return floor if due is None or due < floor else due


_CALENDAR_KEY = "chudong.dossiers.calendar"


def calendar(session: Session) -> WorkingCalendar:
    """Return the working calendar with the stored overrides (read once per transaction)."""
    tx = session.get_transaction()
    held = session.info.get(_CALENDAR_KEY)
    if held is not None and tx is not None and held[0] is tx:
        return held[1]
    rows = session.execute(select(CalendarOverrideRow.day, CalendarOverrideRow.kind,
                                  CalendarOverrideRow.reason)).all()
    key = frozenset((r.day, r.kind) for r in rows)
    cal = _calendars.get(key)
    if cal is None:
        if len(_calendars) > 16:
            _calendars.clear()
        cal = _calendars[key] = WorkingCalendar(CalendarOverride(r.day, r.kind, r.reason) for r in rows)
    session.info[_CALENDAR_KEY] = (session.get_transaction(), cal)
    return cal


@event.listens_for(CalendarOverrideRow, "after_insert")
@event.listens_for(CalendarOverrideRow, "after_update")
@event.listens_for(CalendarOverrideRow, "after_delete")
def _forget_calendar(_mapper: Any, _connection: Any, target: CalendarOverrideRow) -> None:
    """Drop the transaction's calendar when an override changes in it."""
    session = object_session(target)
    if session is not None:
        session.info.pop(_CALENDAR_KEY, None)


def compute_due(d: Dossier, cal: WorkingCalendar) -> dt.date | None:
    """Return the settlement due date: the legal period plus the working days the clock stopped."""
    if d.received_on is None:
        return None
    if d.settlement_working_days is not None:
        return cal.add_working_days(d.received_on, d.settlement_working_days + d.paused_working_days)
    if d.settlement_calendar_days is not None:
        end = cal.add_calendar_days(d.received_on, d.settlement_calendar_days)
        return cal.add_working_days(end, d.paused_working_days) if d.paused_working_days else end
    return None


def deadline_status(d: Dossier, cal: WorkingCalendar, today: dt.date | None = None,
                    due_soon_days: int = DUE_SOON_WORKING_DAYS) -> str | None:
    """Return on_time / due_soon / overdue / paused for a dossier in progress, else None."""
    if d.status not in IN_PROGRESS or d.due_on is None:
        return None
    if d.status == "supplement_requested":
        return "paused"
    today = today or clock.today()
    if today > d.due_on:
        return "overdue"
    if cal.count_working_days(today, d.due_on) <= due_soon_days:
        return "due_soon"
    return "on_time"


def settlement_class(settled_on: dt.date, due_on: dt.date | None) -> str:
    """Classify a settlement against its due date: early, on_time or late (Decision 766)."""
    if due_on is None or settled_on < due_on:
        return "early"
    return "on_time" if settled_on == due_on else "late"


# ---------------------------------------------------------------- events and transitions

def add_event(session: Session, d: Dossier, kind: str, actor: Principal, data: dict | None = None,
              from_status: str | None = None, to_status: str | None = None) -> DossierEvent:
    """Append one entry to the dossier's timeline."""
    d.event_count = (d.event_count or 0) + 1
    ev = DossierEvent(dossier_id=d.id, seq=d.event_count, kind=kind, from_status=from_status,
                      to_status=to_status, actor=actor.label, at=clock.now(), data=data or {})
    session.add(ev)
    return ev


def _transition(session: Session, d: Dossier, event: str, actor: Principal, data: dict | None = None) -> None:
    target = next_status(d.kind, d.status, event)
    before = d.status
    d.status = target
    add_event(session, d, event, actor, data, from_status=before, to_status=target)


def check_version(d: Dossier, expected: int | None) -> None:
    """Refuse a change made from a stale read of the dossier (optimistic concurrency)."""
    if expected is not None and expected != d.version:
        raise Conflict(f"dossier {d.code} changed since you read it (now version {d.version}, "
                       f"you sent {expected}); reload and try again", field="version")


def _notice(d: Dossier, step: str, policy: Policy | None, extra: dict | None = None) -> flows.Notice | None:
    """Return the citizen's notice of this step as the dossier is now (None when there is nothing to send)."""
    template = (policy.templates.get(step) if policy else None)
    if d.person_id is None or not template:
        return None
    ctx = {"code": d.code, "service": d.title, "status": d.status,
           "due_on": d.due_on.isoformat() if d.due_on else None, **(extra or {})}
    return flows.Notice(code=d.code, step=step, person_id=d.person_id, template_id=template, context=ctx)


def _send(session: Session, notices: list[flows.Notice | None]) -> None:
    # one enqueue call for all notices of a step: the notifications feature loads the citizen's
    # contact and preferences once, not once per notice
    flows.notify_many(session, [n for n in notices if n is not None])


def _notify(session: Session, d: Dossier, step: str, policy: Policy | None, extra: dict | None = None) -> None:
    _send(session, [_notice(d, step, policy, extra)])


def _policy(session: Session, d: Dossier) -> Policy:
    parent_service = None
    if d.parent_id is not None:
        parent_service = session.scalar(select(Dossier.service_id).where(Dossier.id == d.parent_id))
    return policy_of_dossier(d.service_id, parent_service)


# ---------------------------------------------------------------- opening

@dataclass(frozen=True)
class OpenResult:
    """What a bulk open did."""

    opened: int
    skipped: int
    codes: list[str]


def open_dossiers(session: Session, life_event_ids: list[int]) -> OpenResult:
    """Open and offer one pre-filled dossier per life event (set-based; skips events already opened)."""
    events = flows.load_life_events(session, life_event_ids)
    missing = set(life_event_ids) - {e.id for e in events}
    if missing:
        raise NotFound(f"life events not found: {', '.join(map(str, sorted(missing)[:10]))}")
    return open_from_events(session, events, policy_for)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a bulk step.

    Opening thousands of dossiers allocates hundreds of thousands of short-lived containers
    (freed by reference counting; no cycles), which set off full collections that walk the
    whole process heap: a quarter of the CPU of a batch. Left as it was if already disabled.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def open_from_events(session: Session, events: list[flows.DetectedEvent],
                     policies: Callable[[str], Policy], province_code: int | None = None) -> OpenResult:
    """Open dossiers for detected events with bulk inserts: a few queries per batch, not per row."""
    with _collector_paused():
        return _open_from_events(session, events, policies, province_code)


def _open_from_events(session: Session, events: list[flows.DetectedEvent],
                      policies: Callable[[str], Policy], province_code: int | None) -> OpenResult:
    from chudong.config import get_settings

    province = province_code if province_code is not None else get_settings().province_code
    ids = [e.id for e in events]
    already: set[int] = set()
    for i in range(0, len(ids), 5000):
        already |= set(session.scalars(select(Dossier.life_event_id).where(
            one_of(session, Dossier.life_event_id, ids[i:i + 5000]))))
    todo = [e for e in events if e.id not in already]
    if not todo:
        return OpenResult(0, len(events), [])
    pols = {sid: policies(sid) for sid in {e.service_id for e in todo}}
    reader = flows.RegistryReader(session, todo, pols.values())
    router = Router(session, province)
    now, today = clock.now(), clock.today()
    rows: list[dict[str, Any]] = []
    plans: list[tuple[Policy, flows.Prefill]] = []
    for e in todo:
        pol = pols[e.service_id]
        pre = reader.prefill(e, pol)
        unit = router.pick(pol.agency, pol.service_id, pre.ward_code, pol.routing)
        citizen_fields = sum(1 for f in pre.fields.values() if f["source"] == "citizen")
        rows.append({
            "code": new_code(province, e.service_id, today), "service_id": e.service_id, "kind": pol.kind,
            "title": pol.names, "life_event_id": e.id, "parent_id": None, "subject_kind": e.subject_kind,
            "person_id": e.person_id, "household_id": e.household_id, "building_plan_id": e.building_plan_id,
            "vital_event_id": e.vital_event_id, "business_ref": e.facts.get("business_ref"),
            "province_code": province, "ward_code": pre.ward_code, "agency": pol.agency,
            "receiving_unit_code": unit.code if unit else None, "handling_unit_code": unit.code if unit else None,
            "assigned_officer_id": None, "status": "offered", "version": 1, "event_count": 2,
            "fields": pre.fields, "fields_total": pre.total, "fields_prefilled": pre.prefilled,
            "prefill_share": (pre.prefilled / pre.total) if pre.total else 1.0,
            "risk": 2 * (pre.total - pre.prefilled) + 3 * pre.conflicts + citizen_fields,
            "linked_choice": None, "opened_at": now, "offer_expires_on": offer_deadline(e.due_date, today, pol.kind),
            "received_on": None, "settlement_working_days": pol.settlement_working_days,
            "settlement_calendar_days": pol.settlement_calendar_days,
            "supplement_window_working_days": pol.supplement_window_working_days,
            "paused_working_days": 0, "auto_approved": False,
        })
        plans.append((pol, pre))
    ids = _insert_with_ids(session, Dossier.__table__, rows)
    created = [(did, row["code"]) for did, row in zip(ids, rows, strict=True)]
    ev_rows = []
    for (did, _code), row in zip(created, rows):
        ev_rows.append({"dossier_id": did, "seq": 1, "kind": "detected", "from_status": None,
                        "to_status": "detected", "actor": "system:rules", "at": now,
                        "data": {"life_event_id": row["life_event_id"], "prefill_share": row["prefill_share"],
                                 "handling_unit": row["handling_unit_code"]}})
        ev_rows.append({"dossier_id": did, "seq": 2, "kind": "offered", "from_status": "detected",
                        "to_status": "offered", "actor": "system:rules", "at": now, "data": {}})
    bulk_insert(session, DossierEvent.__table__, ev_rows)
    flows.notify_many(session, [
        flows.Notice(code=code, step="offered", person_id=row["person_id"], template_id=pol.templates["offered"],
                     context={"code": code, "service": pol.names, "facts": ev.facts,
                              "due_date": ev.due_date.isoformat() if ev.due_date else None,
                              "offer_expires_on": row["offer_expires_on"].isoformat() if row["offer_expires_on"] else None})
        for (_did, code), row, (pol, _pre), ev in zip(created, rows, plans, todo)
        if pol.templates.get("offered") and row["person_id"] is not None
    ])
    return OpenResult(len(created), len(already), [c for _, c in created])


def bulk_insert(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert rows with Core: COPY on PostgreSQL (no per-row statement), executemany elsewhere.

    Every row must carry the same keys; columns left out get NULL on PostgreSQL, so callers
    give every column that has a Python-side default.
    """
    if not rows:
        return
    if is_postgres(session):
        copy_rows(session, table, rows)
    else:
        session.execute(insert(table), rows)


def _insert_with_ids(session: Session, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows with Core and return their ids in row order.

    PostgreSQL: the ids come from the sequence in one query and the rows go in by COPY; an
    ``INSERT … RETURNING`` of thousands of rows is rendered as one huge statement whose
    client-side parsing costs more than the insert itself. SQLite: ``INSERT … RETURNING``.
    """
    if not rows:
        return []
    if is_postgres(session):
        ids = list(session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
            .select_from(func.generate_series(1, len(rows)))))
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
        bulk_insert(session, table, rows)
        return ids
    return list(session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars())


def open_pending(session: Session, limit: int = 10_000) -> OpenResult:
    """Open dossiers for every life event that has none yet (at most ``limit``)."""
    ids = flows.pending_life_event_ids(session, limit)
    if not ids:
        return OpenResult(0, 0, [])
    return open_dossiers(session, ids)


# ---------------------------------------------------------------- lookups and access

def get_by_code(session: Session, code: str, *, for_update: bool = False, with_unit: bool = False) -> Dossier:
    """Return the dossier with this code, or raise NotFound.

    ``with_unit`` reads its handling unit in the same query, into the session: an officer's
    step that needs it (the result names the unit) then costs no further round trip.
    """
    stmt = select(Dossier).where(Dossier.code == normalise_code(code))
    if with_unit:
        stmt = stmt.outerjoin(Dossier.handling_unit).options(contains_eager(Dossier.handling_unit))
    if for_update and is_postgres(session):
        stmt = stmt.with_for_update(of=Dossier)  # the dossier only; the unit is read, not locked
    d = session.scalar(stmt)
    if d is None:
        raise NotFound(f"no dossier {code!r}")
    return d


def for_citizen(session: Session, who: Principal, code: str, *, for_update: bool = False) -> Dossier:
    """Return the citizen's own dossier; another citizen's dossier is "not found"."""
    d = get_by_code(session, code, for_update=for_update)
    if who.kind != "citizen" or d.person_id != who.id:
        raise NotFound(f"no dossier {code!r}")
    return d


def ensure_handler(d: Dossier, officer: Principal) -> None:
    """Refuse an officer who is not of the dossier's agency and handling unit."""
    if officer.kind != "officer":
        raise Forbidden("only officers may process dossiers")
    if officer.agency != d.agency:
        raise Forbidden(f"dossier {d.code} belongs to agency {d.agency!r}; you are of {officer.agency!r}")
    if officer.unit_code != d.handling_unit_code:
        raise Forbidden(f"dossier {d.code} is handled by unit {d.handling_unit_code}; you are of {officer.unit_code}")


def for_officer(session: Session, officer: Principal, code: str, purpose: str, *,
                for_update: bool = False) -> Dossier:
    """Return a dossier to an officer of its handling unit, logging the read and its purpose."""
    purpose = (purpose or "").strip()
    if not purpose:
        raise Unprocessable("say why you open this dossier (purpose)", field="purpose")
    d = get_by_code(session, code, for_update=for_update, with_unit=True)
    ensure_handler(d, officer)
    session.add(DataAccessLog(officer_id=officer.id, person_id=d.person_id, dossier_id=d.id,
                              purpose=purpose[:200], at=clock.now()))
    return d


def children_of(session: Session, d: Dossier) -> list[Dossier]:
    """Return the linked sub-dossiers of a dossier."""
    return list(session.scalars(select(Dossier).where(Dossier.parent_id == d.id).order_by(Dossier.id)))


def timeline(session: Session, d: Dossier) -> list[DossierEvent]:
    """Return the dossier's events in order."""
    return list(session.scalars(select(DossierEvent).where(DossierEvent.dossier_id == d.id)
                                .order_by(DossierEvent.seq)))


def citizen_dossiers(session: Session, who: Principal) -> list[Dossier]:
    """Return the citizen's top-level dossiers, newest first."""
    return list(session.scalars(select(Dossier).where(Dossier.person_id == who.id, Dossier.parent_id.is_(None))
                                .order_by(Dossier.id.desc()).limit(200)))


def access_log_for_person(session: Session, person_id: int) -> list[tuple[DataAccessLog, Officer, str]]:
    """Return who read this person's data, when, why, and in which dossier (newest first)."""
    rows = session.execute(
        select(DataAccessLog, Officer, Dossier.code)
        .join(Officer, Officer.id == DataAccessLog.officer_id)
        .join(Dossier, Dossier.id == DataAccessLog.dossier_id)
        .where(DataAccessLog.person_id == person_id).order_by(DataAccessLog.id.desc()).limit(500)
    ).all()
    return [(r[0], r[1], r[2]) for r in rows]


def queue(session: Session, officer: Principal, *, status: str | None = None, limit: int = 50,
          offset: int = 0) -> list[Dossier]:
    """Return the unit's open dossiers ordered by deadline, then risk."""
    statuses = [status] if status else sorted(IN_PROGRESS)
    if status and status not in IN_PROGRESS:
        raise Unprocessable(f"the queue holds {', '.join(sorted(IN_PROGRESS))}", field="status")
    return list(session.scalars(
        select(Dossier).where(Dossier.handling_unit_code == officer.unit_code, Dossier.status.in_(statuses))
        .order_by(Dossier.due_on.is_(None), Dossier.due_on, Dossier.risk.desc(), Dossier.id)
        .limit(min(max(limit, 1), 500)).offset(max(offset, 0))
    ))


def is_verified(d: Dossier) -> bool:
    """Return True when every field comes verified from a registry and none is disputed."""
    return bool(d.fields) and all(
        f.get("source") == "registry" and f.get("verified") and not f.get("correction")
        for f in d.fields.values()
    )


# ---------------------------------------------------------------- citizen steps

def _clean_value(name: str, value: Any) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise Unprocessable(f"{name} must not be empty", field=name)
    if len(text) > MAX_VALUE_LENGTH:
        raise Unprocessable(f"{name} is longer than {MAX_VALUE_LENGTH} characters", field=name)
    if name.endswith("_pid") and text not in NOT_ON_RECORD:
        from chudong.kit.pid import InvalidPid, validate_pid

        try:
            text = validate_pid(text, None, None)
        except InvalidPid as exc:
            raise Unprocessable(f"{name}: {exc}", field=name) from None
    return text


def confirm(session: Session, d: Dossier, who: Principal, *, supplied: dict[str, Any],
            linked: list[str] | None, version: int | None) -> Dossier:
    """Confirm an offered dossier with what only the citizen knows; fan out linked procedures."""
    check_version(d, version)
    next_status(d.kind, d.status, "confirmed")  # refuse early, before validating content
    pol = _policy(session, d)
    unknown = sorted(set(supplied) - set(d.fields))
    if unknown:
        raise Unprocessable(f"not fields of this dossier: {', '.join(unknown)}", field=unknown[0])
    from_registry = sorted(k for k in supplied if d.fields[k]["source"] == "registry")
    if from_registry:
        raise Unprocessable(f"{', '.join(from_registry)} come from the registry; send a correction instead",
                            field=from_registry[0])
    asked = [k for k, f in d.fields.items() if f["source"] == "citizen"]
    lacking = [k for k in asked if k not in supplied]
    if lacking:
        raise Unprocessable(f"please provide: {', '.join(lacking)}", field=lacking[0])
    values = {k: _clean_value(k, v) for k, v in supplied.items()}
    offered_links = [s.service_id for s in pol.linked]
    chosen = offered_links if linked is None else list(dict.fromkeys(linked))
    bad = sorted(set(chosen) - set(offered_links))
    if bad:
        raise Unprocessable(f"not linked procedures of this service: {', '.join(bad)}", field="linked")
    # everything checked: apply
    fields = {k: dict(v) for k, v in d.fields.items()}
    now = clock.now()
    for k, v in values.items():
        fields[k].update(value=v, source="citizen", supplied_at=now.isoformat(), verified=False)
    d.fields = fields
    d.linked_choice = chosen
    cal, today = calendar(session), clock.today()
    d.received_on = today
    d.due_on = compute_due(d, cal)
    _transition(session, d, "confirmed", who, {"supplied": sorted(values), "linked": chosen})
    session.flush()
    router = Router(session, d.province_code) if chosen else None
    for spec in pol.linked:
        if spec.service_id in chosen and router is not None:
            _open_child(session, d, spec.service_id, spec.names, spec.agency, spec.settlement_working_days,
                        pol, router, who, cal)
    if pol.post_check_allowed and is_verified(d):
        _auto_approve(session, d, pol, cal)
    return d


def _open_child(session: Session, parent: Dossier, service_id: str, names: dict, agency: str,
                working_days: int, pol: Policy, router: Router, who: Principal, cal: WorkingCalendar) -> Dossier:
    unit = router.pick(agency, service_id, parent.ward_code,
                       "any_competent_unit" if pol.routing == "any_competent_unit" else "residence_ward")
    child = Dossier(
        code=new_code(parent.province_code, service_id, clock.today()), service_id=service_id, kind="dossier",
        title=names, parent_id=parent.id, subject_kind=parent.subject_kind, person_id=parent.person_id,
        household_id=parent.household_id, building_plan_id=parent.building_plan_id,
        vital_event_id=parent.vital_event_id, business_ref=parent.business_ref,
        province_code=parent.province_code, ward_code=parent.ward_code, agency=agency,
        receiving_unit_code=parent.receiving_unit_code, handling_unit_code=unit.code if unit else None,
        status="confirmed", version=1, event_count=0, fields=parent.fields, fields_total=parent.fields_total,
        fields_prefilled=parent.fields_prefilled, prefill_share=parent.prefill_share, risk=parent.risk,
        opened_at=clock.now(), received_on=clock.today(), settlement_working_days=working_days,
        supplement_window_working_days=pol.supplement_window_working_days, paused_working_days=0,
        auto_approved=False,
    )
    child.due_on = compute_due(child, cal)
    session.add(child)
    session.flush()
    add_event(session, child, "opened", who, {"parent": parent.code, "linked": True}, None, "confirmed")
    add_event(session, parent, "linked_opened", who, {"child": child.code, "service_id": service_id,
                                                      "agency": agency, "unit": child.handling_unit_code})
    return child


def correct_field(session: Session, d: Dossier, who: Principal, *, field_name: str, value: Any,
                  note: str = "", version: int | None) -> int:
    """Record a citizen's correction as a data-quality issue for the source agency; return its id."""
    check_version(d, version)
    if d.status not in ("offered", "supplement_requested"):
        raise Conflict(f"fields can be corrected while the dossier is offered or awaiting a supplement, "
                       f"not when {d.status.replace('_', ' ')}")
    f = d.fields.get(field_name)
    if f is None:
        raise Unprocessable(f"{field_name!r} is not a field of this dossier", field="field")
    if f["source"] == "citizen":
        raise Unprocessable(f"{field_name} is yours to fill in: give it when you confirm", field="field")
    text = _clean_value("value", value)
    issue_id = flows.record_correction(
        session, person_id=d.person_id, field_name=field_name, path=f.get("path"), old_value=f.get("value"),
        new_value=text, record_id=f.get("record_id"), agency_code=f.get("agency"), dossier_code=d.code)
    fields = {k: dict(v) for k, v in d.fields.items()}
    fields[field_name].update(verified=False, correction={"value": text, "issue_id": issue_id,
                                                         "note": note[:500], "at": clock.now().isoformat()})
    d.fields = fields
    d.risk = (d.risk or 0) + 3
    add_event(session, d, "field_corrected", who, {"field": field_name, "quality_issue_id": issue_id})
    session.flush()
    return issue_id


def decline(session: Session, d: Dossier, who: Principal, *, reason: str = "", version: int | None) -> Dossier:
    """Decline an offered dossier."""
    check_version(d, version)
    _transition(session, d, "declined", who, {"reason": reason[:500]})
    session.flush()
    return d


def act_on_notice(session: Session, d: Dossier, who: Principal, *, version: int | None) -> Dossier:
    """Mark a notice-only service as acted on by the citizen."""
    check_version(d, version)
    _transition(session, d, "acted_on", who)
    d.closed_at = clock.now()
    session.flush()
    return d


def supply(session: Session, d: Dossier, who: Principal, *, values: dict[str, Any], note: str = "",
           version: int | None) -> Dossier:
    """Answer a supplement request; the settlement clock restarts where it stopped."""
    check_version(d, version)
    next_status(d.kind, d.status, "supplement_supplied")
    bad = sorted(k for k in values if k not in d.fields or d.fields[k]["source"] == "registry")
    if bad:
        raise Unprocessable(f"cannot supply {', '.join(bad)}: not a field you fill in", field=bad[0])
    clean = {k: _clean_value(k, v) for k, v in values.items()}
    has_docs = session.scalar(select(func.count()).select_from(DossierAttachment).where(
        DossierAttachment.dossier_id == d.id)) or 0
    if not clean and not note.strip() and not has_docs:
        raise Unprocessable("send the requested documents or information", field="values")
    fields = {k: dict(v) for k, v in d.fields.items()}
    for k, v in clean.items():
        fields[k].update(value=v, source="citizen", supplied_at=clock.now().isoformat(), verified=False)
    d.fields = fields
    cal, today = calendar(session), clock.today()
    paused = cal.count_working_days(d.paused_since, today) if d.paused_since else 0
    d.paused_working_days += max(paused, 0)
    d.paused_since = None
    d.supplement_due_on = None
    d.due_on = compute_due(d, cal)
    _transition(session, d, "supplement_supplied", who, {"values": sorted(clean), "note": note[:500],
                                                         "paused_working_days": paused})
    session.flush()
    return d


def add_attachment(session: Session, d: Dossier, who: Principal, *, kind: str, filename: str,
                   media_type: str, content: bytes) -> DossierAttachment:
    """Attach a document after checking it is what it claims and not too large."""
    if d.status in TERMINAL or d.status in ("approved", "rejected", "result_issued"):
        raise Conflict(f"documents cannot be added to a dossier that is {d.status.replace('_', ' ')}")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge(f"the file is {len(content)} bytes; the limit is {MAX_ATTACHMENT_BYTES}", field="file")
    if not content:
        raise Unprocessable("the file is empty", field="file")
    spec = ATTACHMENT_TYPES.get((media_type or "").split(";")[0].strip().lower())
    if spec is None:
        raise Unprocessable(f"{media_type!r} is not accepted; send PDF, JPEG or PNG", field="file")
    magics, extensions = spec
    if not any(content.startswith(m) for m in magics):
        raise Unprocessable(f"the file's content is not {media_type} as it claims", field="file")
    name = (filename or "").strip()[:200]
    if not name.lower().endswith(extensions):
        raise Unprocessable(f"the file name {name!r} does not match {media_type}", field="file")
    if not kind.strip():
        raise Unprocessable("say what the document is (kind)", field="kind")
    att = DossierAttachment(dossier_id=d.id, kind=kind.strip()[:40], filename=name, media_type=media_type,
                            size=len(content), sha256=hashlib.sha256(content).hexdigest(), content=content,
                            uploaded_by=who.label, uploaded_at=clock.now())
    session.add(att)
    session.flush()
    add_event(session, d, "attachment_added", who, {"attachment_id": att.id, "kind": att.kind,
                                                   "sha256": att.sha256, "size": att.size})
    return att


# ---------------------------------------------------------------- officer steps

def claim(session: Session, d: Dossier, officer: Principal, *, version: int | None) -> Dossier:
    """Take a confirmed dossier into processing."""
    check_version(d, version)
    ensure_handler(d, officer)
    _transition(session, d, "claimed", officer)
    d.assigned_officer_id = officer.id
    session.flush()
    return d


def _settle(d: Dossier, today: dt.date) -> None:
    d.settled_on = today
    d.settlement_class = settlement_class(today, d.due_on)


def approve(session: Session, d: Dossier, officer: Principal, *, version: int | None,
            note: str = "") -> Dossier:
    """Approve a dossier: settle it, issue its result, close it when its sub-dossiers are closed."""
    check_version(d, version)
    ensure_handler(d, officer)
    next_status(d.kind, d.status, "approved")
    pol = _policy(session, d)
    d.assigned_officer_id = d.assigned_officer_id or officer.id
    _settle(d, clock.today())
    _transition(session, d, "approved", officer, {"note": note[:500], "settlement_class": d.settlement_class})
    _finish_approval(session, d, pol, officer)
    return d


def _finish_approval(session: Session, d: Dossier, pol: Policy, actor: Principal) -> None:
    # No flush between the steps: the dossier row is updated once, its events and result go in
    # one flush (by close_if_done or the notices' first query), saving round trips per approval.
    approved = _notice(d, "approved", pol)
    result = new_result(session, d, actor.label)
    _transition(session, d, "result_issued", actor, {"result_number": result.number, "result_kind": result.kind})
    issued = _notice(d, "result_issued", pol, {"result_number": result.number})
    close_if_done(session, d)
    _send(session, [approved, issued])
    session.flush()


def _auto_approve(session: Session, d: Dossier, pol: Policy, cal: WorkingCalendar) -> None:
    bot = Principal.system("post-check")
    _settle(d, clock.today())
    _transition(session, d, "approved", bot, {"post_check": True, "settlement_class": d.settlement_class})
    d.auto_approved = True
    if pol.audit_share > 0 and _audit_random.random() < pol.audit_share:
        session.add(PostAudit(dossier_id=d.id, unit_code=d.handling_unit_code, selected_at=clock.now(),
                              status="pending"))
        add_event(session, d, "post_audit_selected", bot, {"audit_share": pol.audit_share})
    _finish_approval(session, d, pol, bot)


def request_supplement(session: Session, d: Dossier, officer: Principal, *, reason: str,
                       documents: list[str], version: int | None) -> Dossier:
    """Ask the citizen for more; the settlement clock stops for the legal window."""
    check_version(d, version)
    ensure_handler(d, officer)
    reason = (reason or "").strip()
    if not reason:
        raise Unprocessable("give the reason for the supplement request", field="reason")
    # read before changing the dossier: the query would otherwise flush a half-done step
    cal, today = calendar(session), clock.today()
    if d.status == "confirmed":
        _transition(session, d, "claimed", officer)
        d.assigned_officer_id = officer.id
    next_status(d.kind, d.status, "supplement_requested")
    d.paused_since = today
    window = d.supplement_window_working_days
    d.supplement_due_on = cal.add_working_days(today, window) if window else None
    _transition(session, d, "supplement_requested", officer, {
        "reason": reason[:1000], "documents": [str(x)[:100] for x in documents][:20],
        "supplement_due_on": d.supplement_due_on.isoformat() if d.supplement_due_on else None,
        "window_working_days": window})
    session.flush()
    _notify(session, d, "supplement_requested", _policy(session, d),
            {"reason": reason[:1000], "window_working_days": window,
             "supplement_due_on": d.supplement_due_on.isoformat() if d.supplement_due_on else None})
    return d


def reject(session: Session, d: Dossier, actor: Principal, *, legal_reason: str, version: int | None) -> Dossier:
    """Reject a dossier with its legal reason; it closes once its sub-dossiers are closed."""
    check_version(d, version)
    if actor.kind == "officer":
        ensure_handler(d, actor)
    legal_reason = (legal_reason or "").strip()
    if not legal_reason:
        raise Unprocessable("a rejection must state its legal reason", field="legal_reason")
    next_status(d.kind, d.status, "rejected")
    _settle(d, clock.today())
    _transition(session, d, "rejected", actor, {"legal_reason": legal_reason[:1000],
                                                "settlement_class": d.settlement_class})
    session.flush()
    _notify(session, d, "rejected", _policy(session, d), {"legal_reason": legal_reason[:1000]})
    close_if_done(session, d)
    return d


def bulk_approve(session: Session, officer: Principal, codes: list[str]) -> list[Dossier]:
    """Approve many verified dossiers at once: all of them, or none if any is not eligible."""
    wanted = list(dict.fromkeys(normalise_code(c) for c in codes))
    if not wanted:
        raise Unprocessable("give at least one dossier code", field="codes")
    if len(wanted) > 500:
        raise Unprocessable("at most 500 dossiers per bulk approval", field="codes")
    found = {d.code: d for d in session.scalars(select(Dossier).where(Dossier.code.in_(wanted)))}
    problems = []
    for code in wanted:
        d = found.get(code)
        if d is None:
            problems.append(f"{code}: not found")
        elif d.handling_unit_code != officer.unit_code or d.agency != officer.agency:
            problems.append(f"{code}: handled by another unit")
        elif d.status not in ("confirmed", "in_processing"):
            problems.append(f"{code}: is {d.status.replace('_', ' ')}")
        elif not is_verified(d):
            problems.append(f"{code}: not every field is verified from a registry")
    if problems:
        raise Unprocessable("nothing approved — " + "; ".join(problems[:20]), field="codes")
    return [approve(session, found[c], officer, version=None, note="bulk approval") for c in wanted]


def close_if_done(session: Session, d: Dossier) -> bool:
    """Close a settled dossier whose sub-dossiers are all closed; then try its parent."""
    if d.status not in ("result_issued", "rejected"):
        return False
    open_children = 0
    if d.linked_choice:  # sub-dossiers exist only for linked procedures chosen at confirmation
        open_children = session.scalar(select(func.count()).select_from(Dossier).where(
            Dossier.parent_id == d.id, Dossier.status.not_in(sorted(TERMINAL)))) or 0
    if open_children:
        return False
    _transition(session, d, "closed", Principal.system("lifecycle"))
    d.closed_at = clock.now()
    session.flush()
    if d.parent_id is not None:
        parent = session.get(Dossier, d.parent_id)
        if parent is not None:
            close_if_done(session, parent)
    return True


# ---------------------------------------------------------------- post-check audits

def post_audit_queue(session: Session, officer: Principal) -> list[tuple[PostAudit, Dossier]]:
    """Return the unit's pending post-audits, oldest first."""
    rows = session.execute(select(PostAudit, Dossier).join(Dossier, Dossier.id == PostAudit.dossier_id)
                           .where(PostAudit.unit_code == officer.unit_code, PostAudit.status == "pending")
                           .order_by(PostAudit.id).limit(200)).all()
    return [(r[0], r[1]) for r in rows]


def record_post_audit(session: Session, d: Dossier, officer: Principal, *, outcome: str, finding: str) -> PostAudit:
    """Record a post-audit's finding; a failed audit revokes the result."""
    ensure_handler(d, officer)
    if outcome not in ("passed", "failed"):
        raise Unprocessable("outcome must be passed or failed", field="outcome")
    audit = session.scalar(select(PostAudit).where(PostAudit.dossier_id == d.id))
    if audit is None:
        raise NotFound(f"dossier {d.code} was not selected for a post-audit")
    if audit.status != "pending":
        raise Conflict(f"the post-audit of {d.code} is already recorded ({audit.status})")
    if outcome == "failed" and not finding.strip():
        raise Unprocessable("a failed audit must say what was wrong", field="finding")
    audit.status, audit.finding, audit.auditor_id, audit.audited_at = outcome, finding[:2000], officer.id, clock.now()
    if outcome == "failed":
        session.execute(update(DossierResult).where(DossierResult.dossier_id == d.id)
                        .values(revoked=True, revoked_reason=f"post-audit failed: {finding[:500]}"))
    add_event(session, d, "post_audit_recorded", officer, {"outcome": outcome, "finding": finding[:500]})
    session.flush()
    return audit


# ---------------------------------------------------------------- satisfaction

def rate(session: Session, d: Dossier, who: Principal, *, score: int, comment: str = "",
         complaint: bool = False) -> DossierRating:
    """Store the citizen's rating of a settled dossier (once)."""
    if d.settled_on is None:
        raise Conflict("a dossier can be rated once it is settled")
    if not 1 <= score <= 5:
        raise Unprocessable("score must be between 1 and 5", field="score")
    if complaint and not comment.strip():
        raise Unprocessable("a complaint must say what went wrong", field="comment")
    if session.get(DossierRating, d.id) is not None:
        raise Conflict(f"dossier {d.code} is already rated")
    rating = DossierRating(dossier_id=d.id, score=score, comment=comment.strip()[:2000] or None,
                           complaint=complaint, rated_at=clock.now())
    session.add(rating)
    add_event(session, d, "rated", who, {"score": score, "complaint": complaint})
    session.flush()
    return rating


# ---------------------------------------------------------------- deadlines job

@dataclass(frozen=True)
class DeadlineRun:
    """What one pass of the deadline job did."""

    expired: int
    lapsed_supplements: int
    escalated: int


def run_deadlines(session: Session, due_soon_days: int = DUE_SOON_WORKING_DAYS, batch: int = 1000) -> DeadlineRun:
    """Expire unanswered offers, reject lapsed supplements, escalate due-soon dossiers to unit heads."""
    cal, today, bot = calendar(session), clock.today(), Principal.system("deadlines")
    expired = 0
    for d in session.scalars(select(Dossier).where(Dossier.status.in_(["detected", "offered"]),
                                                   Dossier.offer_expires_on < today).limit(batch)):
        _transition(session, d, "expired", bot, {"offer_expires_on": d.offer_expires_on.isoformat()})
        d.closed_at = clock.now()
        expired += 1
    lapsed = 0
    for d in session.scalars(select(Dossier).where(Dossier.status == "supplement_requested",
                                                   Dossier.supplement_due_on < today).limit(batch)):
        reject(session, d, bot, version=None, legal_reason=LAPSED_SUPPLEMENT_REASON.format(
            days=d.supplement_window_working_days))
        lapsed += 1
    threshold = cal.add_working_days(today, due_soon_days)
    escalated = 0
    rows = session.scalars(select(Dossier).where(Dossier.status.in_(["confirmed", "in_processing"]),
                                                 Dossier.due_on <= threshold, Dossier.escalated_at.is_(None))
                           .limit(batch)).all()
    heads: dict[str, list[str]] = {}
    for d in rows:
        if d.handling_unit_code not in heads:
            heads[d.handling_unit_code or ""] = list(session.scalars(
                select(Officer.username).where(Officer.unit_code == d.handling_unit_code,
                                               Officer.role == "unit_head", Officer.active.is_(True))))
        status = deadline_status(d, cal, today, due_soon_days)
        d.escalated_at = clock.now()
        add_event(session, d, "escalated", bot, {"deadline_status": status, "due_on": d.due_on.isoformat(),
                                                 "unit_heads": heads[d.handling_unit_code or ""]})
        escalated += 1
    session.flush()
    return DeadlineRun(expired, lapsed, escalated)
