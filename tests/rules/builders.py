"""Plain builder functions for the person index rows the rules read (defaults for everything)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy.orm import Session

from chudong.kit import clock
from chudong.registry.models import Agency, BuildingPlan, Household, Licence, Person, School, SourceRecord, VitalEvent

WARD = 20194  # Phường Hải Vân, Đà Nẵng (urban)
OTHER_WARD = 20197
_seq = itertools.count(1)


def agency(session: Session, code: str = "pop") -> Agency:
    """Return (creating once) a test agency."""
    found = session.get(Agency, code)
    if found is None:
        found = Agency(code=code, name=code, kind="population")
        session.add(found)
        session.flush()
    return found


def source_record(session: Session, feed: str = "persons", **values: Any) -> SourceRecord:
    """Create a source record (provenance of a registry row)."""
    agency(session)
    n = next(_seq)
    rec = SourceRecord(feed=feed, agency_code="pop", source_key=f"k{n}", received_at=clock.now(),
                       content_hash=f"{n:064d}", raw="{}", normalised=values)
    session.add(rec)
    session.flush()
    return rec


def person(session: Session, birth_date: dt.date = dt.date(1990, 5, 17), **values: Any) -> Person:
    """Create a person (alive, resident in WARD, with a source record)."""
    n = next(_seq)
    src = source_record(session)
    p = Person(full_name=values.pop("full_name", f"Nguyễn Văn {n}"), name_key=f"nguyen van {n}",
               birth_date=birth_date, sex=values.pop("sex", "M"), ward_code=values.pop("ward_code", WARD),
               source_record_id=src.id, **values)
    session.add(p)
    session.flush()
    return p


def licence(session: Session, kind: str, holder: Person | None, issued_on: dt.date,
            expires_on: dt.date | None = None, licence_class: str | None = None, **values: Any) -> Licence:
    """Create a licence or card of ``kind`` held by ``holder`` (None = not linked to a person)."""
    n = next(_seq)
    src = source_record(session, feed="licences")
    lic = Licence(kind=kind, licence_class=licence_class, number=values.pop("number", f"{kind[:3].upper()}-{n}"),
                  person_id=holder.id if holder else None, issued_on=issued_on, expires_on=expires_on,
                  issuing_agency=values.pop("issuing_agency", "test"), revoked=values.pop("revoked", False),
                  source_record_id=src.id, **values)
    session.add(lic)
    session.flush()
    return lic


INDICATORS = ["employment", "dependants", "nutrition", "health_insurance", "adult_education",
              "child_school_attendance", "housing_quality", "floor_area", "water_source",
              "hygienic_latrine", "telecom_use", "information_assets"]


def deprivations(count: int) -> dict[str, bool]:
    """Return the 12 indicators with the first ``count`` deprived."""
    return {k: i < count for i, k in enumerate(INDICATORS)}


def household(session: Session, *, income: int | None, deprived: int | None = 0, area_type: str = "rural",
              survey_date: dt.date | None = dt.date(2026, 11, 2), head: Person | None | bool = True,
              **values: Any) -> Household:
    """Create a reviewed household (with a head person unless ``head=None``)."""
    n = next(_seq)
    src = source_record(session, feed="households")
    hh = Household(code=values.pop("code", f"HH{n}"), ward_code=values.pop("ward_code", WARD), area_type=area_type,
                   income_per_person=income, survey_date=survey_date,
                   deprivations=deprivations(deprived) if deprived is not None else None,
                   source_record_id=src.id, **values)
    session.add(hh)
    session.flush()
    if head is True:
        head = person(session, household_id=hh.id)
    if head:
        hh.head_person_id = head.id
        session.flush()
    return hh


def vital_event(session: Session, kind: str, event_date: dt.date, *, mother: Person | None = None,
                subject: Person | None = None, **details: Any) -> VitalEvent:
    """Create a notified birth or death."""
    src = source_record(session, feed=f"{kind}s")
    ve = VitalEvent(kind=kind, source_record_id=src.id, event_date=event_date,
                    mother_person_id=mother.id if mother else None, subject_person_id=subject.id if subject else None,
                    details={"facility_id": "BV-48-001", "facility_name": "Bệnh viện Đà Nẵng", **details})
    session.add(ve)
    session.flush()
    return ve


def building_plan(session: Session, declarant: Person | None, declared_on: dt.date, parcel: str = "12/345") -> BuildingPlan:
    """Create a declared building plan."""
    src = source_record(session, feed="building_plans")
    plan = BuildingPlan(person_id=declarant.id if declarant else None, parcel=parcel, ward_code=WARD,
                        declared_on=declared_on, details={"floors": 3, "floor_area_m2": 120}, source_record_id=src.id)
    session.add(plan)
    session.flush()
    return plan


def school(session: Session, level: str, catchment: list[int], name: str | None = None) -> School:
    """Create a school of ``level`` covering the ``catchment`` wards."""
    n = next(_seq)
    s = School(code=f"S{n}", name=name or f"Trường {level} {n}", level=level, ward_code=catchment[0],
               catchment=catchment)
    session.add(s)
    session.flush()
    return s
