"""Feed API end to end: API keys, agency kinds, counts, rejection reports, bad uploads."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, select

from chudong.db import session_factory
from chudong.fhir.builder import birth_bundle
from chudong.registry.models import Person, SourceRecord, VitalEvent
from chudong.registry.service import add_agency
from tests.ingest.builders import DA_NANG_WARD, csv_body, person_row


def _agency(engine, code, kind):
    with session_factory(engine)() as s:
        _, key = add_agency(s, code, code, kind)
        s.commit()
    return {"Authorization": f"Bearer {key}"}


def test_post_persons_csv_and_download_rejections(client, engine, clock):
    h = _agency(engine, "pop", "population")
    body = csv_body("persons", [person_row(1), person_row(2, birth_date="1990-13-01")])
    r = client.post("/api/v1/feeds/persons", content=body, headers={**h, "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (1, 1)
    again = client.post("/api/v1/feeds/persons", content=body, headers={**h, "Content-Type": "text/csv"}).json()
    assert (again["accepted"], again["unchanged"], again["rejected"]) == (0, 1, 1)
    js = client.get(f"/api/v1/feeds/runs/{out['run_id']}/rejections?format=json", headers=h).json()
    assert js["rejections"][0]["field"] == "birth_date" and js["rejections"][0]["line"] == 3
    csv_text = client.get(f"/api/v1/feeds/runs/{out['run_id']}/rejections?format=csv", headers=h)
    assert csv_text.headers["content-type"].startswith("text/csv")
    assert csv_text.text.splitlines()[0] == "line,source_key,field,reason,record" and "P2" in csv_text.text
    other = _agency(engine, "pop2", "population")
    assert client.get(f"/api/v1/feeds/runs/{out['run_id']}/rejections", headers=other).status_code == 404


def test_authentication_and_agency_kind(client, engine):
    h = _agency(engine, "hosp", "hospital")
    body = csv_body("persons", [person_row(1)])
    assert client.post("/api/v1/feeds/persons", content=body).status_code == 401
    assert client.post("/api/v1/feeds/persons", content=body,
                       headers={"X-API-Key": "hosp.wrong"}).status_code == 401
    r = client.post("/api/v1/feeds/persons", content=body, headers=h)
    assert r.status_code == 403 and "hospital" in r.json()["detail"]
    r = client.post("/api/v1/feeds/nonsense", content=body, headers=h)
    assert r.status_code == 404 and r.json()["error"] == "unknown_feed"


def test_bad_uploads_are_4xx_and_store_nothing(client, engine, clock):
    h = {**_agency(engine, "pop", "population"), "Content-Type": "text/csv"}
    good = csv_body("persons", [person_row(1)])
    cases = [
        (good + b"P2,048190000002,L\xea\n", 400, "UTF-8"),
        (b"a,b\n1,2\n", 400, "header"),
        (b"", 400, "empty"),
    ]
    for body, status, words in cases:
        r = client.post("/api/v1/feeds/persons", content=body, headers=h)
        assert r.status_code == status and words in r.json()["detail"], r.text
    r = client.post("/api/v1/feeds/persons", content=good, headers={**h, "Content-Length": str(3 * 2**30)})
    assert r.status_code == 413
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(SourceRecord)) == 0


def test_birth_bundle_links_mother_by_pid_and_ndjson_without_pid_by_linkage(client, engine, clock):
    pop = {**_agency(engine, "pop", "population"), "Content-Type": "text/csv"}
    mothers = [person_row(i, full_name=name, birth_date="1995-03-0%d" % i, pid=f"04819500000{i}",
                          phone=f"090512345{i}", ward_code=str(DA_NANG_WARD))
               for i, name in [(1, "Nguyễn Thị Lan"), (2, "Trần Thị Mai"), (3, "Lê Thị Hồng")]]
    assert client.post("/api/v1/feeds/persons", content=csv_body("persons", mothers), headers=pop).status_code == 200
    h = _agency(engine, "hosp", "hospital")
    with_pid = birth_bundle(bundle_id="b-1", child_birth_date=dt.date(2026, 10, 30), child_sex="F",
                            mother_name="Nguyễn Thị Lan", mother_birth_date=dt.date(1995, 3, 1),
                            mother_pid="048195000001", facility_id="H1", facility_name="BV Đà Nẵng")
    r = client.post("/api/v1/feeds/births", content=json.dumps(with_pid), headers={**h, "Content-Type": "application/fhir+json"})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    # the mother has no ID in this one, and her name is typed without diacritics
    no_pid = birth_bundle(bundle_id="b-2", child_birth_date=dt.date(2026, 10, 31), child_sex="M",
                          mother_name="TRAN THI MAI", mother_birth_date=dt.date(1995, 3, 2),
                          mother_phone="0905123452", mother_ward_code=DA_NANG_WARD,
                          facility_id="H1", facility_name="BV Đà Nẵng")
    ndjson = (json.dumps(no_pid) + "\n" + '{"resourceType": "Patient"}\n').encode()
    r = client.post("/api/v1/feeds/births", content=ndjson, headers={**h, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["rejected"]) == (1, 1)
    with session_factory(engine)() as s:
        mai = s.scalar(select(Person.id).where(Person.pid == "048195000002"))
        lan = s.scalar(select(Person.id).where(Person.pid == "048195000001"))
        events = {e.details["sex"]: e for e in s.scalars(select(VitalEvent))}
        assert events["F"].mother_person_id == lan
        assert events["M"].mother_person_id == mai
        rec = s.get(SourceRecord, events["M"].source_record_id)
        assert rec.link_method == "probabilistic" and rec.link_probability >= 0.99
    # re-sending the bundle creates nothing new
    r = client.post("/api/v1/feeds/births", content=json.dumps(with_pid), headers={**h, "Content-Type": "application/fhir+json"})
    assert r.json()["unchanged"] == 1
    r = client.post("/api/v1/feeds/births", content=b'{"resourceType": "Patient"}', headers=h)
    assert r.status_code == 422


def test_a_bundle_on_the_wrong_feed_is_a_4xx_naming_the_right_feed_and_its_run_can_be_looked_up(client, engine, clock):
    from chudong.fhir.builder import death_bundle

    h = {**_agency(engine, "hosp", "hospital"), "Content-Type": "application/fhir+json"}
    death = death_bundle(bundle_id="d-1", name="Lê Văn Cường", birth_date=dt.date(1940, 5, 6), sex="M",
                         death_date=dt.date(2026, 10, 31), facility_id="H1", facility_name="BV Đà Nẵng")
    r = client.post("/api/v1/feeds/births", content=json.dumps(death), headers=h)
    assert r.status_code == 422, r.text
    out = r.json()
    assert out["error"] == "wrong_feed" and "/api/v1/feeds/deaths" in out["detail"] and out["status"] == "rejected"
    run = client.get(f"/api/v1/feeds/runs/{out['run_id']}", headers=h)
    assert run.status_code == 200 and run.json()["status"] == "rejected" and "deaths" in run.json()["file_error"]
    report = client.get(f"/api/v1/feeds/runs/{out['run_id']}/rejections", headers=h).json()
    assert report["rejections"][0]["field"] == "feed"
    # an invalid Bundle: 422 naming the field, and its run kept too
    r = client.post("/api/v1/feeds/births", content=b'{"resourceType": "Patient"}', headers=h)
    assert r.status_code == 422 and r.json()["field"] == "Bundle.resourceType"
    assert client.get(f"/api/v1/feeds/runs/{r.json()['run_id']}", headers=h).json()["status"] == "rejected"
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(SourceRecord)) == 0
    assert client.post("/api/v1/feeds/deaths", content=json.dumps(death), headers=h).json()["accepted"] == 1
