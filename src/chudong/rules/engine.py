"""Rule evaluation: each trigger type selects, in set-based SQL, only the subjects due on a day.

A date-window rule turns "as of day D, with lead times L" into exact target dates
(D + L) and asks the database for the rows whose dates hit those targets through
indexed columns (``licence.expires_on``, ``licence.issued_on``, ``person.birth_date``,
``household.survey_date``, ``vital_event.event_date``): the cost grows with the number
of events due, not with the population. Python only looks at the rows returned to
compute the legal facts exactly and to write the reason.

Evaluators return ``Candidate`` events and ``MissingData`` (subjects due whose data is
incomplete, which go to the data-quality list). Nothing is written here; ``service``
writes candidates idempotently by key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import and_, exists, or_, select, true
from sqlalchemy.orm import Session, aliased

from chudong.kit.workdays import WorkingCalendar
from chudong.registry.models import BuildingPlan, Household, Licence, Person, School, SourceRecord, VitalEvent
from chudong.rules.catalogue import (
    Catalogue,
    ParameterMissing,
    ParameterValue,
    ServiceDef,
    classes_on,
    parse_term,
    parse_trigger,
)
from chudong.rules.dates import add_years, age_on, dates_reaching, vi_date

# Vital events, review results and building plans are normally handled when ingested
# (streaming); the daily run also looks back this many days to catch any it missed.
STREAMING_LOOKBACK_DAYS = 7

DOCUMENTS: dict[str, tuple[str, str]] = {
    "id_card": ("thẻ căn cước", "ID card"),
    "people_id_card": ("chứng minh nhân dân", "people's ID card (CMND)"),
    "passport": ("hộ chiếu", "passport"),
    "driving_licence": ("giấy phép lái xe", "driving licence"),
    "medical_licence": ("giấy phép hành nghề khám bệnh, chữa bệnh", "medical practice licence"),
    "tour_guide_card": ("thẻ hướng dẫn viên du lịch", "tour guide card"),
    "veterinary_cert": ("chứng chỉ hành nghề thú y", "veterinary practice certificate"),
    "transport_licence": ("giấy phép kinh doanh vận tải", "transport business licence"),
}


@dataclass
class Candidate:
    """A life event a rule found, before it is written (idempotently, by key)."""

    service_id: str
    subject_kind: str
    subject_id: int
    occurrence: str
    due_date: dt.date
    rule: str
    text_vi: str
    text_en: str
    parameters: list[ParameterValue] = field(default_factory=list)
    source_records: list[int | None] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    person_id: int | None = None
    household_id: int | None = None
    building_plan_id: int | None = None
    vital_event_id: int | None = None

    @property
    def key(self) -> str:
        """Return the deterministic key "<service>:<subject_kind>:<subject_id>:<occurrence>"."""
        return f"{self.service_id}:{self.subject_kind}:{self.subject_id}:{self.occurrence}"

    def reason(self) -> dict[str, Any]:
        """Return the reason recorded with the life event and shown to officers and citizens."""
        return {
            "rule": self.rule, "text_vi": self.text_vi, "text_en": self.text_en,
            "parameters": [p.as_reason() for p in self.parameters],
            "source_records": sorted({s for s in self.source_records if s is not None}),
            "facts": self.facts,
        }


@dataclass
class MissingData:
    """A subject a rule needs to decide on whose data is incomplete (→ quality issue, no event)."""

    service_id: str
    field: str  # the registry field that is missing, e.g. "licence.person_id"
    ref: str  # the record concerned, e.g. "licence:42" — with field, identifies the issue
    detail: str
    person_id: int | None = None
    source_record_id: int | None = None
    kind: str = "missing"  # quality-issue kind: missing, or conflict (e.g. a printed term contradicting the class)


@dataclass
class Outcome:
    """What one rule found for one day."""

    candidates: list[Candidate] = field(default_factory=list)
    missing: list[MissingData] = field(default_factory=list)


class RuleContext:
    """What evaluators share during one run: the session, the catalogue, the working calendar."""

    def __init__(self, session: Session, catalogue: Catalogue, run_id: int | None = None) -> None:
        self.session = session
        self.catalogue = catalogue
        self.run_id = run_id  # streaming: only the subjects written by this ingestion run
        self._people: dict[int, Person] = {}

    def in_run(self, column: Any) -> Any:
        """Return a condition keeping the rows whose source record belongs to the run (true without a run)."""
        if self.run_id is None:
            return true()
        return column.in_(select(SourceRecord.id).where(SourceRecord.run_id == self.run_id))

    def person(self, person_id: int) -> Person | None:
        """Return a person, from the batch preloaded by ``preload_people`` when possible."""
        found = self._people.get(person_id)
        return found if found is not None else self.session.get(Person, person_id)

    def preload_people(self, ids: set[int]) -> None:
        """Load the people of a batch in one query per thousand (kept referenced for ``person``)."""
        ordered = sorted(i for i in ids if i not in self._people)
        for i in range(0, len(ordered), 1000):
            for p in self.session.scalars(select(Person).where(Person.id.in_(ordered[i:i + 1000]))):
                self._people[p.id] = p

    @cached_property
    def calendar(self) -> WorkingCalendar:
        """Return the working calendar with the database's overrides (loaded once per run)."""
        from chudong.workcal.service import load_calendar

        return load_calendar(self.session)

    def param(self, name: str, on: dt.date) -> ParameterValue:
        """Return the parameter in force on ``on``."""
        return self.catalogue.parameter(name, on)


def _legal(svc: ServiceDef) -> str:
    return "; ".join(f"{b.document}, art. {b.article}" for b in svc.legal_basis)


# ---------------------------------------------------------------- expiries


@dataclass
class _Derived:
    """A licence's term derived by the law in force on its issue date."""

    expiry: dt.date | None = None  # None with no_term=False: could not be derived (see problem)
    no_term: bool = False
    params: list[ParameterValue] = field(default_factory=list)
    problem: tuple[str, str] | None = None  # (registry field, why) when it cannot be derived


def _derive_term(ctx: RuleContext, trig: Any, lic: Licence, person: Person | None, doc_en: str) -> _Derived:
    """Return the term of ``lic`` by its class and the law in force on its issue date."""
    if trig.terms_by_class:
        if not lic.licence_class:
            return _Derived(problem=("licence.licence_class", f"{doc_en} no. {lic.number} has neither a class nor an "
                                     "expiry date: its validity cannot be decided"))
        table = classes_on(ctx.catalogue, trig.terms_by_class, lic.issued_on)
        if not table.covers(lic.issued_on):
            return _Derived(problem=("licence.expires_on", f"{doc_en} no. {lic.number} issued on {lic.issued_on} has "
                                     f"no expiry date and no class table ({trig.terms_by_class}) was in force on that day"))
        if lic.licence_class not in table.value:
            return _Derived(problem=("licence.licence_class", f"{doc_en} no. {lic.number}: class {lic.licence_class} "
                                     f"does not exist in the table in force on its issue date {lic.issued_on} "
                                     f"({', '.join(table.value)}; {table.reference})"))
        term = parse_term(table.value[lic.licence_class])
        if term is None:
            return _Derived(no_term=True, params=[table])
        if term.until_age is not None:
            if person is None or person.sex not in term.until_age:
                return _Derived(problem=("person.sex" if person else "licence.person_id",
                                         f"{doc_en} no. {lic.number} (class {lic.licence_class}) runs until an age "
                                         "that depends on the holder's sex and birth date, which are not on record"))
            limit = add_years(person.birth_date, term.until_age[person.sex])  # type: ignore[index]
            over = (term.over_age_at_issue or {}).get(person.sex)  # type: ignore[call-overload]
            if over is not None and term.years and age_on(person.birth_date, lic.issued_on) > over:
                limit = add_years(lic.issued_on, term.years)
            return _Derived(expiry=limit, params=[table])
        return _Derived(expiry=add_years(lic.issued_on, int(term.years or 0)), params=[table])
    params: list[ParameterValue] = []
    name = trig.validity_years_by_class.get(lic.licence_class or "", trig.validity_years)
    if trig.child_age_below and trig.child_validity_years:
        if person is None:
            return _Derived(problem=("licence.person_id", f"{doc_en} no. {lic.number} has no expiry date and no linked "
                                     "holder: the holder's age at issue decides its validity"))
        below = ctx.param(trig.child_age_below, lic.issued_on)
        if age_on(person.birth_date, lic.issued_on) < int(below.value):
            name = trig.child_validity_years
            params.append(below)
    periods = [p for p in ctx.catalogue.parameters[name] if p.covers(lic.issued_on)]
    if not periods:
        return _Derived(problem=("licence.expires_on", f"{doc_en} no. {lic.number} issued on {lic.issued_on} has no "
                                 f"expiry date and no validity rule ({name}) was in force on that day"))
    return _Derived(expiry=add_years(lic.issued_on, int(periods[0].value)), params=[*params, periods[0]])


# a printed expiry this many days away from the term its class gives is reported as contradicting it
TERM_TOLERANCE_DAYS = 31


def _expiry_windows(ctx: RuleContext, trig: Any, targets: list[dt.date]) -> tuple[list[dt.date], list[dt.date], set[str]]:
    """Return the issue dates and birth dates whose derived term ends on a target, and the age-term classes."""
    spans: list[tuple[int, ParameterValue]] = []
    names = {trig.validity_years, *trig.validity_years_by_class.values(), trig.child_validity_years} - {None}
    for name in names:
        spans.extend((int(p.value), p) for p in ctx.catalogue.parameters[name])
    ages: set[int] = set()
    age_classes: set[str] = set()
    for p in ctx.catalogue.parameters.get(trig.terms_by_class or "", ()):
        for cls, value in p.value.items():
            term = parse_term(value)
            if term is not None and term.years:
                spans.append((term.years, p))
            if term is not None and term.until_age:
                ages.update(term.until_age.values())
                age_classes.add(cls)
    issue_dates = {d for target in targets for years, p in spans
                   for d in dates_reaching(target, years) if p.covers(d)}
    births = {d for target in targets for age in ages for d in dates_reaching(target, age)}
    return sorted(issue_dates), sorted(births), age_classes


def evaluate_expiry(ctx: RuleContext, svc: ServiceDef, as_of: dt.date) -> Outcome:
    """Find licences of the service's kind that expire exactly one lead time after ``as_of``.

    The expiry is the printed one, or (not supplied) the term of the licence's class by the law
    in force on its ISSUE date; a licence the agency says has no expiry never fires.
    """
    trig = parse_trigger(svc.trigger)
    out = Outcome()
    targets = {as_of + dt.timedelta(days=lead): lead for lead in svc.notice_lead_days}
    issue_dates, births, age_classes = _expiry_windows(ctx, trig, sorted(targets))
    renewal = ctx.catalogue.parameters.get(trig.renewal_class or "", ())
    lic, newer = Licence, aliased(Licence)
    same_line = [lic.licence_class.is_(None), newer.licence_class == lic.licence_class]
    for p in renewal:  # a licence renewed into its new class (Law 36/2024 art. 89) is renewed too
        same_line += [and_(lic.licence_class == old, newer.licence_class == m["to"]) for old, m in p.value.items()]
    renewed = exists().where(
        newer.person_id == lic.person_id, newer.kind == lic.kind, newer.id != lic.id,
        newer.revoked.is_(False), newer.issued_on > lic.issued_on, or_(*same_line),
    )
    base = (select(lic, Person).outerjoin(Person, Person.id == lic.person_id)
            .where(lic.kind == trig.licence_kind, lic.revoked.is_(False), ~renewed, ctx.in_run(lic.source_record_id)))
    derive = and_(lic.expires_on.is_(None), lic.no_expiry.is_(False))
    found: dict[int, tuple[Licence, Person | None]] = {}
    selections = [lic.expires_on.in_(chunk) for chunk in _chunked(sorted(targets))]
    selections += [and_(derive, lic.issued_on.in_(chunk)) for chunk in _chunked(issue_dates)]
    if age_classes:
        selections += [and_(derive, lic.licence_class.in_(sorted(age_classes)), Person.birth_date.in_(chunk))
                       for chunk in _chunked(births)]
    for where in selections:
        for row_lic, person in ctx.session.execute(base.where(where)):
            found[row_lic.id] = (row_lic, person)
    doc_vi, doc_en = DOCUMENTS.get(trig.licence_kind, (trig.licence_kind, trig.licence_kind))
    for row_lic, person in (found[k] for k in sorted(found)):
        ref = f"licence:{row_lic.id}"
        computed = row_lic.expires_on is None
        # the printed term is checked against the class table; otherwise only a missing one is derived
        derived = _derive_term(ctx, trig, row_lic, person, doc_en) if computed or trig.terms_by_class else _Derived()
        if not computed:
            expiry = row_lic.expires_on
            if trig.terms_by_class and derived.problem is None and expiry in targets and (
                derived.no_term or abs((derived.expiry - expiry).days) > TERM_TOLERANCE_DAYS  # type: ignore[operator]
            ):
                term = "no expiry" if derived.no_term else f"expiry {derived.expiry}"
                out.missing.append(MissingData(
                    svc.id, "licence.expires_on", ref,
                    f"{doc_en} no. {row_lic.number} class {row_lic.licence_class} issued on {row_lic.issued_on}: the "
                    f"printed expiry {expiry} contradicts its class ({term} by {derived.params[0].reference}); "
                    "the printed term is kept", row_lic.person_id, row_lic.source_record_id, kind="conflict"))
            params: list[ParameterValue] = []
        else:
            if derived.problem is not None:
                out.missing.append(MissingData(svc.id, derived.problem[0], ref, derived.problem[1],
                                               row_lic.person_id, row_lic.source_record_id))
                continue
            if derived.no_term or derived.expiry is None:
                continue  # this class never expires under the law of its issue date
            expiry, params = derived.expiry, derived.params
        if expiry not in targets:
            continue
        if person is None:
            out.missing.append(MissingData(
                svc.id, "licence.person_id", ref,
                f"{doc_en} no. {row_lic.number} expiring on {expiry} is not linked to a person: nobody can be notified",
                None, row_lic.source_record_id))
            continue
        if person.death_date is not None and person.death_date <= as_of:
            continue
        how_vi = f" (tính từ ngày cấp {vi_date(row_lic.issued_on)})" if computed else ""
        how_en = f" (computed from the issue date {row_lic.issued_on})" if computed else ""
        cls_vi = f" hạng {row_lic.licence_class}" if row_lic.licence_class else ""
        cls_en = f" class {row_lic.licence_class}" if row_lic.licence_class else ""
        renew_vi = renew_en = ""
        facts: dict[str, Any] = {}
        new_class = _renewal_class(renewal, row_lic)
        if new_class is not None:
            period, to = new_class
            params.append(period)
            facts["renewal_class"] = {**to, "reference": period.reference}
            renew_vi = (f" Khi đổi, giấy phép được cấp hạng {to['to']}"
                        f"{' (' + to['vi'] + ')' if to.get('vi') else ''} ({period.cite('vi')}).")
            renew_en = (f" On renewal it is re-issued as class {to['to']}"
                        f"{' (' + to['en'] + ')' if to.get('en') else ''} ({period.reference}).")
        out.candidates.append(Candidate(
            service_id=svc.id, subject_kind="person", subject_id=person.id,
            occurrence=f"{expiry.isoformat()}/L{row_lic.id}", due_date=expiry, rule=f"{svc.id}/licence_expiry",
            text_vi=(f"Ông/Bà nhận thông báo này vì {doc_vi}{cls_vi} số {row_lic.number} hết hạn ngày "
                     f"{vi_date(expiry)}{how_vi} ({_legal(svc)}).{renew_vi}"),
            text_en=(f"You received this because your {doc_en}{cls_en} no. {row_lic.number} expires on "
                     f"{expiry.isoformat()}{how_en} ({_legal(svc)}).{renew_en}"),
            parameters=params, source_records=[row_lic.source_record_id, person.source_record_id],
            facts={
                "licence_id": row_lic.id, "licence_kind": row_lic.kind, "licence_class": row_lic.licence_class,
                "number": row_lic.number, "issued_on": row_lic.issued_on.isoformat(),
                "expires_on": expiry.isoformat(), "expiry_computed": computed,
                "lead_days": targets[expiry], "holder_name": person.full_name, **facts,
            },
            person_id=person.id,
        ))
    return out


def _renewal_class(periods: tuple[ParameterValue, ...], lic: Licence) -> tuple[ParameterValue, dict[str, str]] | None:
    """Return the class an old-law licence is renewed to (None: not an old-law licence, or no mapping)."""
    for p in periods:
        if lic.issued_on < p.valid_from and lic.licence_class in p.value:
            return p, p.value[lic.licence_class]
    return None


def _chunked(items: list[dt.date], size: int = 900) -> list[list[dt.date]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# ---------------------------------------------------------------- ID card milestones


def evaluate_milestone(ctx: RuleContext, svc: ServiceDef, as_of: dt.date) -> Outcome:
    """Find people reaching an ID-card milestone age one lead time after ``as_of``."""
    trig = parse_trigger(svc.trigger)
    out = Outcome()
    # birth date → (milestone date, age, lead, parameters used)
    due: dict[dt.date, tuple[dt.date, int, int, list[ParameterValue]]] = {}
    for lead in sorted(set(svc.notice_lead_days), reverse=True):
        milestone = as_of + dt.timedelta(days=lead)
        ages = ctx.param(trig.milestone_ages, milestone)
        grace = ctx.param(trig.grace_years, milestone)
        for age in ages.value:
            for birth in dates_reaching(milestone, int(age)):
                due.setdefault(birth, (milestone, int(age), lead, [ages, grace]))
    if not due:
        return out
    people = ctx.session.scalars(
        select(Person).where(Person.birth_date.in_(sorted(due)), Person.death_date.is_(None),
                             ctx.in_run(Person.source_record_id)).order_by(Person.id)
    ).all()
    cards: dict[int, list[Licence]] = {}
    ids = [p.id for p in people]
    for i in range(0, len(ids), 1000):
        for card in ctx.session.scalars(select(Licence).where(
            Licence.person_id.in_(ids[i:i + 1000]), Licence.kind == trig.licence_kind, Licence.revoked.is_(False),
        )):
            cards.setdefault(card.person_id, []).append(card)  # type: ignore[arg-type]
    for person in people:
        milestone, age, lead, params = due[person.birth_date]
        grace_years = int(params[1].value)
        window_start = add_years(milestone, -grace_years)
        held = sorted(cards.get(person.id, []), key=lambda c: c.issued_on)
        if any(c.issued_on >= window_start for c in held):
            continue  # issued within the grace years before the milestone: valid to the next one
        current = held[-1] if held else None
        card_vi = f"thẻ số {current.number} cấp ngày {vi_date(current.issued_on)}" if current else "chưa có thẻ căn cước"
        card_en = f"card no. {current.number} issued on {current.issued_on}" if current else "no ID card on record"
        out.candidates.append(Candidate(
            service_id=svc.id, subject_kind="person", subject_id=person.id, occurrence=str(age),
            due_date=milestone, rule=f"{svc.id}/age_milestone",
            text_vi=(f"Ông/Bà nhận thông báo này vì ngày {vi_date(milestone)} Ông/Bà đủ {age} tuổi ({card_vi}); "
                     f"thẻ cấp trong {grace_years} năm trước tuổi này mới còn giá trị ({_legal(svc)})."),
            text_en=(f"You received this because you reach age {age} on {milestone.isoformat()} ({card_en}); "
                     f"only a card issued within the {grace_years} years before stays valid ({_legal(svc)})."),
            parameters=params,
            source_records=[person.source_record_id] + ([current.source_record_id] if current else []),
            facts={
                "age": age, "birth_date": person.birth_date.isoformat(), "milestone_date": milestone.isoformat(),
                "grace_window_start": window_start.isoformat(), "lead_days": lead, "full_name": person.full_name,
                "current_card": ({"number": current.number, "issued_on": current.issued_on.isoformat()}
                                 if current else None),
            },
            person_id=person.id,
        ))
    return out


# ---------------------------------------------------------------- school admission


def _month_day(value: str, year: int, name: str) -> dt.date:
    try:
        month, day = (int(x) for x in str(value).split("-"))
        return dt.date(year, month, day)
    except ValueError:
        raise ParameterMissing(f"parameter {name!r} must be a month-day like '07-01', not {value!r}", field=name) from None


def evaluate_school(ctx: RuleContext, svc: ServiceDef, as_of: dt.date) -> Outcome:
    """Find the grade-1 / grade-6 cohorts when ``as_of`` is one lead time before the admission window."""
    trig = parse_trigger(svc.trigger)
    out = Outcome()
    schools: dict[tuple[str, int], School] | None = None
    for lead in svc.notice_lead_days:
        target = as_of + dt.timedelta(days=lead)
        year = target.year
        opens_p = ctx.param(trig.window_opens, dt.date(year, 1, 1))
        if _month_day(opens_p.value, year, trig.window_opens) != target:
            continue
        closes_p = ctx.param(trig.window_closes, dt.date(year, 1, 1))
        opens, closes = target, _month_day(closes_p.value, year, trig.window_closes)
        if schools is None:
            schools = {}
            for s in ctx.session.scalars(select(School).order_by(School.code)):
                for ward in s.catchment or []:
                    schools.setdefault((s.level, int(ward)), s)
        for cohort in trig.cohorts:
            age_p = ctx.param(cohort.age, opens)
            birth_year = year - int(age_p.value)
            children = ctx.session.scalars(select(Person).where(
                Person.birth_date >= dt.date(birth_year, 1, 1), Person.birth_date <= dt.date(birth_year, 12, 31),
                Person.death_date.is_(None),
            ).order_by(Person.id)).all()
            for child in children:
                if child.ward_code is None:
                    out.missing.append(MissingData(
                        svc.id, "person.ward_code", f"person:{child.id}",
                        f"{child.full_name} (born {child.birth_date}) enters grade {cohort.grade} in {year} "
                        "but has no residence ward: the school catchment cannot be decided", child.id,
                        child.source_record_id))
                    continue
                school = schools.get((cohort.school_level, child.ward_code))
                if school is None:
                    out.missing.append(MissingData(
                        svc.id, "school.catchment", f"ward:{child.ward_code}:{cohort.school_level}",
                        f"no {cohort.school_level} school lists ward {child.ward_code} in its catchment"))
                school_vi = school.name if school else "sẽ được thông báo sau"
                school_en = school.name if school else "to be announced"
                out.candidates.append(Candidate(
                    service_id=svc.id, subject_kind="person", subject_id=child.id,
                    occurrence=f"{year}-grade{cohort.grade}", due_date=closes, rule=f"{svc.id}/school_cohort",
                    text_vi=(f"Cháu {child.full_name} sinh năm {child.birth_date.year} vào lớp {cohort.grade} năm "
                             f"{year} (tuổi tính theo năm, {_legal(svc)}); trường dự kiến theo nơi cư trú: "
                             f"{school_vi}; tuyển sinh {vi_date(opens)}–{vi_date(closes)}."),
                    text_en=(f"{child.full_name}, born in {child.birth_date.year}, enters grade {cohort.grade} in "
                             f"{year} (age counted by calendar year, {_legal(svc)}); expected school by residence: "
                             f"{school_en}; admission {opens.isoformat()} to {closes.isoformat()}."),
                    parameters=[age_p, opens_p, closes_p],
                    source_records=[child.source_record_id, school.source_record_id if school else None],
                    facts={
                        "grade": cohort.grade, "admission_year": year, "birth_date": child.birth_date.isoformat(),
                        "ward_code": child.ward_code, "school_code": school.code if school else None,
                        "school_name": school.name if school else None, "window_opens": opens.isoformat(),
                        "window_closes": closes.isoformat(), "full_name": child.full_name,
                    },
                    person_id=child.id,
                ))
    return out


# ---------------------------------------------------------------- poverty review


CLASS_NAMES = {"poor": ("hộ nghèo", "a poor household"), "near_poor": ("hộ cận nghèo", "a near-poor household")}


def evaluate_household(ctx: RuleContext, svc: ServiceDef, hh: Household) -> Candidate | MissingData | None:
    """Classify one reviewed household (poor / near-poor / neither) with the lines in force on its survey date."""
    trig = parse_trigger(svc.trigger)
    ref = f"household:{hh.id}"

    def missing(fld: str, why: str) -> MissingData:
        return MissingData(svc.id, fld, ref, f"household {hh.code}: {why}", hh.head_person_id, hh.source_record_id)

    if hh.survey_date is None:
        return None  # not reviewed yet: nothing to decide
    if hh.area_type not in trig.income_line:
        return missing("household.area_type", f"area type {hh.area_type!r} is not one of {sorted(trig.income_line)}")
    if hh.income_per_person is None:
        return missing("household.income_per_person", "the review result has no income per person")
    line = ctx.param(trig.income_line[hh.area_type], hh.survey_date)
    if hh.income_per_person > int(line.value):
        return None
    indicators = ctx.param(trig.indicators, hh.survey_date)
    threshold = ctx.param(trig.deprivation_threshold, hh.survey_date)
    given = hh.deprivations or {}
    absent = [k for k in indicators.value if k not in given or given[k] is None]
    if absent:
        return missing("household.deprivations", f"indicators missing from the review: {', '.join(absent)}")
    deprived = sorted(k for k in indicators.value if bool(given[k]))
    classification = "poor" if len(deprived) >= int(threshold.value) else "near_poor"
    if hh.head_person_id is None:
        return missing("household.head_person_id", "qualifies but has no linked head of household to notify")
    due = ctx.calendar.add_calendar_days(hh.survey_date, svc.registration_deadline.calendar_days or 0) \
        if svc.registration_deadline and svc.registration_deadline.calendar_days is not None else hh.survey_date
    cls_vi, cls_en = CLASS_NAMES[classification]
    return Candidate(
        service_id=svc.id, subject_kind="household", subject_id=hh.id, occurrence=hh.survey_date.isoformat(),
        due_date=due, rule=f"{svc.id}/household_review",
        text_vi=(f"Hộ {hh.code} thuộc diện {cls_vi}: thu nhập {hh.income_per_person:,} đồng/người/tháng, không quá "
                 f"chuẩn {int(line.value):,} đồng ({hh.area_type}); thiếu hụt {len(deprived)}/{len(indicators.value)} "
                 f"chỉ số (ngưỡng {threshold.value}); rà soát ngày {vi_date(hh.survey_date)} ({_legal(svc)})."),
        text_en=(f"Household {hh.code} qualifies as {cls_en}: income {hh.income_per_person:,} VND/person/month, at or "
                 f"under the {hh.area_type} line of {int(line.value):,} VND; {len(deprived)} of "
                 f"{len(indicators.value)} indicators deprived (threshold {threshold.value}); reviewed on "
                 f"{hh.survey_date.isoformat()} ({_legal(svc)})."),
        parameters=[line, threshold, indicators], source_records=[hh.source_record_id],
        facts={
            "classification": classification, "household_code": hh.code, "area_type": hh.area_type,
            "income_per_person": hh.income_per_person, "income_line": int(line.value),
            "deprived": deprived, "deprivation_count": len(deprived), "survey_date": hh.survey_date.isoformat(),
            "ward_code": hh.ward_code,
        },
        person_id=hh.head_person_id, household_id=hh.id,
    )


def evaluate_households_due(ctx: RuleContext, svc: ServiceDef, as_of: dt.date) -> Outcome:
    """Classify the households whose review result is dated within the look-back window."""
    out = Outcome()
    start = as_of - dt.timedelta(days=_lookback(svc))
    for hh in ctx.session.scalars(select(Household).where(
        Household.survey_date >= start, Household.survey_date <= as_of).order_by(Household.id)):
        _collect(out, evaluate_household(ctx, svc, hh))
    return out


# ---------------------------------------------------------------- vital events


def evaluate_vital(ctx: RuleContext, svc: ServiceDef, ve: VitalEvent) -> Candidate | MissingData | None:
    """Open birth or death registration for one notified vital event."""
    trig = parse_trigger(svc.trigger)
    if ve.kind != trig.event_kind:
        return None
    ref = f"vital_event:{ve.id}"
    deadline = svc.registration_deadline
    days = deadline.calendar_days if deadline and deadline.calendar_days is not None else 0
    due = ctx.calendar.add_calendar_days(ve.event_date, days)
    # ingestion stores the notifying facility as facility_id / facility_name (``facility``: older records)
    details = ve.details or {}
    facility = details.get("facility_name") or details.get("facility") or details.get("facility_id")
    fac_vi = f"cơ sở y tế {facility}" if facility else "cơ sở y tế"
    fac_en = f"the health facility {facility}" if facility else "a health facility"
    if trig.event_kind == "birth":
        if ve.mother_person_id is None:
            return MissingData(svc.id, "vital_event.mother_person_id", ref,
                               f"birth of {ve.event_date} is not linked to its mother: nobody can be offered the registration",
                               None, ve.source_record_id)
        mother = ctx.person(ve.mother_person_id)
        subject = mother
        text_vi = (f"Ông/Bà nhận thông báo này vì {fac_vi} báo sinh ngày {vi_date(ve.event_date)}; "
                   f"hạn đăng ký khai sinh là {vi_date(due)} ({deadline.reference if deadline else ''}).")
        text_en = (f"You received this because {fac_en} notified a birth on "
                   f"{ve.event_date.isoformat()}; the birth must be registered by {due.isoformat()} "
                   f"({deadline.reference if deadline else ''}).")
    else:
        if ve.subject_person_id is None:
            return MissingData(svc.id, "vital_event.subject_person_id", ref,
                               f"death of {ve.event_date} is not linked to the deceased person",
                               None, ve.source_record_id)
        subject = ctx.person(ve.subject_person_id)
        text_vi = (f"Thông báo này được gửi vì {subject.full_name if subject else ''} mất ngày {vi_date(ve.event_date)}; "
                   f"hạn đăng ký khai tử là {vi_date(due)} ({deadline.reference if deadline else ''}).")
        text_en = (f"You received this because {subject.full_name if subject else ''} died on "
                   f"{ve.event_date.isoformat()}; the death must be registered by {due.isoformat()} "
                   f"({deadline.reference if deadline else ''}).")
    if subject is None:
        return None
    return Candidate(
        service_id=svc.id, subject_kind="person", subject_id=subject.id,
        occurrence=f"{ve.event_date.isoformat()}/V{ve.id}", due_date=due, rule=f"{svc.id}/vital_event",
        text_vi=text_vi, text_en=text_en, parameters=[],
        source_records=[ve.source_record_id, subject.source_record_id],
        facts={"vital_event_id": ve.id, "kind": ve.kind, "event_date": ve.event_date.isoformat(),
               "deadline_days": days, "facility": facility, "facility_id": details.get("facility_id"),
               "ward_code": subject.ward_code},
        person_id=subject.id, vital_event_id=ve.id,
    )


def evaluate_vitals_due(ctx: RuleContext, svc: ServiceDef, as_of: dt.date) -> Outcome:
    """Open registration for the vital events dated within the look-back window."""
    trig = parse_trigger(svc.trigger)
    out = Outcome()
    start = as_of - dt.timedelta(days=_lookback(svc))
    found = list(ctx.session.scalars(select(VitalEvent).where(
        VitalEvent.kind == trig.event_kind, VitalEvent.event_date >= start, VitalEvent.event_date <= as_of,
    ).order_by(VitalEvent.id)))
    ctx.preload_people({p for ve in found for p in (ve.mother_person_id, ve.subject_person_id) if p is not None})
    for ve in found:
        _collect(out, evaluate_vital(ctx, svc, ve))
    return out


# ---------------------------------------------------------------- building plans


def evaluate_plan(ctx: RuleContext, svc: ServiceDef, plan: BuildingPlan) -> Candidate | MissingData | None:
    """Open the house-building bundle for one declared building plan."""
    if plan.person_id is None:
        return MissingData(svc.id, "building_plan.person_id", f"building_plan:{plan.id}",
                           f"building plan on parcel {plan.parcel} is not linked to its declarant",
                           None, plan.source_record_id)
    person = ctx.person(plan.person_id)
    if person is None:
        return None
    linked = max([lp.settlement_working_days for lp in svc.linked] + [svc.settlement.working_days or 0])
    due = ctx.calendar.add_working_days(plan.declared_on, linked)
    parts_vi = ", ".join(f"{lp.names.vi} ({lp.settlement_working_days} ngày làm việc)" for lp in svc.linked)
    parts_en = ", ".join(f"{lp.names.en} ({lp.settlement_working_days} working days)" for lp in svc.linked)
    return Candidate(
        service_id=svc.id, subject_kind="building_plan", subject_id=plan.id, occurrence=plan.declared_on.isoformat(),
        due_date=due, rule=f"{svc.id}/building_plan",
        text_vi=(f"Ông/Bà nhận thông báo này vì đã khai báo kế hoạch xây nhà tại thửa {plan.parcel} ngày "
                 f"{vi_date(plan.declared_on)}: một lần xác nhận mở {parts_vi}."),
        text_en=(f"You received this because you declared a plan to build on parcel {plan.parcel} on "
                 f"{plan.declared_on.isoformat()}: one confirmation opens {parts_en}."),
        parameters=[], source_records=[plan.source_record_id, person.source_record_id],
        facts={"parcel": plan.parcel, "ward_code": plan.ward_code, "declared_on": plan.declared_on.isoformat(),
               "details": plan.details, "linked": [lp.service_id for lp in svc.linked]},
        person_id=person.id, building_plan_id=plan.id,
    )


def evaluate_plans_due(ctx: RuleContext, svc: ServiceDef, as_of: dt.date) -> Outcome:
    """Open the bundle for building plans declared within the look-back window."""
    out = Outcome()
    start = as_of - dt.timedelta(days=STREAMING_LOOKBACK_DAYS)
    plans = list(ctx.session.scalars(select(BuildingPlan).where(
        BuildingPlan.declared_on >= start, BuildingPlan.declared_on <= as_of).order_by(BuildingPlan.id)))
    ctx.preload_people({p.person_id for p in plans if p.person_id is not None})
    for plan in plans:
        _collect(out, evaluate_plan(ctx, svc, plan))
    return out


# ---------------------------------------------------------------- documents made void by law


def evaluate_void(ctx: RuleContext, svc: ServiceDef, as_of: dt.date) -> Outcome:
    """Find holders of a document a law made void (e.g. the CMND) who have no replacement on record.

    Due on the day the document stops being valid (its printed expiry if earlier); everyone due
    by the end of the horizon is offered, once per old document.
    """
    trig = parse_trigger(svc.trigger)
    out = Outcome()
    horizon_end = as_of + dt.timedelta(days=max(svc.notice_lead_days, default=0))
    lic, card = Licence, aliased(Licence)
    replaced = exists().where(card.person_id == lic.person_id, card.kind == trig.replaced_by, card.revoked.is_(False))
    rows = ctx.session.execute(
        select(lic, Person).outerjoin(Person, Person.id == lic.person_id)
        .where(lic.kind == trig.licence_kind, lic.revoked.is_(False), ~replaced, ctx.in_run(lic.source_record_id))
        .order_by(lic.id))
    doc_vi, doc_en = DOCUMENTS.get(trig.licence_kind, (trig.licence_kind, trig.licence_kind))
    new_vi, new_en = DOCUMENTS.get(trig.replaced_by, (trig.replaced_by, trig.replaced_by))
    for old, person in rows:
        limit = ctx.param(trig.valid_until, old.issued_on)
        void_on = dt.date.fromisoformat(str(limit.value)) + dt.timedelta(days=1)
        if old.expires_on is not None and old.expires_on < void_on:
            void_on = old.expires_on
        if void_on > horizon_end:
            continue
        if person is None:
            out.missing.append(MissingData(
                svc.id, "licence.person_id", f"licence:{old.id}",
                f"{doc_en} no. {old.number} is void from {void_on} but not linked to a person: nobody can be told",
                None, old.source_record_id))
            continue
        if person.death_date is not None and person.death_date <= as_of:
            continue
        out.candidates.append(Candidate(
            service_id=svc.id, subject_kind="person", subject_id=person.id, occurrence=f"void/L{old.id}",
            due_date=void_on, rule=f"{svc.id}/document_void",
            text_vi=(f"Ông/Bà nhận thông báo này vì {doc_vi} số {old.number} hết giá trị sử dụng từ ngày "
                     f"{vi_date(void_on)} ({limit.cite('vi')}) và chưa có {new_vi} trong dữ liệu; hồ sơ cấp "
                     f"{new_vi} đã được điền sẵn."),
            text_en=(f"You received this because your {doc_en} no. {old.number} is no longer valid from "
                     f"{void_on.isoformat()} ({limit.reference}) and no {new_en} is on record; the {new_en} "
                     "application is pre-filled."),
            parameters=[limit], source_records=[old.source_record_id, person.source_record_id],
            facts={"licence_id": old.id, "licence_kind": old.kind, "number": old.number,
                   "issued_on": old.issued_on.isoformat(), "void_on": void_on.isoformat(),
                   "replaced_by": trig.replaced_by, "holder_name": person.full_name},
            person_id=person.id,
        ))
    return out


def _lookback(svc: ServiceDef) -> int:
    """Return how far back an event-type rule looks: while registration is still due, at least the safety net."""
    deadline = svc.registration_deadline
    days = deadline.calendar_days if deadline and deadline.calendar_days is not None else 0
    return max(STREAMING_LOOKBACK_DAYS, days)


def _collect(out: Outcome, found: Candidate | MissingData | None) -> None:
    if isinstance(found, Candidate):
        out.candidates.append(found)
    elif isinstance(found, MissingData):
        out.missing.append(found)


SCHEDULED = {
    "licence_expiry": evaluate_expiry,
    "age_milestone": evaluate_milestone,
    "school_cohort": evaluate_school,
    "household_review": evaluate_households_due,
    "vital_event": evaluate_vitals_due,
    "building_plan": evaluate_plans_due,
    "document_void": evaluate_void,
}

