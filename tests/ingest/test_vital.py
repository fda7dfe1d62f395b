"""Hospital notifications (FHIR) through the ingest: identifiers kept and flagged, wards, refusals."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from sqlalchemy import select

from chudong.fhir.builder import birth_bundle, death_bundle
from chudong.geo.models import Ward, WardMapping
from chudong.geo.service import resolve_ward
from chudong.ingest.pipeline import ingest_csv
from chudong.ingest.vital import ingest_fhir
from chudong.registry.models import IngestRun, Person, QualityIssue, SourceRecord, VitalEvent
from tests.ingest.builders import agency, csv_body, person_row


def _bundle(**over) -> bytes:
    args = dict(bundle_id="b-1", child_birth_date=dt.date(2026, 10, 30), child_sex="F", mother_name="Trần Thị Mai",
                mother_birth_date=dt.date(1995, 3, 2), mother_pid="048195000002", facility_id="H1",
                facility_name="BV Đà Nẵng")
    args.update(over)
    return json.dumps(birth_bundle(**args)).encode()


@pytest.fixture
def registry(session, clock):
    pop = agency(session, "pop", "population")
    ingest_csv(session, "persons", pop, io.BytesIO(csv_body("persons", [
        person_row(2, pid="048195000002", full_name="Trần Thị Mai", birth_date="1995-03-02")])), link=False)
    return agency(session, "hosp", "hospital")


@pytest.mark.parametrize(("sent", "kind", "linked"), [
    ("048195000002", "valid", True),
    ("48195000002", "restored", True),   # the leading zero an export dropped: restored, linked exactly
    ("048095000002", "mismatch", False),  # a male ID on the mother's record: kept, never an exact link
    ("205123456", "old_id", False),
    ("CCCD-??", "unverified", False),
])
def test_each_identifier_class_is_kept_flagged_and_linked_exactly_only_when_usable(session, registry, sent, kind,
                                                                                   linked):
    r = ingest_fhir(session, "births", registry, body=_bundle(mother_pid=sent), link=False)
    assert (r.status, r.accepted, r.rejected) == ("done", 1, 0)
    rec = session.scalar(select(SourceRecord).where(SourceRecord.feed == "births"))
    mother = rec.normalised["mother"]
    assert mother["pid_class"] == kind
    mai = session.scalar(select(Person.id).where(Person.pid == "048195000002"))
    assert (rec.person_id == mai and rec.link_method == "pid") if linked else rec.person_id is None
    issues = session.scalars(select(QualityIssue).where(QualityIssue.kind == "identifier")).all()
    if kind == "valid":
        assert issues == []
        return
    [issue] = issues
    assert (issue.field, issue.value_b, issue.agency_code, issue.source_b) == ("mother.identifier", kind, "hosp", rec.id)
    assert "identifier[0].value" in issue.detail and sent not in issue.detail  # the path, never the number
    assert mother["pid_as_sent"] == sent
    # sealed like any personal ID: the stored JSON does not hold the number
    stored = session.connection().exec_driver_sql("SELECT normalised FROM source_record WHERE feed = 'births'").scalar()
    assert sent not in (stored if isinstance(stored, str) else json.dumps(stored))


def test_resending_a_fixed_identifier_resolves_its_issue(session, registry):
    ingest_fhir(session, "births", registry, body=_bundle(mother_pid="48195000002"), link=False)
    again = ingest_fhir(session, "births", registry, body=_bundle(mother_pid="48195000002"), link=False)
    assert again.unchanged == 1
    assert [i.status for i in session.scalars(select(QualityIssue))] == ["open"]
    fixed = ingest_fhir(session, "births", registry, body=_bundle(mother_pid="048195000002"), link=False)
    assert fixed.updated == 1
    assert [i.status for i in session.scalars(select(QualityIssue))] == ["resolved"]


def test_pre_2025_ward_code_is_mapped_on_the_fhir_path(session, registry):
    legacy = session.scalar(select(WardMapping.legacy_code).join(Ward, Ward.code == WardMapping.new_code)
                            .where(Ward.province_code == 48, WardMapping.is_primary.is_(True),
                                   WardMapping.legacy_code.not_in(select(Ward.code)))
                            .order_by(WardMapping.legacy_code).limit(1))
    ingest_fhir(session, "births", registry, body=_bundle(mother_ward_code=legacy), link=False)
    mother = session.scalar(select(SourceRecord.normalised).where(SourceRecord.feed == "births"))["mother"]
    assert mother["ward_code"] == resolve_ward(session, legacy).ward_code != legacy
    assert mother["ward_code_received"] == legacy


def test_a_bundle_on_the_wrong_feed_is_refused_naming_the_right_one_and_its_run_kept(session, registry):
    body = json.dumps(death_bundle(bundle_id="d-1", name="Lê Văn Cường", birth_date=dt.date(1940, 5, 6), sex="M",
                                   death_date=dt.date(2026, 10, 31), facility_id="H1",
                                   facility_name="BV Đà Nẵng")).encode()
    r = ingest_fhir(session, "births", registry, body=body)
    assert r.status == "rejected" and r.refusal is not None and r.refusal.status_code == 422
    assert "/api/v1/feeds/deaths" in r.file_error and r.refusal.code == "wrong_feed"
    run = session.get(IngestRun, r.run_id)
    assert run.status == "rejected" and "deaths" in run.file_error
    assert session.scalars(select(SourceRecord).where(SourceRecord.feed != "persons")).all() == []
    assert session.scalars(select(VitalEvent)).all() == []


def test_a_birth_of_someone_born_decades_ago_is_not_a_birth_notification(session, registry):
    bundle = json.loads(_bundle(child_birth_date=dt.date(1970, 4, 1)))
    bundle["timestamp"] = bundle["meta"]["lastUpdated"] = "2026-10-31T09:00:00+07:00"
    r = ingest_fhir(session, "births", registry, body=json.dumps(bundle).encode())
    assert r.status == "rejected" and r.refusal.status_code == 422
    assert "not a birth notification" in r.file_error and "không phải thông báo sinh" in r.file_error
    assert r.refusal.field.endswith(".birthDate")
    assert session.scalars(select(VitalEvent)).all() == []
    # within the registration period (60 days, Law on Civil Status art. 15) it is a birth
    bundle["entry"] = json.loads(_bundle(child_birth_date=dt.date(2026, 9, 5)))["entry"]
    assert ingest_fhir(session, "births", registry, body=json.dumps(bundle).encode()).accepted == 1


def test_the_deaths_informant_is_kept_for_the_dossier_and_sealed(session, registry):
    from tests.fhir.test_parser import _death_certificate

    r = ingest_fhir(session, "deaths", registry, body=json.dumps(_death_certificate()).encode(), link=False)
    assert (r.status, r.accepted) == ("done", 1)
    event = session.scalar(select(VitalEvent))
    assert event.event_date == dt.date(2026, 10, 31)
    assert (event.details["informant_name"], event.details["informant_relationship"]) == ("Lê Văn Dũng", "SONC")
    assert "049070005678" not in json.dumps(event.details)
    informant = session.scalar(select(SourceRecord.normalised).where(SourceRecord.feed == "deaths"))["informant"]
    assert (informant["pid"], informant["pid_class"], informant["phone"]) == ("049070005678", "valid", "+84905111222")
    stored = session.connection().exec_driver_sql("SELECT normalised FROM source_record WHERE feed = 'deaths'").scalar()
    assert "049070005678" not in (stored if isinstance(stored, str) else json.dumps(stored))
