"""Wards written in words on every feed, and the licence feeds' optional phone column."""

from __future__ import annotations

import datetime as dt
import io
import json

from sqlalchemy import select

from chudong.fhir.builder import birth_bundle
from chudong.geo.models import LegacyWard, Ward
from chudong.geo.service import resolve_ward
from chudong.ingest.feeds import CSV_FEEDS
from chudong.ingest.pipeline import ingest_csv, run_rejections
from chudong.ingest.vital import ingest_fhir
from chudong.registry.models import Licence, Person, QualityIssue, SourceRecord
from tests.ingest.builders import agency, csv_body, licence_row, person_row


def _hai_chau(session) -> int:
    return session.scalar(select(Ward.code).where(Ward.name == "Phường Hải Châu", Ward.province_code == 48))


def test_csv_wards_written_in_words(session, clock):
    old = session.scalar(select(LegacyWard.code).where(LegacyWard.name == "Phường Thạch Thang"))
    rows = [person_row(1, ward_code="P. Hải Châu"), person_row(2, ward_code="Thach Thang - Hai Chau"),
            person_row(3, ward_code="Hải Châu")]  # a xã and a phường bear that name
    r = ingest_csv(session, "persons", agency(session), io.BytesIO(csv_body("persons", rows)))
    assert (r.accepted, r.rejected) == (2, 1)
    [rejected] = run_rejections(session, r.run_id)
    assert rejected.source_key == "P3" and rejected.field == "ward_code" and "Thạch Thang - Hải Châu" in rejected.reason
    wards = {rec.source_key: (rec.normalised["ward_code"], rec.normalised.get("ward_code_received"))
             for rec in session.scalars(select(SourceRecord))}
    assert wards == {"P1": (_hai_chau(session), None), "P2": (resolve_ward(session, old).ward_code, old)}
    assert session.scalar(select(Person.ward_code).where(Person.pid == "048190000001")) == _hai_chau(session)


def test_fhir_ward_in_words_and_in_the_address(session, clock):
    hosp = agency(session, "hosp", "hospital")
    bundle = birth_bundle(bundle_id="b-1", child_birth_date=dt.date(2026, 10, 30), child_sex="F",
                          mother_name="Trần Thị Mai", mother_birth_date=dt.date(1995, 3, 2), facility_id="H1",
                          facility_name="BV Đà Nẵng", mother_ward_code=20194)
    mother = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "RelatedPerson")
    mother["address"] = [{"use": "home", "text": "Tổ 5, P. Hải Châu, Đà Nẵng"}]
    assert ingest_fhir(session, "births", hosp, body=json.dumps(bundle).encode(), link=False).accepted == 1
    facts = session.scalar(select(SourceRecord.normalised))["mother"]
    assert facts["ward_code"] == _hai_chau(session)
    mother["address"] = [{"use": "home", "extension": [
        {"url": "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-precinct", "valueString": "Thạch Thang - Hải Châu"}]}]
    bundle["identifier"]["value"] += "-2"
    assert ingest_fhir(session, "births", hosp, body=json.dumps(bundle).encode(), link=False).accepted == 1
    old = session.scalar(select(LegacyWard.code).where(LegacyWard.name == "Phường Thạch Thang"))
    facts = [r.normalised["mother"] for r in session.scalars(select(SourceRecord).order_by(SourceRecord.id))][1]
    assert (facts["ward_code"], facts["ward_code_received"]) == (resolve_ward(session, old).ward_code, old)


def test_licences_old_files_without_phone_still_load(session, clock):
    police = agency(session, "police", "police")
    assert "phone" not in CSV_FEEDS["licences"].columns and "phone" in CSV_FEEDS["licences"].optional_columns
    r = ingest_csv(session, "licences", police, io.BytesIO(csv_body("licences", [licence_row(1)])), link=False)
    assert (r.accepted, r.rejected) == (1, 0)
    assert session.scalar(select(SourceRecord.normalised))["phone"] is None


def test_licences_phone_column_is_kept_sealed_and_never_rejects(session, clock):
    police = agency(session, "police", "police")
    rows = [licence_row(1, phone="0905 123 456"), licence_row(2, phone="+84 16 8123 4567"),
            licence_row(3, phone="12345"), licence_row(4)]
    r = ingest_csv(session, "licences", police, io.BytesIO(csv_body("licences", rows, optional=("phone",))),
                   link=False)
    assert (r.accepted, r.rejected) == (4, 0)
    phones = {rec.source_key: rec.normalised["phone"] for rec in session.scalars(select(SourceRecord))}
    assert phones == {"L1": "+84905123456", "L2": "+84381234567", "L3": None, "L4": None}
    [issue] = session.scalars(select(QualityIssue).where(QualityIssue.kind == "identifier")).all()
    assert (issue.field, issue.value_b, issue.agency_code) == ("phone", "unverified", "police")
    stored = session.connection().exec_driver_sql("SELECT normalised FROM source_record").scalars().all()
    assert not any("905123456" in (s if isinstance(s, str) else json.dumps(s)) for s in stored)
    assert session.scalar(select(Licence.number).where(Licence.source_record_id.is_not(None))) is not None


def test_licence_header_with_an_unknown_column_is_still_refused(session, clock):
    body = csv_body("licences", [licence_row(1)], optional=("fax",))
    r = ingest_csv(session, "licences", agency(session, "police", "police"), io.BytesIO(body))
    assert r.status == "rejected" and "unknown columns: fax" in r.file_error and "optional: phone" in r.file_error
