"""Life-event detection (scheduled and streaming) and non-take-up — the rules feature's entry points.

- ``detect(session, as_of=D)``: the daily run; evaluates every service's rule for day D.
- ``detect_range(session, start, end)``: catch-up of missed days (each day as its own as-of).
- ``on_vital_event`` / ``on_household_review`` / ``on_building_plan``: streaming, called by
  ingestion when a record is itself an event.
- ``non_take_up``: eligible subjects (life events) without a dossier, per service and ward.

Writing is idempotent: every life event has a key "<service>:<subject_kind>:<subject_id>:
<occurrence>" (unique in the table); existing keys are skipped and the insert itself is
``ON CONFLICT DO NOTHING`` on both SQLite and PostgreSQL. Every rule is evaluated before
anything is written, so a failing rule (e.g. a parameter without a period for the date)
raises and nothing of the run is applied. Services flush, never commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from sqlalchemy import column, exists, func, inspect, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from chudong.geo.models import Ward
from chudong.kit import clock
from chudong.kit.errors import NotFound, Unprocessable
from chudong.registry.models import BuildingPlan, Household, Person, QualityIssue, VitalEvent
from chudong.rules.catalogue import Catalogue, ParameterMissing, ServiceDef, get_catalogue
from chudong.rules.engine import (
    SCHEDULED,
    Candidate,
    MissingData,
    RuleContext,
    evaluate_household,
    evaluate_plan,
    evaluate_vital,
)
from chudong.rules.models import LifeEvent

CHUNK = 1000
MAX_RANGE_DAYS = 3660


@dataclass
class DetectionResult:
    """What a detection run did: the events it created, how many already existed, new quality issues."""

    created: list[LifeEvent] = field(default_factory=list)
    existing: int = 0
    keys: list[str] = field(default_factory=list)  # every occurrence found due (new or already offered)
    quality_issues: int = 0
    # services skipped because a legal parameter they need has no period covering the day
    skipped: list[str] = field(default_factory=list)

    def merge(self, other: DetectionResult) -> None:
        """Add another day's result to this one."""
        self.created.extend(other.created)
        self.existing += other.existing
        self.keys.extend(k for k in other.keys if k not in set(self.keys))
        self.quality_issues += other.quality_issues
        self.skipped.extend(w for w in other.skipped if w not in self.skipped)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _services(catalogue: Catalogue, service_id: str | None) -> list[ServiceDef]:
    if service_id is not None:
        return [catalogue.service(service_id)]
    return [catalogue.services[k] for k in sorted(catalogue.services)]


# rules whose subjects are due on a date: a run as of D sees everyone due within the service's
# horizon (its longest lead time), not only those whose lead day is D
HORIZON_TRIGGERS = ("licence_expiry", "age_milestone", "school_cohort")
# the feed whose records are the subjects of a horizon rule (streaming after ingestion)
FEED_TRIGGERS = {"licences": ("licence_expiry", "document_void"), "persons": ("age_milestone",)}


def horizon(svc: ServiceDef) -> ServiceDef:
    """Return the service as a state-based run evaluates it: every day from as-of to its longest lead."""
    if svc.trigger["type"] not in HORIZON_TRIGGERS or not svc.notice_lead_days:
        return svc
    return svc.model_copy(update={"notice_lead_days": list(range(max(svc.notice_lead_days) + 1))})


def _stage(svc: ServiceDef, cand: Candidate) -> Candidate:
    """Record the lead time whose notice day has passed most recently (and how many days are left)."""
    days = cand.facts.get("lead_days")
    if isinstance(days, int) and svc.notice_lead_days:
        cand.facts["days_before"] = days
        cand.facts["lead_days"] = min(lead for lead in svc.notice_lead_days if lead >= days)
    return cand


def detect(
    session: Session, *, as_of: dt.date, service_id: str | None = None, run_id: int | None = None,
    trigger_types: tuple[str, ...] | None = None,
) -> DetectionResult:
    """Offer, as of ``as_of``, everyone due within each service's horizon who has no life event yet.

    The run is state-based and catch-up safe: a subject found late (data ingested after its
    notice day, or a day the run did not happen) is offered by the next run; the deterministic
    key keeps every occurrence exactly-once. ``run_id`` restricts the subjects to the records
    of one ingestion run (streaming), ``trigger_types`` the rules to those trigger types.
    """
    catalogue = get_catalogue()
    ctx = RuleContext(session, catalogue, run_id=run_id)
    candidates: list[Candidate] = []
    missing: list[MissingData] = []
    skipped: list[str] = []
    # Evaluate everything before writing anything: a rule never half-applies. A service whose
    # legal parameters do not cover the day is skipped (with a warning); the others run.
    for svc in _services(catalogue, service_id):
        if trigger_types is not None and svc.trigger["type"] not in trigger_types:
            continue
        try:
            outcome = SCHEDULED[svc.trigger["type"]](ctx, horizon(svc), as_of)
        except ParameterMissing as exc:
            skipped.append(f"{svc.id} skipped on {as_of.isoformat()}: {exc.message}")
            continue
        candidates.extend(_stage(svc, c) for c in outcome.candidates)
        missing.extend(outcome.missing)
    result = write(session, candidates, missing, detected_on=as_of)
    result.skipped = skipped
    return result


def detect_range(session: Session, start: dt.date, end: dt.date, *, service_id: str | None = None) -> DetectionResult:
    """Run ``detect`` for every day from ``start`` to ``end`` inclusive (catch-up of missed days)."""
    if end < start:
        raise Unprocessable(f"--to {end} is before --from {start}", field="to")
    if (end - start).days > MAX_RANGE_DAYS:
        raise Unprocessable(f"a catch-up range is limited to {MAX_RANGE_DAYS} days", field="from")
    total = DetectionResult()
    day = start
    while day <= end:
        total.merge(detect(session, as_of=day, service_id=service_id))
        day += dt.timedelta(days=1)
    return total


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(LifeEvent.__table__).on_conflict_do_nothing(index_elements=["key"])


def write(
    session: Session, candidates: Sequence[Candidate], missing: Sequence[MissingData], *, detected_on: dt.date,
) -> DetectionResult:
    """Write candidates whose key is new and quality issues not already open; return what changed."""
    by_key: dict[str, Candidate] = {}
    for cand in candidates:
        by_key.setdefault(cand.key, cand)
    keys = list(by_key)
    known: set[str] = set()
    for chunk in _chunks(keys):
        known.update(session.scalars(select(LifeEvent.key).where(LifeEvent.key.in_(chunk))))
    new = [by_key[k] for k in keys if k not in known]
    created: list[LifeEvent] = []
    if new:
        now = clock.now()
        rows = [{
            "key": c.key, "service_id": c.service_id, "subject_kind": c.subject_kind, "person_id": c.person_id,
            "household_id": c.household_id, "building_plan_id": c.building_plan_id,
            "vital_event_id": c.vital_event_id, "occurrence": c.occurrence, "due_date": c.due_date,
            "detected_on": detected_on, "reason": c.reason(), "created_at": now,
        } for c in new]
        # executemany (pipelined by psycopg); a concurrent run's rows are skipped, not duplicated
        session.execute(_insert(session), rows)
        for chunk in _chunks([c.key for c in new]):
            created.extend(session.scalars(select(LifeEvent).where(LifeEvent.key.in_(chunk))))
        created.sort(key=lambda e: e.id)
    issues = _write_issues(session, missing)
    session.flush()
    return DetectionResult(created=created, existing=len(keys) - len(created), quality_issues=issues, keys=keys)


def _write_issues(session: Session, missing: Sequence[MissingData]) -> int:
    wanted: dict[tuple[str, str, str], MissingData] = {}
    for m in missing:
        wanted.setdefault((m.kind, m.field, m.ref), m)
    if not wanted:
        return 0
    open_: set[tuple[str, str, str]] = set()
    refs = sorted({ref for _k, _f, ref in wanted})
    kinds = sorted({k for k, _f, _r in wanted})
    for chunk in _chunks(refs):
        open_.update(session.execute(select(QualityIssue.kind, QualityIssue.field, QualityIssue.value_a).where(
            QualityIssue.kind.in_(kinds), QualityIssue.status != "resolved", QualityIssue.value_a.in_(chunk),
        )))
    now = clock.now()
    added = 0
    for (kind, fld, ref), m in wanted.items():
        if (kind, fld, ref) in open_:
            continue
        session.add(QualityIssue(
            kind=kind, person_id=m.person_id, field=fld, value_a=ref, source_a=m.source_record_id,
            status="open", detail=f"[{m.service_id}] {m.detail}", created_at=now,
        ))
        added += 1
    return added


# ---------------------------------------------------------------- streaming


def _stream(session: Session, found: Candidate | MissingData | None) -> LifeEvent | None:
    if found is None:
        return None
    if isinstance(found, MissingData):
        write(session, [], [found], detected_on=clock.today())
        return None
    write(session, [found], [], detected_on=clock.today())
    return session.scalars(select(LifeEvent).where(LifeEvent.key == found.key)).one()


def _by_trigger(catalogue: Catalogue, trigger_type: str) -> list[ServiceDef]:
    return [s for _k, s in sorted(catalogue.services.items()) if s.trigger["type"] == trigger_type]


def on_vital_event(session: Session, vital_event_id: int) -> LifeEvent | None:
    """Open birth or death registration for a just-ingested vital event (None: no event, or data missing)."""
    ve = session.get(VitalEvent, vital_event_id)
    if ve is None:
        raise NotFound(f"no vital event {vital_event_id}")
    catalogue = get_catalogue()
    ctx = RuleContext(session, catalogue)
    for svc in _by_trigger(catalogue, "vital_event"):
        if svc.trigger.get("event_kind") == ve.kind:
            return _stream(session, evaluate_vital(ctx, svc, ve))
    return None


def on_household_review(session: Session, household_id: int) -> LifeEvent | None:
    """Classify a just-ingested household review (None: above the line, or data missing)."""
    hh = session.get(Household, household_id)
    if hh is None:
        raise NotFound(f"no household {household_id}")
    catalogue = get_catalogue()
    ctx = RuleContext(session, catalogue)
    result: LifeEvent | None = None
    for svc in _by_trigger(catalogue, "household_review"):
        result = _stream(session, evaluate_household(ctx, svc, hh)) or result
    return result


def on_building_plan(session: Session, plan_id: int) -> LifeEvent | None:
    """Open the house-building bundle for a just-declared building plan (None: data missing)."""
    plan = session.get(BuildingPlan, plan_id)
    if plan is None:
        raise NotFound(f"no building plan {plan_id}")
    catalogue = get_catalogue()
    ctx = RuleContext(session, catalogue)
    result: LifeEvent | None = None
    for svc in _by_trigger(catalogue, "building_plan"):
        result = _stream(session, evaluate_plan(ctx, svc, plan)) or result
    return result


# ---------------------------------------------------------------- reading


def events_detected(session: Session, start: dt.date, end: dt.date | None = None) -> list[LifeEvent]:
    """Return the life events detected from ``start`` to ``end`` (inclusive), in a stable order."""
    return list(session.scalars(select(LifeEvent).where(
        LifeEvent.detected_on >= start, LifeEvent.detected_on <= (end or start),
    ).order_by(LifeEvent.detected_on, LifeEvent.service_id, LifeEvent.key)))


def events_by_key(session: Session, keys: Sequence[str]) -> list[LifeEvent]:
    """Return the life events of ``keys`` in the documented order (detected_on, service, key)."""
    found: list[LifeEvent] = []
    for chunk in _chunks(list(dict.fromkeys(keys))):
        found.extend(session.scalars(select(LifeEvent).where(LifeEvent.key.in_(chunk))))
    return sorted(found, key=lambda e: (e.detected_on, e.service_id, e.key))


def event_json(event: LifeEvent) -> dict[str, Any]:
    """Return the documented JSON form of a life event (``chudong detect --json``)."""
    subject = {"person": event.person_id, "household": event.household_id,
               "building_plan": event.building_plan_id}.get(event.subject_kind)
    return {
        "service": event.service_id, "subject_kind": event.subject_kind, "subject_id": subject,
        "person_id": event.person_id, "due_date": event.due_date.isoformat(), "occurrence": event.occurrence,
        "detected_on": event.detected_on.isoformat(), "key": event.key, "reason": event.reason,
    }


@dataclass
class NonTakeUpRow:
    """Eligible subjects of one service in one ward that have no dossier."""

    service_id: str
    ward_code: int | None
    ward_name: str | None
    count: int
    overdue: int
    subjects: list[dict[str, Any]]


def _has_table(session: Session, name: str) -> bool:
    return inspect(session.connection()).has_table(name)


def non_take_up(session: Session, *, as_of: dt.date, service_id: str | None = None) -> list[NonTakeUpRow]:
    """List, per service and ward, the subjects found eligible up to ``as_of`` with no dossier opened."""
    if service_id is not None:
        get_catalogue().service(service_id)
    ward = func.coalesce(Household.ward_code, BuildingPlan.ward_code, Person.ward_code)
    query = (
        select(LifeEvent.id, LifeEvent.service_id, LifeEvent.subject_kind, LifeEvent.person_id,
               LifeEvent.household_id, LifeEvent.building_plan_id, LifeEvent.due_date, LifeEvent.occurrence,
               ward.label("ward_code"), Ward.name)
        .outerjoin(Person, Person.id == LifeEvent.person_id)
        .outerjoin(Household, Household.id == LifeEvent.household_id)
        .outerjoin(BuildingPlan, BuildingPlan.id == LifeEvent.building_plan_id)
        .outerjoin(Ward, Ward.code == ward)
        .where(LifeEvent.detected_on <= as_of)
        .order_by(LifeEvent.service_id, ward, LifeEvent.id)
    )
    if service_id is not None:
        query = query.where(LifeEvent.service_id == service_id)
    if _has_table(session, "dossier"):
        dossier = table("dossier", column("life_event_id"))
        query = query.where(~exists().where(dossier.c.life_event_id == LifeEvent.id))
    groups: dict[tuple[str, int | None], NonTakeUpRow] = {}
    for r in session.execute(query):
        row = groups.get((r.service_id, r.ward_code))
        if row is None:
            row = groups[(r.service_id, r.ward_code)] = NonTakeUpRow(r.service_id, r.ward_code, r.name, 0, 0, [])
        subject = {"person": r.person_id, "household": r.household_id, "building_plan": r.building_plan_id}
        row.count += 1
        row.overdue += int(r.due_date < as_of)
        row.subjects.append({
            "life_event_id": r.id, "subject_kind": r.subject_kind, "subject_id": subject.get(r.subject_kind),
            "person_id": r.person_id, "occurrence": r.occurrence, "due_date": r.due_date.isoformat(),
        })
    return list(groups.values())
