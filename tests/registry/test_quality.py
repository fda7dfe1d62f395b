"""Conflicts between agencies, completeness, the quality report and the CLI."""

from __future__ import annotations

import io
import json

from sqlalchemy import select

from chudong.ingest.pipeline import ingest_csv
from chudong.registry.models import Licence, Person, QualityIssue
from chudong.registry.service import completeness, list_quality_issues, quality_report
from tests.ingest.builders import agency, csv_body, person_row


def licence_row(n=1, **over):
    row = {"source_key": f"L{n}", "kind": "driving_licence", "licence_class": "B2", "number": f"48000{n:07d}",
           "holder_pid": f"048190{n:06d}", "holder_name": "Nguyễn Thị Lan", "holder_birth_date": "1990-05-12",
           "holder_sex": "F", "holder_ward_code": "", "issued_on": "2020-01-15", "expires_on": "2030-01-15",
           "issuing_agency": "Sở GTVT Đà Nẵng"}
    row.update(over)
    return row


def _ingest(session, feed, ag, rows):
    return ingest_csv(session, feed, ag, io.BytesIO(csv_body(feed, rows)), link=False)


def test_conflicting_birth_date_is_surfaced_with_both_values_and_sources(session, clock):
    pop = agency(session, "pop", "population")
    police = agency(session, "police", "police")
    _ingest(session, "persons", pop, [person_row(1), person_row(2)])
    r = _ingest(session, "licences", police, [
        licence_row(1, holder_birth_date="1990-01-01", holder_pid="048190000001"),   # conflict (birth date)
        licence_row(2, holder_name="LAN NGUYEN THI", holder_birth_date="1990-05-12"),  # same name, other order
    ])
    assert r.accepted == 2
    issues = list_quality_issues(session, agency_code="police")
    assert [(i.field, i.value_a, i.value_b) for i in issues] == [("birth_date", "1990-05-12", "1990-01-01")]
    assert issues[0].source_a == "pop/persons/P1" and issues[0].source_b == "police/licences/L1"
    lic = session.scalar(select(Licence).where(Licence.number == "480000000001"))
    assert lic.person_id == session.scalar(select(Person.id).where(Person.pid == "048190000001"))
    # re-sending raises nothing twice; the corrected record resolves the conflict
    _ingest(session, "licences", police, [licence_row(1, holder_birth_date="1990-01-01")])
    assert len(list_quality_issues(session, agency_code="police")) == 1
    _ingest(session, "licences", police, [licence_row(1)])
    assert list_quality_issues(session, agency_code="police") == []
    assert session.scalar(select(QualityIssue.status)) == "resolved"


def test_licence_rules(session, clock):
    police = agency(session, "police", "police")
    r = _ingest(session, "licences", police, [
        licence_row(1, licence_class=""), licence_row(2, kind="boat"), licence_row(3, expires_on="2019-01-01"),
        licence_row(4, licence_class="A1", expires_on=""), licence_row(5, kind="passport", licence_class=""),
        licence_row(6, number="480000000004"),
    ])
    assert r.accepted == 2 and r.rejected == 4


def test_completeness_and_report(session, clock):
    pop = agency(session, "pop", "population")
    _ingest(session, "persons", pop, [person_row(1), person_row(2, phone="")])
    stats = {(c.feed, c.field): (c.filled, c.total) for c in completeness(session)}
    assert stats[("persons", "phone")] == (1, 2) and stats[("persons", "pid")] == (2, 2)
    assert stats[("persons", "email")] == (0, 2)
    report = quality_report(session)
    json.dumps(report)
    assert any(c["field"] == "phone" and c["ratio"] == 0.5 for c in report["completeness"])


def test_every_compared_fact_of_a_licence_and_a_birth_mother_raises_its_own_conflict(session, clock):
    import datetime as dt

    from chudong.fhir.builder import birth_bundle
    from chudong.geo.models import Ward
    from chudong.ingest.vital import ingest_fhir

    other_ward = session.scalar(select(Ward.code).where(Ward.province_code == 48, Ward.code != 20194).order_by(Ward.code))
    pop, police, hosp = agency(session, "pop", "population"), agency(session, "police", "police"), \
        agency(session, "hosp", "hospital")
    _ingest(session, "persons", pop, [person_row(1), person_row(2, pid="048195000002", full_name="Trần Thị Mai",
                                                                 birth_date="1995-03-02")])
    # (a sex that differs cannot come with a valid ID number: its sex digit is checked)
    r = _ingest(session, "licences", police, [licence_row(1, holder_name="Nguyễn Thị Lanh",
                                                           holder_ward_code=str(other_ward))])
    assert r.accepted == 1
    bundle = birth_bundle(bundle_id="b-1", child_birth_date=dt.date(2026, 10, 30), child_sex="F",
                          mother_name="Trần Thị Mây", mother_birth_date=dt.date(1995, 3, 3), mother_pid="048195000002",
                          mother_ward_code=other_ward, facility_id="H1", facility_name="BV Đà Nẵng")
    assert ingest_fhir(session, "births", hosp, body=json.dumps(bundle).encode()).accepted == 1
    got = {(i.agency_code, i.field, i.value_a, i.value_b) for i in list_quality_issues(session)}
    assert got == {
        ("police", "name", "Nguyễn Thị Lan", "Nguyễn Thị Lanh"), ("police", "ward_code", "20194", str(other_ward)),
        ("hosp", "name", "Trần Thị Mai", "Trần Thị Mây"), ("hosp", "birth_date", "1995-03-02", "1995-03-03"),
        ("hosp", "ward_code", "20194", str(other_ward)),
    }
