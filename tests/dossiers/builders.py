"""Plain builder functions with defaults for dossier tests."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select
from sqlalchemy.orm import Session

from chudong.dossiers.models import Officer, Unit
from chudong.dossiers.units import add_officer, seed_units
from chudong.geo.models import Ward
from chudong.kit import clock
from chudong.registry.models import (
    Agency, BuildingPlan, Household, Licence, Person, SourceRecord, VitalEvent,
)
from chudong.rules.models import LifeEvent

PROVINCE = 48
_seq = itertools.count(1)


def ward_code(session: Session, index: int = 0) -> int:
    """Return a ward code of the test province."""
    return session.scalars(select(Ward.code).where(Ward.province_code == PROVINCE).order_by(Ward.code)).all()[index]


def agency(session: Session, code: str = "POP-48", kind: str = "population") -> Agency:
    row = session.get(Agency, code)
    if row is None:
        row = Agency(code=code, name=code, kind=kind)
        session.add(row)
        session.flush()
    return row


def source_record(session: Session, agency_code: str = "POP-48", feed: str = "persons") -> SourceRecord:
    agency(session, agency_code)
    rec = SourceRecord(feed=feed, agency_code=agency_code, source_key=f"k{next(_seq)}",
                       received_at=clock.now() - dt.timedelta(days=3), content_hash="0" * 64, raw="{}",
                       normalised={})
    session.add(rec)
    session.flush()
    return rec


def person(session: Session, *, full_name: str = "Nguyễn Thị Lan", ward_index: int = 0,
           birth_date: dt.date = dt.date(1995, 4, 12), sex: str = "F", household: Household | None = None,
           pid: str | None = None) -> Person:
    rec = source_record(session)
    n = next(_seq)
    p = Person(pid=pid or f"0481950{n:05d}", full_name=full_name, name_key=full_name.lower(),
               birth_date=birth_date, sex=sex, ward_code=ward_code(session, ward_index),
               household_id=household.id if household else None, phone=f"+8490{n:07d}",
               source_record_id=rec.id)
    session.add(p)
    session.flush()
    return p


def household(session: Session, *, ward_index: int = 0, income: int = 1_200_000) -> Household:
    rec = source_record(session, feed="households")
    h = Household(code=f"HH{next(_seq)}", ward_code=ward_code(session, ward_index), area_type="rural",
                  income_per_person=income, survey_date=dt.date(2026, 9, 1),
                  deprivations={"water_source": True, "floor_area": True, "telecom_use": True},
                  source_record_id=rec.id)
    session.add(h)
    session.flush()
    return h


def vital_event(session: Session, *, kind: str = "birth", mother: Person | None = None,
                subject: Person | None = None, event_date: dt.date = dt.date(2026, 10, 30)) -> VitalEvent:
    rec = source_record(session, agency_code="HOSP-48", feed="births" if kind == "birth" else "deaths")
    hospital = {"facility_id": "BV-48-002", "facility_name": "Bệnh viện Phụ sản – Nhi Đà Nẵng"}  # as ingest stores it
    details = ({"sex": "F", "weight_g": 3100, **hospital} if kind == "birth"
               else {"cause_icd10": "I21", "facility_id": "BV-48-001", "facility_name": "Bệnh viện Đà Nẵng"})
    v = VitalEvent(kind=kind, source_record_id=rec.id, subject_person_id=subject.id if subject else None,
                   mother_person_id=mother.id if mother else None, event_date=event_date, details=details)
    session.add(v)
    session.flush()
    return v


def licence(session: Session, holder: Person, *, kind: str = "passport", expires_on: dt.date = dt.date(2027, 1, 5),
            licence_class: str | None = None) -> Licence:
    rec = source_record(session, agency_code="POLICE-48", feed="licences")
    lic = Licence(kind=kind, licence_class=licence_class, number=f"N{next(_seq)}", person_id=holder.id,
                  holder_pid=holder.pid, issued_on=expires_on.replace(year=expires_on.year - 10),
                  expires_on=expires_on, issuing_agency="Cục Quản lý xuất nhập cảnh", source_record_id=rec.id)
    session.add(lic)
    session.flush()
    return lic


def building_plan(session: Session, declarant: Person) -> BuildingPlan:
    rec = source_record(session, feed="building_plans")
    plan = BuildingPlan(person_id=declarant.id, parcel="Tờ 12 thửa 345", ward_code=declarant.ward_code,
                        declared_on=clock.today(), details={"floors": 3, "floor_area_m2": 180},
                        source_record_id=rec.id)
    session.add(plan)
    session.flush()
    return plan


def life_event(session: Session, service_id: str, *, person: Person | None = None, subject_kind: str = "person",
               household: Household | None = None, vital: VitalEvent | None = None,
               plan: BuildingPlan | None = None, due_date: dt.date = dt.date(2026, 12, 29),
               facts: dict | None = None) -> LifeEvent:
    n = next(_seq)
    ev = LifeEvent(key=f"{service_id}:{subject_kind}:{n}", service_id=service_id, subject_kind=subject_kind,
                   person_id=person.id if person else None, household_id=household.id if household else None,
                   building_plan_id=plan.id if plan else None, vital_event_id=vital.id if vital else None,
                   occurrence=str(n), due_date=due_date, detected_on=clock.today(),
                   reason={"rule": service_id, "text_vi": "", "text_en": "", "parameters": [],
                           "source_records": [], "facts": facts or {}},
                   created_at=clock.now())
    session.add(ev)
    session.flush()
    return ev


def units(session: Session) -> None:
    seed_units(session, PROVINCE)


def officer(session: Session, unit_code: str, *, role: str = "officer", username: str | None = None) -> Officer:
    return add_officer(session, username=username or f"cb{next(_seq)}", full_name="Trần Văn Bình",
                       unit_code=unit_code, role=role)


def unit_of(session: Session, code: str) -> Unit:
    return session.get(Unit, code)
