"""Where dossiers meet other features: life events, the person index, notices, data quality.

Everything here reads or writes another feature's tables or calls its service; the
dossier engine (``service.py``) calls these functions and nothing else from outside.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.dossiers.policy import Policy
from chudong.kit import clock
from chudong.kit.bulk import one_of
from chudong.kit.errors import ChudongError
from chudong.registry.models import (
    BuildingPlan, Household, Licence, Person, QualityIssue, School, SourceRecord, VitalEvent,
)

log = logging.getLogger("chudong.dossiers")

# which licence kind a renewal service is about, when the life event does not name the licence
SERVICE_LICENCE_KIND = {
    "id-card-reissue": "id_card",
    "driving-licence-renewal": "driving_licence",
    "passport-expiry": "passport",
    "medical-licence-renewal": "medical_licence",
    "tour-guide-card-renewal": "tour_guide_card",
    "veterinary-cert-renewal": "veterinary_cert",
    "transport-licence-renewal": "transport_licence",
}


@dataclass(frozen=True)
class DetectedEvent:
    """The part of a life event a dossier is opened from."""

    id: int
    service_id: str
    subject_kind: str
    person_id: int | None
    household_id: int | None
    building_plan_id: int | None
    vital_event_id: int | None
    due_date: dt.date | None
    facts: dict = field(default_factory=dict)


def load_life_events(session: Session, ids: Iterable[int]) -> list[DetectedEvent]:
    """Return the life events with these ids (rules feature's table), in id order."""
    from chudong.rules.models import LifeEvent

    wanted = sorted(set(ids))
    rows: list[Any] = []
    for i in range(0, len(wanted), 5000):  # bounded IN lists
        rows += session.execute(select(
            LifeEvent.id, LifeEvent.service_id, LifeEvent.subject_kind, LifeEvent.person_id, LifeEvent.household_id,
            LifeEvent.building_plan_id, LifeEvent.vital_event_id, LifeEvent.due_date, LifeEvent.reason,
        ).where(one_of(session, LifeEvent.id, wanted[i:i + 5000]))).all()
    return [_detected(r) for r in sorted(rows, key=lambda r: r.id)]


def pending_life_event_ids(session: Session, limit: int) -> list[int]:
    """Return ids of life events that have no dossier yet (oldest first)."""
    from chudong.dossiers.models import Dossier
    from chudong.rules.models import LifeEvent

    opened = select(Dossier.life_event_id).where(Dossier.life_event_id.is_not(None))
    return list(session.scalars(
        select(LifeEvent.id).where(LifeEvent.id.not_in(opened)).order_by(LifeEvent.id).limit(limit)
    ))


def _detected(r: Any) -> DetectedEvent:
    reason = r.reason or {}
    facts = dict(reason.get("facts") or {})
    if reason.get("source_records"):
        facts.setdefault("source_records", reason["source_records"])
    return DetectedEvent(
        id=r.id, service_id=r.service_id, subject_kind=r.subject_kind or "person",
        person_id=r.person_id, household_id=r.household_id, building_plan_id=r.building_plan_id,
        vital_event_id=r.vital_event_id, due_date=r.due_date, facts=facts,
    )


@dataclass
class Prefill:
    """Pre-filled fields of one dossier and where the subject lives."""

    fields: dict[str, dict]
    ward_code: int | None
    total: int
    prefilled: int
    conflicts: int


class RegistryReader:
    """Load, in a few set-based queries, everything a batch of dossiers is pre-filled from."""

    def __init__(self, session: Session, events: list[DetectedEvent], policies: Iterable[Policy] | None = None) -> None:
        self.session = session
        self._plans: dict[int, tuple[Policy, list[tuple[str, str | None, str, tuple[str, ...]]]]] = {}
        self._provenances: dict[int | None, tuple[int | None, str | None, str | None]] = {}
        self._read = _columns_read(policies) if policies is not None else None
        vitals = self._by_id(VitalEvent, {e.vital_event_id for e in events})
        plans = self._by_id(BuildingPlan, {e.building_plan_id for e in events})
        person_ids = {e.person_id for e in events} | {v.mother_person_id for v in vitals.values()}
        person_ids |= {p.person_id for p in plans.values()}
        persons = self._by_id(Person, person_ids)
        hh_ids = {e.household_id for e in events} | {p.household_id for p in persons.values()}
        self.vitals, self.plans, self.persons = vitals, plans, persons
        self.households = self._by_id(Household, hh_ids)
        self.licences = self._licences(events, persons)
        school_codes = sorted({str(e.facts["school_code"]) for e in events if e.facts.get("school_code")})
        self.schools = {s.code: s for s in session.scalars(select(School).where(School.code.in_(school_codes)))} \
            if school_codes else {}
        rec_ids = {o.source_record_id for group in (vitals, plans, persons, self.households, self.schools)
                   for o in group.values()}
        rec_ids |= {lic.source_record_id for lic in self.licences.values() if lic is not None}
        self.records = {
            r.id: r for r in self._chunks(
                select(SourceRecord.id, SourceRecord.agency_code, SourceRecord.received_at), SourceRecord.id,
                rec_ids)
        }
        self.conflicts: set[tuple[int, str]] = {
            (q.person_id, q.field) for q in self._chunks(
                select(QualityIssue.person_id, QualityIssue.field).where(QualityIssue.status == "open"),
                QualityIssue.person_id, {p for p in person_ids if p})
        }

    def _chunks(self, stmt, column, ids: set) -> list:
        wanted = sorted(i for i in ids if i is not None)
        out: list = []
        for i in range(0, len(wanted), 5000):
            out += self.session.execute(stmt.where(one_of(self.session, column, wanted[i:i + 5000]))).all()
        return out

    def _by_id(self, model, ids: set) -> dict:
        wanted = sorted(i for i in ids if i is not None)
        out: dict = {}
        table = model.__table__
        # only the columns the policies read (and the links between rows): sealed columns
        # (ID numbers, phones, incomes) are decrypted only when a dossier shows them
        names = None if self._read is None else (_LINKS | self._read.get(model, set()))
        columns = list(table.c) if names is None else [c for c in table.c if c.name in names]
        for i in range(0, len(wanted), 5000):
            # Core rows, not ORM objects: read-only here, and hydrating thousands of entities
            # into the identity map costs more than the query. Held as plain namespaces: a
            # missing attribute (``getattr(row, "source_record_id", None)`` on a table without
            # one) costs an exception that a SQLAlchemy Row makes many times dearer.
            stmt = select(*columns).where(one_of(self.session, table.c.id, wanted[i:i + 5000]))
            for row in self.session.execute(stmt):
                out[row.id] = SimpleNamespace(**row._mapping)
        return out

    def _licences(self, events: list[DetectedEvent], persons: dict) -> dict[int, Licence | None]:
        named = {int(e.facts["licence_id"]) for e in events if e.facts.get("licence_id")}
        by_id = self._by_id(Licence, named)
        wanted = {(e.person_id, SERVICE_LICENCE_KIND[e.service_id]) for e in events
                  if not e.facts.get("licence_id") and e.service_id in SERVICE_LICENCE_KIND and e.person_id}
        latest: dict[tuple[int, str], Licence] = {}
        if wanted:
            rows = self.session.scalars(select(Licence).where(
                one_of(self.session, Licence.person_id, sorted({p for p, _ in wanted})),
                Licence.revoked.is_(False))
            ).all()
            for lic in sorted(rows, key=lambda x: x.issued_on):
                latest[(lic.person_id, lic.kind)] = lic  # type: ignore[index]
        out: dict[int, Licence | None] = {}
        for e in events:
            if e.facts.get("licence_id"):
                out[e.id] = by_id.get(int(e.facts["licence_id"]))
            elif e.person_id and e.service_id in SERVICE_LICENCE_KIND:
                out[e.id] = latest.get((e.person_id, SERVICE_LICENCE_KIND[e.service_id]))
        return out

    def subjects(self, e: DetectedEvent) -> dict[str, Any]:
        """Return the registry rows a data item path may start with."""
        vital = self.vitals.get(e.vital_event_id) if e.vital_event_id else None
        plan = self.plans.get(e.building_plan_id) if e.building_plan_id else None
        person = self.persons.get(e.person_id) if e.person_id else None
        if person is None and plan is not None and plan.person_id:
            person = self.persons.get(plan.person_id)
        mother = self.persons.get(vital.mother_person_id) if vital and vital.mother_person_id else None
        hh_id = e.household_id or (person.household_id if person else None)
        return {
            "person": person, "mother": mother, "vital_event": vital, "building_plan": plan,
            "household": self.households.get(hh_id) if hh_id else None,
            "licence": self.licences.get(e.id),
            "school": self.schools.get(str(e.facts.get("school_code"))),
        }

    def _plan(self, policy: Policy) -> list[tuple[str, str | None, str, tuple[str, ...]]]:
        """Return (field, subject, path, attribute path) per data item, split once per policy."""
        found = self._plans.get(id(policy))
        if found is None or found[0] is not policy:
            steps = []
            for item in policy.data_items:
                if item.source == "citizen":
                    steps.append((item.field, None, "", ()))
                else:
                    head, _, rest = item.source.partition(".")
                    steps.append((item.field, head, item.source, tuple(rest.split(".")) if rest else ()))
            found = self._plans[id(policy)] = (policy, steps)
        return found[1]

    def _provenance(self, record_id: int | None) -> tuple[int | None, str | None, str | None]:
        prov = self._provenances.get(record_id)
        if prov is None:
            rec = self.records.get(record_id)
            prov = (rec.id, rec.agency_code, rec.received_at.isoformat()) if rec else (None, None, None)
            self._provenances[record_id] = prov
        return prov

    def prefill(self, e: DetectedEvent, policy: Policy) -> Prefill:
        """Return the dossier fields of one event with their provenance."""
        subjects = self.subjects(e)
        fields: dict[str, dict] = {}
        total = prefilled = conflicts = 0
        for name, head, path, parts in self._plan(policy):
            if head is None:
                fields[name] = {"value": None, "source": "citizen", "path": None, "verified": False}
                continue
            total += 1
            row = subjects.get(head)
            value = _dig_parts(row, parts) if row is not None and parts else None
            if value is None:
                fields[name] = {"value": None, "source": "missing", "path": path, "verified": False}
                continue
            prefilled += 1
            record_id, agency, received_at = self._provenance(getattr(row, "source_record_id", None))
            person_id = row.id if head in ("person", "mother") else getattr(row, "person_id", None)
            conflict = person_id is not None and (person_id, parts[-1]) in self.conflicts
            conflicts += conflict
            fields[name] = {
                "value": _jsonable(value), "source": "registry", "path": path,
                "record_id": record_id, "agency": agency, "received_at": received_at,
                "verified": record_id is not None and not conflict, "conflict": conflict,
            }
        ward = None
        for key in ("building_plan", "household", "person", "mother"):
            row = subjects.get(key)
            if row is not None and getattr(row, "ward_code", None):
                ward = row.ward_code
                break
        return Prefill(fields, ward, total, prefilled, conflicts)


# what a data item path starts with → the table its rows come from (schools are ORM objects)
_HEAD_MODELS = {"person": Person, "mother": Person, "vital_event": VitalEvent, "building_plan": BuildingPlan,
                "household": Household, "licence": Licence}
# columns that link rows or carry provenance and ward, read whatever the policies show
_LINKS = {"id", "source_record_id", "ward_code", "person_id", "household_id", "mother_person_id"}


def _columns_read(policies: Iterable[Policy]) -> dict[Any, set[str]]:
    """Return, per registry model, the columns the policies' data items read."""
    read: dict[Any, set[str]] = {}
    for policy in policies:
        for item in policy.data_items:
            head, _, rest = item.source.partition(".")
            if head in _HEAD_MODELS and rest:
                read.setdefault(_HEAD_MODELS[head], set()).add(rest.split(".")[0])
    return read


def _dig_parts(row: Any, parts: tuple[str, ...]) -> Any:
    value: Any = row
    for part in parts:
        if value is None:
            return None
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def record_correction(session: Session, *, person_id: int | None, field_name: str, path: str | None,
                      old_value: Any, new_value: Any, record_id: int | None, agency_code: str | None,
                      dossier_code: str) -> int:
    """Send a citizen's correction to the source agency as a data-quality issue; return its id."""
    issue = QualityIssue(
        kind="correction", person_id=person_id, field=(path or field_name).split(".")[-1][:40],
        value_a=None if old_value is None else str(old_value), source_a=record_id,
        value_b=str(new_value), source_b=None, agency_code=agency_code, status="open",
        detail=f"citizen correction in dossier {dossier_code} (field {field_name})",
        created_at=clock.now(),
    )
    session.add(issue)
    session.flush()
    return issue.id


EnqueueFn = Callable[..., Any]


@dataclass(frozen=True)
class Notice:
    """One notice to queue for a dossier step."""

    code: str
    step: str
    person_id: int
    template_id: str
    context: dict


SERVICE_NOTICE = "service-notice"  # a step with a date to act by
SERVICE_UPDATE = "service-update"  # a step that asks nothing by a date (approved, rejected, result issued)


def message_template(context: dict) -> str:
    """Return the message template for a rendered ``service_notice`` context: with or without a deadline."""
    return SERVICE_NOTICE if context.get("deadline") else SERVICE_UPDATE


def _vn_date(value: Any) -> Any:
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        try:
            return dt.date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return value


def service_notice(template_id: str, context: dict, catalogue: Any = None, base_url: str | None = None) -> dict:
    """Render a catalogue notice template in Vietnamese and English for the ``service-notice`` message.

    The catalogue owns each service's words; the notifications feature owns channels,
    languages and delivery. Names the context lacks stay visible as ``{name}`` rather
    than failing the dossier step. A batch passes the catalogue and base URL once.
    """
    from chudong.config import get_settings
    from chudong.rules.catalogue import get_catalogue

    cat = catalogue or get_catalogue()
    base_url = get_settings().base_url if base_url is None else base_url
    names = context.get("service") or {}
    facts = {k: _vn_date(v) for k, v in (context.get("facts") or {}).items()}
    code = context.get("code", "")
    due = context.get("due_date") or context.get("offer_expires_on") or context.get("due_on") \
        or context.get("supplement_due_on")
    values = {**facts, "dossier_code": code, "due_date": _vn_date(due) if due else facts.get("due_date", ""),
              "detail": context.get("legal_reason") or context.get("reason") or "",
              "days": context.get("window_working_days", ""),
              "url": dossier_link(base_url, code)}
    name = values.get("full_name") or facts.get("holder_name") or context.get("person_name")
    from chudong.rules.engine import DOCUMENTS

    document = DOCUMENTS.get(str(facts.get("licence_kind", "")))
    out = {}
    for i, lang in enumerate(("vi", "en")):
        out[f"subject_{lang}"] = names.get(lang) or names.get("vi") or ""
        extra = {"service_name": out[f"subject_{lang}"],
                 "full_name": name or ("Ông/Bà" if lang == "vi" else "Sir or Madam")}
        if document:
            extra["document"] = document[i]
        out[f"body_{lang}"] = cat.render(template_id, lang, {**values, **extra})
        out[f"action_{lang}"], deadline_name = cat.action(template_id, lang, {**values, **extra})
    deadline = values.get(deadline_name) if deadline_name else ""
    if deadline_name and not deadline:
        log.warning("notice %s for dossier %s: no value for its deadline %r; sent without one",
                    template_id, code, deadline_name)
    if deadline:
        out["deadline"] = deadline
    out.update(dossier_code=code, link=values["url"])
    return out


def dossier_link(base_url: str, code: str) -> str:
    """Return the short link a notice carries: it signs the citizen in to this dossier (portal ``/d/{code}``)."""
    return f"{base_url}/d/{code}"


def notify_many(session: Session, notices: list[Notice]) -> int:
    """Queue many notices with a few queries (bulk opening); return how many were handed over."""
    if not notices:
        return 0
    try:
        from chudong.notifications.service import EnqueueRequest, enqueue_many
    except ImportError:
        log.warning("notifications feature missing: %d notices not queued", len(notices))
        return 0
    from chudong.config import get_settings
    from chudong.rules.catalogue import get_catalogue

    cat, base_url = get_catalogue(), get_settings().base_url
    try:
        contexts = [service_notice(n.template_id, n.context, cat, base_url) for n in notices]
        enqueue_many(session, [EnqueueRequest(event_key=f"dossier:{n.code}", step=n.step, person_id=n.person_id,
                                              template_id=message_template(ctx), context=ctx)
                               for n, ctx in zip(notices, contexts, strict=True)])
    except ChudongError as exc:
        # a missing message template must not stop dossiers opening; the failure is logged loudly
        log.error("notices for %d dossiers not queued: %s", len(notices), exc.message)
        return 0
    return len(notices)


def _notifications_enqueue() -> EnqueueFn | None:
    try:
        from chudong.notifications.service import enqueue
    except ImportError:
        return None
    return enqueue


def notify(session: Session, *, code: str, step: str, person_id: int | None, template_id: str | None,
           context: dict, urgent: bool = False, enqueue: EnqueueFn | None = None) -> bool:
    """Queue the citizen's notice for a dossier step; return False when there is nothing to send."""
    if person_id is None or not template_id:
        return False
    fn = enqueue or _notifications_enqueue()
    if fn is None:
        log.warning("notifications feature missing: notice %s for dossier %s not queued", step, code)
        return False
    try:
        ctx = service_notice(template_id, context)
        fn(session, event_key=f"dossier:{code}", step=step, person_id=person_id, template_id=message_template(ctx),
           context=ctx, urgent=urgent, mandatory=True)
    except ChudongError as exc:
        # the dossier step stands; the notice failure is logged loudly for the operator
        log.error("notice %s for dossier %s not queued: %s", step, code, exc.message)
        return False
    return True
