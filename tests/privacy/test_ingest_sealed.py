"""The ingest pipeline writes raw SQL: it must seal and hash by itself, and still link and detect changes."""

from __future__ import annotations

import datetime as dt
import io
import json

from sqlalchemy import select

from chudong.fhir.builder import birth_bundle
from chudong.ingest.pipeline import ingest_csv, run_rejections
from chudong.ingest.vital import ingest_fhir
from chudong.privacy import service as privacy
from chudong.registry.models import Household, Licence, Person, SourceRecord, VitalEvent
from tests.ingest.builders import DA_NANG_WARD, agency, csv_body, person_row
from tests.privacy.test_at_rest import raw_dump

PID, MOTHER_PID = "048190000001", "048195000002"


def household_row(**over: str) -> dict[str, str]:
    row = {"source_key": "H1", "household_code": "HH1", "ward_code": str(DA_NANG_WARD), "area_type": "urban",
           "head_pid": PID, "income_per_person": "1234567", "survey_date": "2026-09-01",
           **{k: "0" for k in ("employment", "dependants", "nutrition", "health_insurance", "adult_education",
                               "child_school_attendance", "housing_quality", "floor_area", "water_source",
                               "hygienic_latrine", "telecom_use", "information_assets")}}
    row.update(over)
    return row


def licence_row(**over: str) -> dict[str, str]:
    row = {"source_key": "L1", "kind": "driving_licence", "licence_class": "B2", "number": "480000000001",
           "holder_pid": PID, "holder_name": "Nguyễn Thị Lan", "holder_birth_date": "1990-05-12",
           "holder_sex": "F", "holder_ward_code": "", "issued_on": "2020-01-15", "expires_on": "2030-01-15",
           "issuing_agency": "Sở GTVT Đà Nẵng"}
    row.update(over)
    return row


def _csv(session, feed, ag, rows):
    return ingest_csv(session, feed, ag, io.BytesIO(csv_body(feed, rows)), file_name="t.csv")


def test_ingested_personal_data_is_sealed_and_still_linked(session, clock):
    pop = agency(session, "pop", "population")
    police = agency(session, "police", "police")
    hosp = agency(session, "hosp", "hospital")
    persons = [person_row(1, email="Lan.Nguyen@Example.vn", phone="0905 123 456"),
               person_row(2, pid=MOTHER_PID, full_name="Trần Thị Mai", birth_date="1995-03-02", phone="0905123452"),
               person_row(3, email="0481900000zz"),  # rejected: the record (with the value) goes to the report
               person_row(4, pid="0481900000zz")]  # kept, its unverified ID sealed like any personal ID
    r = _csv(session, "persons", pop, persons)
    assert (r.accepted, r.rejected) == (3, 1)
    kept = session.scalar(select(SourceRecord.normalised).where(SourceRecord.source_key == "P4"))
    assert (kept["pid"], kept["pid_class"], kept["pid_unverified"]) == (None, "unverified", "0481900000ZZ")
    assert _csv(session, "households", pop, [household_row()]).accepted == 1
    assert _csv(session, "licences", police, [licence_row()]).accepted == 1
    bundle = birth_bundle(bundle_id="b-1", child_birth_date=dt.date(2026, 10, 30), child_sex="F",
                          mother_name="Trần Thị Mai", mother_birth_date=dt.date(1995, 3, 2), mother_pid=MOTHER_PID,
                          mother_phone="0905123452", facility_id="H1", facility_name="BV Đà Nẵng")
    assert ingest_fhir(session, "births", hosp, body=json.dumps(bundle).encode()).accepted == 1

    dump = raw_dump(session)
    for secret in (PID, MOTHER_PID, "905123456", "905123452", "lan.nguyen@example.vn", "1234567", "0481900000zz",
                   "0481900000ZZ"):
        assert secret not in dump, secret
    # ... and the registry reads, links and looks up as before
    lan = session.scalar(select(Person).where(Person.pid == PID))
    assert (lan.phone, lan.email) == ("+84905123456", "lan.nguyen@example.vn")
    assert session.scalar(select(Person.id).where(Person.phone == "+84905123452")) is not None
    hh = session.scalar(select(Household).where(Household.code == "HH1"))
    assert (hh.head_person_id, hh.income_per_person) == (lan.id, 1234567)
    lic = session.scalar(select(Licence))
    assert (lic.person_id, lic.holder_pid) == (lan.id, PID)
    mai = session.scalar(select(Person.id).where(Person.pid == MOTHER_PID))
    assert session.scalar(select(VitalEvent.mother_person_id)) == mai
    births = session.scalar(select(SourceRecord).where(SourceRecord.feed == "births"))
    assert births.normalised["mother"]["pid"] == MOTHER_PID and births.link_method == "pid"
    rejection = run_rejections(session, r.run_id)[0]
    assert "0481900000zz" in rejection.record and "0481900000zz" in rejection.reason
    # every stored digest is the keyed one and every value opens with the current key
    check = privacy.run(session.connection(), "check")
    assert not check.hashes_wrong
    assert all(set(check.key_counts(n)) <= {"dev"} for n in privacy.protected_names())


def test_resending_sealed_records_is_recognised_as_unchanged(session, clock):
    pop = agency(session, "pop", "population")
    body = csv_body("persons", [person_row(1), person_row(2, pid="048190000002", phone="0905111222")])
    first = ingest_csv(session, "persons", pop, io.BytesIO(body))
    stored = session.execute(select(SourceRecord.raw, SourceRecord.content_hash)).all()
    again = ingest_csv(session, "persons", pop, io.BytesIO(body))
    assert (first.accepted, again.unchanged, again.updated) == (2, 2, 0)
    assert session.execute(select(SourceRecord.raw, SourceRecord.content_hash)).all() == stored
    changed = ingest_csv(session, "persons", pop, io.BytesIO(csv_body("persons", [person_row(1, phone="0905999888")])))
    assert changed.updated == 1
    assert session.scalar(select(Person.id).where(Person.phone == "+84905999888")) is not None
    assert session.scalar(select(Person.id).where(Person.phone == "+84905123456")) is None
